//! A JWKS that stays current: fetched at start, refreshed when its `Cache-Control: max-age`
//! (within bounds) runs out and when a token names a `kid` it does not hold, at most once per
//! interval so a stream of made-up `kid`s cannot make the server hammer the identity provider.
//! A failed or nonsensical refresh keeps the last good keys.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwap;
use jsonwebtoken::jwk::JwkSet;

use super::remote::{self, FetchError};
use super::{Clock, VerificationKey};
use crate::metrics;

/// Default shortest time between two fetches of the JWKS.
pub const DEFAULT_MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(30);
/// Default key lifetime when the JWKS response carries no `max-age`.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(10 * 60);

/// The keys of a JWKS URL, kept current. Cheap to clone (clones share the keys).
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use mcp_rbac::verify::{Algorithm, Jwks, JwtVerifier};
///
/// let jwks = Jwks::discover("https://login.example.com/realms/acme").await?;
/// let verifier = JwtVerifier::builder()
///     .issuer("https://login.example.com/realms/acme")
///     .audience("https://mcp.example.com/mcp")
///     .algorithms([Algorithm::RS256])
///     .jwks(jwks)
///     .build()?;
/// # let _ = verifier; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Jwks {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    client: reqwest::Client,
    settings: JwksBuilder,
    keys: ArcSwap<Vec<Arc<VerificationKey>>>,
    timing: Mutex<Timing>,
    /// One fetch at a time; others wait for its result instead of fetching again.
    fetching: tokio::sync::Mutex<()>,
    /// A background refresh is spawned and not finished: requests do not spawn another.
    background: AtomicBool,
    /// Fetches attempted so far: a caller that waited for `fetching` sees whether one ran.
    attempts: AtomicU64,
}

/// Readings of the JWKS's [`Clock::monotonic`].
#[derive(Clone, Copy)]
struct Timing {
    last_attempt: Duration,
    fresh_until: Duration,
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwks")
            .field("url", &self.inner.url)
            .field("kids", &self.kids())
            .finish_non_exhaustive()
    }
}

/// Settings of a [`Jwks`]; [`JwksBuilder::load`] makes the first fetch.
#[derive(Debug, Clone)]
pub struct JwksBuilder {
    url: String,
    min_refresh_interval: Duration,
    default_max_age: Duration,
    max_age_bounds: (Duration, Duration),
    fetch_timeout: Duration,
    clock: Clock,
}

impl JwksBuilder {
    /// Shortest time between two fetches, whatever asks for them
    /// ([`DEFAULT_MIN_REFRESH_INTERVAL`] unless set).
    pub fn min_refresh_interval(mut self, interval: Duration) -> Self {
        self.min_refresh_interval = interval;
        self
    }

    /// How long keys stay fresh when the response has no `max-age` ([`DEFAULT_MAX_AGE`]).
    pub fn default_max_age(mut self, max_age: Duration) -> Self {
        self.default_max_age = max_age;
        self
    }

    /// The range a response's `max-age` is clamped into (default 1 minute to 1 day).
    pub fn max_age_bounds(mut self, shortest: Duration, longest: Duration) -> Self {
        self.max_age_bounds = (shortest, longest.max(shortest));
        self
    }

    /// How long one fetch may take, connection included ([`remote::FETCH_TIMEOUT`] unless set).
    /// A request that triggered a refresh for an unknown `kid` waits at most this long.
    pub fn fetch_timeout(mut self, timeout: Duration) -> Self {
        self.fetch_timeout = timeout;
        self
    }

