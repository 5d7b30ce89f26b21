//! What the `ServerHandler` methods of `#[mcp_rbac::tool_handler]` / `prompt_handler` do.

use std::future::Future;
use std::marker::PhantomData;

use futures::future::Either;
use rmcp::handler::server::prompt::PromptContext;
use rmcp::handler::server::router::prompt::PromptRouter;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, GetPromptRequestParams, GetPromptResponse,
    ListPromptsResult, ListToolsResult, MetaObject, ProtocolVersion, ResultType, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};

use super::built_once::built_once;
use super::{marker, permits, Listing};
use crate::audit;
use crate::authorizer::Authorization;
use crate::denial;
use crate::item::ItemKind;
use crate::metrics::{self, Decision};
use crate::principal::{principal_from_context, Principal};
use crate::requirement::Access;

pub(crate) fn require_principal(
    context: &RequestContext<RoleServer>,
    kind: ItemKind,
    name: &str,
) -> Result<Principal, ErrorData> {
    principal_from_context(context).cloned().ok_or_else(|| {
        audit::unauthenticated(audit::Scope::of_request(context), kind, name);
        denial::unauthenticated()
    })
}

/// The principal of a list request (`method`, e.g. `tools/list`); the decision is counted under
/// the kind `list`.
pub(crate) fn list_principal(
    context: &RequestContext<RoleServer>,
    kind: ItemKind,
    method: &'static str,
) -> Result<Principal, ErrorData> {
    let started = metrics::start();
    let principal = require_principal(context, kind, method);
    let (decision, reason) = match &principal {
        Ok(_) => (Decision::Allow, "granted"),
        Err(_) => (Decision::Deny, "no_principal"),
    };
    metrics::decision("list", method, decision, reason, started);
    principal
}

/// A call may go to the router: there is a principal, and the route (`route_meta`, when the
/// name is routed) was wrapped by a guard. An unknown name is the router's to refuse. A refusal
/// here is counted (the route's guard counts the rest); a name no route has counts as `unknown`.
fn admit(
    context: &RequestContext<RoleServer>,
    kind: ItemKind,
    name: &str,
    route_meta: Option<&Option<MetaObject>>,
) -> Result<(), ErrorData> {
    let started = metrics::start();
    let label = if route_meta.is_some() {
        name
    } else {
        "unknown"
    };
    let refused = |reason| metrics::decision(kind.as_str(), label, Decision::Deny, reason, started);
    require_principal(context, kind, name).inspect_err(|_| refused("no_principal"))?;
    match route_meta {
        Some(meta) if !marker::is_guarded(meta) => {
            refused("unguarded");
            Err(denial::unguarded(kind, name))
        }
        _ => Ok(()),
    }
}

/// `tools/call`: refuses without a principal and refuses routes no guard wrapped, then lets the
/// router dispatch (the route's own guard checks the requirement).
///
/// Not an `async fn`: the checks run before the future is made, and the future is the router's
/// own. rmcp spawns the handler's future for every request and copies it as it goes; an extra
/// `async` level here would hold the request and its context twice in that future.
pub fn call_tool<'a, S: Send + Sync + 'static>(
    router: &'a ToolRouter<S>,
    service: &'a S,
    request: CallToolRequestParams,
    context: RequestContext<RoleServer>,
) -> impl Future<Output = Result<CallToolResponse, ErrorData>> + Send + 'a {
    let route = router.map.get(request.name.as_ref());
    let admitted = admit(
        &context,
        ItemKind::Tool,
        &request.name,
        route.map(|r| &r.attr.meta),
    );
    match admitted {
        Ok(()) => Either::Left(router.call(ToolCallContext::new(service, request, context))),
        Err(refused) => Either::Right(std::future::ready(Err(refused))),
    }
}

/// `tools/list`: the tools this caller may call (or all of them, under [`Listing::show`]),
/// without the internal marker. A per-caller list must not be cached for others, so under
/// 2026-07-28 it says `cacheScope: "private"`.
///
/// For a router given as `router = expr` (evaluated on every request): each route's rule is read
/// back from its marker on every list. The default router takes [`list_tools_built_once`].
pub fn list_tools<S: Send + Sync + 'static>(
    router: &ToolRouter<S>,
    context: &RequestContext<RoleServer>,
    meta: Option<MetaObject>,
    listing: Listing,
) -> Result<ListToolsResult, ErrorData> {
    let principal = list_principal(context, ItemKind::Tool, "tools/list")?;
    let authorization = Authorization::of_request(context);
    let all = router.list_all();
    let total = all.len();
    let tools: Vec<_> = all
        .into_iter()
        .filter_map(|mut tool| {
            let access = marker::take_tool(&mut tool)?;
            let allowed = permits(
                authorization,
                ItemKind::Tool,
                &tool.name,
                &access,
                &principal,
            );
            listing
                .present(&access, allowed, &mut tool.meta)
                .then_some(tool)
        })
        .collect();
    let scope = audit::Scope::of_request(context);
    audit::listed(
        scope,
        "tools/list",
        &principal,
        tools.len(),
        total - tools.len(),
    );
    Ok(tool_list(context, listing, meta, tools))
}

/// The `tools/list` entries of a router built once for its type: the guarded routes in the
/// order rmcp lists them (by name), each with its rule and its definition without the marker.
/// The router cannot change after it is built, so neither can these.
struct ListedTools<S> {
    tools: Vec<(Access, Tool)>,
    service: PhantomData<fn() -> S>,
}

