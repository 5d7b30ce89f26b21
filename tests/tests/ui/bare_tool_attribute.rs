// A bare `#[tool]` has no access rule either.

#[derive(Clone)]
struct Server;

#[mcp_rbac::tool_router]
impl Server {
    #[tool]
    async fn delete_all(&self) -> String {
        "deleted".into()
    }
}

fn main() {}
