//! The MCP surface: every tool, prompt and resource with its access rule, readable in one screen.
//! Every permission name is checked at compile time against [`Perm`], the set declared in
//! `policy.rs`.

use std::sync::LazyLock;

use mcp_rbac::guard::{Listing, ResourceGuard};
use mcp_rbac::{Denied, Principal};
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::model::{
    CallToolResult, ContentBlock, ListResourceTemplatesResult, ListResourcesResult,
    PaginatedRequestParams, PromptMessage, ReadResourceRequestParams, ReadResourceResponse,
    ReadResourceResult, Resource, ResourceContents, ResourceTemplate, Role,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::catalog::{Catalog, Owner, Product};
use super::policy::Perm;

/// The products MCP server (one per session; the catalogue is shared).
#[derive(Clone)]
pub struct Products {
    catalog: Catalog,
}

/// The resources, with the tools' requirement grammar: the catalogue and each product for
/// guests, the audit trail (how often each tool ran) for admins.
static RESOURCES: LazyLock<ResourceGuard> = LazyLock::new(|| {
    let json = |r: Resource| r.with_mime_type("application/json");
    ResourceGuard::new()
        .requires(
            json(Resource::new(CATALOG_URI, "catalog").with_description("Every product")),
            Perm::GuestRead,
        )
        .requires(
            json(Resource::new(AUDIT_URI, "audit").with_description("How often each tool ran")),
            Perm::AdminRead,
        )
        .requires_template(
            ResourceTemplate::new(format!("{PRODUCT_URI_PREFIX}{{id}}"), "product")
                .with_description("One product by id")
                .with_mime_type("application/json"),
            Perm::GuestRead,
        )
});
const CATALOG_URI: &str = "products://catalog";
const AUDIT_URI: &str = "products://audit";
const PRODUCT_URI_PREFIX: &str = "products://product/";

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

/// Arguments of `update_product`: the product, and the fields to change.
#[derive(Deserialize, JsonSchema)]
pub struct ProductUpdate {
    /// The product's identifier.
    pub id: u64,
    /// A new display name.
    pub name: Option<String>,
    /// A new price in cents.
    pub price_cents: Option<u64>,
}

/// The highest price a caller without `Admin.Write` may set, in cents.
pub const USER_PRICE_LIMIT_CENTS: u64 = 100_000;

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

    /// The guarded resources (their rules feed the metadata's `scopes_supported`).
    pub fn resources() -> &'static ResourceGuard {
        &RESOURCES
    }

    /// A resource's text. The guard has checked `uri` against a declared rule already.
    fn read(&self, uri: &str) -> Result<String, ErrorData> {
        let not_found = || ErrorData::resource_not_found(format!("no resource {uri}"), None);
        let value = if uri == CATALOG_URI {
            self.catalog.hit("resource catalog");
            serde_json::to_value(ProductList {
                products: self.catalog.list(),
            })
        } else if uri == AUDIT_URI {
            self.catalog.hit("resource audit");
            let manifest = Self::manifest();
            let names = manifest.tools.keys().chain(manifest.prompts.keys());
            let runs: serde_json::Map<String, serde_json::Value> = names
                .map(|name| (name.clone(), self.catalog.counters().get(name).into()))
                .collect();
            Ok(serde_json::json!({ "runs": runs }))
        } else {
            let id = uri
                .strip_prefix(PRODUCT_URI_PREFIX)
                .and_then(|id| id.parse::<u64>().ok())
                .ok_or_else(not_found)?;
            self.catalog.hit("resource product");
            serde_json::to_value(self.catalog.get(id).ok_or_else(not_found)?)
        };
        value
            .map(|v| v.to_string())
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))
    }

    /// Every tool's definition (name, input schema): what a Cedar schema is made from.
    pub fn tools() -> Vec<rmcp::model::Tool> {
        Self::tool_router().list_all()
    }

    /// Every prompt's definition.
    pub fn prompts() -> Vec<rmcp::model::Prompt> {
        Self::prompt_router().list_all()
    }

    /// Every tool, prompt and resource with its access rule and condition: what
    /// `products --manifest` prints and `examples/manifest.json` snapshots.
    pub fn manifest() -> mcp_rbac::Manifest {
        Self::tool_router_manifest()
            .merge(Self::prompt_router_manifest())
            .merge(mcp_rbac::Manifest::from_resources(Self::resources()))
    }

    /// `update_product`'s condition: `Admin.Write` may change any product to any price; anyone
    /// else (holding `User.Write`) only the products they created, and to at most
    /// [`USER_PRICE_LIMIT_CENTS`]. Seeded products have no owner, so only admins change them.
    async fn may_update(&self, caller: &Principal, update: &ProductUpdate) -> Result<(), Denied> {
        if caller.has_permission(Perm::AdminWrite.as_str()) {
            return Ok(());
        }
        if update
            .price_cents
            .is_some_and(|price| price > USER_PRICE_LIMIT_CENTS)
        {
            return Err(Denied::new(
                "price_above_limit",
                format!("prices above {USER_PRICE_LIMIT_CENTS} cents need Admin.Write"),
            ));
        }
        match self.catalog.owner(update.id) {
            Some(owner) if owner.is(caller) => Ok(()),
            _ => Err(Denied::new(
                "not_owner",
                format!("product {} was not created by you", update.id),
            )),
        }
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
    ) -> Result<Json<Product>, String> {
        self.catalog.hit("get_product");
        // A missing record is a tool execution error (`isError: true`, readable by the model),
        // not a protocol error: MCP specification, "Tools", error handling.
        self.catalog
            .get(id)
            .map(Json)
            .ok_or_else(|| format!("no product {id}"))
    }

    #[tool(requires = any("User.Write", "Admin.Write"), description = "Create a product")]
    async fn create_product(
        &self,
        Parameters(p): Parameters<NewProduct>,
        caller: Principal,
    ) -> Result<CallToolResult, ErrorData> {
        self.catalog.hit("create_product");
        let product = self.catalog.insert(p.name, p.price_cents);
        self.catalog.set_owner(product.id, Owner::of(&caller));
        Ok(CallToolResult::success(vec![ContentBlock::text(format!(
            "product {} created",
            product.id
        ))]))
    }

    #[tool(
        requires = any("User.Write", "Admin.Write"),
        authorize = Self::may_update,
        description = "Change a product's name or price (your own products, up to 1000.00, unless you hold Admin.Write)"
    )]
    async fn update_product(
        &self,
        Parameters(update): Parameters<ProductUpdate>,
    ) -> Result<Json<Product>, String> {
        self.catalog.hit("update_product");
        self.catalog
            .update(update.id, update.name, update.price_cents)
            .map(Json)
            .ok_or_else(|| format!("no product {}", update.id))
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
impl ServerHandler for Products {
    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        RESOURCES.list(&context, Listing::of_request(&context))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        RESOURCES.list_templates(&context, Listing::of_request(&context))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        RESOURCES.check(&request.uri, &context)?;
        let text = self.read(&request.uri)?;
        let contents = ResourceContents::text(text, request.uri).with_mime_type("application/json");
        Ok(ReadResourceResult::new(vec![contents]).into())
    }
}
