//! [`RedisState`]: the shared state in Redis (or Valkey), for replicas behind a load balancer.
//!
//! Keys, each under a prefix ([`DEFAULT_KEY_PREFIX`]):
//!
//! | key | value | expires |
//! | --- | --- | --- |
//! | `dpop:<hex digest>` | `1` (`SET NX`) | when the proof's `iat` leaves the window |
//! | `revoked:jti:<jti>` | the time it is revoked until | then |
//! | `revoked:sub:["<iss>","<sub>"]` | the revocation time T | T plus the subject revocation TTL |
//! | `session:<id>` | the owner, `{"iss":…,"sub":…}` | the session TTL after its last use |
//! | `mcp-session:<id>` | rmcp's session state (its `initialize` parameters) | the session TTL |
//!
//! [`SharedState::check`] sends one pipeline (one round trip): `SET NX PX` for the proof,
//! `EXISTS` for the `jti`, `GET` for the subject, `GETEX PX` for the session owner.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Value;
use rmcp::transport::streamable_http_server::session::{
    SessionState, SessionStore, SessionStoreError,
};

use super::{
    RequestFacts, SessionOwner, SharedState, StoreError, Verdicts, DEFAULT_SESSION_TTL,
    DEFAULT_SUBJECT_REVOCATION_TTL,
};

/// The prefix of every key, unless set otherwise.
pub const DEFAULT_KEY_PREFIX: &str = "mcp-rbac:";
/// How long one command (or pipeline) may take, reconnecting included, before the request is
/// refused.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_millis(500);

/// Keeps the bearer layer's state in Redis or Valkey: a multiplexed connection that reconnects by
/// itself (redis-rs's `ConnectionManager`), each command bounded by a timeout. While Redis
/// cannot be reached every check fails ([`StoreError::Unavailable`]), so every protected
/// request is refused; when it is back, requests are served again.
#[derive(Clone)]
pub struct RedisState {
    inner: Arc<Inner>,
}

struct Inner {
    connection: ConnectionManager,
    prefix: Vec<u8>,
    timeout: Duration,
    session_ttl_ms: u64,
    subject_ttl_ms: u64,
}

impl std::fmt::Debug for RedisState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisState")
            .field("prefix", &String::from_utf8_lossy(&self.inner.prefix))
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

/// Settings of a [`RedisState`].
#[derive(Debug, Clone)]
pub struct RedisStateBuilder {
    url: String,
    prefix: String,
    timeout: Duration,
    session_ttl: Duration,
    subject_ttl: Duration,
}

impl RedisStateBuilder {
    /// The prefix of every key ([`DEFAULT_KEY_PREFIX`]): servers of different resources sharing
    /// one Redis use different prefixes.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long a command may take, connecting included ([`DEFAULT_COMMAND_TIMEOUT`]).
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long a session owner is kept after the session's last request
    /// ([`DEFAULT_SESSION_TTL`](super::DEFAULT_SESSION_TTL)).
    pub fn session_ttl(mut self, ttl: Duration) -> Self {
        self.session_ttl = ttl;
        self
    }

    /// How long a subject revocation is kept after its time
    /// ([`DEFAULT_SUBJECT_REVOCATION_TTL`](super::DEFAULT_SUBJECT_REVOCATION_TTL)): at least
    /// the longest lifetime of the issuer's tokens.
    pub fn subject_revocation_ttl(mut self, ttl: Duration) -> Self {
        self.subject_ttl = ttl;
        self
    }

    /// The state. It connects on first use (and again whenever the connection is lost), so it
    /// is made while Redis is down; only a malformed URL is refused here, or a call outside a
    /// Tokio runtime (the connection's task runs on it).
    pub fn build(self) -> Result<RedisState, StoreError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(StoreError::Unavailable(
                "a RedisState is made inside a Tokio runtime".to_owned(),
            ));
        }
        let client = redis::Client::open(self.url.as_str())
            .map_err(|e| StoreError::Unavailable(format!("Redis URL: {}", e.kind_text())))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(Duration::from_millis(200));
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| StoreError::Unavailable(e.kind_text()))?;
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1);
        Ok(RedisState {
            inner: Arc::new(Inner {
                connection,
                prefix: self.prefix.into_bytes(),
                timeout: self.timeout,
                session_ttl_ms: millis(self.session_ttl),
                subject_ttl_ms: millis(self.subject_ttl),
            }),
        })
    }
}

/// What a Redis error says, without the URL or any value.
trait KindText {
    fn kind_text(&self) -> String;
}

impl KindText for redis::RedisError {
    fn kind_text(&self) -> String {
        if self.is_timeout() {
            "timed out".to_owned()
        } else if self.is_connection_refusal() {
            "connection refused".to_owned()
        } else if self.is_io_error() || self.is_connection_dropped() {
            "connection lost".to_owned()
        } else {
            format!("{:?}", self.kind())
        }
    }
}

