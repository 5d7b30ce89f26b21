#[derive(Clone)]
struct Server;

#[mcp_rbac::tool_router]
impl Server {
    #[tool(requires = "")]
    async fn empty(&self) -> String {
        "empty".into()
    }

    #[tool(requires = "Admin Write")]
    async fn spaced(&self) -> String {
        "spaced".into()
    }

    #[tool(requires = "User.Write,Admin.Write")]
    async fn listed(&self) -> String {
        "listed".into()
    }
}

fn main() {}
