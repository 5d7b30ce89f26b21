//! Arguments of the router and handler attributes. They are rmcp's arguments, so code written for
//! rmcp's `#[tool_router(..)]` / `#[tool_handler(..)]` keeps working after switching the path.

use proc_macro2::TokenStream;
use syn::{
    parse::Parser, punctuated::Punctuated, Expr, Ident, Lit, LitStr, Meta, Token, Visibility,
};

use crate::model::{HandlerArgs, Kind, RouterArgs};
use crate::parse::push_error as push;
use crate::suggest::closest;

fn metas(attr: TokenStream) -> syn::Result<Punctuated<Meta, Token![,]>> {
    Punctuated::<Meta, Token![,]>::parse_terminated.parse2(attr)
}

fn unknown_key(ident: &Ident, known: &[&str], what: &str) -> syn::Error {
    let hint = match closest(&ident.to_string(), known) {
        Some(near) => format!("did you mean `{near}`? "),
        None => String::new(),
    };
    syn::Error::new(
        ident.span(),
        format!(
            "unknown argument `{ident}` for `{what}`\nhelp: {hint}the accepted arguments are: {}",
            known.join(", ")
        ),
    )
}

fn string_value(expr: &Expr) -> syn::Result<LitStr> {
    match expr {
        Expr::Lit(lit) => match &lit.lit {
            Lit::Str(s) => Ok(s.clone()),
            other => Err(syn::Error::new_spanned(other, "expected a string literal")),
        },
        other => Err(syn::Error::new_spanned(other, "expected a string literal")),
    }
}

/// `router = name, vis = "pub", server_handler, allow_empty` (all optional).
///
/// A wrong argument is reported and skipped; the others still apply, so the router is still
/// written under the name the user gave and no "cannot find `tool_router`" follows our error.
pub fn router_args(kind: Kind, attr: TokenStream) -> (RouterArgs, Option<syn::Error>) {
    let mut args = RouterArgs {
        router: Ident::new(kind.router(), proc_macro2::Span::call_site()),
        vis: Visibility::Inherited,
        server_handler: false,
        allow_empty: false,
        permissions: None,
    };
    let what = format!("#[mcp_rbac::{}]", kind.router());
    let known = kind.router_keys();
    let metas = match metas(attr) {
        Ok(metas) => metas,
        Err(e) => return (args, Some(e)),
    };
    let mut errors = None;
    for meta in metas {
        if let Err(e) = router_arg(kind, &mut args, &meta, known, &what) {
            push(&mut errors, e);
        }
    }
    (args, errors)
}

fn router_arg(
    kind: Kind,
    args: &mut RouterArgs,
    meta: &Meta,
    known: &[&str],
    what: &str,
) -> syn::Result<()> {
    let ident = meta.path().require_ident()?;
    match (ident.to_string().as_str(), meta) {
        ("router", Meta::NameValue(nv)) => {
            // rmcp takes a bare ident for tools and a string for prompts; accept both.
            args.router = match &nv.value {
                Expr::Path(p) => p.path.require_ident()?.clone(),
                other => string_value(other)?.parse()?,
            };
        }
        ("vis", Meta::NameValue(nv)) => args.vis = string_value(&nv.value)?.parse()?,
        ("permissions", Meta::NameValue(nv)) => args.permissions = Some(permission_set(&nv.value)?),
        ("server_handler", Meta::Path(_)) if kind == Kind::Tool => args.server_handler = true,
        ("allow_empty", Meta::Path(_)) if kind == Kind::Tool => args.allow_empty = true,
        ("server_handler", _) if kind == Kind::Prompt => {
            return Err(syn::Error::new_spanned(
                meta,
                "`server_handler` is an argument of `#[mcp_rbac::tool_router]`, not of `#[mcp_rbac::prompt_router]`\nhelp: remove it, and put `#[mcp_rbac::prompt_handler]` on `impl rmcp::ServerHandler for MyServer {}`",
            ));
        }
        ("allow_empty", _) if kind == Kind::Prompt => {
            return Err(syn::Error::new_spanned(
                meta,
                "`allow_empty` is an argument of `#[mcp_rbac::tool_router]`, not of `#[mcp_rbac::prompt_router]`\nhelp: remove it; a prompt router holds at least one `#[prompt(..)]` method",
            ));
        }
        (name, _) if known.contains(&name) => {
            let form = match name {
                "router" => "`router = name`".to_string(),
                "vis" => "`vis = \"pub\"`".to_string(),
                "permissions" => {
                    "`permissions = Perm`, naming an enum declared with `mcp_rbac::permissions!`"
                        .to_string()
                }
                flag => format!("a bare flag: `{flag}`"),
            };
            return Err(syn::Error::new_spanned(
                meta,
                format!("`{name}` is written {form}"),
            ));
        }
        _ => return Err(unknown_key(ident, known, what)),
    }
    Ok(())
}

/// `permissions = Perm` / `permissions = crate::auth::Perm`: a plain path, no generics.
fn permission_set(value: &Expr) -> syn::Result<syn::Path> {
    let help = "`permissions` names the enum declared with `mcp_rbac::permissions! { pub enum Perm { \"Admin.Write\", .. } }`\nhelp: write `permissions = Perm`";
    let Expr::Path(path) = value else {
        return Err(syn::Error::new_spanned(value, help));
    };
    let plain = path.qself.is_none()
        && path.attrs.is_empty()
        && path
            .path
            .segments
            .iter()
            .all(|s| matches!(s.arguments, syn::PathArguments::None));
    if !plain {
        return Err(syn::Error::new_spanned(value, help));
    }
    Ok(path.path.clone())
}

/// `router = expr, meta = expr, listing = expr, name = "..", version = "..", instructions = ".."`
/// (all optional; `listing` is ours, the rest are rmcp's).
///
/// As with [`router_args`], a wrong argument is reported and skipped.
pub fn handler_args(kind: Kind, attr: TokenStream) -> (HandlerArgs, Option<syn::Error>) {
    let mut args = HandlerArgs {
        router: None,
        meta: None,
        listing: None,
        name: None,
        version: None,
        instructions: None,
    };
    let what = match kind {
        Kind::Tool => "#[mcp_rbac::tool_handler]",
        Kind::Prompt => "#[mcp_rbac::prompt_handler]",
    };
    let known = kind.handler_keys();
    let metas = match metas(attr) {
        Ok(metas) => metas,
        Err(e) => return (args, Some(e)),
    };
    let mut errors = None;
    for meta in metas {
        if let Err(e) = handler_arg(kind, &mut args, &meta, known, what) {
            push(&mut errors, e);
        }
    }
    (args, errors)
}

fn handler_arg(
    kind: Kind,
    args: &mut HandlerArgs,
    meta: &Meta,
    known: &[&str],
    what: &str,
) -> syn::Result<()> {
    let ident = meta.path().require_ident()?;
    let key = ident.to_string();
    let Meta::NameValue(nv) = meta else {
        if known.contains(&key.as_str()) {
            return Err(syn::Error::new_spanned(
                meta,
                format!("`{key}` takes a value: `{key} = …`"),
            ));
        }
        return Err(unknown_key(ident, known, what));
    };
    let value = Some(nv.value.clone());
    match key.as_str() {
        "router" => args.router = value,
        "meta" => args.meta = value,
        "listing" => args.listing = value,
        "name" if kind == Kind::Tool => args.name = value,
        "version" if kind == Kind::Tool => args.version = value,
        "instructions" if kind == Kind::Tool => args.instructions = value,
        _ => return Err(unknown_key(ident, known, what)),
    }
    Ok(())
}
