//! One method attribute, `#[tool(..)]` or `#[prompt(..)]`: our keys (`requires`, `public`) are
//! taken out, rmcp's keys are kept as tokens for rmcp's own macro.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::{parse::Parser, punctuated::Punctuated, spanned::Spanned, Attribute, Meta, Token};

use super::requirement;
use crate::model::{Kind, Requirement, METHOD_KEYS};
use crate::suggest::closest;

/// A method attribute as written; [`validate`](crate::validate) decides whether it is complete.
pub struct RawItem {
    /// The whole attribute, to span "this tool has no requirement" from `#` to `]`.
    pub attr: TokenStream,
    /// Each `requires = …` found, with the span of its key (more than one is an error).
    pub requires: Vec<(Span, Requirement)>,
    /// Span of each `public` flag found.
    pub public: Vec<Span>,
    /// Each `authorize = path` found (more than one is an error).
    pub authorize: Vec<syn::Path>,
    /// rmcp's arguments, verbatim, comma-separated.
    pub passthrough: TokenStream,
}

/// Parses `attr` as a `#[tool(..)]`/`#[prompt(..)]` of the given kind.
pub fn method_attr(kind: Kind, attr: &Attribute) -> syn::Result<RawItem> {
    let mut raw = RawItem {
        attr: attr.to_token_stream(),
        requires: Vec::new(),
        public: Vec::new(),
        authorize: Vec::new(),
        passthrough: TokenStream::new(),
    };
    let metas = match &attr.meta {
        Meta::Path(_) => Punctuated::new(),
        Meta::List(list) => {
            Punctuated::<Meta, Token![,]>::parse_terminated.parse2(list.tokens.clone())?
        }
        Meta::NameValue(nv) => {
            return Err(syn::Error::new_spanned(
                nv,
                format!(
                    "write `#[{0}(requires = \"Permission.Name\")]`, not `#[{0} = …]`",
                    kind.attr()
                ),
            ))
        }
    };
    let mut errors: Option<syn::Error> = None;
    let mut kept = Punctuated::<Meta, Token![,]>::new();
    for meta in metas {
        match meta_key(&meta).as_deref() {
            Some("requires") => match &meta {
                Meta::NameValue(nv) => match requirement(&nv.value) {
                    Ok(req) => raw.requires.push((nv.path.span(), req)),
                    Err(e) => push(&mut errors, e),
                },
                Meta::List(list) => push(
                    &mut errors,
                    syn::Error::new_spanned(
                        list,
                        format!(
                            "`requires` takes its requirement after `=`\nhelp: write `requires = {}`",
                            written_after_eq(list)
                        ),
                    ),
                ),
                Meta::Path(path) => push(
                    &mut errors,
                    syn::Error::new_spanned(
                        path,
                        "`requires` needs a requirement\nhelp: write `requires = \"Admin.Write\"`, or `requires = any(\"User.Write\", \"Admin.Write\")` for one of several",
                    ),
                ),
            },
            Some("public") => match &meta {
                Meta::Path(path) => raw.public.push(path.span()),
                other => push(
                    &mut errors,
                    syn::Error::new_spanned(
                        other,
                        format!(
                            "`public` is a bare flag: it takes no value\nhelp: write \
                             `#[{}(public)]` to let every authenticated caller in, or \
                             `requires = \"..\"` to check a permission",
                            kind.attr()
                        ),
                    ),
                ),
            },
            Some("authorize") => match &meta {
                Meta::NameValue(syn::MetaNameValue {
                    value: syn::Expr::Path(path),
                    ..
                }) if path.qself.is_none() => raw.authorize.push(path.path.clone()),
                other => push(
                    &mut errors,
                    syn::Error::new_spanned(
                        other,
                        format!(
                            "`authorize` names the method that judges the arguments\nhelp: write \
                             `#[{}(requires = \"..\", authorize = Self::may_update)]`, where \
                             `may_update` is `async fn(&self, &Principal, &Args) -> Result<(), Denied>`",
                            kind.attr()
                        ),
                    ),
                ),
            },
            Some(key) if kind.rmcp_keys().contains(&key) => kept.push(meta),
            _ => push(&mut errors, unknown_key(kind, &meta)),
        }
    }
    if let Some(e) = errors {
        return Err(e);
    }
    raw.passthrough = kept.into_token_stream();
    Ok(raw)
}

/// `requires("A")` → `"A"`, `requires(any("A", "B"))` → `any("A", "B")`: what goes after `=`.
fn written_after_eq(list: &syn::MetaList) -> String {
    list.tokens
        .to_string()
        .replace(" ,", ",")
        .replace(" (", "(")
        .replace("( ", "(")
        .replace(" )", ")")
}

fn meta_key(meta: &Meta) -> Option<String> {
    meta.path().get_ident().map(|i| i.to_string())
}

fn unknown_key(kind: Kind, meta: &Meta) -> syn::Error {
    let path = meta.path();
    let word = path.to_token_stream().to_string().replace(' ', "");
    let mut known: Vec<&str> = METHOD_KEYS.to_vec();
    known.extend_from_slice(kind.rmcp_keys());
    let other = match kind {
        Kind::Tool => Kind::Prompt,
        Kind::Prompt => Kind::Tool,
    };
    let hint = match closest(&word, &known) {
        Some(near) => format!("did you mean `{near}`? "),
        None if other.rmcp_keys().contains(&word.as_str()) => format!(
            "`{word}` belongs to `#[{}(..)]`, not `#[{}(..)]`; ",
            other.attr(),
            kind.attr()
        ),
        None => String::new(),
    };
    syn::Error::new_spanned(
        path,
        format!(
            "unknown argument `{word}` in `#[{}(..)]`\nhelp: {hint}the accepted arguments are: {}",
            kind.attr(),
            known.join(", ")
        ),
    )
}

pub fn push(errors: &mut Option<syn::Error>, e: syn::Error) {
    match errors {
        Some(all) => all.combine(e),
        None => *errors = Some(e),
    }
}
