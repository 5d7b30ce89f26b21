#[derive(Clone)]
struct Server;

#[mcp_rbac::tool_router]
impl Server {
    #[tool(requires = "User.Write", requires = "Billing.Write")]
    async fn refund(&self) -> String {
        "refunded".into()
    }
}

fn main() {}