    /// Where the refresh schedule reads the time ([`Clock::system`] unless set): tests pass a
    /// [`ManualClock`](super::ManualClock)'s clock and move it past `max-age` instead of waiting.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Fetches the keys once; fails if the URL does not answer a JWKS with a usable key.
    pub async fn load(self) -> Result<Jwks, FetchError> {
        let client = remote::client_with_timeout(self.fetch_timeout)?;
        let now = self.clock.monotonic();
        let jwks = Jwks {
            inner: Arc::new(Inner {
                url: self.url.clone(),
                client,
                settings: self,
                keys: ArcSwap::from_pointee(Vec::new()),
                timing: Mutex::new(Timing {
                    last_attempt: now,
                    fresh_until: now,
                }),
                fetching: tokio::sync::Mutex::new(()),
                background: AtomicBool::new(false),
                attempts: AtomicU64::new(0),
            }),
        };
        jwks.fetch().await?;
        Ok(jwks)
    }
}

impl Jwks {
    /// Settings for the JWKS at `url` (configured by the operator; never a URL from a token).
    pub fn builder(url: impl Into<String>) -> JwksBuilder {
        JwksBuilder {
            url: url.into(),
            min_refresh_interval: DEFAULT_MIN_REFRESH_INTERVAL,
            default_max_age: DEFAULT_MAX_AGE,
            max_age_bounds: (Duration::from_secs(60), Duration::from_secs(24 * 3600)),
            fetch_timeout: remote::FETCH_TIMEOUT,
            clock: Clock::system(),
        }
    }

    /// The JWKS at `url`, loaded with default settings.
    pub async fn load(url: impl Into<String>) -> Result<Jwks, FetchError> {
        Self::builder(url).load().await
    }

    /// The JWKS of `issuer`, found through OIDC discovery or RFC 8414 metadata, with default
    /// settings. Use [`remote::discover_jwks_uri`] and [`Jwks::builder`] to change them.
    pub async fn discover(issuer: &str) -> Result<Jwks, FetchError> {
        Self::load(remote::discover_jwks_uri(issuer).await?).await
    }

    /// The URL the keys come from.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The `kid`s of the current keys.
    pub fn kids(&self) -> Vec<String> {
        self.inner
            .keys
            .load()
            .iter()
            .map(|k| k.kid.clone().unwrap_or_default())
            .collect()
    }

    /// The algorithms the current keys are for (see [`VerificationKey::usual_algorithm`]), in
    /// key order without repeats: what to pin when the identity provider's keys decide it.
    pub fn algorithms(&self) -> Vec<jsonwebtoken::Algorithm> {
        let mut algorithms = Vec::new();
        for alg in self
            .inner
            .keys
            .load()
            .iter()
            .filter_map(|k| k.usual_algorithm())
        {
            if !algorithms.contains(&alg) {
                algorithms.push(alg);
            }
        }
        algorithms
    }

    pub(crate) fn keys(&self) -> arc_swap::Guard<Arc<Vec<Arc<VerificationKey>>>> {
        self.inner.keys.load()
    }

    /// Fetches now, unless another fetch is running (then waits for it). `Ok(true)` when the
    /// key set changed. On failure the current keys stay.
    pub async fn refresh(&self) -> Result<bool, FetchError> {
        let attempts = self.inner.attempts.load(Ordering::Acquire);
        let _one_at_a_time = self.inner.fetching.lock().await;
        if self.inner.attempts.load(Ordering::Acquire) != attempts {
            return Ok(false); // fetched while this call waited
        }
        self.fetch_locked().await
    }

    /// Refreshes after a token named an unknown `kid`, unless the last fetch was less than the
    /// minimum interval ago. `true` when new keys arrived.
    pub(crate) async fn refresh_for_unknown_kid(&self) -> bool {
        let since_last = || self.now().saturating_sub(self.timing().last_attempt);
        if since_last() < self.inner.settings.min_refresh_interval {
            return false;
        }
        let _one_at_a_time = self.inner.fetching.lock().await;
        if since_last() < self.inner.settings.min_refresh_interval {
            return false; // another caller just fetched; its keys were already tried or are new
        }
        self.fetch_locked().await.unwrap_or(false)
    }

