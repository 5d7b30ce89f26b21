use rmcp::handler::server::wrapper::Parameters;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Refund {
    amount_cents: u64,
}

#[derive(Clone)]
struct Shop;

#[mcp_rbac::tool_router]
impl Shop {
    #[tool(requires = "Orders.Refund", authorize = "may_refund")]
    async fn refund(&self, Parameters(refund): Parameters<Refund>) -> String {
        format!("refunded {}", refund.amount_cents)
    }
}

fn main() {}
