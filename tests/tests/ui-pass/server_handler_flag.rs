// `#[mcp_rbac::tool_router(server_handler)]` writes the `ServerHandler` impl too, and a custom
// router name and visibility work as with rmcp.

use rmcp::ServerHandler;

#[derive(Clone)]
pub struct Server;

#[mcp_rbac::tool_router(server_handler, router = guarded, vis = "pub")]
impl Server {
    #[mcp_rbac::tool(requires = "Admin.Write", name = "reset")]
    async fn reset_everything(&self) -> String {
        "reset".into()
    }
}

fn assert_handler<H: ServerHandler>(_: &H) {}

fn main() {
    assert_handler(&Server);
    let _ = Server::guarded();
    let _ = Server::guarded_manifest();
}
