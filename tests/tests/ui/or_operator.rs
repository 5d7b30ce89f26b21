#[derive(Clone)]
struct Server;

#[mcp_rbac::tool_router]
impl Server {
    #[tool(requires = "User.Write" || "Admin.Write")]
    async fn create_product(&self) -> String {
        "created".into()
    }

    #[tool(requires = "User.Write" && "Billing.Write")]
    async fn refund(&self) -> String {
        "refunded".into()
    }
}

fn main() {}
