//! Role-based access control for MCP servers built on [rmcp](https://docs.rs/rmcp).
//!
//! Annotate tools with what they need; the macros write the checks. The bearer layer verifies the
//! token of each request, and the routes answer a caller without the permission with the MCP
//! authorization specification's denial, before rmcp reads the arguments:
//!
//! ```
//! use std::sync::Arc;
//!
//! use mcp_rbac::bearer::BearerAuthLayer;
//! use mcp_rbac::metadata::ProtectedResource;
//! use mcp_rbac::verify::{Algorithm, JwtVerifier, VerificationKey};
//! use mcp_rbac::{ClaimsMapping, Principal, Role, RolePolicy};
//! use rmcp::handler::server::wrapper::Parameters;
//! use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
//! use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
//! use tower_layer::Layer;
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct ProductId {
//!     id: u64,
//! }
//!
//! #[derive(Clone)]
//! struct Products;
//!
//! #[mcp_rbac::tool_router]
//! impl Products {
//!     #[tool(requires = "Guest.Read", description = "List products")]
//!     async fn list_products(&self) -> String {
//!         "[]".into()
//!     }
//!
//!     #[tool(requires = any("User.Write", "Admin.Write"), description = "Delete a product")]
//!     async fn delete_product(&self, Parameters(p): Parameters<ProductId>) -> String {
//!         format!("product {} deleted", p.id)
//!     }
//!
//!     #[tool(public)]
//!     async fn whoami(&self, caller: Principal) -> String {
//!         caller.subject().to_owned()
//!     }
//! }
//!
//! #[mcp_rbac::tool_handler]
//! impl rmcp::ServerHandler for Products {}
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let url = "https://mcp.example.com/mcp";
//! let roles = RolePolicy::new([
//!     Role::new("guest").grants(["Guest.Read"]),
//!     Role::new("admin").inherits(["guest"]).grants(["Admin.*"]),
//! ])?;
//! # let key = VerificationKey::hmac_secret(b"a development secret of sixty-four bytes, never used in production")?;
//! let verifier = JwtVerifier::builder()
//!     .issuer("https://sso.example.com")
//!     .audience(url)
//!     .algorithms([Algorithm::HS256])
//!     .key(key)
//!     .claims(ClaimsMapping::default().with_role_policy(roles))
//!     .build()?;
//! let resource = ProtectedResource::new(url)?.authorization_server("https://sso.example.com");
//! let mcp = StreamableHttpService::new(
//!     || Ok(Products),
//!     LocalSessionManager::default().into(),
//!     StreamableHttpServerConfig::default().with_allowed_hosts(["mcp.example.com"]),
//! );
//! let app: axum::Router = axum::Router::new()
//!     .route_service("/mcp", BearerAuthLayer::new(Arc::new(verifier), &resource).layer(mcp))
//!     .merge(resource.router());
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
//!
//! A request flows one way: the [bearer layer](bearer) reads the token, a [verifier](verify)
//! turns it into a [`Principal`] (claims mapped by [`ClaimsMapping`], roles expanded by a
//! [`RolePolicy`]), and the [guard] of each route checks the tool's [`Requirement`] before
//! rmcp reads the arguments. Denials become the JSON-RPC errors and OAuth challenges of the MCP
//! authorization specification.
//!
//! The macros' arguments are listed in [`macro@tool_router`], [`macro@tool`],
//! [`macro@prompt_router`], [`macro@prompt`], [`macro@tool_handler`], [`macro@prompt_handler`]
//! and [`permissions!`]; the [`guides`] cover identity providers, token verifiers, step-up
//! authorization, guarded resources, list modes, stdio servers and operational metrics.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod audit;
pub mod authorizer;
pub mod bearer;
#[cfg(feature = "cedar")]
pub mod cedar;
pub mod claims;
mod client_policy;
pub mod condition;
pub mod denial;
mod error;
pub mod guard;
pub mod guides;
mod item;
mod manifest;
pub mod metadata;
mod metrics;
mod permissions;
mod policy;
mod principal;
mod requirement;
pub mod server;
pub mod stdio;
pub mod store;
#[cfg(feature = "testkit")]
pub mod testkit;
mod typed;
pub mod verify;

pub use bearer::{BearerAuthLayer, DpopMode};
pub use claims::{ClaimShape, ClaimSource, ClaimsMapping};
pub use client_policy::{Client, ClientPolicy, ClientPolicyError, DefaultCeiling};
pub use condition::Denied;
pub use error::AuthError;
pub use guard::Listing;
pub use item::ItemKind;
pub use manifest::{AccessMatrix, Manifest, MatrixError};
pub use mcp_rbac_macros::{
    permissions, prompt, prompt_handler, prompt_router, tool, tool_handler, tool_router,
};
pub use metadata::ProtectedResource;
pub use permissions::PermissionSet;
pub use policy::{PolicyError, Role, RolePolicy};
pub use principal::{principal_from_context, Actor, Principal, PrincipalBuilder};
pub use requirement::{is_valid_permission_name, Access, ParseRequirementError, Requirement};
pub use server::{Issuer, ServerBuilder, ServerError};
pub use verify::{JwtVerifier, TokenVerifier};

/// Items the generated code uses. Not public API: names and signatures may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::guard::built_once::built_once;
    pub use crate::guard::condition::{
        prompt_with_condition, tool_with_condition, ConditionScope, Conditioned,
    };
    pub use crate::guard::handler::{
        call_tool, get_prompt, get_tool, list_prompts, list_tools, list_tools_built_once,
    };
    pub use crate::guard::{guard_prompt, guard_tool, Listing};
    pub use crate::principal::OptionalPrincipal;
    pub use crate::requirement::{Access, Requirement};
    pub use crate::typed::{permission_set, PermissionEnum};
    pub use mcp_rbac_macros::unknown_permission;
}
