// Two names that make the same variant need a variant name of their own.

mcp_rbac::permissions! {
    pub enum Perm { "Admin.Write", "Admin_Write" }
}

fn main() {}
