// Typed permissions: the set is declared once in another module, imported by name (which brings
// its checker macro along), used by a tool router and a prompt router with `any`/`all` nesting,
// and its enum works as a value (role policies, requirements, display).

mod auth {
    mcp_rbac::permissions! {
        /// What this server checks.
        pub enum Perm {
            "Guest.Read",
            "User.Read",
            "User.Write",
            /// Destructive operations.
            "Admin.Write",
            "billing:export" as BillingExport,
        }
    }
}

use auth::Perm;
use mcp_rbac::{Principal, Requirement, Role, RolePolicy};
use rmcp::model::{PromptMessage, Role as MessageRole};

#[derive(Clone)]
struct Products;

#[mcp_rbac::tool_router(permissions = Perm)]
impl Products {
    #[tool(requires = "Guest.Read", description = "List every product")]
    async fn list_products(&self) -> String {
        "[]".into()
    }

    #[tool(requires = any(all("User.Write", "billing:export"), "Admin.Write"))]
    async fn export_products(&self, caller: Principal) -> String {
        caller.subject().to_string()
    }

    #[tool(requires = r"Admin.Write")]
    async fn delete_product(&self) -> String {
        "deleted".into()
    }

    #[tool(public)]
    async fn whoami(&self, caller: Principal) -> String {
        caller.subject().to_string()
    }
}

// The path form works too, without an import.
#[mcp_rbac::prompt_router(permissions = crate::auth::Perm)]
impl Products {
    #[prompt(requires = all("User.Read", any("User.Write", "Admin.Write")))]
    async fn brief(&self) -> Vec<PromptMessage> {
        vec![PromptMessage::new_text(MessageRole::User, "Write a brief.")]
    }
}

#[mcp_rbac::tool_handler]
#[mcp_rbac::prompt_handler]
impl rmcp::ServerHandler for Products {}

fn main() {
    let manifest = Products::tool_router_manifest().merge(Products::prompt_router_manifest());
    assert_eq!(
        manifest.tools["export_products"],
        "any(all(User.Write, billing:export), Admin.Write)"
    );
    assert_eq!(manifest.prompts["brief"], "all(User.Read, any(User.Write, Admin.Write))");
    assert_eq!(Perm::ALL.len(), 5);
    assert_eq!(Perm::BillingExport.as_str(), "billing:export");
    assert_eq!(Perm::AdminWrite.to_string(), "Admin.Write");
    assert_eq!(Requirement::from(Perm::UserRead), Requirement::permission("User.Read"));
    let _ = RolePolicy::new([Role::new("admin").grants([Perm::AdminWrite, Perm::UserRead])]);
}
