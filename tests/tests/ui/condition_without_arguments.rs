use mcp_rbac::{Denied, Principal};

#[derive(Clone)]
struct Shop;

impl Shop {
    async fn open_hours(&self, _caller: &Principal, _arguments: &()) -> Result<(), Denied> {
        Ok(())
    }
}

#[mcp_rbac::tool_router]
impl Shop {
    #[tool(requires = "Orders.Read", authorize = Self::open_hours)]
    async fn orders(&self) -> String {
        "[]".into()
    }
}

fn main() {}
