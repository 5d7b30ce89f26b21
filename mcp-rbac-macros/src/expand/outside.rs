//! `#[mcp_rbac::tool]` / `#[mcp_rbac::prompt]` left standing: the router macro rewrites every such
//! attribute, so one that reaches its own expansion is outside a router and would never be checked.

use proc_macro2::{Span, TokenStream};

use crate::model::Kind;

pub fn outside_router(
    kind: Kind,
    _attr: TokenStream,
    _item: TokenStream,
) -> syn::Result<TokenStream> {
    Err(syn::Error::new(
        Span::call_site(),
        format!(
            "`#[mcp_rbac::{0}(..)]` only works on a method of an `impl` block marked `#[mcp_rbac::{1}]`, which builds the permission-checked router\n  help: put `#[mcp_rbac::{1}]` on the `impl` block that holds this method",
            kind.attr(),
            kind.router()
        ),
    ))
}
