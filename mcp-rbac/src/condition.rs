//! Argument conditions: a check that sees the call, written as a method and named by a tool or
//! prompt with `authorize = Self::method`.
//!
//! The static requirement (`requires = ..`) runs first, before the arguments are read; then rmcp
//! parses the arguments once; then the condition judges them; then the body runs with the same
//! parsed value. A condition is an `async fn` of the server:
//!
//! ```
//! use mcp_rbac::{Denied, Principal};
//! # #[derive(serde::Deserialize, schemars::JsonSchema)]
//! # struct Refund { amount_cents: u64 }
//! # struct Shop;
//! impl Shop {
//!     async fn may_refund(&self, caller: &Principal, refund: &Refund) -> Result<(), Denied> {
//!         if refund.amount_cents > 10_000 && !caller.has_permission("Orders.RefundLarge") {
//!             return Err(Denied::new("refund_limit", "refunds above 100.00 need Orders.RefundLarge"));
//!         }
//!         Ok(())
//!     }
//! }
//! ```
//!
//! A refusal is answered as a missing permission is (JSON-RPC code 403), with the condition's
//! `reason` in `data.reason`; the body never runs.

use std::borrow::Cow;
use std::future::Future;

use crate::principal::Principal;

/// A condition's refusal: a stable, machine-readable reason code (snake_case, e.g. `not_owner`)
/// and a message for the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denied {
    reason: &'static str,
    message: Cow<'static, str>,
}

impl Denied {
    /// A refusal for `reason` (a code clients can match on) with `message` (for people).
    pub fn new(reason: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Denied {
            reason,
            message: message.into(),
        }
    }

    /// The reason code.
    pub fn reason(&self) -> &'static str {
        self.reason
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.reason)
    }
}

impl std::error::Error for Denied {}

/// What `authorize = ..` accepts: `async fn(&self, &Principal, &Args) -> Result<(), Denied>`,
/// where `Args` is the type inside the item's `Parameters<Args>`. Implemented for every such
/// function; the generated code calls it, a server has no reason to.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an argument condition for arguments of type `{A}`",
    label = "not `async fn(&self, &Principal, &{A}) -> Result<(), Denied>`",
    note = "a condition is written `async fn name(&self, caller: &mcp_rbac::Principal, arguments: &{A}) -> Result<(), mcp_rbac::Denied>`"
)]
pub trait Condition<'a, S: 'a, A: 'a> {
    /// The judgement in progress.
    type Future: Future<Output = Result<(), Denied>> + Send + 'a;

    /// Starts judging `arguments` of a call by `caller` to `server`.
    fn judge(self, server: &'a S, caller: &'a Principal, arguments: &'a A) -> Self::Future;
}

impl<'a, S: 'a, A: 'a, F, Fut> Condition<'a, S, A> for F
where
    F: FnOnce(&'a S, &'a Principal, &'a A) -> Fut,
    Fut: Future<Output = Result<(), Denied>> + Send + 'a,
{
    type Future = Fut;

    fn judge(self, server: &'a S, caller: &'a Principal, arguments: &'a A) -> Fut {
        self(server, caller, arguments)
    }
}
