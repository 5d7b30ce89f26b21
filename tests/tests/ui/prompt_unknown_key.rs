// A tool-only key on a prompt.
use rmcp::model::{PromptMessage, Role};

#[derive(Clone)]
struct Server;

#[mcp_rbac::prompt_router]
impl Server {
    #[prompt(requires = "User.Read", annotations(read_only_hint = true))]
    async fn brief(&self) -> Vec<PromptMessage> {
        vec![PromptMessage::new_text(Role::User, "Write a brief.")]
    }
}

fn main() {}
