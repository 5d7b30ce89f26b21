//! Procedural macros of [`mcp-rbac`](https://docs.rs/mcp-rbac). Use them through `mcp_rbac`, which
//! re-exports them; this crate holds no runtime logic.
//!
//! Each entry point hands off to three steps: [`parse`] turns attributes into a small [`model`],
//! [`validate`] checks it (every error a `syn::Error` spanned on the user's tokens), and [`expand`]
//! writes the code, keeping the user's item even next to an error so that only our message shows.
//! Generated code reaches runtime items only through `::mcp_rbac::__private`.

use proc_macro::TokenStream;

mod expand;
mod model;
mod parse;
mod suggest;
mod validate;

use model::Kind;

/// Turns an `impl` block of `#[tool(requires = …)]` / `#[tool(public)]` methods into a
/// permission-checked rmcp tool router. See the `mcp_rbac` crate docs.
#[proc_macro_attribute]
pub fn tool_router(attr: TokenStream, item: TokenStream) -> TokenStream {
    run(expand::router(Kind::Tool, attr.into(), item.into()))
}

/// Turns an `impl` block of `#[prompt(requires = …)]` / `#[prompt(public)]` methods into a
/// permission-checked rmcp prompt router.
#[proc_macro_attribute]
pub fn prompt_router(attr: TokenStream, item: TokenStream) -> TokenStream {
    run(expand::router(Kind::Prompt, attr.into(), item.into()))
}

/// Implements `call_tool`, `list_tools` (filtered per caller) and `get_tool` of
/// `rmcp::ServerHandler` from a guarded tool router, plus `get_info` when absent.
///
/// Without `router = …` the router is `Self::tool_router()`, built once for the type on first
/// use and shared after it (rmcp's `tool_handler` rebuilds it for every request, about a fifth
/// of a stateless call). A router that must change at run time is named with `router = expr`,
/// which is evaluated on every request, as rmcp does.
#[proc_macro_attribute]
pub fn tool_handler(attr: TokenStream, item: TokenStream) -> TokenStream {
    run(expand::handler(Kind::Tool, attr.into(), item.into()))
}

/// Implements `get_prompt` and `list_prompts` (filtered per caller) of `rmcp::ServerHandler`
/// from a guarded prompt router, plus `get_info` when absent. Without `router = …`,
/// `Self::prompt_router()` is built once for the type, as in [`macro@tool_handler`].
#[proc_macro_attribute]
pub fn prompt_handler(attr: TokenStream, item: TokenStream) -> TokenStream {
    run(expand::handler(Kind::Prompt, attr.into(), item.into()))
}

/// `#[mcp_rbac::tool]` only has a meaning inside `#[mcp_rbac::tool_router]`, which rewrites it;
/// reaching this function means it stands outside one.
#[proc_macro_attribute]
pub fn tool(attr: TokenStream, item: TokenStream) -> TokenStream {
    run(expand::outside_router(Kind::Tool, attr.into(), item.into()))
}

/// `#[mcp_rbac::prompt]` only has a meaning inside `#[mcp_rbac::prompt_router]`.
#[proc_macro_attribute]
pub fn prompt(attr: TokenStream, item: TokenStream) -> TokenStream {
    run(expand::outside_router(
        Kind::Prompt,
        attr.into(),
        item.into(),
    ))
}

/// Declares a permission set once: `mcp_rbac::permissions! { pub enum Perm { "Guest.Read",
/// "Admin.Write" } }`. `#[mcp_rbac::tool_router(permissions = Perm)]` then rejects, at compile
/// time, any `requires` name the set does not declare.
#[proc_macro]
pub fn permissions(input: TokenStream) -> TokenStream {
    run(expand::permissions(input.into()))
}

/// The error of a `Perm!` checker on an undeclared name. Not public API.
#[doc(hidden)]
#[proc_macro]
pub fn unknown_permission(input: TokenStream) -> TokenStream {
    expand::unknown_permission(input.into()).into()
}

fn run(expansion: expand::Expansion) -> TokenStream {
    expansion.into_tokens().into()
}
