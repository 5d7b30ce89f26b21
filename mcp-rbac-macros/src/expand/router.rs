//! `#[mcp_rbac::tool_router]` / `#[mcp_rbac::prompt_router]`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{
    parse_quote, FnArg, GenericArgument, ImplItem, ItemImpl, LitStr, Pat, Path, PathArguments, Type,
};

use crate::model::{last_segment_is, Access, Item, Kind, Requirement, RouterArgs};
use crate::parse::{self, push_error};
use crate::validate;

use super::{fatal, Expansion};

pub(super) fn try_expand(
    kind: Kind,
    attr: TokenStream,
    input: TokenStream,
) -> Result<Expansion, syn::Error> {
    let (args, mut errors) = parse::router_args(kind, attr);
    let mut item_impl: ItemImpl = match syn::parse2(input) {
        Ok(item_impl) => item_impl,
        Err(e) => {
            // Not an impl block (a struct, a fn, …): say where the attribute goes, keep the item.
            let message = format!(
                "`#[mcp_rbac::{0}]` goes on the `impl` block that holds the {1} methods\nhelp: write `#[mcp_rbac::{0}] impl MyServer {{ #[{1}(requires = \"Permission.Name\")] async fn .. }}`",
                kind.router(),
                kind.attr()
            );
            return Err(fatal(errors, syn::Error::new(e.span(), message)));
        }
    };
    if let Some((_, path, _)) = &item_impl.trait_ {
        return Err(fatal(
            errors,
            syn::Error::new_spanned(
                path,
                format!(
                    "`#[mcp_rbac::{0}]` goes on an inherent impl (`impl MyServer {{ .. }}`), not on a trait impl\nhelp: move the {1} methods to `#[mcp_rbac::{0}] impl MyServer {{ .. }}`; the `ServerHandler` impl takes `#[mcp_rbac::{1}_handler]`",
                    kind.router(),
                    kind.attr()
                ),
            ),
        ));
    }

    let mut items = Vec::new();
    let mut wrappers = Vec::new();
    let mut item_errors: Option<syn::Error> = None;
    for impl_item in &mut item_impl.items {
        let ImplItem::Fn(method) = impl_item else {
            continue;
        };
        let positions: Vec<usize> = method
            .attrs
            .iter()
            .enumerate()
            .filter(|(_, a)| last_segment_is(a.path(), kind.attr()))
            .map(|(i, _)| i)
            .collect();
        let Some(&first) = positions.first() else {
            continue;
        };
        let mut method_errors: Option<syn::Error> = None;
        for &extra in &positions[1..] {
            push_error(
                &mut method_errors,
                syn::Error::new_spanned(
                    &method.attrs[extra],
                    format!(
                        "a method takes one `#[{0}(..)]`\nhelp: merge the arguments into the first `#[{0}(..)]`",
                        kind.attr()
                    ),
                ),
            );
        }
        let parsed = parse::method_attr(kind, &method.attrs[first])
            .and_then(|raw| validate::item(kind, method.sig.ident.clone(), first, raw))
            .and_then(|item| {
                let arguments = match &item.authorize {
                    Some(condition) => {
                        Some(arguments_position(kind, &item, condition, &method.sig)?)
                    }
                    None => None,
                };
                Ok((item, arguments))
            });
        match (parsed, method_errors) {
            (Ok((item, arguments)), None) => {
                method.attrs[item.attr_index] = rmcp_attribute(kind, &item.passthrough);
                optional_principal_params(&mut method.sig.inputs);
                if let (Some(condition), Some(arguments)) = (&item.authorize, arguments) {
                    wrappers.push(condition_wrapper(
                        kind,
                        &item.fn_ident,
                        condition,
                        &method.sig,
                        arguments,
                    ));
                }
                items.push(item);
            }
            (parsed, method_errors) => {
                if let Some(e) = method_errors {
                    push_error(&mut item_errors, e);
                }
                if let Err(e) = parsed {
                    push_error(&mut item_errors, e);
                }
                // Keep the method as a plain one, out of the router: the error above is the
                // only diagnostic, and calls to the method elsewhere still resolve.
                method
                    .attrs
                    .retain(|a| !last_segment_is(a.path(), kind.attr()));
                method.attrs.push(parse_quote!(#[allow(dead_code)]));
            }
        }
    }
    if items.is_empty() && !args.allow_empty && item_errors.is_none() {
        push_error(
            &mut errors,
            syn::Error::new_spanned(
                &item_impl.self_ty,
                format!(
                    "`#[mcp_rbac::{}]` found no `#[{}(..)]` method in this impl block\nhelp: mark each {} method `#[{}(requires = \"Permission.Name\")]` or `#[{}(public)]`{}",
                    kind.router(),
                    kind.attr(),
                    kind.attr(),
                    kind.attr(),
                    kind.attr(),
                    if kind == Kind::Tool { ", or use `#[mcp_rbac::tool_router(allow_empty)]` for an empty router" } else { "" }
                ),
            ),
        );
    }
    if let Some(e) = item_errors {
        push_error(&mut errors, e);
    }

    // With errors, the router still holds every valid route, so the rest of the program
    // (handlers, calls to `tool_router()`) type-checks and reports nothing more.
    item_impl.items.extend(wrappers);
    item_impl.items.push(router_fn(kind, &args, &items));
    item_impl
        .items
        .push(manifest_fn(kind, &args.router, &args.vis));

    if !args.server_handler {
        return Ok(Expansion {
            code: item_impl.into_token_stream(),
            errors,
        });
    }
    let self_ty = &item_impl.self_ty;
    let router = &args.router;
    let (impl_generics, ty_generics, where_clause) = item_impl.generics.split_for_impl();
    // The default router is built once per type by the handler; a router of another name is
    // built per request, as rmcp builds it (one type may have several).
    let handler = if router == kind.router() {
        quote!(#[::mcp_rbac::tool_handler])
    } else {
        quote!(#[::mcp_rbac::tool_handler(router = Self::#router())])
    };
    let code = quote! {
        #item_impl

        #handler
        impl #impl_generics ::rmcp::ServerHandler for #self_ty #ty_generics #where_clause {}
    };
    Ok(Expansion { code, errors })
}

/// rmcp's own attribute with our keys taken out.
pub(super) fn rmcp_attribute(kind: Kind, passthrough: &TokenStream) -> syn::Attribute {
    let name = format_ident!("{}", kind.attr());
    if passthrough.is_empty() {
        parse_quote!(#[::rmcp::#name])
    } else {
        parse_quote!(#[::rmcp::#name(#passthrough)])
    }
}

/// The router: every route wrapped by `guard_tool` / `guard_prompt` with its access rule. With
/// `permissions = Perm`, each name goes through `Perm!` (a compile-time check against the set).
fn router_fn(kind: Kind, args: &RouterArgs, items: &[Item]) -> ImplItem {
    let (router, vis, set) = (&args.router, &args.vis, args.permissions.as_ref());
    let routes = items.iter().map(|item| {
        let handler = &item.fn_ident;
        let attr_fn = format_ident!("{}_{}_attr", handler, kind.attr());
        let access = access_tokens(&item.access, set);
        let guard = match kind {
            Kind::Tool => quote!(guard_tool),
            Kind::Prompt => quote!(guard_prompt),
        };
        match &item.authorize {
            None => quote! { .with_route(#guard(Self::#attr_fn(), Self::#handler, #access)) },
            Some(condition) => {
                let label = path_text(condition);
                let with_condition = match kind {
                    Kind::Tool => quote!(tool_with_condition),
                    Kind::Prompt => quote!(prompt_with_condition),
                };
                let wrapper = wrapper_ident(handler);
                quote! {
                    .with_route(#guard(
                        ::mcp_rbac::__private::#with_condition(Self::#attr_fn(), #label),
                        ::mcp_rbac::__private::Conditioned(Self::#wrapper),
                        #access,
                    ))
                }
            }
        }
    });
    let mut doc = vec![
        format!(
            " The {} router generated by `#[mcp_rbac::{}]`: each route checks its access rule",
            kind.attr(),
            kind.router()
        ),
        " before its arguments are read or its body runs.".to_string(),
    ];
    if let Some(set) = set {
        let set = set.to_token_stream().to_string().replace(' ', "");
        doc.push(format!(
            " Every permission name is checked against `{set}` when this compiles (`{set}!`)."
        ));
    }
    let set_check = set.map(|set| quote!(::mcp_rbac::__private::permission_set::<#set>();));
    let uses = match kind {
        Kind::Tool => quote!(
            use ::mcp_rbac::__private::{guard_tool, Access, Requirement};
        ),
        Kind::Prompt => quote!(
            use ::mcp_rbac::__private::{guard_prompt, Access, Requirement};
        ),
    };
    match kind {
        Kind::Tool => parse_quote! {
            #(#[doc = #doc])*
            #vis fn #router() -> ::rmcp::handler::server::router::tool::ToolRouter<Self> {
                #uses
                #set_check
                ::rmcp::handler::server::router::tool::ToolRouter::<Self>::new()
                    #(#routes)*
            }
        },
        Kind::Prompt => parse_quote! {
            #(#[doc = #doc])*
            #vis fn #router() -> ::rmcp::handler::server::router::prompt::PromptRouter<Self> {
                #uses
                #set_check
                ::rmcp::handler::server::router::prompt::PromptRouter::<Self>::new()
                    #(#routes)*
            }
        },
    }
}

/// `Self::may_update`, as written (for the manifest, the audit record and the 403).
fn path_text(path: &Path) -> String {
    path.to_token_stream().to_string().replace(' ', "")
}

/// The method the route calls when an item names a condition: the route's handler
/// (`Conditioned`) extracts its parameters with rmcp's extractors (the item's own, then the
/// condition's scope), so the arguments are parsed once, judged, and moved into the item.
fn wrapper_ident(item: &syn::Ident) -> syn::Ident {
    format_ident!("__mcp_rbac_authorized_{}", item)
}

/// Which parameter holds the arguments (`Parameters<T>`): a condition judges them, so an item
/// without one cannot name a condition.
fn arguments_position(
    kind: Kind,
    item: &Item,
    condition: &Path,
    sig: &syn::Signature,
) -> syn::Result<usize> {
    sig.inputs
        .iter()
        .filter(|input| matches!(input, FnArg::Typed(_)))
        .position(|input| match input {
            FnArg::Typed(pat_type) => match &*pat_type.ty {
                Type::Path(path) => last_segment_is(&path.path, "Parameters"),
                _ => false,
            },
            FnArg::Receiver(_) => false,
        })
        .ok_or_else(|| {
            syn::Error::new_spanned(
                condition,
                format!(
                    "the condition `{}` judges the arguments of `{}`, but it takes no `Parameters<..>`\nhelp: a {} without arguments needs no condition: `requires = ..` decides who may call it",
                    path_text(condition),
                    item.fn_ident,
                    kind.attr()
                ),
            )
        })
}

fn condition_wrapper(
    kind: Kind,
    item: &syn::Ident,
    condition: &Path,
    sig: &syn::Signature,
    arguments: usize,
) -> ImplItem {
    let wrapper = wrapper_ident(item);
    let types: Vec<&Type> = sig
        .inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Typed(pat_type) => Some(&*pat_type.ty),
            FnArg::Receiver(_) => None,
        })
        .collect();
    let params: Vec<syn::Ident> = (0..types.len())
        .map(|i| format_ident!("__arg{}", i))
        .collect();
    let args = &params[arguments];
    let receiver = sig.receiver().map(|_| quote!(self,));
    let awaited = sig.asyncness.map(|_| quote!(.await));
    let call = quote!(Self::#item(#receiver #(#params),*) #awaited);
    let label = path_text(condition);
    let judged = quote_spanned! {condition.span()=>
        __condition.judge(#label, #condition, self, &#args.0)
    };
    let doc = format!(
        " `{item}` behind its argument condition `{label}`: the arguments are parsed once, judged, then moved into `{item}`."
    );
    match kind {
        Kind::Tool => parse_quote! {
            #[doc = #doc]
            #[doc(hidden)]
            fn #wrapper(
                &self,
                #(#params: #types,)*
                __condition: ::mcp_rbac::__private::ConditionScope,
            ) -> ::std::pin::Pin<::std::boxed::Box<dyn ::std::future::Future<
                Output = ::std::result::Result<::rmcp::model::CallToolResponse, ::rmcp::ErrorData>,
            > + ::std::marker::Send + '_>> {
                ::std::boxed::Box::pin(async move {
                    #judged.await?;
                    ::rmcp::handler::server::tool::IntoCallToolResult::into_call_tool_result(#call)
                })
            }
        },
        Kind::Prompt => parse_quote! {
            #[doc = #doc]
            #[doc(hidden)]
            fn #wrapper(
                &self,
                #(#params: #types,)*
                __condition: ::mcp_rbac::__private::ConditionScope,
            ) -> ::std::pin::Pin<::std::boxed::Box<dyn ::std::future::Future<
                Output = ::std::result::Result<::rmcp::model::GetPromptResponse, ::rmcp::ErrorData>,
            > + ::std::marker::Send + '_>> {
                ::std::boxed::Box::pin(async move {
                    #judged.await?;
                    ::rmcp::handler::server::prompt::IntoGetPromptResult::into_get_prompt_result(#call)
                })
            }
        },
    }
}

fn manifest_fn(kind: Kind, router: &syn::Ident, vis: &syn::Visibility) -> ImplItem {
    let manifest = format_ident!("{}_manifest", router);
    let doc = format!(
        " Every {} of `{router}()` with its access rule, for review and tests.",
        kind.attr()
    );
    let from = match kind {
        Kind::Tool => quote!(from_tools),
        Kind::Prompt => quote!(from_prompts),
    };
    parse_quote! {
        #[doc = #doc]
        #[allow(dead_code)]
        #vis fn #manifest() -> ::mcp_rbac::Manifest {
            ::mcp_rbac::Manifest::#from(&Self::#router())
        }
    }
}

fn access_tokens(access: &Access, set: Option<&Path>) -> TokenStream {
    match access {
        Access::Public => quote!(Access::Public),
        Access::Requires(req) => {
            let req = requirement_tokens(req, set);
            quote!(Access::Requires(#req))
        }
    }
}

fn requirement_tokens(req: &Requirement, set: Option<&Path>) -> TokenStream {
    match req {
        Requirement::Permission(lit) => match set {
            None => quote!(Requirement::permission(#lit)),
            Some(set) => {
                // Written plain (`r"A"` → `"A"`) so that `Perm!` compares spellings; the span
                // stays the user's, so an unknown name is reported on their string.
                let plain = LitStr::new(&lit.value(), lit.span());
                quote!(Requirement::permission(#set!(#plain)))
            }
        },
        Requirement::Any(_, parts) => {
            let parts = parts.iter().map(|p| requirement_tokens(p, set));
            quote!(Requirement::any([#(#parts),*]))
        }
        Requirement::All(_, parts) => {
            let parts = parts.iter().map(|p| requirement_tokens(p, set));
            quote!(Requirement::all([#(#parts),*]))
        }
    }
}

/// `caller: Option<Principal>` becomes `OptionalPrincipal::<Principal>(caller):
/// OptionalPrincipal<Principal>`: rmcp's extractor trait cannot be implemented for
/// `Option<Principal>` outside rmcp (orphan rule). The user's `Principal` path is kept.
fn optional_principal_params(inputs: &mut syn::punctuated::Punctuated<FnArg, syn::Token![,]>) {
    for input in inputs.iter_mut() {
        let FnArg::Typed(pat_type) = input else {
            continue;
        };
        let Some(inner) = option_of_principal(&pat_type.ty) else {
            continue;
        };
        let pat = &pat_type.pat;
        let new_pat: Pat = match &**pat {
            Pat::Wild(_) => parse_quote!(_),
            _ => parse_quote!(::mcp_rbac::__private::OptionalPrincipal::<#inner>(#pat)),
        };
        *pat_type.pat = new_pat;
        *pat_type.ty = parse_quote!(::mcp_rbac::__private::OptionalPrincipal<#inner>);
    }
}

/// `Principal` (as the user wrote its path) when `ty` is `Option<Principal>`.
fn option_of_principal(ty: &Type) -> Option<Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first() {
        Some(GenericArgument::Type(inner @ Type::Path(p)))
            if p.path
                .segments
                .last()
                .is_some_and(|s| s.ident == "Principal") =>
        {
            Some(inner.clone())
        }
        _ => None,
    }
}
