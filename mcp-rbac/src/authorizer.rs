//! A policy engine of your own beside (or instead of) the code's `requires`: an [`Authorizer`]
//! sees the principal, the item and the call's raw arguments, and allows or denies with a stable
//! reason code.
//!
//! [`ServerBuilder::authorizer`](crate::ServerBuilder::authorizer) consults it after the item's
//! requirement holds (both must allow);
//! [`ServerBuilder::authorizer_replacing_requirements`](crate::ServerBuilder::authorizer_replacing_requirements)
//! lets it decide alone. Either way it runs before rmcp reads the arguments into the tool's
//! types, for every `tools/call`, `prompts/get` and `resources/read`, and once per item (without
//! arguments) when `tools/list`, `prompts/list` and `resources/list` filter what a caller sees.
//! A denial is the JSON-RPC 403 of a missing permission, with the authorizer's reason in
//! `data.reason`, audited and counted under that reason.
//!
//! ```
//! use mcp_rbac::authorizer::{Authorizer, Query, Verdict};
//! use mcp_rbac::ItemKind;
//!
//! /// No deletions on weekends, whoever asks.
//! struct Weekdays { weekend: fn() -> bool }
//!
//! impl Authorizer for Weekdays {
//!     fn authorize(&self, query: &Query<'_>) -> Verdict {
//!         if query.kind == ItemKind::Tool && query.name.starts_with("delete_") && (self.weekend)() {
//!             return Verdict::deny("weekend_freeze", "deletions wait for Monday");
//!         }
//!         Verdict::Allow
//!     }
//! }
//! # let _ = mcp_rbac::ServerBuilder::new("http://127.0.0.1:0/mcp").authorizer(Weekdays { weekend: || false });
//! ```
//!
//! With the crate feature `cedar`, `mcp_rbac::cedar::CedarAuthorizer` is one: Cedar policies
//! (the `cedar` guide).

use std::borrow::Cow;
use std::sync::Arc;

use rmcp::model::JsonObject;
use rmcp::service::RequestContext;
use rmcp::RoleServer;

use crate::item::ItemKind;
use crate::principal::Principal;

/// What an [`Authorizer`] decides on.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Query<'a> {
    /// The verified caller.
    pub principal: &'a Principal,
    /// Tool, prompt or resource.
    pub kind: ItemKind,
    /// The tool's or prompt's name; a resource's URI, or its URI template when a template
    /// matched it.
    pub name: &'a str,
    /// The call's arguments as the client sent them (not yet checked against the input
    /// schema); `None` for lists and for resources.
    pub arguments: Option<&'a JsonObject>,
}

impl<'a> Query<'a> {
    /// A query (for tests of an authorizer, and benchmarks).
    pub fn new(
        principal: &'a Principal,
        kind: ItemKind,
        name: &'a str,
        arguments: Option<&'a JsonObject>,
    ) -> Self {
        Query {
            principal,
            kind,
            name,
            arguments,
        }
    }
}

/// An [`Authorizer`]'s answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead.
    Allow,
    /// Refused.
    Deny {
        /// A stable snake_case code: `data.reason` of the JSON-RPC 403, the audit record's
        /// `reason` and the `reason` label of `mcp_rbac_decisions_total` (a fixed word, so a
        /// caller cannot grow the label set).
        reason: &'static str,
        /// Said to the caller in the error's `message`, after ``permission denied: tool `name`: ``
        /// (never a secret).
        message: Cow<'static, str>,
    },
}

impl Verdict {
    /// A denial with `reason` and `message`.
    pub fn deny(reason: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Verdict::Deny {
            reason,
            message: message.into(),
        }
    }

    /// Whether it allows.
    pub fn is_allow(&self) -> bool {
        matches!(self, Verdict::Allow)
    }

    /// A denial's reason code; `None` when it allows.
    pub fn denial_reason(&self) -> Option<&'static str> {
        match self {
            Verdict::Allow => None,
            Verdict::Deny { reason, .. } => Some(reason),
        }
    }
}

/// Decides whether a principal may use an item, given the call's arguments. Called on the
/// request's task: keep it quick and non-blocking (it is synchronous, like the requirement
/// check). An error inside it must deny (fail closed).
pub trait Authorizer: Send + Sync + 'static {
    /// Allow or deny `query`.
    fn authorize(&self, query: &Query<'_>) -> Verdict;
}

impl<A: Authorizer + ?Sized> Authorizer for Arc<A> {
    fn authorize(&self, query: &Query<'_>) -> Verdict {
        (**self).authorize(query)
    }
}

/// Where an authorizer stands relative to the code's requirements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placement {
    /// Both the requirement and the authorizer must allow.
    Beside,
    /// The authorizer decides alone; requirements are not checked.
    Replacing,
}

/// The server's authorizer, put into each request's extensions by the server builder.
#[derive(Clone)]
pub(crate) struct Authorization {
    pub(crate) authorizer: Arc<dyn Authorizer>,
    pub(crate) placement: Placement,
}

impl std::fmt::Debug for Authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorization")
            .field("placement", &self.placement)
            .finish_non_exhaustive()
    }
}

impl Authorization {
    /// The authorizer the server builder set for this request, if any.
    /// (The builder's layer puts an `Option<Authorization>` into every request: one layer type
    /// whether or not an authorizer is set.)
    pub(crate) fn of_request(context: &RequestContext<RoleServer>) -> Option<&Authorization> {
        let slot = context
            .extensions
            .get::<Option<Authorization>>()
            .or_else(|| {
                context
                    .extensions
                    .get::<http::request::Parts>()
                    .and_then(|parts| parts.extensions.get::<Option<Authorization>>())
            })?;
        slot.as_ref()
    }

    /// Whether the code's requirement is checked too.
    pub(crate) fn checks_requirements(&self) -> bool {
        self.placement == Placement::Beside
    }
}
