// One bad tool or prompt is reported alone: the rest of the impl, the router functions and the
// handlers stay usable, so no follow-on "cannot find" errors bury the real one.

use rmcp::model::{PromptMessage, Role};

#[derive(Clone)]
struct Server;

#[mcp_rbac::tool_router]
impl Server {
    #[tool(requires = "Guest.Read", description = "List products")]
    async fn list_products(&self) -> String {
        "[]".into()
    }

    #[tool(description = "Delete every product")]
    async fn delete_all(&self) -> String {
        "deleted".into()
    }
}

#[mcp_rbac::prompt_router]
impl Server {
    #[prompt(requires = anyof("User.Read", "Admin.Read"))]
    async fn brief(&self) -> Vec<PromptMessage> {
        vec![PromptMessage::new_text(Role::User, "Write a brief.")]
    }
}

#[mcp_rbac::tool_handler]
#[mcp_rbac::prompt_handler]
impl rmcp::ServerHandler for Server {}

fn main() {
    let _ = Server::tool_router();
    let _ = Server::tool_router_manifest();
    let _ = Server::prompt_router_manifest();
    let _ = Server.delete_all();
    let _ = Server.brief();
}
