#[mcp_rbac::tool_router]
#[derive(Clone)]
struct Server;

fn main() {
    let _ = Server.clone();
}
