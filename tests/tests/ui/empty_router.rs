#[derive(Clone)]
struct Server;

#[mcp_rbac::tool_router]
impl Server {
    async fn helper(&self) -> String {
        "not a tool".into()
    }
}

fn main() {}
