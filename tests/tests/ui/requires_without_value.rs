#[derive(Clone)]
struct Server;

#[mcp_rbac::tool_router]
impl Server {
    #[tool(requires)]
    async fn delete_product(&self) -> String {
        "deleted".into()
    }

    #[tool(requires("Admin.Write"))]
    async fn delete_all(&self) -> String {
        "deleted".into()
    }
}

fn main() {}
