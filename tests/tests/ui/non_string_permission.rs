#[derive(Clone)]
struct Server;

#[mcp_rbac::tool_router]
impl Server {
    #[tool(requires = 5)]
    async fn numbered(&self) -> String {
        "five".into()
    }
}

fn main() {}
