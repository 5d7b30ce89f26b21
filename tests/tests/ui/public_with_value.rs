#[derive(Clone)]
struct Server;

#[mcp_rbac::tool_router]
impl Server {
    #[tool(public = true)]
    async fn whoami(&self) -> String {
        "me".into()
    }
}

fn main() {}
