// Everything the README's macro reference promises, in one program that must compile: `#[tool]` with no `tool`
// import, `any(all(..), ..)` nesting, `public`, `Principal` and `Option<Principal>` parameters,
// rmcp's own arguments and extractors, and `#[mcp_rbac::tool_handler]`.

use mcp_rbac::Principal;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::model::{PromptMessage, Role};
use rmcp::ErrorData;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Clone)]
struct Products;

#[derive(Deserialize, JsonSchema)]
struct ProductId {
    id: u64,
}

#[derive(Serialize, JsonSchema)]
struct ProductList {
    products: Vec<String>,
}

#[mcp_rbac::tool_router]
impl Products {
    #[tool(requires = "Guest.Read", description = "List every product")]
    async fn list_products(&self) -> Result<Json<ProductList>, ErrorData> {
        Ok(Json(ProductList { products: vec![] }))
    }

    #[tool(
        requires = any(all("User.Write", "Billing.Write"), "Admin.Write"),
        description = "Delete a product",
        annotations(destructive_hint = true)
    )]
    async fn delete_product(
        &self,
        Parameters(ProductId { id }): Parameters<ProductId>,
        caller: Principal,
    ) -> String {
        format!("product {id} deleted by {}", caller.subject())
    }

    #[tool(public)]
    async fn whoami(&self, caller: Option<Principal>) -> String {
        caller.map_or_else(|| "anonymous".into(), |c| c.subject().to_string())
    }

    // Not a tool: stays a plain method.
    fn helper(&self) -> u32 {
        7
    }
}

#[mcp_rbac::prompt_router]
impl Products {
    #[prompt(requires = "User.Read", description = "A sales brief")]
    async fn brief(&self) -> Vec<PromptMessage> {
        vec![PromptMessage::new_text(
            Role::User,
            format!("Write a brief ({}).", self.helper()),
        )]
    }
}

#[mcp_rbac::tool_handler(name = "products", instructions = "A product catalogue")]
#[mcp_rbac::prompt_handler]
impl rmcp::ServerHandler for Products {}

fn main() {
    let tools = Products::tool_router_manifest();
    let prompts = Products::prompt_router_manifest();
    let _ = (tools, prompts);
}
