// A permission set is a plain enum of names: no generic parameters.

mcp_rbac::permissions! {
    pub enum Perm<T> { "Admin.Write" }
}

fn main() {}
