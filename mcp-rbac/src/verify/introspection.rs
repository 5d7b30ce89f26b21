//! Opaque access tokens, verified by asking the authorization server (RFC 7662 token
//! introspection), with a short-lived cache of the positive answers, a shorter one of the
//! negative answers, and a cap on the requests in flight.

use std::net::IpAddr;
use std::time::Duration;

use aws_lc_rs::digest::{digest, SHA256};

use base64::Engine;
use futures::future::BoxFuture;
use quick_cache::sync::Cache;
use quick_cache::Weighter;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Map, Value};

use super::{
    AuthError, Clock, TokenVerifier, DEFAULT_CACHE_BYTES, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES,
};
use crate::claims::ClaimsMapping;
use crate::metrics;
use crate::principal::Principal;

/// How long an active token's answer is reused, unless its `exp` comes sooner.
pub const DEFAULT_INTROSPECTION_CACHE_TTL: Duration = Duration::from_secs(60);
/// How long one introspection request may take before the token is refused.
pub const DEFAULT_INTROSPECTION_TIMEOUT: Duration = Duration::from_secs(5);
/// The most an introspection response may hold.
pub const MAX_INTROSPECTION_RESPONSE_BYTES: usize = 64 * 1024;
/// Default cap on introspection requests in flight at once.
pub const DEFAULT_MAX_CONCURRENT_INTROSPECTIONS: usize = 16;
/// Default time a token waits for a free request slot before it is refused.
pub const DEFAULT_INTROSPECTION_QUEUE_WAIT: Duration = Duration::from_secs(1);
/// Default time an inactive token's answer is reused.
pub const DEFAULT_INTROSPECTION_NEGATIVE_TTL: Duration = Duration::from_secs(10);
/// How many inactive tokens the negative cache remembers (by SHA-256 digest; 32 bytes each).
pub const INTROSPECTION_NEGATIVE_CACHE_ENTRIES: usize = 16 * 1024;

/// The refusal when the endpoint fails: no detail for the client (the log has it).
const UNAVAILABLE: &str = "token introspection failed";
/// The refusal when every request slot stays busy for the queue wait.
const BUSY: &str = "token introspection is busy";
/// The refusal of an inactive token.
const INACTIVE: &str = "token is not active";

/// `token_type` values of an active answer that name an access token usable as a bearer
/// token (compared ignoring ASCII case): the RFC 6750 type, and the RFC 8693 access token
/// type in its short and URI forms. Anything else (`refresh_token`, `id_token`, `N_A`, and
/// `DPoP`, whose proof of possession this verifier does not check) refuses the token.
const ACCESS_TOKEN_TYPES: [&str; 3] = [
    "Bearer",
    "access_token",
    "urn:ietf:params:oauth:token-type:access_token",
];