impl<S: Send + Sync + 'static> ListedTools<S> {
    fn of(router: &ToolRouter<S>) -> Self {
        let tools = router
            .list_all()
            .into_iter()
            .filter_map(|mut tool| Some((marker::take_tool(&mut tool)?, tool)))
            .collect();
        ListedTools {
            tools,
            service: PhantomData,
        }
    }
}

/// [`list_tools`] for the router `build` makes, built once for the type (what the handlers use
/// without `router = …`). The rules are parsed, the markers removed and the order fixed once,
/// on the first list; each list after it clones only the definitions it lists, so it costs about
/// what rmcp's own list of the same tools does (docs/benchmarks.md, "Scale").
pub fn list_tools_built_once<S: Send + Sync + 'static>(
    build: fn() -> ToolRouter<S>,
    context: &RequestContext<RoleServer>,
    meta: Option<MetaObject>,
    listing: Listing,
) -> Result<ListToolsResult, ErrorData> {
    let principal = list_principal(context, ItemKind::Tool, "tools/list")?;
    let authorization = Authorization::of_request(context);
    let listed = built_once(|| ListedTools::of(built_once(build)));
    let tools: Vec<_> = listed
        .tools
        .iter()
        .filter_map(|(access, tool)| {
            let mut tool_meta = tool.meta.clone();
            let allowed = permits(
                authorization,
                ItemKind::Tool,
                &tool.name,
                access,
                &principal,
            );
            if !listing.present(access, allowed, &mut tool_meta) {
                return None;
            }
            let mut tool = tool.clone();
            tool.meta = tool_meta;
            Some(tool)
        })
        .collect();
    let hidden = listed.tools.len() - tools.len();
    let scope = audit::Scope::of_request(context);
    audit::listed(scope, "tools/list", &principal, tools.len(), hidden);
    Ok(tool_list(context, listing, meta, tools))
}

fn tool_list(
    context: &RequestContext<RoleServer>,
    listing: Listing,
    meta: Option<MetaObject>,
    tools: Vec<Tool>,
) -> ListToolsResult {
    let (ttl_ms, cache_scope) = cache_hints(context, listing);
    ListToolsResult {
        result_type: Some(ResultType::COMPLETE),
        tools,
        meta,
        next_cursor: None,
        ttl_ms,
        cache_scope,
    }
}

/// A tool's definition, without the internal marker (rmcp uses it to validate structured output).
pub fn get_tool<S: Send + Sync + 'static>(router: &ToolRouter<S>, name: &str) -> Option<Tool> {
    let mut tool = router.get(name)?.clone();
    marker::take_tool(&mut tool)?;
    Some(tool)
}

/// `prompts/get`, like [`call_tool`].
pub fn get_prompt<'a, S: Send + Sync + 'static>(
    router: &'a PromptRouter<S>,
    service: &'a S,
    request: GetPromptRequestParams,
    context: RequestContext<RoleServer>,
) -> impl Future<Output = Result<GetPromptResponse, ErrorData>> + Send + 'a {
    let route = router.map.get(request.name.as_str());
    let admitted = admit(
        &context,
        ItemKind::Prompt,
        &request.name,
        route.map(|r| &r.attr.meta),
    );
    match admitted {
        Ok(()) => {
            let prompt_context =
                PromptContext::new(service, request.name, request.arguments, context);
            Either::Left(router.get_prompt(prompt_context))
        }
        Err(refused) => Either::Right(std::future::ready(Err(refused))),
    }
}

/// `prompts/list`, like [`list_tools`].
pub fn list_prompts<S: Send + Sync + 'static>(
    router: &PromptRouter<S>,
    context: &RequestContext<RoleServer>,
    meta: Option<MetaObject>,
    listing: Listing,
) -> Result<ListPromptsResult, ErrorData> {
    let principal = list_principal(context, ItemKind::Prompt, "prompts/list")?;
    let authorization = Authorization::of_request(context);
    let all = router.list_all();
    let total = all.len();
    let prompts: Vec<_> = all
        .into_iter()
        .filter_map(|mut prompt| {
            let access = marker::take_prompt(&mut prompt)?;
            let kind = ItemKind::Prompt;
            let allowed = permits(authorization, kind, &prompt.name, &access, &principal);
            listing
                .present(&access, allowed, &mut prompt.meta)
                .then_some(prompt)
        })
        .collect();
    let scope = audit::Scope::of_request(context);
    audit::listed(
        scope,
        "prompts/list",
        &principal,
        prompts.len(),
        total - prompts.len(),
    );
    let (ttl_ms, cache_scope) = cache_hints(context, listing);
    Ok(ListPromptsResult {
        result_type: Some(ResultType::COMPLETE),
        prompts,
        meta,
        next_cursor: None,
        ttl_ms,
        cache_scope,
    })
}

/// `ttlMs` and `cacheScope` under 2026-07-28 (absent before): private when the list depends on
/// the caller, public when [`Listing::show`] without requirement metadata gives everyone the same.
pub(crate) fn cache_hints(
    context: &RequestContext<RoleServer>,
    listing: Listing,
) -> (Option<u64>, Option<CacheScope>) {
    let hints = context
        .protocol_version()
        .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28);
    if !hints {
        return (None, None);
    }
    let scope = if listing.per_caller() {
        CacheScope::Private
    } else {
        CacheScope::Public
    };
    (Some(0), Some(scope))
}