impl RedisState {
    /// Settings for the Redis at `url` (`redis://host:port/db`, `redis://user:pass@host`).
    pub fn builder(url: impl Into<String>) -> RedisStateBuilder {
        RedisStateBuilder {
            url: url.into(),
            prefix: DEFAULT_KEY_PREFIX.to_owned(),
            timeout: DEFAULT_COMMAND_TIMEOUT,
            session_ttl: DEFAULT_SESSION_TTL,
            subject_ttl: DEFAULT_SUBJECT_REVOCATION_TTL,
        }
    }

    /// The Redis at `url` with the default settings.
    pub fn open(url: impl Into<String>) -> Result<RedisState, StoreError> {
        Self::builder(url).build()
    }

    /// Whether Redis answers `PING` now.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let reply = self.run(redis::cmd("PING").clone()).await?;
        match reply {
            Value::SimpleString(s) if s == "PONG" => Ok(()),
            _ => Err(unexpected()),
        }
    }

    fn key(&self, kind: &str, id: &[u8]) -> Vec<u8> {
        let prefix = &self.inner.prefix;
        let mut key = Vec::with_capacity(prefix.len() + kind.len() + id.len());
        key.extend_from_slice(prefix);
        key.extend_from_slice(kind.as_bytes());
        key.extend_from_slice(id);
        key
    }

    fn subject_key(&self, issuer: Option<&str>, subject: &str) -> Vec<u8> {
        let id = serde_json::to_vec(&(issuer, subject)).unwrap_or_default();
        self.key("revoked:sub:", &id)
    }

    async fn run(&self, command: redis::Cmd) -> Result<Value, StoreError> {
        let mut connection = self.inner.connection.clone();
        let sent = command.query_async::<Value>(&mut connection);
        match tokio::time::timeout(self.inner.timeout, sent).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(StoreError::Unavailable(e.kind_text())),
            Err(_) => Err(StoreError::Unavailable("timed out".to_owned())),
        }
    }

    async fn run_pipeline(&self, pipe: redis::Pipeline) -> Result<Vec<Value>, StoreError> {
        let mut connection = self.inner.connection.clone();
        let sent = pipe.query_async::<Vec<Value>>(&mut connection);
        match tokio::time::timeout(self.inner.timeout, sent).await {
            Ok(Ok(values)) => Ok(values),
            Ok(Err(e)) => Err(StoreError::Unavailable(e.kind_text())),
            Err(_) => Err(StoreError::Unavailable("timed out".to_owned())),
        }
    }

    async fn answer(&self, facts: &RequestFacts<'_>) -> Result<Verdicts, StoreError> {
        let mut pipe = redis::pipe();
        if let Some(replay) = &facts.replay {
            let ms = replay
                .expires_at
                .saturating_sub(facts.now)
                .saturating_mul(1000)
                .max(1);
            pipe.cmd("SET")
                .arg(self.key("dpop:", hex(&replay.digest).as_bytes()))
                .arg(1)
                .arg("NX")
                .arg("PX")
                .arg(ms);
        }
        if let Some(jti) = facts.token_id {
            pipe.cmd("EXISTS")
                .arg(self.key("revoked:jti:", jti.as_bytes()));
        }
        pipe.cmd("GET")
            .arg(self.subject_key(facts.issuer, facts.subject));
        if let Some(session) = facts.session {
            pipe.cmd("GETEX")
                .arg(self.key("session:", session))
                .arg("PX")
                .arg(self.inner.session_ttl_ms);
        }
        let values = self.run_pipeline(pipe).await?;
        let mut values = values.into_iter();
        let mut next = || values.next().ok_or_else(unexpected);
        let replayed = match &facts.replay {
            Some(_) => match next()? {
                Value::Okay => false,
                Value::Nil => true,
                _ => return Err(unexpected()),
            },
            None => false,
        };
        let jti_revoked = match facts.token_id {
            Some(_) => match next()? {
                Value::Int(n) => n > 0,
                _ => return Err(unexpected()),
            },
            None => false,
        };
        let subject_revoked = match number(next()?)? {
            Some(before) => facts.issued_at.is_none_or(|iat| iat <= before),
            None => false,
        };
        let session_owner = match facts.session {
            Some(_) => owner(next()?)?,
            None => None,
        };
        Ok(Verdicts {
            replayed,
            revoked: jti_revoked || subject_revoked,
            session_owner,
        })
    }
}

