// A prompt router, and both handler attributes on one `ServerHandler` impl.
#[mcp_rbac::prompt_router]
impl Server {
    #[prompt(requires = "User.Read", description = "A sales brief")]
    async fn brief(&self) -> Vec<PromptMessage> {
        vec![]
    }
}

#[mcp_rbac::tool_handler(name = "products", instructions = "A catalogue")]
#[mcp_rbac::prompt_handler]
impl ServerHandler for Server {}
