#[derive(Clone)]
struct Server;

#[mcp_rbac::tool_router]
impl Server {
    #[tool(public)]
    async fn whoami(&self) -> String {
        "me".into()
    }
}

#[mcp_rbac::tool_handler(instructons = "A products server")]
impl rmcp::ServerHandler for Server {}

fn main() {}
