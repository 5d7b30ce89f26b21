//! Denials as JSON-RPC errors, as the README's "On the wire" table shows them. Codes 401 and 403
//! sit outside the JSON-RPC reserved range, as the MCP 2026-07-28 revision asks of new codes.

use rmcp::model::ErrorCode;
use rmcp::ErrorData;
use serde_json::json;

use crate::item::ItemKind;

/// JSON-RPC code for "no verified principal".
pub const UNAUTHENTICATED: ErrorCode = ErrorCode(401);
/// JSON-RPC code for "principal lacks the permission".
pub const FORBIDDEN: ErrorCode = ErrorCode(403);

/// `code` 403, the item and its canonical requirement in `message` and `data`, and
/// `data.reason` = `missing_permission`.
pub fn forbidden(kind: ItemKind, name: &str, required: &str) -> ErrorData {
    ErrorData::new(
        FORBIDDEN,
        format!(
            "permission denied: {} `{name}` requires {required}",
            kind.as_str()
        ),
        Some(json!({ kind.as_str(): name, "required": required, "reason": "missing_permission" })),
    )
}

/// `code` 403 from a rule that sees the call (an argument condition): `data.reason` is the
/// rule's stable code, `message` its explanation.
pub fn refused(kind: ItemKind, name: &str, reason: &str, message: &str) -> ErrorData {
    ErrorData::new(
        FORBIDDEN,
        format!("permission denied: {} `{name}`: {message}", kind.as_str()),
        Some(json!({ kind.as_str(): name, "reason": reason })),
    )
}

/// `code` 401: nothing authenticated this request (no bearer layer, or a transport without one).
pub fn unauthenticated() -> ErrorData {
    ErrorData::new(
        UNAUTHENTICATED,
        "authentication required: this request carries no verified principal",
        None,
    )
}

/// A route in a guarded router that no guard wrapped (e.g. merged in from a plain rmcp router):
/// refused, because nothing says who may call it.
pub(crate) fn unguarded(kind: ItemKind, name: &str) -> ErrorData {
    ErrorData::new(
        FORBIDDEN,
        format!(
            "permission denied: {} `{name}` has no access rule (declare it inside #[mcp_rbac::{}_router])",
            kind.as_str(),
            kind.as_str()
        ),
        Some(json!({ kind.as_str(): name, "required": null, "reason": "unguarded" })),
    )
}
