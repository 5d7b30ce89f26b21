// A permission set declares exact names; wildcards grant, in role policies.

mcp_rbac::permissions! {
    pub enum Perm { "Guest.Read", "Admin.*" }
}

fn main() {}
