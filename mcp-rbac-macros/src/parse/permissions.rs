//! `mcp_rbac::permissions! { /// docs
//!     pub enum Perm { "Guest.Read", "Admin.Write" as AdminWrite, .. } }`: syntax only.
//! Names that are invalid, declared twice or too many are [`validate`](crate::validate)'s job.

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream, Parser};
use syn::{braced, Attribute, Ident, LitStr, Token, Visibility};

use crate::model::{DeclaredPermission, PermissionSet};

const SHAPE: &str = "write `mcp_rbac::permissions! { pub enum Perm { \"Guest.Read\", \"Admin.Write\" } }`: an enum whose entries are the permission names, as strings";

/// Parses the whole macro input.
pub fn permission_set(input: TokenStream) -> syn::Result<PermissionSet> {
    PermissionSet::parse.parse2(input)
}

impl Parse for PermissionSet {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        if !input.peek(Token![enum]) {
            return Err(input.error(format!("expected `enum`\nhelp: {SHAPE}")));
        }
        input.parse::<Token![enum]>()?;
        let ident: Ident = input.parse()?;
        if input.peek(Token![<]) {
            return Err(input.error(
                "a permission set takes no generic parameters\nhelp: a permission set is a plain \
                 list of names: `pub enum Perm { \"Admin.Write\", .. }`",
            ));
        }
        let body;
        braced!(body in input);
        let mut names = Vec::new();
        while !body.is_empty() {
            names.push(body.parse::<DeclaredPermission>()?);
            if body.is_empty() {
                break;
            }
            body.parse::<Token![,]>()?;
        }
        if !input.is_empty() {
            return Err(input.error(
                "unexpected tokens after the permission set's enum\nhelp: declare one enum per \
                 `mcp_rbac::permissions! {..}`",
            ));
        }
        Ok(PermissionSet {
            attrs,
            vis,
            ident,
            names,
        })
    }
}

impl Parse for DeclaredPermission {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        if input.peek(Ident) && !input.peek2(Token![as]) {
            let ident: Ident = input.parse()?;
            let message = if input.peek(Token![=]) {
                format!("an entry is the permission name, then optionally its variant name\nhelp: write `\"Permission.Name\" as {ident}`")
            } else {
                format!("permission names are string literals, but `{ident}` is not quoted\nhelp: {SHAPE}")
            };
            return Err(syn::Error::new(ident.span(), message));
        }
        let name: LitStr = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("expected a permission name in double quotes\nhelp: {SHAPE}"),
            )
        })?;
        let variant = if input.peek(Token![as]) {
            input.parse::<Token![as]>()?;
            input.parse()?
        } else {
            variant_name(&name)
        };
        Ok(DeclaredPermission {
            name,
            variant,
            attrs,
        })
    }
}

/// `Admin.Write` → `AdminWrite`, `products:write` → `ProductsWrite`, `mcp.tools-read` →
/// `McpToolsRead`: each run of letters and digits, capitalized, joined. A name with no letter
/// or digit, or starting with a digit, gets `P` in front so the variant is an identifier.
pub fn variant_name(name: &LitStr) -> Ident {
    let mut out = String::new();
    for word in name.value().split(|c: char| !c.is_alphanumeric()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    let ascii_ident = out.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && out.chars().all(|c| c.is_ascii_alphanumeric());
    if !ascii_ident {
        out = format!(
            "P{}",
            out.chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
        );
    }
    Ident::new(&out, name.span())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_names_read_like_the_permission() {
        let v = |s: &str| variant_name(&LitStr::new(s, proc_macro2::Span::call_site())).to_string();
        assert_eq!(v("Admin.Write"), "AdminWrite");
        assert_eq!(v("products:write"), "ProductsWrite");
        assert_eq!(v("mcp.tools-read"), "McpToolsRead");
        assert_eq!(v("9lives"), "P9lives");
        assert_eq!(v("é.x"), "PX");
    }

    #[test]
    fn entries_parse_with_and_without_a_variant_name() {
        let set = permission_set(quote::quote! {
            /// Docs.
            pub enum Perm { "Guest.Read", /// Deletes.
            "Admin.Write" as Admin, }
        })
        .unwrap();
        assert_eq!(set.ident, "Perm");
        let names: Vec<_> = set.names.iter().map(|n| n.variant.to_string()).collect();
        assert_eq!(names, ["GuestRead", "Admin"]);
        assert!(permission_set(quote::quote! { enum Perm { GuestRead } })
            .err()
            .unwrap()
            .to_string()
            .contains("not quoted"));
    }
}