/// Verifies opaque tokens with the authorization server's introspection endpoint (RFC 7662).
///
/// Each unknown token is POSTed (`token=…`, form-encoded) to the endpoint with the resource
/// server's client credentials (`client_secret_basic`). An answer of `"active": true` becomes a
/// [`Principal`] through the [`ClaimsMapping`] (the subject is `sub`, or for a
/// client-credentials token without one, `client_id`; `scope` is read as the default mapping
/// reads it); `exp`, `nbf`, and when configured `iss` and `aud`, are checked
/// again here. Anything else refuses the token: `"active": false`, an error status, a timeout,
/// a body that is not a JSON object with a boolean `active` (fail closed).
///
/// An audience is required: the authorization server answers `active` for every token it
/// issued, whichever client it was for, so only `aud` tells a token meant for this server.
/// An active answer whose `token_type` is present and not an access token type (`Bearer`,
/// `access_token`, `urn:ietf:params:oauth:token-type:access_token`, any case) is refused as
/// [`AuthError::NotAnAccessToken`]: a refresh token is not a bearer credential here, and a
/// `DPoP`-bound token needs a proof this verifier does not check.
///
/// Positive answers are cached by the whole token until the token's `exp` or the cache TTL
/// ([`DEFAULT_INTROSPECTION_CACHE_TTL`]), whichever comes first; so a token revoked at the
/// server stays usable here for at most the TTL. Pair with
/// [`with_validation`](super::TokenVerifierExt::with_validation) for checks on every request.
///
/// Each unknown token costs one authenticated request to the authorization server, so a flood
/// of made-up tokens must not become a flood of requests: at most
/// [`max_concurrent_requests`](IntrospectionVerifierBuilder::max_concurrent_requests) are in
/// flight; a token that finds no free slot within
/// [`queue_wait`](IntrospectionVerifierBuilder::queue_wait) is refused (401 `invalid_token`,
/// "token introspection is busy": fail closed, the client may retry), and an `"active": false`
/// answer is remembered for
/// [`negative_cache_ttl`](IntrospectionVerifierBuilder::negative_cache_ttl) by the token's
/// SHA-256 digest, so repeating an inactive token does not ask again.
///
/// ```no_run
/// use mcp_rbac::verify::IntrospectionVerifier;
/// use mcp_rbac::ClaimsMapping;
///
/// let verifier = IntrospectionVerifier::builder(
///     "https://sso.example.com/realms/acme/protocol/openid-connect/token/introspect",
/// )
/// .client_credentials("mcp-products", std::env::var("INTROSPECTION_SECRET")?)
/// .issuer("https://sso.example.com/realms/acme")
/// .audience("mcp-products")
/// .claims(ClaimsMapping::keycloak("mcp-products"))
/// .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct IntrospectionVerifier {
    endpoint: reqwest::Url,
    authorization: HeaderValue,
    client: reqwest::Client,
    issuers: Vec<String>,
    audiences: Vec<String>,
    leeway: i64,
    mapping: ClaimsMapping,
    cache: Option<Cache<Box<str>, Active, ActiveWeight>>,
    cache_metrics: metrics::CacheMetrics,
    cache_ttl: Duration,
    /// Inactive tokens by SHA-256 digest, with when the answer stops being reused.
    inactive: Option<Cache<[u8; 32], Duration>>,
    negative_ttl: Duration,
    slots: tokio::sync::Semaphore,
    queue_wait: Duration,
    max_token_bytes: usize,
    clock: Clock,
}

impl std::fmt::Debug for IntrospectionVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntrospectionVerifier")
            .field("endpoint", &self.endpoint.as_str())
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("cache_ttl", &self.cache_ttl)
            .finish_non_exhaustive()
    }
}

/// A cached positive answer.
#[derive(Clone)]
struct Active {
    principal: Principal,
    /// A reading of the verifier's [`Clock::monotonic`].
    until: Duration,
    weight: u64,
}

#[derive(Clone)]
struct ActiveWeight;

impl Weighter<Box<str>, Active> for ActiveWeight {
    fn weight(&self, token: &Box<str>, entry: &Active) -> u64 {
        token.len() as u64 + entry.weight
    }
}

/// Why an [`IntrospectionVerifier`] cannot be built. Messages never hold the client secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntrospectionConfigError {
    /// The endpoint is not an absolute `https` (or `http`) URL.
    #[error("the introspection endpoint is not a valid http(s) URL: {0}")]
    InvalidEndpoint(String),
    /// Plain `http` to a host other than loopback would send the client secret in clear.
    #[error("the introspection endpoint uses plain http to a non-loopback host; use https (or allow_http())")]
    InsecureEndpoint,
    /// No client credentials: introspection endpoints require the caller to authenticate.
    #[error("no client credentials configured for the introspection endpoint")]
    NoCredentials,
    /// No audience (or an empty one): without it every active token of the authorization
    /// server, issued for any client, would be accepted.
    #[error("no audience configured: set the resource URL (or id) this server answers for")]
    NoAudience,
    /// `max_concurrent_requests(0)`: no token could ever be introspected.
    #[error("max_concurrent_requests must be at least 1")]
    NoConcurrency,
    /// A cache budget too small to hold an entry.
    #[error(
        "introspection cache of {0} bytes is too small: use at least 64 KiB, or a TTL of zero"
    )]
    CacheTooSmall(u64),
    /// Leeway beyond five minutes.
    #[error("leeway of {0} s is too large (at most 300 s)")]
    LeewayTooLarge(u64),
    /// The HTTP client could not be built.
    #[error("the HTTP client could not be built: {0}")]
    Client(#[source] reqwest::Error),
}

