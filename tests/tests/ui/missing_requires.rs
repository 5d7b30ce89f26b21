// Deny by default: a tool with neither `requires` nor `public` does not compile.

#[derive(Clone)]
struct Server;

#[mcp_rbac::tool_router]
impl Server {
    #[tool(description = "Delete every product")]
    async fn delete_all(&self) -> String {
        "deleted".into()
    }
}

fn main() {}
