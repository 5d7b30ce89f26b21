// `any` / `all`, nested, under a renamed public router.
#[mcp_rbac::tool_router(router = admin_router, vis = "pub")]
impl Server {
    #[tool(requires = any("User.Write", "Admin.Write"))]
    async fn create_product(&self) -> String {
        "created".into()
    }

    #[tool(requires = all("Billing.Read", any("Billing.Write", "Admin.Write")))]
    async fn refund(&self) -> String {
        "refunded".into()
    }
}
