//! The MCP surface: every tool and prompt with its access rule, readable in one screen. Every
//! permission name is checked at compile time against [`Perm`], the set declared in `policy.rs`.

use mcp_rbac::Principal;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::model::{CallToolResult, ContentBlock, PromptMessage, Role};
use rmcp::{ErrorData, ServerHandler};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::catalog::{Catalog, Product};
use super::policy::Perm;

/// The products MCP server (one per session; the catalogue is shared).
#[derive(Clone)]
pub struct Products {
    catalog: Catalog,
}

/// `list_products` output: an object at the root, as MCP clients require of structured output.
#[derive(Serialize, JsonSchema)]
pub struct ProductList {
    /// Every product.
    pub products: Vec<Product>,
}

/// Arguments of `get_product` and `delete_product`.
#[derive(Deserialize, JsonSchema)]
pub struct ProductId {
    /// The product's identifier.
    pub id: u64,
}

/// Arguments of `create_product`.
#[derive(Deserialize, JsonSchema)]
pub struct NewProduct {
    /// Display name.
    pub name: String,
    /// Price in cents.
    pub price_cents: u64,
}

/// Arguments of the `product_brief` prompt (MCP prompt arguments are strings).
#[derive(Deserialize, JsonSchema)]
pub struct BriefArgs {
    /// The product to write about.
    pub id: String,
}

impl Products {
    /// A server over `catalog`.
    pub fn new(catalog: Catalog) -> Self {
        Products { catalog }
    }
}

#[mcp_rbac::tool_router(permissions = Perm)]
impl Products {
    #[tool(requires = "Guest.Read", description = "List every product")]
    async fn list_products(&self) -> Result<Json<ProductList>, ErrorData> {
        self.catalog.hit("list_products");
        Ok(Json(ProductList {
            products: self.catalog.list(),
        }))
    }

    #[tool(
        requires = "Guest.Read",
        description = "Get one product by id",
        annotations(read_only_hint = true)
    )]
    async fn get_product(
        &self,
        Parameters(ProductId { id }): Parameters<ProductId>,
    ) -> Result<Json<Product>, ErrorData> {
        self.catalog.hit("get_product");
        self.catalog
            .get(id)
            .map(Json)
            .ok_or_else(|| ErrorData::invalid_params(format!("no product {id}"), None))
    }

    #[tool(requires = any("User.Write", "Admin.Write"), description = "Create a product")]
    async fn create_product(
        &self,
        Parameters(p): Parameters<NewProduct>,
    ) -> Result<CallToolResult, ErrorData> {
        self.catalog.hit("create_product");
        let product = self.catalog.insert(p.name, p.price_cents);
        Ok(CallToolResult::success(vec![ContentBlock::text(format!(
            "product {} created",
            product.id
        ))]))
    }

    #[tool(
        requires = "Admin.Write",
        description = "Delete a product",
        annotations(destructive_hint = true)
    )]
    async fn delete_product(
        &self,
        Parameters(ProductId { id }): Parameters<ProductId>,
        caller: Principal,
    ) -> String {
        self.catalog.hit("delete_product");
        self.catalog.remove(id);
        tracing::info!(subject = caller.subject(), id, "product deleted");
        format!("product {id} deleted")
    }

    #[tool(
        public,
        description = "Who the server thinks you are, and what you may do"
    )]
    async fn whoami(&self, caller: Principal) -> String {
        self.catalog.hit("whoami");
        serde_json::json!({
            "subject": caller.subject(),
            "roles": caller.roles(),
            "permissions": caller.permissions().names(),
        })
        .to_string()
    }
}

#[mcp_rbac::prompt_router(permissions = Perm)]
impl Products {
    #[prompt(requires = "User.Read", description = "A sales brief for one product")]
    async fn product_brief(
        &self,
        Parameters(BriefArgs { id }): Parameters<BriefArgs>,
    ) -> Result<Vec<PromptMessage>, ErrorData> {
        self.catalog.hit("product_brief");
        let product = id
            .parse()
            .ok()
            .and_then(|id| self.catalog.get(id))
            .ok_or_else(|| ErrorData::invalid_params(format!("no product {id}"), None))?;
        Ok(vec![PromptMessage::new_text(
            Role::User,
            format!(
                "Write a two-line sales brief for {} (price {} cents).",
                product.name, product.price_cents
            ),
        )])
    }
}

#[mcp_rbac::tool_handler(
    name = "products",
    instructions = "A product catalogue with role-based access control."
)]
#[mcp_rbac::prompt_handler]
impl ServerHandler for Products {}
