// `requires = true` most likely means `public`.

#[derive(Clone)]
struct Server;

#[mcp_rbac::tool_router]
impl Server {
    #[tool(requires = true)]
    async fn whoami(&self) -> String {
        "me".into()
    }
}

fn main() {}
