//! The code the macros write. It is reviewed by people, so it stays plain: a router function
//! listing each route with its requirement, and handler methods that call one runtime function each.
//!
//! On an error the macros still write the user's item (leaving out only what was wrong), next to
//! the `compile_error!`: the error is then the only diagnostic, not the first of many "cannot find
//! method / type" errors about an item that vanished.

use proc_macro2::TokenStream;
use quote::quote;

mod handler;
mod outside;
mod permissions;
mod router;
#[cfg(test)]
mod snapshots;

pub use handler::handler;
pub use outside::outside_router;
pub use permissions::{permissions, unknown_permission};
pub use router::router;

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
