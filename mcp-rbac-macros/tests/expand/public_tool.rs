// A public tool: authentication still applies, no permission is needed.
#[mcp_rbac::tool_router]
impl Server {
    #[tool(public, description = "Who you are")]
    async fn whoami(&self, caller: Principal) -> String {
        caller.subject().to_string()
    }
}
