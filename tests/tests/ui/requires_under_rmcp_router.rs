// `#[mcp_rbac::tool]` under rmcp's own router: the router must be mcp-rbac's for the check to run.

#[derive(Clone)]
struct Server;

#[rmcp::tool_router]
impl Server {
    #[mcp_rbac::tool(requires = "Admin.Write", description = "Delete a product")]
    async fn delete_product(&self) -> String {
        "deleted".into()
    }
}

fn main() {
    let _ = Server::tool_router();
}
