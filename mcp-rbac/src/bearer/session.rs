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
//! this process has no record of (rmcp restored it from a shared session store, or the record was
//! evicted from this bounded table) is bound to the first principal it successfully serves.

use std::sync::Arc;

use axum::body::Body;
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use quick_cache::sync::Cache;

use crate::principal::Principal;

/// The session header of the streamable HTTP transport.
const SESSION_HEADER: &str = "mcp-session-id";

/// How many session owners a layer remembers unless told otherwise.
pub const DEFAULT_MAX_SESSIONS: usize = 100_000;

/// Who opened a session.
#[derive(Clone, PartialEq, Eq)]
struct Owner {
    issuer: Option<Box<str>>,
    subject: Box<str>,
}

impl Owner {
    fn of(principal: &Principal) -> Self {
        Owner {
            issuer: principal.issuer().map(Into::into),
            subject: principal.subject().into(),
        }
    }
}

/// Session id → owner, bounded.
pub(crate) struct SessionOwners {
    owners: Cache<Vec<u8>, Arc<Owner>>,
}

/// What the table says of one request.
pub(crate) enum SessionUse {
    /// No session header: a new session may be opened.
    Opening,
    /// A session of this principal, or one this process has no owner for.
    /// (The header value is reference-counted: keeping it costs no copy of the id.)
    Allowed(HeaderValue),
    /// Another principal's session.
    Foreign,
}

impl SessionOwners {
    pub(crate) fn new(max_sessions: usize) -> Self {
        SessionOwners {
            owners: Cache::new(max_sessions.max(1)),
        }
    }

    /// Whether `principal` may use the session `headers` name.
    pub(crate) fn check(&self, headers: &HeaderMap, principal: &Principal) -> SessionUse {
        let Some(id) = headers.get(SESSION_HEADER) else {
            return SessionUse::Opening;
        };
        match self.owners.get(id.as_bytes()) {
            Some(owner) if *owner != Owner::of(principal) => SessionUse::Foreign,
            _ => SessionUse::Allowed(id.clone()),
        }
    }

    /// Records the outcome of a request that `check` let through.
    pub(crate) fn record(
        &self,
        used: SessionUse,
        principal: &Principal,
        is_delete: bool,
        response: &Response<Body>,
    ) {
        if !response.status().is_success() {
            return;
        }
        match used {
            SessionUse::Opening => {
                if let Some(id) = response.headers().get(SESSION_HEADER) {
                    let owner = Arc::new(Owner::of(principal));
                    self.owners.insert(id.as_bytes().to_vec(), owner);
                }
            }
            SessionUse::Allowed(id) if is_delete => {
                self.owners.remove(id.as_bytes());
            }
            SessionUse::Allowed(id) => {
                // First use of a session this process did not open: it is this principal's now.
                let _ = self.owners.get_or_insert_with(id.as_bytes(), || {
                    Ok::<_, ()>(Arc::new(Owner::of(principal)))
                });
            }
            SessionUse::Foreign => {}
        }
    }
}

/// The answer to a foreign session: the same as rmcp's to an unknown one.
pub(crate) fn not_found() -> Response<Body> {
    let mut response = Response::new(Body::from("Not Found: Session not found"));
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(issuer: &str, subject: &str) -> Principal {
        Principal::builder(subject).issuer(issuer).build()
    }

    fn with_session(id: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(SESSION_HEADER, id.parse().unwrap());
        headers
    }

    fn answer(status: StatusCode, session: Option<&str>) -> Response<Body> {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = status;
        if let Some(id) = session {
            response
                .headers_mut()
                .insert(SESSION_HEADER, id.parse().unwrap());
        }
        response
    }

    #[test]
    fn a_session_belongs_to_the_issuer_and_subject_that_opened_it() {
        let table = SessionOwners::new(16);
        let alice = principal("https://a", "alice");
        let opened = table.check(&HeaderMap::new(), &alice);
        assert!(matches!(opened, SessionUse::Opening));
        table.record(opened, &alice, false, &answer(StatusCode::OK, Some("s1")));

        assert!(matches!(
            table.check(&with_session("s1"), &alice),
            SessionUse::Allowed(_)
        ));
        for other in [
            principal("https://a", "bob"),
            principal("https://b", "alice"),
            Principal::builder("alice").build(),
        ] {
            assert!(matches!(
                table.check(&with_session("s1"), &other),
                SessionUse::Foreign
            ));
        }
    }

    #[test]
    fn failures_bind_nothing_and_delete_forgets() {
        let table = SessionOwners::new(16);
        let (alice, bob) = (principal("i", "alice"), principal("i", "bob"));
        // rmcp refused the unknown session: nothing is recorded, bob's later use is his own.
        let used = table.check(&with_session("s2"), &alice);
        table.record(used, &alice, false, &answer(StatusCode::NOT_FOUND, None));
        let used = table.check(&with_session("s2"), &bob);
        assert!(matches!(used, SessionUse::Allowed(_)));
        // First successful use of a session this table did not know binds it.
        table.record(used, &bob, false, &answer(StatusCode::ACCEPTED, None));
        assert!(matches!(
            table.check(&with_session("s2"), &alice),
            SessionUse::Foreign
        ));
        // Its owner's DELETE forgets it.
        let used = table.check(&with_session("s2"), &bob);
        table.record(used, &bob, true, &answer(StatusCode::ACCEPTED, None));
        assert!(matches!(
            table.check(&with_session("s2"), &alice),
            SessionUse::Allowed(_)
        ));
    }
}
