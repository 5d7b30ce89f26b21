//! The same one-tool server twice: guarded by mcp-rbac, and plain rmcp.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::ServerHandler;
use schemars::JsonSchema;
use serde::Deserialize;

/// Arguments of `delete_product`.
#[derive(Deserialize, JsonSchema)]
pub struct ProductId {
    /// The product's identifier.
    pub id: u64,
}

/// `delete_product` behind `Admin.Write`.
#[derive(Clone, Copy)]
pub struct Authorized;

#[mcp_rbac::tool_router]
impl Authorized {
    #[tool(requires = "Admin.Write", description = "Delete a product")]
    async fn delete_product(&self, Parameters(ProductId { id }): Parameters<ProductId>) -> String {
        format!("product {id} deleted")
    }
}

#[mcp_rbac::tool_handler(name = "bench")]
impl ServerHandler for Authorized {}

/// `delete_product` with no check: the baseline.
#[derive(Clone, Copy)]
pub struct Plain;

#[rmcp::tool_router]
impl Plain {
    #[rmcp::tool(description = "Delete a product")]
    async fn delete_product(&self, Parameters(ProductId { id }): Parameters<ProductId>) -> String {
        format!("product {id} deleted")
    }
}

#[rmcp::tool_handler(name = "bench")]
impl ServerHandler for Plain {}
