//! Wrapping rmcp routes: the guard runs before the route's own handler, so before rmcp extracts
//! `Parameters<T>` (a caller without permission learns nothing from bad arguments) and before the body.

use std::sync::Arc;

use rmcp::handler::server::prompt::{GetPromptHandler, PromptContext};
use rmcp::handler::server::router::prompt::PromptRoute;
use rmcp::handler::server::router::tool::ToolRoute;
use rmcp::handler::server::tool::{CallToolHandler, ToolCallContext};
use rmcp::model::{Prompt, Tool};

use super::{marker, Gate};
use crate::item::ItemKind;
use crate::requirement::Access;

/// A tool route whose every call passes `access` first. Used by `#[mcp_rbac::tool_router]`;
/// callable directly to guard a hand-built route.
pub fn guard_tool<S, C, A>(attr: Tool, handler: C, access: Access) -> ToolRoute<S>
where
    S: Send + Sync + 'static,
    C: CallToolHandler<S, A> + Send + Sync + Clone + 'static,
{
    let route = ToolRoute::new(attr, handler);
    let inner = route.call;
    let mut attr = route.attr;
    marker::set(&mut attr.meta, &access);
    let gate = Arc::new(Gate::new(ItemKind::Tool, &attr.name, access));
    ToolRoute::new_dyn(attr, move |context: ToolCallContext<'_, S>| {
        match gate.check(context.request_context(), context.arguments.as_ref()) {
            Ok(_) => inner(context),
            Err(denied) => Box::pin(std::future::ready(Err(denied))),
        }
    })
}

/// A prompt route whose every `prompts/get` passes `access` first.
pub fn guard_prompt<S, H, A>(attr: Prompt, handler: H, access: Access) -> PromptRoute<S>
where
    S: Send + Sync + 'static,
    A: 'static,
    H: GetPromptHandler<S, A> + Send + Sync + Clone + 'static,
{
    let route = PromptRoute::new(attr, handler);
    let inner = route.get;
    let mut attr = route.attr;
    marker::set(&mut attr.meta, &access);
    let gate = Arc::new(Gate::new(ItemKind::Prompt, &attr.name, access));
    PromptRoute::new_dyn(attr, move |context: PromptContext<'_, S>| {
        match gate.check(&context.context, None) {
            Ok(_) => inner(context),
            Err(denied) => Box::pin(std::future::ready(Err(denied))),
        }
    })
}
