// One permission set per `permissions!`: anything after the enum is refused.

mcp_rbac::permissions! {
    pub enum Perm { "Admin.Write" }
    pub enum Other { "Guest.Read" }
}

fn main() {}
