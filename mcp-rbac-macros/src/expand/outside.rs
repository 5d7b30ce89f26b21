//! `#[mcp_rbac::tool]` / `#[mcp_rbac::prompt]` left standing: the router macro rewrites every such
//! attribute, so one that reaches its own expansion is outside a router and would never be checked.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::Attribute;

use super::router::rmcp_attribute;
use super::Expansion;
use crate::model::Kind;
use crate::parse;

pub fn outside_router(kind: Kind, attr: TokenStream, item: TokenStream) -> Expansion {
    let message = format!(
        "`#[mcp_rbac::{0}(..)]` only works on a method of an `impl` block marked `#[mcp_rbac::{1}]`, which builds the permission-checked router; here its access rule would never be checked\nhelp: mark the `impl` block that holds this method `#[mcp_rbac::{1}]` (in place of rmcp's `#[{1}]`, if it has one)",
        kind.attr(),
        kind.router()
    );
    // Point at the arguments (`requires = ..`), the user's tokens; a bare attribute has none.
    let error = if attr.is_empty() {
        syn::Error::new(Span::call_site(), message)
    } else {
        syn::Error::new_spanned(&attr, message)
    };
    // Keep the method, under rmcp's attribute with our keys removed: under rmcp's own router the
    // route it writes then still finds `{fn}_tool_attr`, and calls to the method still resolve.
    let name = format_ident!("{}", kind.attr());
    let as_written: Attribute = syn::parse_quote!(#[#name(#attr)]);
    let code = match parse::method_attr(kind, &as_written) {
        Ok(raw) => {
            let rmcp = rmcp_attribute(kind, &raw.passthrough);
            quote!(#rmcp #item)
        }
        Err(_) => item,
    };
    Expansion {
        code,
        errors: Some(error),
    }
}
