// `allow_empty` belongs to tool routers (an rmcp server may serve prompts only); a prompt router
// always holds at least one prompt.

use rmcp::model::PromptMessage;

#[derive(Clone)]
struct Server;

#[mcp_rbac::prompt_router(allow_empty)]
impl Server {
    #[prompt(requires = "User.Read")]
    async fn brief(&self) -> Vec<PromptMessage> {
        Vec::new()
    }
}

fn main() {}
