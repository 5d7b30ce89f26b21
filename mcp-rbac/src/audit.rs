//! One record per authorization decision, for a security team: who (subject, issuer, client)
//! asked for what (tool, prompt, resource, list), under which rules (the policy version), with
//! which outcome and why, and which request it was (the server's request id, also sent back in
//! the `x-request-id` header, and the JSON-RPC id).
//!
//! Every record is a `tracing` event: decisions on [`DECISION_TARGET`] (allow at debug, deny
//! at info), refused requests on [`AUTH_TARGET`]. A server that also wants them elsewhere gives
//! its [`ServerBuilder`](crate::ServerBuilder) an [`Audit`] with sinks: a JSON Lines file with
//! size-based rotation and an optional hash chain (`JsonLinesSink`, feature `audit-file`), or
//! any [`AuditSink`] of its own (a message queue, a SIEM). A record never holds a token, a
//! signature, a key or a secret; of the arguments only a digest, of the claims only those named.

#[cfg(feature = "audit-file")]
mod file;
mod record;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

#[cfg(feature = "audit-file")]
pub use file::{verify_chain, ChainError, JsonLinesOptions, JsonLinesSink, Overflow};
pub use record::{Decision, DecisionRecord, Timestamp};

use crate::item::ItemKind;
use crate::principal::Principal;

/// The target of every authorization decision event.
pub const DECISION_TARGET: &str = "mcp_rbac::audit";
/// The target of authentication events (rejected or missing tokens).
pub const AUTH_TARGET: &str = "mcp_rbac::auth";
/// The response header that carries the server's id of the request.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Where decision records go besides `tracing`.
pub trait AuditSink: Send + Sync + 'static {
    /// Takes one record. Called on the request's path: hand the record to a queue, do not
    /// block on I/O (`JsonLinesSink` writes from a thread of its own). The record borrows from
    /// the request: serialize it here, or keep [`DecisionRecord::into_owned`] of a clone.
    fn record(&self, record: &DecisionRecord<'_>);

    /// Waits until every record taken so far is written (at shutdown, and in tests).
    fn flush(&self) {}
}

/// The decision records of a server: the sinks they go to and the policy version they carry.
#[derive(Clone)]
pub struct Audit(Arc<AuditInner>);

struct AuditInner {
    policy_version: String,
    sinks: Vec<Box<dyn AuditSink>>,
}

impl std::fmt::Debug for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audit")
            .field("policy_version", &self.0.policy_version)
            .field("sinks", &self.0.sinks.len())
            .finish()
    }
}

impl Audit {
    /// Records carrying `policy_version` (see
    /// [`Manifest::policy_version`](crate::Manifest::policy_version)), to no sink but `tracing`
    /// until [`sink`](Self::sink) adds one.
    pub fn new(policy_version: impl Into<String>) -> Self {
        Audit(Arc::new(AuditInner {
            policy_version: policy_version.into(),
            sinks: Vec::new(),
        }))
    }

    /// Records also go to `sink`.
    pub fn sink(self, sink: impl AuditSink) -> Self {
        let mut inner = Arc::try_unwrap(self.0).unwrap_or_else(|shared| AuditInner {
            policy_version: shared.policy_version.clone(),
            sinks: Vec::new(),
        });
        inner.sinks.push(Box::new(sink));
        Audit(Arc::new(inner))
    }

    /// The version records carry.
    pub fn version(&self) -> &str {
        &self.0.policy_version
    }

    /// Waits until every sink has written what it was given.
    pub fn flush(&self) {
        for sink in &self.0.sinks {
            sink.flush();
        }
    }

