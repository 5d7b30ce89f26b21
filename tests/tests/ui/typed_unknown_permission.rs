// With a permission set, a misspelled name does not compile: the error is on the string and
// names the closest declared permission.

mcp_rbac::permissions! {
    pub enum Perm { "Guest.Read", "User.Write", "Admin.Write" }
}

#[derive(Clone)]
struct Server;

#[mcp_rbac::tool_router(permissions = Perm)]
impl Server {
    #[tool(requires = "Guest.Read")]
    async fn list_products(&self) -> String {
        "[]".into()
    }

    #[tool(requires = any("User.Write", "Admin.Wrte"))]
    async fn delete_product(&self) -> String {
        "deleted".into()
    }
}

fn main() {
    let _ = Server::tool_router();
}
