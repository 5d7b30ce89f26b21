use mcp_rbac::{Issuer, Principal, Role, RolePolicy, ServerBuilder};
use rmcp::{handler::server::wrapper::Parameters, ServerHandler};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct NoteId {
    id: u64,
}

#[derive(Clone)]
struct Notes;

#[mcp_rbac::tool_router]
impl Notes {
    #[tool(requires = "Notes.Delete", description = "Delete a note")]
    async fn delete_note(&self, Parameters(note): Parameters<NoteId>) -> String {
        format!("note {} deleted", note.id)
    }

    #[tool(public, description = "Who is calling")]
    async fn whoami(&self, caller: Principal) -> String {
        caller.subject().to_owned()
    }
}

#[mcp_rbac::tool_handler]
impl ServerHandler for Notes {}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let editor = Role::new("editor").grants(["Notes.Delete"]);
    ServerBuilder::new("http://127.0.0.1:8001/mcp") // MCP_RBAC_* variables override
        .issuer(Issuer::development()) // prints a token per role
        .role_policy(RolePolicy::new([Role::new("reader"), editor])?)
        .with_env()?
        .serve(|| Notes)
        .await?;
    Ok(())
}