    fn emit(&self, record: &DecisionRecord<'_>) {
        for sink in &self.0.sinks {
            sink.record(record);
        }
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut text = vec![0; bytes.len() * 2];
    // Cannot fail: `text` is exactly twice as long as `bytes`, and hex digits are ASCII.
    let _ = hex::encode_to_slice(bytes, &mut text);
    String::from_utf8(text).unwrap_or_default()
}

/// The server's id of one HTTP request: a per-process random prefix and a counter, so ids are
/// unique across replicas without a coordinator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(Arc<str>);

impl RequestId {
    /// A fresh id.
    pub fn generate() -> Self {
        static PREFIX: OnceLock<String> = OnceLock::new();
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let prefix = PREFIX.get_or_init(|| {
            let mut bytes = [0u8; 6];
            // Without randomness the ids are still unique within the process.
            let _ = aws_lc_rs::rand::fill(&mut bytes);
            hex(&bytes)
        });
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        RequestId(format!("{prefix}-{n}").into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a decision's record needs from its request: the audit handle (absent: `tracing` only),
/// the request id, the JSON-RPC id.
#[derive(Clone, Copy, Default)]
pub(crate) struct Scope<'a> {
    pub(crate) audit: Option<&'a Audit>,
    pub(crate) request_id: Option<&'a RequestId>,
    pub(crate) jsonrpc_id: Option<&'a rmcp::model::RequestId>,
}

impl<'a> Scope<'a> {
    /// The scope an HTTP request's extensions give.
    pub(crate) fn of_extensions(extensions: &'a http::Extensions) -> Self {
        Scope {
            // Without a sink the records would go nowhere: none is built.
            audit: extensions.get::<Audit>().filter(|a| !a.0.sinks.is_empty()),
            request_id: extensions.get::<RequestId>(),
            jsonrpc_id: None,
        }
    }

    /// The scope of an rmcp request (its HTTP request's extensions, when it came over HTTP).
    pub(crate) fn of_request(context: &'a rmcp::service::RequestContext<rmcp::RoleServer>) -> Self {
        let parts = context.extensions.get::<http::request::Parts>();
        let mut scope = parts
            .map(|p| Scope::of_extensions(&p.extensions))
            .unwrap_or_default();
        scope.jsonrpc_id = Some(&context.id);
        scope
    }

    fn record<'r>(
        &self,
        principal: Option<&'r Principal>,
        decision: Decision,
        reason: &'static str,
        started: Instant,
    ) -> Option<DecisionRecord<'r>>
    where
        'a: 'r,
    {
        let audit = self.audit?;
        Some(DecisionRecord::new(
            audit.version(),
            self.request_id.map(RequestId::as_str),
            self.jsonrpc_id,
            principal,
            decision,
            reason,
            started,
        ))
    }

    fn emit(&self, record: Option<DecisionRecord<'_>>) {
        if let (Some(audit), Some(record)) = (self.audit, record) {
            audit.emit(&record);
        }
    }
}

/// A digest of a tool's arguments (canonical JSON, SHA-256, hex): equal arguments give equal
/// digests, and the arguments themselves never reach a record.
pub(crate) fn arguments_digest(
    arguments: &serde_json::Map<String, serde_json::Value>,
) -> HexDigest {
    thread_local! {
        /// Each request thread's buffer for the canonical text, reused from call to call.
        static CANONICAL: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    // One text and a one-shot digest: a streaming digest costs more per write of the serializer
    // than the whole text does.
    let digest = |canonical: &mut Vec<u8>| {
        canonical.clear();
        let _ = serde_json::to_writer(&mut *canonical, arguments);
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical)
    };
    let digest = CANONICAL.with(|buffer| match buffer.try_borrow_mut() {
        Ok(mut canonical) => digest(&mut canonical),
        Err(_) => digest(&mut Vec::new()),
    });
    let mut text = [b'0'; 64];
    // Cannot fail: a SHA-256 is 32 bytes, 64 hex digits.
    let _ = hex::encode_to_slice(digest.as_ref(), &mut text);
    HexDigest(text)
}

/// A SHA-256 as 64 lowercase hex digits, kept on the stack for the record that borrows it.
pub(crate) struct HexDigest([u8; 64]);

impl HexDigest {
    pub(crate) fn as_str(&self) -> &str {
        // Hex digits only.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// An item's decision (allow, or deny for `deny_reason`: `missing_permission`, `client_ceiling`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn decided(
    scope: Scope<'_>,
    kind: ItemKind,
    name: &str,
    principal: &Principal,
    required: &str,
    allowed: bool,
    deny_reason: &'static str,
    arguments: Option<&serde_json::Map<String, serde_json::Value>>,
    started: Instant,
) {
    let (decision, reason) = if allowed {
        tracing::debug!(target: "mcp_rbac::audit", decision = "allow", kind = kind.as_str(), name, subject = principal.subject(), required, request_id = scope.request_id.map(RequestId::as_str));
        (Decision::Allow, "granted")
    } else {
        tracing::info!(target: "mcp_rbac::audit", decision = "deny", kind = kind.as_str(), name, subject = principal.subject(), client = principal.client(), required, reason = deny_reason, request_id = scope.request_id.map(RequestId::as_str));
        (Decision::Deny, deny_reason)
    };
    let digest = scope.audit.and(arguments).map(arguments_digest);
    let record = scope
        .record(Some(principal), decision, reason, started)
        .map(|r| {
            r.item(kind.as_str(), name, Some(required))
                .arguments(digest.as_ref().map(HexDigest::as_str))
        });
    scope.emit(record);
}

/// An item's denial by the server's authorizer (after any requirement held), under the
/// authorizer's reason code.
#[allow(clippy::too_many_arguments)]
pub(crate) fn refused(
    scope: Scope<'_>,
    kind: ItemKind,
    name: &str,
    principal: &Principal,
    required: &str,
    reason: &'static str,
    arguments: Option<&serde_json::Map<String, serde_json::Value>>,
    started: Instant,
) {
    tracing::info!(target: "mcp_rbac::audit", decision = "deny", kind = kind.as_str(), name, subject = principal.subject(), required, reason, request_id = scope.request_id.map(RequestId::as_str));
    let digest = scope.audit.and(arguments).map(arguments_digest);
    let record = scope
        .record(Some(principal), Decision::Deny, reason, started)
        .map(|r| {
            r.item(kind.as_str(), name, Some(required))
                .arguments(digest.as_ref().map(HexDigest::as_str))
        });
    scope.emit(record);
}

/// An argument condition's judgement (`refused`: its reason code), after the static requirement
/// allowed the call.
pub(crate) fn judged(
    scope: Scope<'_>,
    kind: ItemKind,
    name: &str,
    principal: &Principal,
    condition: &str,
    refused: Option<&'static str>,
    started: Option<Instant>,
) {
    let (decision, reason) = match refused {
        None => {
            tracing::debug!(target: "mcp_rbac::audit", decision = "allow", kind = kind.as_str(), name, subject = principal.subject(), condition, request_id = scope.request_id.map(RequestId::as_str));
            (Decision::Allow, "condition_met")
        }
        Some(reason) => {
            tracing::info!(target: "mcp_rbac::audit", decision = "deny", kind = kind.as_str(), name, subject = principal.subject(), condition, reason, request_id = scope.request_id.map(RequestId::as_str));
            (Decision::Deny, reason)
        }
    };
    // Without a start the scope has no sink: nothing to record.
    let record = started
        .and_then(|started| scope.record(Some(principal), decision, reason, started))
        .map(|r| r.item(kind.as_str(), name, Some(condition)));
    scope.emit(record);
}

/// A request for an item with no principal at all (no bearer layer in front).
pub(crate) fn unauthenticated(scope: Scope<'_>, kind: ItemKind, name: &str) {
    tracing::warn!(target: "mcp_rbac::audit", decision = "deny", kind = kind.as_str(), name, reason = "no principal in request");
    let record = scope
        .record(None, Decision::Deny, "no_principal", Instant::now())
        .map(|r| r.item(kind.as_str(), name, None));
    scope.emit(record);
}

/// A refused `tools/call` answered with the step-up challenge (HTTP 403).
pub(crate) fn insufficient_scope(
    scope: Scope<'_>,
    name: &str,
    principal: &Principal,
    required: &str,
    started: Instant,
) {
    tracing::info!(target: "mcp_rbac::audit", decision = "deny", kind = "tool", name, subject = principal.subject(), required, reason = "insufficient_scope", request_id = scope.request_id.map(RequestId::as_str));
    let record = scope
        .record(
            Some(principal),
            Decision::Deny,
            "insufficient_scope",
            started,
        )
        .map(|r| r.item("tool", name, Some(required)).status(403));
    scope.emit(record);
}

/// A filtered list: how many items were shown and hidden.
pub(crate) fn listed(
    scope: Scope<'_>,
    list: &'static str,
    principal: &Principal,
    shown: usize,
    hidden: usize,
) {
    tracing::debug!(target: "mcp_rbac::audit", decision = "allow", kind = "list", name = list, subject = principal.subject(), shown, hidden, request_id = scope.request_id.map(RequestId::as_str));
    let record = scope
        .record(Some(principal), Decision::Allow, "filtered", Instant::now())
        .map(|r| r.item("list", list, None).listed(shown, hidden));
    scope.emit(record);
}

/// A session named by a principal other than its opener (HTTP 404).
pub(crate) fn foreign_session(scope: Scope<'_>, principal: &Principal, started: Instant) {
    tracing::warn!(target: "mcp_rbac::auth", decision = "reject", subject = principal.subject(), reason = "MCP session opened by another principal", request_id = scope.request_id.map(RequestId::as_str));
    let record = scope
        .record(Some(principal), Decision::Deny, "foreign_session", started)
        .map(|r| r.item("request", "session", None).status(404));
    scope.emit(record);
}

/// A request refused for its token (HTTP 401): none (`no_token`) or an invalid one
/// (`invalid_token`, with the refusal's description; never the token).
pub(crate) fn token_rejected(scope: Scope<'_>, missing: bool, description: &str, started: Instant) {
    tracing::info!(target: "mcp_rbac::auth", decision = "reject", reason = description, request_id = scope.request_id.map(RequestId::as_str));
    let reason = if missing { "no_token" } else { "invalid_token" };
    let record = scope
        .record(None, Decision::Deny, reason, started)
        .map(|r| {
            r.item("request", "authentication", None)
                .status(401)
                .detail(description)
        });
    scope.emit(record);
}

/// A request of a verified `principal` refused because the shared state (DPoP replay,
/// revocations, session owners) could not answer: HTTP 503, reason `store_unavailable`.
pub(crate) fn store_unavailable(scope: Scope<'_>, principal: &Principal, started: Instant) {
    let record = scope
        .record(
            Some(principal),
            Decision::Deny,
            "store_unavailable",
            started,
        )
        .map(|r| r.item("request", "authorization_state", None).status(503));
    scope.emit(record);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arguments_digest_is_sha256_of_the_canonical_json() {
        let arguments = serde_json::json!({"name": "lamp", "id": 42, "tags": ["a", "b"]});
        let arguments = arguments.as_object().unwrap();
        let text = serde_json::to_string(arguments).unwrap();
        let expected = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
        let digest = arguments_digest(arguments);
        assert_eq!(digest.as_str(), hex::encode(expected.as_ref()));
        assert_ne!(
            digest.as_str(),
            arguments_digest(&serde_json::Map::new()).as_str()
        );
    }

    #[test]
    fn request_ids_are_unique() {
        let ids: std::collections::HashSet<_> = (0..1000)
            .map(|_| RequestId::generate().as_str().to_owned())
            .collect();
        assert_eq!(ids.len(), 1000);
    }
}
