#[derive(Clone)]
struct Server;

#[mcp_rbac::tool_router]
impl Server {
    #[tool(requires = "Admin.Write")]
    #[tool(description = "Delete a product")]
    async fn delete_product(&self) -> String {
        "deleted".into()
    }
}

fn main() {}
