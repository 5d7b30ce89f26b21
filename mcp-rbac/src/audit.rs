//! Decision events on the `mcp_rbac::audit` target: one per allow, deny and missing principal,
//! and one per rejected token on `mcp_rbac::auth`. They carry names, subjects and reasons; never
//! a token, a signature or a key.

use crate::item::ItemKind;
use crate::principal::Principal;

/// The target of every authorization decision event.
pub const DECISION_TARGET: &str = "mcp_rbac::audit";
/// The target of authentication events (rejected or missing tokens).
pub const AUTH_TARGET: &str = "mcp_rbac::auth";

pub(crate) fn allowed(kind: ItemKind, name: &str, principal: &Principal, required: &str) {
    tracing::debug!(target: "mcp_rbac::audit", decision = "allow", kind = kind.as_str(), name, subject = principal.subject(), required);
}

pub(crate) fn denied(kind: ItemKind, name: &str, principal: &Principal, required: &str) {
    tracing::info!(target: "mcp_rbac::audit", decision = "deny", kind = kind.as_str(), name, subject = principal.subject(), required);
}

pub(crate) fn unauthenticated(kind: ItemKind, name: &str) {
    tracing::warn!(target: "mcp_rbac::audit", decision = "deny", kind = kind.as_str(), name, reason = "no principal in request");
}

pub(crate) fn foreign_session(principal: &Principal) {
    tracing::warn!(target: "mcp_rbac::auth", decision = "reject", subject = principal.subject(), reason = "MCP session opened by another principal");
}

pub(crate) fn token_rejected(reason: &str) {
    tracing::info!(target: "mcp_rbac::auth", decision = "reject", reason);
}
