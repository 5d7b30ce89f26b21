//! `#[mcp_rbac::tool_handler]` / `#[mcp_rbac::prompt_handler]` on `impl ServerHandler for …`.
//! Each generated method is one call into the runtime, so the logic is reviewed once, there.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, ToTokens};
use syn::{parse_quote, ImplItem, ItemImpl};

use crate::model::{last_segment_is, HandlerArgs, Kind};
use crate::parse;

use super::{fatal, Expansion};

pub(super) fn try_expand(
    kind: Kind,
    attr: TokenStream,
    input: TokenStream,
) -> Result<Expansion, syn::Error> {
    let (args, errors) = parse::handler_args(kind, attr);
    let mut item_impl: ItemImpl = match syn::parse2(input) {
        Ok(item_impl) => item_impl,
        Err(e) => {
            let message = format!(
                "`#[mcp_rbac::{}_handler]` goes on `impl rmcp::ServerHandler for MyServer {{}}`",
                kind.attr()
            );
            return Err(fatal(errors, syn::Error::new(e.span(), message)));
        }
    };
    if item_impl.trait_.is_none() {
        return Err(fatal(
            errors,
            syn::Error::new_spanned(
                &item_impl.self_ty,
                format!(
                    "`#[mcp_rbac::{}_handler]` goes on `impl rmcp::ServerHandler for {} {{}}`\n\
                     help: the handler implements rmcp's `ServerHandler` methods; put the tools in \
                     an inherent `impl` with `#[mcp_rbac::{}_router]`",
                    kind.attr(),
                    item_impl.self_ty.to_token_stream(),
                    kind.attr()
                ),
            ),
        ));
    }
    let methods = match kind {
        Kind::Tool => tool_methods(&args),
        Kind::Prompt => prompt_methods(&args),
    };
    for (name, method) in methods {
        if !has_method(&item_impl, name) {
            item_impl.items.push(method);
        }
    }
    // With both handler attributes on one impl, the tool handler (which also has name/version)
    // writes `get_info`; it sees the prompt methods whichever attribute expanded first.
    let sibling_tool_handler = item_impl
        .attrs
        .iter()
        .any(|a| last_segment_is(a.path(), "tool_handler"));
    if !has_method(&item_impl, "get_info") && (kind == Kind::Tool || !sibling_tool_handler) {
        let info = get_info(&item_impl, &args);
        item_impl.items.push(info);
    }
    Ok(Expansion {
        code: item_impl.into_token_stream(),
        errors,
    })
}

fn has_method(item_impl: &ItemImpl, name: &str) -> bool {
    item_impl
        .items
        .iter()
        .any(|item| matches!(item, ImplItem::Fn(f) if f.sig.ident == name))
}

