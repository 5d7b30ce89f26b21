// `all()` with nothing in it would let everyone in, even nested.

#[derive(Clone)]
struct Server;

#[mcp_rbac::tool_router]
impl Server {
    #[tool(requires = any("Admin.Write", all()))]
    async fn create_product(&self) -> String {
        "created".into()
    }
}

fn main() {}
