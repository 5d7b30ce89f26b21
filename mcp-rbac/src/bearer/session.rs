//! MCP sessions bound to the principal that opened them.
//!
//! Every request is authenticated on its own, so a session id is never a credential here; but a
//! session carries state of its own (the server-to-client stream a `GET` resumes, answers to
//! server requests). A caller holding a valid token of their own and someone else's session id
//! must not read or answer for that session, as the MCP security best practices ask ("bind
//! session IDs to user-specific information"). The bearer layer remembers which principal
//! (issuer and subject) each session belongs to and answers any other principal as if the
//! session did not exist: `404 Not Found`, what rmcp answers for an unknown session.
//!
//! A session opened through this layer is bound when the `initialize` answer names it. A session
//! the layer's [`SharedState`](crate::store::SharedState) has no owner for (its record was
//! evicted from a bounded table, or expired) is bound to the first principal it successfully
//! serves. Replicas sharing a [`RedisState`](crate::store) share the owners: a session opened on
//! one belongs to its principal on all.

use axum::body::Body;
use http::{Response, StatusCode};

use crate::principal::Principal;
use crate::store::SessionOwner;

/// The session header of the streamable HTTP transport.
pub(crate) const SESSION_HEADER: &str = "mcp-session-id";

/// How many session owners a layer remembers unless told otherwise.
pub const DEFAULT_MAX_SESSIONS: usize = 100_000;

/// Who `principal` is, as a session's owner.
pub(crate) fn owner_of(principal: &Principal) -> SessionOwner {
    SessionOwner {
        issuer: principal.issuer().map(str::to_owned),
        subject: principal.subject().to_owned(),
    }
}

/// Whether `owner` is `principal`.
pub(crate) fn is_owner(owner: &SessionOwner, principal: &Principal) -> bool {
    owner.subject == principal.subject() && owner.issuer.as_deref() == principal.issuer()
}

/// The answer to a foreign session: the same as rmcp's to an unknown one.
pub(crate) fn not_found() -> Response<Body> {
    let mut response = Response::new(Body::from("Not Found: Session not found"));
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}
