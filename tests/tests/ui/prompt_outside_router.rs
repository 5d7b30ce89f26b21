use rmcp::model::{PromptMessage, Role};

#[derive(Clone)]
struct Server;

impl Server {
    #[mcp_rbac::prompt(requires = "User.Read")]
    async fn brief(&self) -> Vec<PromptMessage> {
        vec![PromptMessage::new_text(Role::User, "Write a brief.")]
    }
}

fn main() {
    let _ = Server.brief();
}
