use mcp_rbac::{Denied, Principal};
use rmcp::handler::server::wrapper::Parameters;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Refund {
    amount_cents: u64,
}

#[derive(Clone)]
struct Shop;

impl Shop {
    // Not `async`: a condition is awaited.
    fn may_refund(&self, _caller: &Principal, refund: &Refund) -> Result<(), Denied> {
        let _ = refund.amount_cents;
        Ok(())
    }
}

#[mcp_rbac::tool_router]
impl Shop {
    #[tool(requires = "Orders.Refund", authorize = Self::may_refund)]
    async fn refund(&self, Parameters(refund): Parameters<Refund>) -> String {
        format!("refunded {}", refund.amount_cents)
    }
}

fn main() {}
