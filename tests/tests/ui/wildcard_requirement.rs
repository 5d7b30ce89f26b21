// Wildcards grant (in role policies); a requirement names one exact permission.

#[derive(Clone)]
struct Server;

#[mcp_rbac::tool_router]
impl Server {
    #[tool(requires = "Admin.*")]
    async fn delete_product(&self) -> String {
        "deleted".into()
    }
}

fn main() {}
