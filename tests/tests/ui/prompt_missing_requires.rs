use rmcp::model::{PromptMessage, Role};

#[derive(Clone)]
struct Server;

#[mcp_rbac::prompt_router]
impl Server {
    #[prompt(description = "A sales brief")]
    async fn brief(&self) -> Vec<PromptMessage> {
        vec![PromptMessage::new_text(Role::User, "Write a brief.")]
    }
}

fn main() {}
