//! Running an item's argument condition (`authorize = Self::method`) between rmcp's parsing of
//! the arguments and the body. The generated wrapper takes a [`ConditionScope`] after the item's
//! own parameters: the principal and what the decision's record needs, taken from the request
//! once. [`Conditioned`] makes the wrapper a route's handler.

use std::borrow::Cow;
use std::marker::PhantomData;
use std::time::Instant;

use futures::future::BoxFuture;
use rmcp::handler::server::common::{AsRequestContext, FromContextPart};
use rmcp::handler::server::prompt::{GetPromptHandler, PromptContext};
use rmcp::handler::server::tool::{CallToolHandler, ToolCallContext};
use rmcp::model::{CallToolResponse, GetPromptResponse, Prompt, Tool};
use rmcp::ErrorData;

use super::marker;
use crate::audit;
use crate::condition::{Condition, Denied};
use crate::denial;
use crate::item::ItemKind;
use crate::metrics;
use crate::principal::{principal_in, Principal};

/// What an argument condition is judged with: the caller, and the item and request its
/// decision is recorded under.
pub struct ConditionScope {
    kind: ItemKind,
    name: Cow<'static, str>,
    principal: Principal,
    audit: Option<audit::Audit>,
    request_id: Option<audit::RequestId>,
    jsonrpc_id: rmcp::model::RequestId,
}

impl ConditionScope {
    fn of_request(
        kind: ItemKind,
        name: Cow<'static, str>,
        context: &rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<Self, ErrorData> {
        // The HTTP request's parts hold the principal, the audit handle and the request id:
        // looked up once for all three.
        let parts = context.extensions.get::<http::request::Parts>();
        // The route's guard let the call through, so a principal is there; without one the
        // answer is the guard's own.
        let principal = principal_in(context, parts)
            .cloned()
            .ok_or_else(denial::unauthenticated)?;
        let scope = parts
            .map(|p| audit::Scope::of_extensions(&p.extensions))
            .unwrap_or_default();
        Ok(ConditionScope {
            kind,
            name,
            principal,
            audit: scope.audit.cloned(),
            request_id: scope.request_id.cloned(),
            jsonrpc_id: context.id.clone(),
        })
    }

    /// The caller.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// Judges `arguments` with `condition` (its path as written is `label`) and records the
    /// decision: on a refusal, the JSON-RPC 403 with the condition's reason, and the body must
    /// not run. A function of the wrong shape is refused here, when the server compiles.
    pub async fn judge<'a, S, A, C>(
        &'a self,
        label: &'static str,
        condition: C,
        server: &'a S,
        arguments: &'a A,
    ) -> Result<(), ErrorData>
    where
        C: Condition<'a, S, A>,
    {
        let verdict = condition.judge(server, &self.principal, arguments);
        // Timed for the decision record only: the call's one sample in the metrics' duration
        // histogram was taken when its requirement let it through.
        let started = self.audit.is_some().then(Instant::now);
        let outcome = verdict.await;
        let scope = audit::Scope {
            audit: self.audit.as_ref(),
            request_id: self.request_id.as_ref(),
            jsonrpc_id: Some(&self.jsonrpc_id),
        };
        let reason = outcome.as_ref().err().map(Denied::reason);
        audit::judged(
            scope,
            self.kind,
            &self.name,
            &self.principal,
            label,
            reason,
            started,
        );
        match outcome {
            // The call was counted when its requirement let it through; a condition that
            // agrees adds a record, not a second count.
            Ok(()) => Ok(()),
            Err(denied) => {
                metrics::refused_after_allow(self.kind.as_str(), &self.name, denied.reason());
                Err(denial::refused(
                    self.kind,
                    &self.name,
                    denied.reason(),
                    denied.message(),
                ))
            }
        }
    }
}

impl<S> FromContextPart<ToolCallContext<'_, S>> for ConditionScope {
    fn from_context_part(context: &mut ToolCallContext<'_, S>) -> Result<Self, ErrorData> {
        // The scope is the route's last parameter: nothing reads the name after it, so it is
        // moved out rather than copied (as rmcp's `Parameters` moves the arguments out).
        let name = std::mem::take(&mut context.name);
        ConditionScope::of_request(ItemKind::Tool, name, context.as_request_context())
    }
}

impl<S> FromContextPart<PromptContext<'_, S>> for ConditionScope {
    fn from_context_part(context: &mut PromptContext<'_, S>) -> Result<Self, ErrorData> {
        let name = Cow::Owned(std::mem::take(&mut context.name));
        ConditionScope::of_request(ItemKind::Prompt, name, context.as_request_context())
    }
}

