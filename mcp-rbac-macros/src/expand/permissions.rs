//! `mcp_rbac::permissions!`: the permission set as an enum, plus a crate-local checking macro of
//! the same name that `#[mcp_rbac::tool_router(permissions = Perm)]` calls on every `requires` name.
//!
//! A router macro cannot see the enum's definition, so the check travels through the macro
//! namespace: `Perm!("Admin.Write")` is `"Admin.Write"` when the set declares it, and for any other
//! name it asks [`unknown_permission`] for an error spanned on the user's string. Importing the
//! enum (`use crate::auth::Perm;`) imports the macro too, since both are named `Perm`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{bracketed, Ident, Lit, LitStr, Token, Visibility};

use super::Expansion;
use crate::parse;
use crate::suggest::closest;
use crate::validate;

pub(super) fn try_expand(input: TokenStream) -> Result<Expansion, syn::Error> {
    let set = parse::permission_set(input)?;
    validate::permission_set(&set)?;
    let (attrs, vis, ident) = (&set.attrs, &set.vis, &set.ident);
    // Names are written back plain, so `Perm!` compares the same spelling the router emits.
    let names: Vec<LitStr> = set
        .names
        .iter()
        .map(|n| LitStr::new(&n.name.value(), n.name.span()))
        .collect();
    let variants: Vec<&Ident> = set.names.iter().map(|n| &n.variant).collect();
    let variant_defs = set.names.iter().zip(&names).map(|(n, name)| {
        let doc = format!(" `{}`", name.value());
        let (user_attrs, variant) = (&n.attrs, &n.variant);
        // The user's own doc comes first; the name is always said.
        quote! { #(#user_attrs)* #[doc = #doc] #variant }
    });
    let count = proc_macro2::Literal::usize_unsuffixed(names.len());
    let checker = format_ident!("__mcp_rbac_permissions_{}", ident);
    // A `pub` enum's macro stays crate-local: macro_rules cannot be exported by path.
    let use_vis = match vis {
        Visibility::Public(_) => quote!(pub(crate)),
        other => quote!(#other),
    };
    let doc_all = format!(" Every permission of `{ident}`, in declaration order.");
    let code = quote! {
        #(#attrs)*
        // Names may be only granted, or required only as strings: an unused variant is normal.
        #[allow(dead_code)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #vis enum #ident {
            #(#variant_defs,)*
        }

        impl #ident {
            #[doc = #doc_all]
            #vis const ALL: [#ident; #count] = [#(#ident::#variants),*];

            /// The permission's name, as tokens, role policies and requirements write it.
            #vis const fn as_str(self) -> &'static str {
                match self {
                    #(#ident::#variants => #names,)*
                }
            }
        }

        impl ::mcp_rbac::__private::PermissionEnum for #ident {
            const NAMES: &'static [&'static str] = &[#(#names),*];
        }

        impl ::core::fmt::Display for #ident {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::core::convert::AsRef<str> for #ident {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl ::core::convert::From<#ident> for ::std::string::String {
            fn from(permission: #ident) -> Self {
                ::std::string::String::from(permission.as_str())
            }
        }

        impl ::core::convert::From<#ident> for ::mcp_rbac::Requirement {
            fn from(permission: #ident) -> Self {
                ::mcp_rbac::Requirement::permission(permission.as_str())
            }
        }

        #[doc(hidden)]
        #[allow(unused_macros)]
        macro_rules! #checker {
            #((#names) => { #names };)*
            ($other:literal) => {
                ::mcp_rbac::__private::unknown_permission!($other, #ident, [#(#names),*])
            };
        }

        #[doc(hidden)]
        #[allow(unused_imports)]
        #use_vis use #checker as #ident;
    };
    Ok(Expansion { code, errors: None })
}

/// `unknown_permission!("Admin.Wrte", Perm, ["Guest.Read", ..])`, called by a `Perm!` checker
/// on a name its set does not declare: the error, spanned on the user's string.
pub fn unknown_permission(input: TokenStream) -> TokenStream {
    match Unknown::parse.parse2(input) {
        Ok(unknown) => unknown.error().into_compile_error(),
        Err(e) => e.into_compile_error(),
    }
}

struct Unknown {
    written: Lit,
    set: Ident,
    names: Vec<String>,
}

impl Parse for Unknown {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let written: Lit = input.parse()?;
        input.parse::<Token![,]>()?;
        let set: Ident = input.parse()?;
        input.parse::<Token![,]>()?;
        let list;
        bracketed!(list in input);
        let names = Punctuated::<LitStr, Token![,]>::parse_terminated(&list)?
            .iter()
            .map(LitStr::value)
            .collect();
        Ok(Unknown {
            written,
            set,
            names,
        })
    }
}

impl Unknown {
    fn error(&self) -> syn::Error {
        let set = &self.set;
        let Lit::Str(written) = &self.written else {
            return syn::Error::new(
                self.written.span(),
                format!("a permission of `{set}` is a string, e.g. `\"Admin.Write\"`"),
            );
        };
        let name = written.value();
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        let help = if let Some(same) = names.iter().find(|n| n.eq_ignore_ascii_case(&name)) {
            format!("permission names are case-sensitive: write `\"{same}\"`")
        } else if let Some(near) = closest(&name, &names) {
            format!("did you mean `\"{near}\"`?")
        } else {
            let listed: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
            format!(
                "`{set}` declares {}; if `{name}` is a new permission, add `\"{name}\"` to `{set}` in its `mcp_rbac::permissions!`",
                listed.join(", ")
            )
        };
        syn::Error::new(
            written.span(),
            format!("`{name}` is not a permission of `{set}`\nhelp: {help}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(input: TokenStream) -> String {
        Unknown::parse.parse2(input).unwrap().error().to_string()
    }

    #[test]
    fn unknown_names_get_the_closest_declared_one() {
        let names = quote!(["Guest.Read", "User.Write", "Admin.Write"]);
        assert_eq!(
            message(quote!("Admin.Wrte", Perm, #names)),
            "`Admin.Wrte` is not a permission of `Perm`\nhelp: did you mean `\"Admin.Write\"`?"
        );
        assert!(message(quote!("admin.write", Perm, #names)).contains("case-sensitive"));
        let far = message(quote!("Billing.Export", Perm, #names));
        assert!(
            far.contains("`Perm` declares `Guest.Read`, `User.Write`, `Admin.Write`"),
            "{far}"
        );
        assert!(far.contains("add `\"Billing.Export\"`"), "{far}");
    }

    #[test]
    fn a_set_checks_its_declaration() {
        let errors = |input: TokenStream| try_expand(input).err().map(|e| e.to_string());
        assert_eq!(errors(quote!(pub enum Perm { "A.Read", "B.Write" })), None);
        assert!(errors(quote!(enum Perm { "A.Read", "A.Read" }))
            .unwrap()
            .contains("declared twice"));
        assert!(errors(quote!(enum Perm { "A.*" }))
            .unwrap()
            .contains("wildcard"));
        assert!(errors(quote!(enum Perm { "a.read", "A.Read" }))
            .unwrap()
            .contains("both make the variant"));
        assert!(errors(quote!(
            enum Perm {}
        ))
        .unwrap()
        .contains("declares no permission"));
        let many: Vec<String> = (0..129).map(|i| format!("P.{i}")).collect();
        assert!(errors(quote!(enum Perm { #(#many),* }))
            .unwrap()
            .contains("at most 128"));
    }
}
