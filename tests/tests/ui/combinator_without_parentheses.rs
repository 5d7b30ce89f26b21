// `any` and `all` take their requirements in parentheses.

#[derive(Clone)]
struct Server;

#[mcp_rbac::tool_router]
impl Server {
    #[tool(requires = any)]
    async fn delete_product(&self) -> String {
        "deleted".into()
    }
}

fn main() {}
