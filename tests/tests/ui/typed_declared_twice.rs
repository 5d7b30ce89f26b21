// A permission set declares each name once.

mcp_rbac::permissions! {
    pub enum Perm {
        "Guest.Read",
        "Admin.Write",
        "User.Write",
        "Admin.Write",
    }
}

fn main() {}
