// With a permission set, a name that differs only in case is refused, and the error says so.

mcp_rbac::permissions! {
    pub enum Perm { "Guest.Read", "Admin.Write" }
}

#[derive(Clone)]
struct Server;

#[mcp_rbac::tool_router(permissions = Perm)]
impl Server {
    #[tool(requires = "admin.write")]
    async fn delete_product(&self) -> String {
        "deleted".into()
    }
}

fn main() {
    let _ = Server::tool_router();
}