    /// When the keys have gone stale, refreshes them in the background; the caller goes on with
    /// the current keys.
    pub(crate) fn refresh_if_stale(&self) {
        let timing = self.timing();
        let now = self.now();
        if now < timing.fresh_until
            || now.saturating_sub(timing.last_attempt) < self.inner.settings.min_refresh_interval
        {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.inner.background.swap(true, Ordering::AcqRel) {
            return; // one is on its way
        }
        let jwks = self.clone();
        runtime.spawn(async move {
            if let Ok(_one_at_a_time) = jwks.inner.fetching.try_lock() {
                let _ = jwks.fetch_locked().await;
            }
            jwks.inner.background.store(false, Ordering::Release);
        });
    }

    fn now(&self) -> Duration {
        self.inner.settings.clock.monotonic()
    }

    fn timing(&self) -> Timing {
        *self
            .inner
            .timing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn set_timing(&self, timing: Timing) {
        *self
            .inner
            .timing
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = timing;
    }

    async fn fetch(&self) -> Result<bool, FetchError> {
        let _one_at_a_time = self.inner.fetching.lock().await;
        self.fetch_locked().await
    }

    /// One fetch; the caller holds `fetching`.
    async fn fetch_locked(&self) -> Result<bool, FetchError> {
        let settings = &self.inner.settings;
        let attempt = self.now();
        self.inner.attempts.fetch_add(1, Ordering::AcqRel);
        let result =
            remote::get_json_with::<JwkSet>(&self.inner.client, &self.inner.url, "JWK set").await;
        let (shortest, longest) = settings.max_age_bounds;
        let result = result.and_then(|(set, max_age)| Ok((self.usable_keys(&set)?, max_age)));
        metrics::jwks_fetch(result.is_err());
        match result {
            Ok((fetched, max_age)) => {
                let changed = self.install(fetched);
                let lifetime = max_age
                    .unwrap_or(settings.default_max_age)
                    .clamp(shortest, longest);
                self.set_timing(Timing {
                    last_attempt: attempt,
                    fresh_until: attempt + lifetime,
                });
                Ok(changed)
            }
            Err(e) => {
                tracing::warn!(
                    target: "mcp_rbac::auth",
                    url = %self.inner.url,
                    error = %e,
                    "JWKS refresh failed; keeping the last good keys"
                );
                self.set_timing(Timing {
                    last_attempt: attempt,
                    fresh_until: attempt + settings.min_refresh_interval,
                });
                Err(e)
            }
        }
    }

    fn usable_keys(&self, set: &JwkSet) -> Result<Vec<VerificationKey>, FetchError> {
        let (keys, skipped) = VerificationKey::from_jwk_set(set);
        for reason in &skipped {
            tracing::warn!(target: "mcp_rbac::auth", url = %self.inner.url, %reason, "JWK skipped");
        }
        if keys.is_empty() {
            // An empty set is far likelier an outage than a deliberate revocation of every key.
            return Err(FetchError::Document {
                url: self.inner.url.clone(),
                what: "JWK set",
                reason: "it holds no usable signature key".into(),
            });
        }
        Ok(keys)
    }

    /// Swaps in `fetched`, keeping the existing `Arc` of every key that is still there, so
    /// tokens verified with it stay cached. `true` when the set changed.
    fn install(&self, fetched: Vec<VerificationKey>) -> bool {
        let current = self.inner.keys.load_full();
        let next: Vec<Arc<VerificationKey>> = fetched
            .into_iter()
            .map(|key| {
                current
                    .iter()
                    .find(|old| old.same_jwk(&key))
                    .cloned()
                    .unwrap_or_else(|| Arc::new(key))
            })
            .collect();
        let changed = next.len() != current.len()
            || next
                .iter()
                .any(|k| !current.iter().any(|old| Arc::ptr_eq(old, k)));
        if changed {
            tracing::info!(
                target: "mcp_rbac::auth",
                url = %self.inner.url,
                kids = ?next.iter().map(|k| k.kid.as_deref().unwrap_or("")).collect::<Vec<_>>(),
                "JWKS keys updated"
            );
            self.inner.keys.store(Arc::new(next));
        }
        changed
    }
}
