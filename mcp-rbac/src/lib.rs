//! Role-based access control for MCP servers built on [rmcp](https://docs.rs/rmcp).
//!
//! Annotate tools with what they need; the macros write the checks:
//!
//! ```ignore
//! #[mcp_rbac::tool_router]
//! impl Products {
//!     #[tool(requires = "Guest.Read", description = "List products")]
//!     async fn list_products(&self) -> Result<Json<ProductList>, ErrorData> { .. }
//!
//!     #[tool(requires = any("User.Write", "Admin.Write"))]
//!     async fn create_product(&self, Parameters(p): Parameters<NewProduct>) -> Result<CallToolResult, ErrorData> { .. }
//!
//!     #[tool(public)]
//!     async fn whoami(&self, caller: Principal) -> String { .. }
//! }
//!
//! #[mcp_rbac::tool_handler]
//! impl ServerHandler for Products {}
//! ```
//!
//! A request flows one way: the [bearer layer](bearer) reads the token, a [verifier](verify)
//! turns it into a [`Principal`] (claims mapped by [`ClaimsMapping`], roles expanded by a
//! [`RolePolicy`]), and the [guard](guard) of each route checks the tool's [`Requirement`] before
//! rmcp reads the arguments. Denials become the JSON-RPC errors and OAuth challenges of the MCP
//! authorization specification.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod audit;
pub mod bearer;
pub mod claims;
pub mod guard;
mod manifest;
pub mod metadata;
mod policy;
mod principal;
mod requirement;
pub mod server;
pub mod stdio;
#[cfg(feature = "testkit")]
pub mod testkit;
mod typed;
pub mod verify;

pub use bearer::BearerAuthLayer;
pub use claims::{ClaimShape, ClaimSource, ClaimsMapping};
pub use guard::Listing;
pub use manifest::{AccessMatrix, ItemKind, Manifest, MatrixError};
pub use mcp_rbac_macros::{
    permissions, prompt, prompt_handler, prompt_router, tool, tool_handler, tool_router,
};
pub use metadata::ProtectedResource;
pub use policy::{PolicyError, Role, RolePolicy};
pub use principal::{principal_from_context, PermissionSet, Principal, PrincipalBuilder};
pub use requirement::{is_valid_permission_name, Access, ParseRequirementError, Requirement};
pub use server::{Issuer, ServerBuilder, ServerError};
pub use verify::{AuthError, JwtVerifier, TokenVerifier};

/// Items the generated code uses. Not public API: names and signatures may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::guard::built_once::built_once;
    pub use crate::guard::{
        call_tool, get_prompt, get_tool, guard_prompt, guard_tool, list_prompts, list_tools,
        Listing,
    };
    pub use crate::principal::OptionalPrincipal;
    pub use crate::requirement::{Access, Requirement};
    pub use crate::typed::{bits_of, BitCheck, BitRequirement, PermissionEnum, TypedGuard};
    pub use mcp_rbac_macros::unknown_permission;
}
