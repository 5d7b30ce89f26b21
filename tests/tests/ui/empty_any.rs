// `any()` with nothing in it would let no one in.

#[derive(Clone)]
struct Server;

#[mcp_rbac::tool_router]
impl Server {
    #[tool(requires = any())]
    async fn create_product(&self) -> String {
        "created".into()
    }
}

fn main() {}
