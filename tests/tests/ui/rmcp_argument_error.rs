// Known limitation: rmcp reports a mistake in its own arguments and then drops the method, so
// the route our router writes for it cannot find `{fn}_tool_attr` or the method (the same
// happens under rmcp's own `#[tool_router]`). rmcp's message comes first and names the fix.

#[derive(Clone)]
struct Server;

#[mcp_rbac::tool_router]
impl Server {
    #[tool(requires = "Admin.Write", annotations(destructive = true))]
    async fn delete_product(&self) -> String {
        "deleted".into()
    }
}

fn main() {}
