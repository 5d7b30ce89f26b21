//! The code the macros write. It is reviewed by people, so it stays plain: a router function
//! listing each route with its requirement, and handler methods that call one runtime function each.
//!
//! On an error the macros still write the user's item (leaving out only what was wrong), next to
//! the `compile_error!`: the error is then the only diagnostic, not the first of many "cannot find
//! method / type" errors about an item that vanished. An error that stops the expansion takes one
//! path, [`fallback::expand`]; an error in one method keeps the rest of the expansion, and is
//! reported next to it ([`Expansion::errors`]).

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::Kind;

mod fallback;
mod handler;
mod outside;
mod permissions;
mod router;
#[cfg(test)]
mod snapshots;

pub use outside::outside_router;
pub use permissions::unknown_permission;

/// `#[mcp_rbac::tool_router]` / `#[mcp_rbac::prompt_router]`.
pub fn router(kind: Kind, attr: TokenStream, input: TokenStream) -> TokenStream {
    expand(Some(kind), input, |input| {
        router::try_expand(kind, attr, input)
    })
}

/// `#[mcp_rbac::tool_handler]` / `#[mcp_rbac::prompt_handler]`.
pub fn handler(kind: Kind, attr: TokenStream, input: TokenStream) -> TokenStream {
    expand(Some(kind), input, |input| {
        handler::try_expand(kind, attr, input)
    })
}

/// `mcp_rbac::permissions!`.
pub fn permissions(input: TokenStream) -> TokenStream {
    expand(None, input, permissions::try_expand)
}

/// The expansion, or when it cannot be made, the fallback: the error and the user's item.
fn expand(
    kind: Option<Kind>,
    input: TokenStream,
    try_expand: impl FnOnce(TokenStream) -> Result<Expansion, syn::Error>,
) -> TokenStream {
    match try_expand(input.clone()) {
        Ok(expansion) => expansion.into_tokens(),
        Err(error) => fallback::expand(kind, input, error),
    }
}

/// `errors` (those found before a fatal one) with `fatal` after them.
fn fatal(errors: Option<syn::Error>, fatal: syn::Error) -> syn::Error {
    match errors {
        Some(mut errors) => {
            errors.combine(fatal);
            errors
        }
        None => fatal,
    }
}

/// What one macro call writes: code, and the errors reported alongside it.
pub struct Expansion {
    pub code: TokenStream,
    pub errors: Option<syn::Error>,
}

impl Expansion {
    pub fn into_tokens(self) -> TokenStream {
        let errors = self.errors.map(syn::Error::into_compile_error);
        let code = self.code;
        quote!(#errors #code)
    }
}
