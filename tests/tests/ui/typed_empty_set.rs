// A permission set with no names cannot guard anything.

mcp_rbac::permissions! {
    pub enum Perm {}
}

fn main() {}
