#[derive(Clone)]
struct Server;

#[mcp_rbac::tool_router]
impl Server {
    #[tool(public)]
    async fn whoami(&self) -> String {
        "me".into()
    }
}

#[mcp_rbac::tool_handler]
impl Server {}

fn main() {}