/// The route's handler for an item behind an argument condition: rmcp's extractors for the
/// item's parameters, then the [`ConditionScope`], then the generated wrapper (which judges the
/// arguments and calls the item). The wrapper's boxed future is the route's own: rmcp's adapter
/// for methods would box it a second time to turn its output into the route's.
#[derive(Clone, Copy)]
pub struct Conditioned<F>(pub F);

/// The parameter types of a [`Conditioned`] wrapper, to tell rmcp's handler traits' impls apart.
pub struct ConditionedParameters<P>(PhantomData<fn(P)>);

/// The route's answer when an extractor refused: rmcp's own error, the wrapper not called.
fn refused_by_extractor<'a, T: Send + 'a>(error: ErrorData) -> BoxFuture<'a, Result<T, ErrorData>> {
    Box::pin(std::future::ready(Err(error)))
}

macro_rules! conditioned {
    ($($T:ident)*) => {
        impl<$($T,)* S, F> CallToolHandler<S, ConditionedParameters<($($T,)*)>> for Conditioned<F>
        where
            $($T: for<'a> FromContextPart<ToolCallContext<'a, S>>,)*
            F: FnOnce(&S, $($T,)* ConditionScope) -> BoxFuture<'_, Result<CallToolResponse, ErrorData>>,
        {
            #[allow(non_snake_case)]
            fn call(
                self,
                mut context: ToolCallContext<'_, S>,
            ) -> BoxFuture<'_, Result<CallToolResponse, ErrorData>> {
                $(let $T = match $T::from_context_part(&mut context) {
                    Ok(value) => value,
                    Err(error) => return refused_by_extractor(error),
                };)*
                match ConditionScope::from_context_part(&mut context) {
                    Ok(scope) => (self.0)(context.service, $($T,)* scope),
                    Err(error) => refused_by_extractor(error),
                }
            }
        }

        impl<$($T,)* S, F> GetPromptHandler<S, ConditionedParameters<($($T,)*)>> for Conditioned<F>
        where
            $($T: for<'a> FromContextPart<PromptContext<'a, S>>,)*
            F: FnOnce(&S, $($T,)* ConditionScope) -> BoxFuture<'_, Result<GetPromptResponse, ErrorData>>,
        {
            #[allow(non_snake_case)]
            fn handle(
                self,
                mut context: PromptContext<'_, S>,
            ) -> BoxFuture<'_, Result<GetPromptResponse, ErrorData>> {
                $(let $T = match $T::from_context_part(&mut context) {
                    Ok(value) => value,
                    Err(error) => return refused_by_extractor(error),
                };)*
                match ConditionScope::from_context_part(&mut context) {
                    Ok(scope) => (self.0)(context.server, $($T,)* scope),
                    Err(error) => refused_by_extractor(error),
                }
            }
        }
    };
}

// rmcp's handlers take up to 16 parameters: the item's own and the scope.
conditioned!();
conditioned!(T0);
conditioned!(T0 T1);
conditioned!(T0 T1 T2);
conditioned!(T0 T1 T2 T3);
conditioned!(T0 T1 T2 T3 T4);
conditioned!(T0 T1 T2 T3 T4 T5);
conditioned!(T0 T1 T2 T3 T4 T5 T6);
conditioned!(T0 T1 T2 T3 T4 T5 T6 T7);
conditioned!(T0 T1 T2 T3 T4 T5 T6 T7 T8);
conditioned!(T0 T1 T2 T3 T4 T5 T6 T7 T8 T9);
conditioned!(T0 T1 T2 T3 T4 T5 T6 T7 T8 T9 T10);
conditioned!(T0 T1 T2 T3 T4 T5 T6 T7 T8 T9 T10 T11);
conditioned!(T0 T1 T2 T3 T4 T5 T6 T7 T8 T9 T10 T11 T12);
conditioned!(T0 T1 T2 T3 T4 T5 T6 T7 T8 T9 T10 T11 T12 T13);
conditioned!(T0 T1 T2 T3 T4 T5 T6 T7 T8 T9 T10 T11 T12 T13 T14);

/// The tool definition, marked with the name of its condition (for the manifest).
pub fn tool_with_condition(mut tool: Tool, condition: &'static str) -> Tool {
    marker::set_condition(&mut tool.meta, condition);
    tool
}

/// The prompt definition, marked with the name of its condition (for the manifest).
pub fn prompt_with_condition(mut prompt: Prompt, condition: &'static str) -> Prompt {
    marker::set_condition(&mut prompt.meta, condition);
    prompt
}
