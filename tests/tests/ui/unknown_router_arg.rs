#[derive(Clone)]
struct Server;

#[mcp_rbac::tool_router(server_handlr)]
impl Server {
    #[tool(public)]
    async fn whoami(&self) -> String {
        "me".into()
    }
}

fn main() {
    let _ = Server::tool_router();
}
