// `#[mcp_rbac::tool]` on an impl without `#[mcp_rbac::tool_router]` would never be checked.

#[derive(Clone)]
struct Server;

impl Server {
    #[mcp_rbac::tool(requires = "Admin.Write")]
    async fn delete_product(&self) -> String {
        "deleted".into()
    }
}

fn main() {
    let _ = Server.delete_product();
}
