// A name nowhere near the set: the error lists what the set declares and how to add a new name.

mod auth {
    mcp_rbac::permissions! {
        pub enum Perm { "Guest.Read", "User.Read", "Admin.Write" }
    }
}

use rmcp::model::{PromptMessage, Role};

#[derive(Clone)]
struct Server;

#[mcp_rbac::prompt_router(permissions = auth::Perm)]
impl Server {
    #[prompt(requires = all("User.Read", "Billing.Export"))]
    async fn invoice_brief(&self) -> Vec<PromptMessage> {
        vec![PromptMessage::new_text(Role::User, "Summarize the invoices.")]
    }
}

fn main() {
    let _ = Server::prompt_router();
}
