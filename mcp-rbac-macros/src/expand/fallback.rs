//! What a macro writes when it cannot expand: the error, and the user's item kept as written, so
//! the error is the only diagnostic rather than the first of many about an item that vanished.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::{ImplItem, ItemImpl};

use crate::model::{last_segment_is, Kind};

/// `error` next to `input`. An `impl` block loses our method attributes (`#[tool]` /
/// `#[prompt]` of `kind`), so rmcp's attribute of the same name, if imported, does not report the
/// same mistake a second time. Without a `kind` (the `permissions!` declaration, which is not a
/// Rust item) only the error is written.
pub fn expand(kind: Option<Kind>, input: TokenStream, error: syn::Error) -> TokenStream {
    let error = error.into_compile_error();
    let Some(kind) = kind else {
        return error;
    };
    let item = match syn::parse2::<ItemImpl>(input.clone()) {
        Ok(mut item_impl) => {
            strip_method_attrs(kind, &mut item_impl);
            item_impl.into_token_stream()
        }
        Err(_) => input,
    };
    quote!(#error #item)
}

fn strip_method_attrs(kind: Kind, item_impl: &mut ItemImpl) {
    for impl_item in &mut item_impl.items {
        if let ImplItem::Fn(method) = impl_item {
            method
                .attrs
                .retain(|a| !last_segment_is(a.path(), kind.attr()));
        }
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::Span;

    use super::*;

    fn error() -> syn::Error {
        syn::Error::new(Span::call_site(), "our message")
    }

    #[test]
    fn an_impl_is_kept_without_our_method_attributes() {
        let input = quote! {
            impl S {
                #[tool(requires = "A")]
                #[doc = "kept"]
                async fn a(&self) {}
            }
        };
        let out = expand(Some(Kind::Tool), input, error()).to_string();
        assert!(out.starts_with(":: core :: compile_error !"), "{out}");
        assert!(
            out.contains("our message") && out.contains("async fn a"),
            "{out}"
        );
        assert!(out.contains("doc") && !out.contains("requires"), "{out}");
    }

    #[test]
    fn other_items_are_kept_as_written_and_a_declaration_is_not() {
        let input = quote!(
            struct S {
                #[tool]
                x: u8,
            }
        );
        let out = expand(Some(Kind::Tool), input.clone(), error()).to_string();
        assert!(out.ends_with(&input.to_string()), "{out}");
        let out = expand(None, quote!(pub enum Perm { "A.Read" }), error()).to_string();
        assert!(
            out.contains("our message") && !out.contains("Perm"),
            "{out}"
        );
    }
}