/// Builds an [`IntrospectionVerifier`].
pub struct IntrospectionVerifierBuilder {
    endpoint: String,
    credentials: Option<(String, String)>,
    issuers: Vec<String>,
    audiences: Vec<String>,
    mapping: Option<ClaimsMapping>,
    cache_ttl: Option<Duration>,
    cache_bytes: Option<u64>,
    timeout: Option<Duration>,
    leeway: Option<Duration>,
    max_token_bytes: Option<usize>,
    allow_http: bool,
    max_concurrent: Option<usize>,
    queue_wait: Option<Duration>,
    negative_ttl: Option<Duration>,
    clock: Clock,
}

impl std::fmt::Debug for IntrospectionVerifierBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntrospectionVerifierBuilder")
            .field("endpoint", &self.endpoint)
            .field(
                "client_id",
                &self.credentials.as_ref().map(|(id, _)| id.as_str()),
            )
            .finish_non_exhaustive()
    }
}

impl IntrospectionVerifier {
    /// Starts a verifier for the introspection endpoint at `endpoint`.
    pub fn builder(endpoint: impl Into<String>) -> IntrospectionVerifierBuilder {
        IntrospectionVerifierBuilder {
            endpoint: endpoint.into(),
            credentials: None,
            issuers: Vec::new(),
            audiences: Vec::new(),
            mapping: None,
            cache_ttl: None,
            cache_bytes: None,
            timeout: None,
            leeway: None,
            max_token_bytes: None,
            allow_http: false,
            max_concurrent: None,
            queue_wait: None,
            negative_ttl: None,
            clock: Clock::system(),
        }
    }

    async fn verify_token(&self, token: &str) -> Result<Principal, AuthError> {
        if token.len() > self.max_token_bytes {
            return Err(AuthError::TooLarge(self.max_token_bytes));
        }
        if let Some(cache) = &self.cache {
            let entry = cache.get(token);
            let live = entry
                .as_ref()
                .is_some_and(|e| self.clock.monotonic() < e.until);
            self.cache_metrics.looked_up("introspection", live);
            if let Some(entry) = entry {
                if live {
                    return Ok(entry.principal);
                }
                cache.remove(token);
            }
        }
        let digest = self.inactive.as_ref().map(|_| token_digest(token));
        if let (Some(inactive), Some(digest)) = (&self.inactive, &digest) {
            if let Some(until) = inactive.get(digest) {
                if self.clock.monotonic() < until {
                    return Err(AuthError::Rejected(INACTIVE.into()));
                }
                inactive.remove(digest);
            }
        }
        let (claims, size) = {
            let Ok(Ok(_slot)) = tokio::time::timeout(self.queue_wait, self.slots.acquire()).await
            else {
                tracing::debug!(
                    target: "mcp_rbac::auth",
                    endpoint = %self.endpoint,
                    "every introspection request slot is busy; the token is refused"
                );
                return Err(AuthError::Rejected(BUSY.into()));
            };
            self.introspect(token).await?
        };
        if let (Some(Value::Bool(false)), Some(inactive), Some(digest)) =
            (claims.get("active"), &self.inactive, digest)
        {
            inactive.insert(digest, self.clock.monotonic() + self.negative_ttl);
        }
        let now = self.clock.unix_seconds();
        let (principal, exp) = self.principal_from_answer(claims, now)?;
        if let Some(cache) = &self.cache {
            let mut lifetime = self.cache_ttl;
            if let Some(exp) = exp {
                let left = u64::try_from(exp.saturating_sub(now)).unwrap_or(0);
                lifetime = lifetime.min(Duration::from_secs(left));
            }
            if !lifetime.is_zero() {
                cache.insert(
                    token.into(),
                    Active {
                        principal: principal.clone(),
                        until: self.clock.monotonic() + lifetime,
                        weight: 2 * size as u64 + 256,
                    },
                );
            }
        }
        Ok(principal)
    }