fn option(expr: &Option<syn::Expr>) -> TokenStream {
    match expr {
        Some(e) => quote!(::std::option::Option::Some(#e)),
        None => quote!(::std::option::Option::None),
    }
}

/// The list policy: the user's `listing = expr`, or the one the server set for the request
/// (hide what the caller may not call, unless the server builder says otherwise).
fn listing(args: &HandlerArgs) -> TokenStream {
    match &args.listing {
        Some(e) => quote!(#e),
        None => quote!(::mcp_rbac::__private::Listing::of_request(&context)),
    }
}

/// The router as a reference: the user's `router = expr` evaluated on each request, as rmcp
/// does, or else the default router function's router, built once for the type.
fn router_ref(kind: Kind, args: &HandlerArgs) -> TokenStream {
    match &args.router {
        Some(router) => quote!(&#router),
        None => {
            let build = format_ident!("{}", kind.router());
            quote!(::mcp_rbac::__private::built_once(Self::#build))
        }
    }
}

fn tool_methods(args: &HandlerArgs) -> Vec<(&'static str, ImplItem)> {
    let router = router_ref(Kind::Tool, args);
    let meta = option(&args.meta);
    let listing = listing(args);
    // The default router is built once, so its list entries can be prepared once too.
    let list = match &args.router {
        Some(_) => quote!(::mcp_rbac::__private::list_tools(#router, &context, #meta, #listing)),
        None => quote! {
            ::mcp_rbac::__private::list_tools_built_once(Self::tool_router, &context, #meta, #listing)
        },
    };
    vec![
        (
            "call_tool",
            parse_quote! {
                async fn call_tool(
                    &self,
                    request: ::rmcp::model::CallToolRequestParams,
                    context: ::rmcp::service::RequestContext<::rmcp::RoleServer>,
                ) -> ::std::result::Result<::rmcp::model::CallToolResponse, ::rmcp::ErrorData> {
                    ::mcp_rbac::__private::call_tool(#router, self, request, context).await
                }
            },
        ),
        (
            "list_tools",
            parse_quote! {
                async fn list_tools(
                    &self,
                    _request: ::std::option::Option<::rmcp::model::PaginatedRequestParams>,
                    context: ::rmcp::service::RequestContext<::rmcp::RoleServer>,
                ) -> ::std::result::Result<::rmcp::model::ListToolsResult, ::rmcp::ErrorData> {
                    #list
                }
            },
        ),
        (
            "get_tool",
            parse_quote! {
                fn get_tool(&self, name: &str) -> ::std::option::Option<::rmcp::model::Tool> {
                    ::mcp_rbac::__private::get_tool(#router, name)
                }
            },
        ),
    ]
}

fn prompt_methods(args: &HandlerArgs) -> Vec<(&'static str, ImplItem)> {
    let router = router_ref(Kind::Prompt, args);
    let meta = option(&args.meta);
    let listing = listing(args);
    vec![
        (
            "get_prompt",
            parse_quote! {
                async fn get_prompt(
                    &self,
                    request: ::rmcp::model::GetPromptRequestParams,
                    context: ::rmcp::service::RequestContext<::rmcp::RoleServer>,
                ) -> ::std::result::Result<::rmcp::model::GetPromptResponse, ::rmcp::ErrorData> {
                    ::mcp_rbac::__private::get_prompt(#router, self, request, context).await
                }
            },
        ),
        (
            "list_prompts",
            parse_quote! {
                async fn list_prompts(
                    &self,
                    _request: ::std::option::Option<::rmcp::model::PaginatedRequestParams>,
                    context: ::rmcp::service::RequestContext<::rmcp::RoleServer>,
                ) -> ::std::result::Result<::rmcp::model::ListPromptsResult, ::rmcp::ErrorData> {
                    ::mcp_rbac::__private::list_prompts(#router, &context, #meta, #listing)
                }
            },
        ),
    ]
}

/// `get_info` declaring the capabilities this impl serves, as rmcp's handlers do.
fn get_info(item_impl: &ItemImpl, args: &HandlerArgs) -> ImplItem {
    let serves = |attr: &str, methods: &[&str]| {
        item_impl
            .attrs
            .iter()
            .any(|a| last_segment_is(a.path(), attr))
            || methods.iter().any(|m| has_method(item_impl, m))
    };
    let mut capabilities = Vec::new();
    if serves("tool_handler", &["call_tool", "list_tools"]) {
        capabilities.push(quote!(.enable_tools()));
    }
    if serves("prompt_handler", &["get_prompt", "list_prompts"]) {
        capabilities.push(quote!(.enable_prompts()));
    }
    // Resources have no handler attribute: a hand-written `read_resource` (e.g. through a
    // `mcp_rbac::guard::ResourceGuard`) is what declares them.
    if ["list_resources", "read_resource"]
        .iter()
        .any(|m| has_method(item_impl, m))
    {
        capabilities.push(quote!(.enable_resources()));
    }
    let implementation = match (&args.name, &args.version) {
        (Some(n), Some(v)) => quote!(::rmcp::model::Implementation::new(#n, #v)),
        (Some(n), None) => {
            quote!(::rmcp::model::Implementation::new(#n, env!("CARGO_PKG_VERSION")))
        }
        (None, Some(v)) => quote!(::rmcp::model::Implementation::new(env!("CARGO_CRATE_NAME"), #v)),
        (None, None) => quote!(::rmcp::model::Implementation::from_build_env()),
    };
    let instructions = args
        .instructions
        .as_ref()
        .map(|i| quote!(.with_instructions(::std::string::ToString::to_string(&#i))));
    parse_quote! {
        fn get_info(&self) -> ::rmcp::model::ServerConfig {
            ::rmcp::model::ServerConfig::new(
                ::rmcp::model::ServerCapabilities::builder()
                    #(#capabilities)*
                    .build(),
            )
            .with_server_info(#implementation)
            #instructions
        }
    }
}
