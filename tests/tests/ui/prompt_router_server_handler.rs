// `server_handler` is a `tool_router` argument; the prompt side has `prompt_handler` instead.
use rmcp::model::{PromptMessage, Role};

#[derive(Clone)]
struct Server;

#[mcp_rbac::prompt_router(server_handler)]
impl Server {
    #[prompt(requires = "User.Read")]
    async fn brief(&self) -> Vec<PromptMessage> {
        vec![PromptMessage::new_text(Role::User, "Write a brief.")]
    }
}

fn main() {
    let _ = Server::prompt_router();
}
