// An argument condition: the route calls a wrapper that takes the tool's own parameters and the
// condition's scope, judges the parsed arguments, then moves them into the tool.
#[mcp_rbac::tool_router]
impl Server {
    #[tool(requires = any("User.Write", "Admin.Write"), authorize = Self::may_update, description = "Change a product")]
    async fn update_product(&self, Parameters(update): Parameters<ProductUpdate>, caller: Principal) -> String {
        format!("{} updated {}", caller.subject(), update.id)
    }
}