fn unexpected() -> StoreError {
    StoreError::Unavailable("unexpected reply".to_owned())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A stored decimal number, or nothing.
fn number(value: Value) -> Result<Option<i64>, StoreError> {
    match value {
        Value::Nil => Ok(None),
        Value::BulkString(bytes) => std::str::from_utf8(&bytes)
            .ok()
            .and_then(|s| s.parse().ok())
            .map(Some)
            .ok_or_else(unexpected),
        Value::Int(n) => Ok(Some(n)),
        _ => Err(unexpected()),
    }
}

/// A stored session owner, or nothing.
fn owner(value: Value) -> Result<Option<SessionOwner>, StoreError> {
    match value {
        Value::Nil => Ok(None),
        Value::BulkString(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|_| unexpected()),
        _ => Err(unexpected()),
    }
}

/// Keeps the later of the stored time and the given one, and the key's expiry.
const REVOKE_SUBJECT: &str = "local held = tonumber(redis.call('GET', KEYS[1])) \
     local given = tonumber(ARGV[1]) \
     if held == nil or held < given then held = given end \
     redis.call('SET', KEYS[1], held, 'PXAT', (held * 1000) + tonumber(ARGV[2])) \
     return held";

impl SharedState for RedisState {
    fn check<'a>(
        &'a self,
        facts: &'a RequestFacts<'a>,
    ) -> BoxFuture<'a, Result<Verdicts, StoreError>> {
        Box::pin(self.answer(facts))
    }

    fn revoke_jti<'a>(&'a self, jti: &'a str, until: i64) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut set = redis::cmd("SET");
            set.arg(self.key("revoked:jti:", jti.as_bytes()))
                .arg(until)
                .arg("PXAT")
                .arg(until.saturating_mul(1000).max(1));
            match self.run(set).await? {
                Value::Okay => Ok(()),
                _ => Err(unexpected()),
            }
        })
    }

    fn revoke_subject<'a>(
        &'a self,
        issuer: Option<&'a str>,
        subject: &'a str,
        before: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut eval = redis::cmd("EVAL");
            eval.arg(REVOKE_SUBJECT)
                .arg(1)
                .arg(self.subject_key(issuer, subject))
                .arg(before)
                .arg(self.inner.subject_ttl_ms);
            match self.run(eval).await? {
                Value::Int(_) => Ok(()),
                _ => Err(unexpected()),
            }
        })
    }

    fn bind_session<'a>(
        &'a self,
        session: &'a [u8],
        owner: &'a SessionOwner,
        if_absent: bool,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let json = serde_json::to_vec(owner).map_err(|_| unexpected())?;
            let mut set = redis::cmd("SET");
            set.arg(self.key("session:", session))
                .arg(json)
                .arg("PX")
                .arg(self.inner.session_ttl_ms);
            if if_absent {
                set.arg("NX");
            }
            match self.run(set).await? {
                Value::Okay | Value::Nil => Ok(()),
                _ => Err(unexpected()),
            }
        })
    }

    fn session_owner<'a>(
        &'a self,
        session: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<SessionOwner>, StoreError>> {
        Box::pin(async move {
            let mut get = redis::cmd("GET");
            get.arg(self.key("session:", session));
            owner(self.run(get).await?)
        })
    }

    fn remove_session<'a>(&'a self, session: &'a [u8]) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut del = redis::cmd("DEL");
            del.arg(self.key("session:", session));
            match self.run(del).await? {
                Value::Int(_) => Ok(()),
                _ => Err(unexpected()),
            }
        })
    }

    fn mcp_session_store(&self) -> Option<Arc<dyn SessionStore>> {
        Some(Arc::new(McpSessions(self.clone())))
    }
}

/// rmcp's session state in Redis, so that a replica serves a session another one opened.
struct McpSessions(RedisState);

#[async_trait::async_trait]
impl SessionStore for McpSessions {
    async fn load(&self, session_id: &str) -> Result<Option<SessionState>, SessionStoreError> {
        let mut get = redis::cmd("GET");
        get.arg(self.0.key("mcp-session:", session_id.as_bytes()));
        match self.0.run(get).await? {
            Value::Nil => Ok(None),
            Value::BulkString(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            _ => Err(unexpected().into()),
        }
    }

    async fn store(&self, session_id: &str, state: &SessionState) -> Result<(), SessionStoreError> {
        let mut set = redis::cmd("SET");
        set.arg(self.0.key("mcp-session:", session_id.as_bytes()))
            .arg(serde_json::to_vec(state)?)
            .arg("PX")
            .arg(self.0.inner.session_ttl_ms);
        self.0.run(set).await?;
        Ok(())
    }

    async fn delete(&self, session_id: &str) -> Result<(), SessionStoreError> {
        let mut del = redis::cmd("DEL");
        del.arg(self.0.key("mcp-session:", session_id.as_bytes()));
        self.0.run(del).await?;
        Ok(())
    }
}
