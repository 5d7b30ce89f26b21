// The router goes on the inherent impl; the trait impl takes `#[mcp_rbac::tool_handler]`.

#[derive(Clone)]
struct Server;

#[mcp_rbac::tool_router]
impl rmcp::ServerHandler for Server {}

fn main() {}
