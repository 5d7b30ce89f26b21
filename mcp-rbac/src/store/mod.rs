//! The state the bearer layer keeps between requests, in one place that replicas can share: DPoP
//! proof `jti`s already used (RFC 9449 §11.1), revoked tokens, and which principal owns each MCP
//! session.
//!
//! One process keeps it in a [`MemoryState`] (the default). Replicas behind a load balancer
//! share a `RedisState` (feature `redis`; Redis or Valkey): a proof used on one replica is
//! refused on every other, a revocation made anywhere holds everywhere, and a session opened on
//! one replica belongs to its principal on all of them. The [replicas guide](crate::guides::replicas)
//! shows the set-up.
//!
//! The bearer layer asks [`SharedState::check`] once per request, after the token verified:
//! one call answers replay, revocation and the session's owner (one round trip to Redis).
//! A state that cannot answer refuses the request: `503 Service Unavailable` with `Retry-After`.

mod memory;
#[cfg(feature = "redis")]
mod redis;

use std::sync::Arc;

use futures::future::BoxFuture;

pub use memory::{MemoryState, DEFAULT_REPLAY_CAPACITY, DEFAULT_REVOCATION_CAPACITY};
#[cfg(feature = "redis")]
pub use redis::{RedisState, RedisStateBuilder, DEFAULT_COMMAND_TIMEOUT, DEFAULT_KEY_PREFIX};

/// How long a session owner is kept after its last use, unless set otherwise.
pub const DEFAULT_SESSION_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
/// How long a subject revocation is kept after its time, unless set otherwise: tokens issued
/// before it must have expired by then.
pub const DEFAULT_SUBJECT_REVOCATION_TTL: std::time::Duration =
    std::time::Duration::from_secs(24 * 3600);

/// A DPoP proof to record as used: a SHA-256 digest of the proof key's thumbprint and the
/// proof's `jti`, remembered until `expires_at` (seconds since the epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayKey {
    /// The digest.
    pub digest: [u8; 32],
    /// Until when it is remembered.
    pub expires_at: i64,
}

/// The issuer and subject that opened an MCP session.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionOwner {
    /// The token's `iss`, when it has one.
    #[serde(rename = "iss", default)]
    pub issuer: Option<String>,
    /// The token's `sub`.
    #[serde(rename = "sub")]
    pub subject: String,
}

/// What the bearer layer asks about one request whose token verified.
#[derive(Clone, Debug)]
pub struct RequestFacts<'a> {
    /// The checker's clock, seconds since the epoch.
    pub now: i64,
    /// The DPoP proof to record as used, for a DPoP request.
    pub replay: Option<ReplayKey>,
    /// The token's `jti`, when it has one.
    pub token_id: Option<&'a str>,
    /// The token's `iss`, when it has one.
    pub issuer: Option<&'a str>,
    /// The token's `sub`.
    pub subject: &'a str,
    /// The token's `iat`, when it has one (a token without one counts as issued before any
    /// subject revocation).
    pub issued_at: Option<i64>,
    /// The `Mcp-Session-Id` the request names, when session owners are kept.
    pub session: Option<&'a [u8]>,
}

/// The answers to [`RequestFacts`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verdicts {
    /// The DPoP proof was recorded before: a replay.
    pub replayed: bool,
    /// The token is revoked: by its `jti`, or its subject was revoked at or after its `iat`.
    pub revoked: bool,
    /// The owner of the session the request names, when one is recorded.
    pub session_owner: Option<SessionOwner>,
}

/// Why a [`SharedState`] could not answer. The request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A bounded in-memory table holds as many unexpired entries as it may.
    #[error("the shared state is full")]
    Full,
    /// The store could not be reached in time, or answered something unexpected.
    #[error("the shared state is unavailable: {0}")]
    Unavailable(String),
}

/// The bearer layer's state between requests: DPoP replay, revocations and session owners.
/// [`MemoryState`] keeps it in this process; `RedisState` (feature `redis`) in Redis, shared
/// by replicas. An implementation answers [`check`](Self::check) in one round trip where it can.
pub trait SharedState: Send + Sync + 'static {
    /// Records `facts.replay` as used (when given, and not recorded yet), and answers whether it
    /// was a replay, whether the token is revoked, and who owns `facts.session`.
    fn check<'a>(
        &'a self,
        facts: &'a RequestFacts<'a>,
    ) -> BoxFuture<'a, Result<Verdicts, StoreError>>;

    /// Revokes the token whose `jti` is `jti` until `until` (seconds since the epoch: its
    /// `exp` is enough).
    fn revoke_jti<'a>(&'a self, jti: &'a str, until: i64) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Revokes every token of `subject` (of `issuer`, or issued without `iss` when `None`)
    /// issued at or before `before` (seconds since the epoch). A later call with an earlier time
    /// leaves the later one in force.
    fn revoke_subject<'a>(
        &'a self,
        issuer: Option<&'a str>,
        subject: &'a str,
        before: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Records `owner` as the owner of `session`; with `if_absent`, only when it has none.
    fn bind_session<'a>(
        &'a self,
        session: &'a [u8],
        owner: &'a SessionOwner,
        if_absent: bool,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// The owner of `session`, when one is recorded.
    fn session_owner<'a>(
        &'a self,
        session: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<SessionOwner>, StoreError>>;

    /// Forgets the owner of `session`.
    fn remove_session<'a>(&'a self, session: &'a [u8]) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Where rmcp keeps each session's `initialize` parameters so that another replica can
    /// serve the session (rmcp's `SessionStore`); `None` for state local to this process.
    fn mcp_session_store(
        &self,
    ) -> Option<Arc<dyn rmcp::transport::streamable_http_server::session::SessionStore>> {
        None
    }
}

impl<T: SharedState + ?Sized> SharedState for Arc<T> {
    fn check<'a>(
        &'a self,
        facts: &'a RequestFacts<'a>,
    ) -> BoxFuture<'a, Result<Verdicts, StoreError>> {
        (**self).check(facts)
    }

    fn revoke_jti<'a>(&'a self, jti: &'a str, until: i64) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).revoke_jti(jti, until)
    }

    fn revoke_subject<'a>(
        &'a self,
        issuer: Option<&'a str>,
        subject: &'a str,
        before: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).revoke_subject(issuer, subject, before)
    }

    fn bind_session<'a>(
        &'a self,
        session: &'a [u8],
        owner: &'a SessionOwner,
        if_absent: bool,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).bind_session(session, owner, if_absent)
    }

    fn session_owner<'a>(
        &'a self,
        session: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<SessionOwner>, StoreError>> {
        (**self).session_owner(session)
    }

    fn remove_session<'a>(&'a self, session: &'a [u8]) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).remove_session(session)
    }

    fn mcp_session_store(
        &self,
    ) -> Option<Arc<dyn rmcp::transport::streamable_http_server::session::SessionStore>> {
        (**self).mcp_session_store()
    }
}

/// Seconds since the epoch on the system clock.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