    /// The endpoint's JSON object for `token` and its size. Every failure is logged (without
    /// the token) and refuses the token.
    async fn introspect(&self, token: &str) -> Result<(Map<String, Value>, usize), AuthError> {
        let unavailable = |reason: &dyn std::fmt::Display| {
            tracing::warn!(
                target: "mcp_rbac::auth",
                endpoint = %self.endpoint,
                %reason,
                "token introspection failed; the token is refused"
            );
            AuthError::Rejected(UNAVAILABLE.into())
        };
        let body = format!(
            "token={}&token_type_hint=access_token",
            form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()
        );
        let mut response = self
            .client
            .post(self.endpoint.clone())
            .header(AUTHORIZATION, self.authorization.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| unavailable(&e.without_url()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(unavailable(&format_args!("HTTP {}", status.as_u16())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| unavailable(&e.without_url()))?
        {
            if body.len() + chunk.len() > MAX_INTROSPECTION_RESPONSE_BYTES {
                return Err(unavailable(&format_args!(
                    "response larger than {MAX_INTROSPECTION_RESPONSE_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        match answer_object(&body) {
            Ok(claims) => Ok((claims, body.len())),
            Err(reason) => Err(unavailable(&reason)),
        }
    }

    /// An answer's JSON object → the principal it describes and its `exp`, or why the token
    /// is refused. Only `"active": true` goes on to the claim checks.
    fn principal_from_answer(
        &self,
        mut claims: Map<String, Value>,
        now: i64,
    ) -> Result<(Principal, Option<i64>), AuthError> {
        match claims.remove("active") {
            Some(Value::Bool(true)) => {}
            Some(Value::Bool(false)) => return Err(AuthError::Rejected(INACTIVE.into())),
            _ => {
                tracing::warn!(
                    target: "mcp_rbac::auth",
                    endpoint = %self.endpoint,
                    "introspection response has no boolean `active`"
                );
                return Err(AuthError::Rejected(UNAVAILABLE.into()));
            }
        }
        let exp = self.check_claims(&claims, now)?;
        // A client-credentials token acts for the client itself: RFC 7662 makes `sub` optional,
        // and RFC 9068 (§2.2) names the client as the subject of such tokens.
        if !claims.contains_key("sub") {
            if let Some(client_id) = claims.get("client_id").cloned() {
                claims.insert("sub".into(), client_id);
            }
        }
        Ok((self.mapping.principal(claims)?, exp))
    }

    /// Not public API: the response handling of [`verify`](TokenVerifier::verify) without an
    /// endpoint, for the fuzz targets in `fuzz/` (feature `fuzzing`). `body` is the endpoint's
    /// answer, `now` the time in seconds since the epoch; nothing is cached.
    #[cfg(feature = "fuzzing")]
    #[doc(hidden)]
    pub fn __principal_from_response(&self, body: &[u8], now: i64) -> Result<Principal, AuthError> {
        if body.len() > MAX_INTROSPECTION_RESPONSE_BYTES {
            return Err(AuthError::Rejected(UNAVAILABLE.into()));
        }
        let claims = answer_object(body).map_err(|_| AuthError::Rejected(UNAVAILABLE.into()))?;
        self.principal_from_answer(claims, now)
            .map(|(principal, _)| principal)
    }

    /// Checks the registered claims an active answer may carry; returns `exp`.
    fn check_claims(
        &self,
        claims: &Map<String, Value>,
        now: i64,
    ) -> Result<Option<i64>, AuthError> {
        let exp = numeric_date(claims, "exp")?;
        if exp.is_some_and(|exp| exp < now.saturating_sub(self.leeway)) {
            return Err(AuthError::Expired);
        }
        if numeric_date(claims, "nbf")?.is_some_and(|nbf| nbf > now.saturating_add(self.leeway)) {
            return Err(AuthError::NotYetValid);
        }
        for name in ["client_id", "iss", "token_type", "username"] {
            if claims.get(name).is_some_and(|v| !v.is_string()) {
                return Err(type_error(name, "a string"));
            }
        }
        if let Some(token_type) = claims.get("token_type").and_then(Value::as_str) {
            if !ACCESS_TOKEN_TYPES
                .iter()
                .any(|t| t.eq_ignore_ascii_case(token_type))
            {
                return Err(AuthError::NotAnAccessToken);
            }
        }
        if !self.issuers.is_empty() {
            let iss = claims
                .get("iss")
                .and_then(Value::as_str)
                .ok_or_else(|| AuthError::MissingClaim("iss".into()))?;
            if !self.issuers.iter().any(|trusted| trusted == iss) {
                return Err(AuthError::WrongIssuer);
            }
        }
        let audiences: Vec<&str> = match claims.get("aud") {
            None => Vec::new(),
            Some(Value::String(aud)) => vec![aud.as_str()],
            Some(Value::Array(auds)) => auds
                .iter()
                .map(|aud| {
                    aud.as_str()
                        .ok_or_else(|| type_error("aud", "a string or an array of strings"))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(type_error("aud", "a string or an array of strings")),
        };
        if !claims.contains_key("aud") {
            return Err(AuthError::MissingClaim("aud".into()));
        }
        if !audiences
            .iter()
            .any(|aud| self.audiences.iter().any(|ours| ours == aud))
        {
            return Err(AuthError::WrongAudience);
        }
        Ok(exp)
    }
}

impl TokenVerifier for IntrospectionVerifier {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Principal, AuthError>> {
        Box::pin(self.verify_token(token))
    }
}

impl IntrospectionVerifierBuilder {
    /// This resource server's client credentials at the authorization server, sent as HTTP
    /// Basic authentication (`client_secret_basic`, RFC 6749 §2.3.1). Required.
    pub fn client_credentials(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        self.credentials = Some((client_id.into(), client_secret.into()));
        self
    }

    /// A trusted issuer: when any is set, the answer's `iss` must equal one.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// An accepted audience: the answer's `aud` must name one. Required (at least one, not
    /// empty): the authorization server calls every token it issued active, whichever client
    /// it was issued for.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Where permissions, scopes and roles are read from in the answer, and the role policy
    /// ([`ClaimsMapping::default`] unless set).
    pub fn claims(mut self, mapping: ClaimsMapping) -> Self {
        self.mapping = Some(mapping);
        self
    }

    /// How long a positive answer is reused ([`DEFAULT_INTROSPECTION_CACHE_TTL`] unless set;
    /// zero turns the cache off). An entry never outlives the token's `exp`.
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = Some(ttl);
        self
    }

    /// Memory budget of the cache ([`DEFAULT_CACHE_BYTES`] unless set).
    pub fn cache_bytes(mut self, bytes: u64) -> Self {
        self.cache_bytes = Some(bytes);
        self
    }

    /// How long one introspection request may take ([`DEFAULT_INTROSPECTION_TIMEOUT`] unless set).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Clock leeway for `exp` and `nbf` ([`DEFAULT_LEEWAY`] unless set; at most 300 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = Some(leeway);
        self
    }

    /// Cap on the token's length ([`DEFAULT_MAX_TOKEN_BYTES`] unless set), checked before
    /// anything is sent.
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = Some(bytes);
        self
    }

    /// The most introspection requests in flight at once
    /// ([`DEFAULT_MAX_CONCURRENT_INTROSPECTIONS`] unless set; at least 1). Tokens beyond it
    /// wait for a free slot up to [`queue_wait`](Self::queue_wait).
    pub fn max_concurrent_requests(mut self, requests: usize) -> Self {
        self.max_concurrent = Some(requests);
        self
    }

    /// How long a token waits for a free request slot before it is refused as "token
    /// introspection is busy" ([`DEFAULT_INTROSPECTION_QUEUE_WAIT`] unless set). The refusal
    /// is a 401 like any other: a saturated authorization server never lets a token through.
    pub fn queue_wait(mut self, wait: Duration) -> Self {
        self.queue_wait = Some(wait);
        self
    }

    /// How long an `"active": false` answer is reused ([`DEFAULT_INTROSPECTION_NEGATIVE_TTL`]
    /// unless set; zero turns it off). The negative cache holds at most
    /// [`INTROSPECTION_NEGATIVE_CACHE_ENTRIES`] SHA-256 digests of tokens, never the tokens.
    pub fn negative_cache_ttl(mut self, ttl: Duration) -> Self {
        self.negative_ttl = Some(ttl);
        self
    }

    /// Where the time comes from ([`Clock::system`] unless set): `exp`/`nbf` checks and the
    /// caches' lifetimes. Tests pass a [`ManualClock`](super::ManualClock)'s clock.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Allows a plain `http` endpoint on a non-loopback host (e.g. inside a private network).
    /// Loopback hosts (`localhost`, `127.0.0.1`, `::1`) are always allowed.
    pub fn allow_http(mut self) -> Self {
        self.allow_http = true;
        self
    }

    /// The verifier, or why the configuration is unusable.
    pub fn build(self) -> Result<IntrospectionVerifier, IntrospectionConfigError> {
        let endpoint = reqwest::Url::parse(&self.endpoint)
            .map_err(|e| IntrospectionConfigError::InvalidEndpoint(e.to_string()))?;
        match endpoint.scheme() {
            "https" => {}
            "http" if self.allow_http || is_loopback(&endpoint) => {}
            "http" => return Err(IntrospectionConfigError::InsecureEndpoint),
            other => {
                return Err(IntrospectionConfigError::InvalidEndpoint(format!(
                    "scheme `{other}`"
                )))
            }
        }
        if !endpoint.username().is_empty() || endpoint.password().is_some() {
            // They would be logged with the URL; client_credentials() keeps them out of logs.
            return Err(IntrospectionConfigError::InvalidEndpoint(
                "credentials in the URL (use client_credentials)".into(),
            ));
        }
        let (client_id, client_secret) = self
            .credentials
            .ok_or(IntrospectionConfigError::NoCredentials)?;
        if client_id.is_empty() {
            return Err(IntrospectionConfigError::NoCredentials);
        }
        // An empty string is what an unset environment variable gives: it is no audience.
        if self.audiences.is_empty() || self.audiences.iter().any(|a| a.trim().is_empty()) {
            return Err(IntrospectionConfigError::NoAudience);
        }
        let max_concurrent = self
            .max_concurrent
            .unwrap_or(DEFAULT_MAX_CONCURRENT_INTROSPECTIONS);
        if max_concurrent == 0 {
            return Err(IntrospectionConfigError::NoConcurrency);
        }
        let negative_ttl = self
            .negative_ttl
            .unwrap_or(DEFAULT_INTROSPECTION_NEGATIVE_TTL);
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            encode(&client_id),
            encode(&client_secret)
        ));
        let mut authorization = HeaderValue::from_str(&format!("Basic {basic}"))
            .map_err(|_| IntrospectionConfigError::NoCredentials)?;
        authorization.set_sensitive(true);
        let leeway = self.leeway.unwrap_or(DEFAULT_LEEWAY).as_secs();
        if leeway > 300 {
            return Err(IntrospectionConfigError::LeewayTooLarge(leeway));
        }
        let cache_ttl = self.cache_ttl.unwrap_or(DEFAULT_INTROSPECTION_CACHE_TTL);
        let cache = if cache_ttl.is_zero() {
            None
        } else {
            match self.cache_bytes.unwrap_or(DEFAULT_CACHE_BYTES) {
                bytes if bytes < 64 * 1024 => {
                    return Err(IntrospectionConfigError::CacheTooSmall(bytes))
                }
                bytes => Some(Cache::with_weighter(
                    (bytes / 2048).max(16) as usize,
                    bytes,
                    ActiveWeight,
                )),
            }
        };
        let client = reqwest::Client::builder()
            .timeout(self.timeout.unwrap_or(DEFAULT_INTROSPECTION_TIMEOUT))
            // A redirect would move the client credentials and the token somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(IntrospectionConfigError::Client)?;
        Ok(IntrospectionVerifier {
            endpoint,
            authorization,
            client,
            issuers: self.issuers,
            audiences: self.audiences,
            leeway: i64::try_from(leeway).unwrap_or(300),
            mapping: self.mapping.unwrap_or_default(),
            cache,
            cache_metrics: metrics::CacheMetrics::default(),
            cache_ttl,
            inactive: (!negative_ttl.is_zero())
                .then(|| Cache::new(INTROSPECTION_NEGATIVE_CACHE_ENTRIES)),
            negative_ttl,
            slots: tokio::sync::Semaphore::new(
                max_concurrent.min(tokio::sync::Semaphore::MAX_PERMITS),
            ),
            queue_wait: self.queue_wait.unwrap_or(DEFAULT_INTROSPECTION_QUEUE_WAIT),
            max_token_bytes: self.max_token_bytes.unwrap_or(DEFAULT_MAX_TOKEN_BYTES),
            clock: self.clock,
        })
    }
}

/// The body as the JSON object RFC 7662 §2.2 asks for, or why it is not one (for the log).
fn answer_object(body: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(claims)) => Ok(claims),
        Ok(_) => Err("response is not a JSON object".into()),
        Err(e) => Err(format!("response is not JSON: {e}")),
    }
}

/// The negative cache's key: the token itself is never kept.
fn token_digest(token: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
    out
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

fn type_error(claim: &str, expected: &'static str) -> AuthError {
    AuthError::ClaimType {
        claim: claim.into(),
        expected,
    }
}

/// A NumericDate: whole or fractional seconds since the epoch (fractions rounded down).
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, AuthError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value @ Value::Number(_)) => Ok(super::registered::json_numeric_date(value)),
        Some(_) => Err(type_error(name, "a NumericDate (seconds since the epoch)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_must_be_https_or_loopback() {
        let build = |url: &str| {
            IntrospectionVerifier::builder(url)
                .client_credentials("rs", "secret")
                .audience("https://mcp.example/mcp")
                .build()
                .map(|_| ())
        };
        assert_eq!(
            build("https://idp.example/introspect").map_err(|e| e.to_string()),
            Ok(())
        );
        assert_eq!(
            build("http://127.0.0.1:8080/introspect").map_err(|e| e.to_string()),
            Ok(())
        );
        assert_eq!(
            build("http://[::1]:8080/introspect").map_err(|e| e.to_string()),
            Ok(())
        );
        assert_eq!(
            build("http://localhost/introspect").map_err(|e| e.to_string()),
            Ok(())
        );
        assert_eq!(
            build("http://idp.example/introspect").map_err(|e| e.to_string()),
            Err(IntrospectionConfigError::InsecureEndpoint.to_string())
        );
        assert_eq!(
            build("ftp://idp.example/introspect").map_err(|e| e.to_string()),
            Err(IntrospectionConfigError::InvalidEndpoint("scheme `ftp`".into()).to_string())
        );
        assert_eq!(
            build("https://rs:secret@idp.example/introspect").map_err(|e| e.to_string()),
            Err(IntrospectionConfigError::InvalidEndpoint(
                "credentials in the URL (use client_credentials)".into()
            )
            .to_string())
        );
        assert!(matches!(
            build("not a url"),
            Err(IntrospectionConfigError::InvalidEndpoint(_))
        ));
        assert!(IntrospectionVerifier::builder("http://idp.example/i")
            .client_credentials("rs", "s")
            .audience("rs")
            .allow_http()
            .build()
            .is_ok());
        assert_eq!(
            (IntrospectionVerifier::builder("https://idp.example/i")
                .build()
                .map(|_| ()))
            .map_err(|e| e.to_string()),
            Err(IntrospectionConfigError::NoCredentials.to_string())
        );
        assert_eq!(
            (IntrospectionVerifier::builder("https://idp.example/i")
                .client_credentials("rs", "s")
                .audience("rs")
                .cache_bytes(1024)
                .build()
                .map(|_| ()))
            .map_err(|e| e.to_string()),
            Err(IntrospectionConfigError::CacheTooSmall(1024).to_string())
        );
    }

    #[test]
    fn the_secret_stays_out_of_debug_output() {
        let builder = IntrospectionVerifier::builder("https://idp.example/i")
            .client_credentials("rs", "hunter2-secret")
            .audience("rs");
        assert!(!format!("{builder:?}").contains("hunter2"));
        let verifier = builder.build().unwrap();
        let debug = format!("{verifier:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("Basic"),
            "{debug}"
        );
    }

    #[test]
    fn an_audience_and_a_request_slot_are_required() {
        let build = |audiences: &[&str], slots: Option<usize>| {
            let mut builder = IntrospectionVerifier::builder("https://idp.example/i")
                .client_credentials("rs", "s");
            for aud in audiences {
                builder = builder.audience(*aud);
            }
            if let Some(slots) = slots {
                builder = builder.max_concurrent_requests(slots);
            }
            builder.build().map(|_| ())
        };
        assert!(matches!(
            build(&[], None),
            Err(IntrospectionConfigError::NoAudience)
        ));
        assert_eq!(
            build(&[""], None).map_err(|e| e.to_string()),
            Err(IntrospectionConfigError::NoAudience.to_string())
        );
        assert_eq!(
            build(&["rs", " "], None).map_err(|e| e.to_string()),
            Err(IntrospectionConfigError::NoAudience.to_string())
        );
        assert_eq!(
            build(&["rs"], Some(0)).map_err(|e| e.to_string()),
            Err(IntrospectionConfigError::NoConcurrency.to_string())
        );
        assert_eq!(build(&["rs"], Some(1)).map_err(|e| e.to_string()), Ok(()));
    }

    #[test]
    fn only_access_token_types_are_accepted() {
        let verifier = IntrospectionVerifier::builder("https://idp.example/i")
            .client_credentials("rs", "s")
            .audience("rs")
            .build()
            .unwrap();
        let answer = |token_type: Option<&str>| {
            let mut body = serde_json::json!({"active": true, "sub": "u", "aud": "rs"});
            if let Some(t) = token_type {
                body["token_type"] = t.into();
            }
            let map = body.as_object().cloned().unwrap();
            verifier
                .principal_from_answer(map, 1_800_000_000)
                .map(|_| ())
        };
        for ok in [
            None,
            Some("Bearer"),
            Some("bearer"),
            Some("access_token"),
            Some("urn:ietf:params:oauth:token-type:access_token"),
        ] {
            assert_eq!(answer(ok), Ok(()), "{ok:?}");
        }
        for refused in [
            "refresh_token",
            "urn:ietf:params:oauth:token-type:refresh_token",
            "id_token",
            "N_A",
            "DPoP",
            "",
        ] {
            assert_eq!(
                answer(Some(refused)),
                Err(AuthError::NotAnAccessToken),
                "{refused}"
            );
        }
    }

    #[test]
    fn numeric_dates() {
        let claims = serde_json::json!({"a": 5, "b": 5.9, "c": "5", "d": null, "e": u64::MAX});
        let claims = claims.as_object().unwrap();
        assert_eq!(numeric_date(claims, "a"), Ok(Some(5)));
        assert_eq!(numeric_date(claims, "b"), Ok(Some(5)));
        assert!(numeric_date(claims, "c").is_err());
        assert_eq!(numeric_date(claims, "d"), Ok(None));
        assert_eq!(numeric_date(claims, "e"), Ok(Some(i64::MAX)));
        assert_eq!(numeric_date(claims, "zz"), Ok(None));
    }
}
