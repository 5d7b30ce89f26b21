// Typed permissions: the set, and routers that check every name against it.
mcp_rbac::permissions! {
    /// What the server checks.
    pub enum Perm { "Guest.Read", "User.Write", "Admin.Write", "billing:export" as BillingExport }
}

#[mcp_rbac::tool_router(permissions = Perm)]
impl Server {
    #[tool(requires = "Guest.Read")]
    async fn list_products(&self) -> String {
        "[]".into()
    }

    #[tool(requires = any(all("User.Write", "billing:export"), "Admin.Write"))]
    async fn export(&self) -> String {
        "exported".into()
    }

    #[tool(public)]
    async fn whoami(&self) -> String {
        "you".into()
    }
}

#[mcp_rbac::prompt_router(permissions = crate::auth::Perm)]
impl Server {
    #[prompt(requires = "User.Write")]
    async fn brief(&self) -> Vec<PromptMessage> {
        vec![]
    }
}
