// One permission, rmcp's own arguments passed through, an `Option<Principal>` parameter.
#[mcp_rbac::tool_router]
impl Server {
    #[tool(requires = "Admin.Write", description = "Delete a product", annotations(destructive_hint = true))]
    async fn delete_product(&self, Parameters(p): Parameters<ProductId>, caller: Option<Principal>) -> String {
        format!("product {} deleted", p.id)
    }
}
