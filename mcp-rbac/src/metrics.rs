//! Operational metrics, recorded through the [`metrics`](https://docs.rs/metrics) facade when the
//! crate feature `metrics` is on; without it every function here is empty and compiles to nothing.
//! Nothing is exported from here: an application installs a recorder of its choice, or
//! [`ServerBuilder::metrics`](crate::ServerBuilder) installs the Prometheus one and serves it.
//!
//! | name | type | labels | meaning |
//! | --- | --- | --- | --- |
//! | `mcp_rbac_decisions_total` | counter | `kind`, `name`, `decision`, `reason` | access decisions |
//! | `mcp_rbac_decision_duration_seconds` | histogram | `kind` | time the guard took to decide |
//! | `mcp_rbac_token_verifications_total` | counter | `outcome`, `algorithm` | bearer tokens checked |
//! | `mcp_rbac_token_verification_duration_seconds` | histogram | `outcome` | time the verifier took |
//! | `mcp_rbac_token_cache_hits_total` | counter | `cache` | tokens answered from a verifier's cache |
//! | `mcp_rbac_token_cache_misses_total` | counter | `cache` | tokens the cache did not know |
//! | `mcp_rbac_jwks_fetches_total` | counter | — | JWKS fetches attempted |
//! | `mcp_rbac_jwks_fetch_failures_total` | counter | — | JWKS fetches that failed (old keys kept) |
//! | `mcp_rbac_audit_records_dropped_total` | counter | — | audit records lost (sink full or failed) |
//!
//! `kind` is `tool`, `prompt`, `resource`, `list` (a `tools/list` or `prompts/list` request) or
//! `session`; `name` is the item's registered name (`unknown` for a name no route has, so a
//! caller cannot grow the label set); `decision` is `allow` or `deny`; `reason` is `granted`,
//! `missing_permission`, `client_ceiling` (the user holds it, a client ceiling refuses it),
//! `no_principal`, `unguarded`, `insufficient_scope`, `foreign_session`, an argument condition's
//! code, or the reason code of the server's [authorizer](crate::authorizer) (`policy_denied`,
//! `policy_error` for Cedar). `outcome` is `valid` or the refusal's class ([`refusal_class`]); `algorithm`
//! is the JWS `alg` a token's header names, from the fixed list of supported algorithms, else
//! `unknown`. No label ever holds a token, a subject or a claim value. The `metrics` guide
//! (`mcp-rbac/docs/metrics.md`) has the same table for operators.
//!
//! The samples of an allowed request (its token verified, its cache looked up, its item granted)
//! go through handles registered once and kept by what records them: a server's bearer layer
//! ([`ServerMetrics`]), a verifier ([`CacheMetrics`]), an item's rule for each server it serves
//! ([`ItemMetrics`]): asked for on every sample, the Prometheus recorder looks the metric up in
//! its registry and allocates a handle, five times a request. Kept handles are the `metrics`
//! crate's own model: a handle stays with the recorder that was current when it was registered,
//! here at its owner's first sample. Refusals are rarer and register on every sample.

use crate::error::AuthError;

/// `mcp_rbac_decisions_total`.
pub(crate) const DECISIONS: &str = "mcp_rbac_decisions_total";
/// `mcp_rbac_decision_duration_seconds`.
pub(crate) const DECISION_DURATION: &str = "mcp_rbac_decision_duration_seconds";
/// `mcp_rbac_token_verifications_total`.
pub(crate) const TOKEN_VERIFICATIONS: &str = "mcp_rbac_token_verifications_total";
/// `mcp_rbac_token_verification_duration_seconds`.
pub(crate) const TOKEN_VERIFICATION_DURATION: &str = "mcp_rbac_token_verification_duration_seconds";
/// `mcp_rbac_token_cache_hits_total`.
pub(crate) const TOKEN_CACHE_HITS: &str = "mcp_rbac_token_cache_hits_total";
/// `mcp_rbac_token_cache_misses_total`.
pub(crate) const TOKEN_CACHE_MISSES: &str = "mcp_rbac_token_cache_misses_total";
/// `mcp_rbac_jwks_fetches_total`.
pub(crate) const JWKS_FETCHES: &str = "mcp_rbac_jwks_fetches_total";
/// `mcp_rbac_jwks_fetch_failures_total`.
pub(crate) const JWKS_FETCH_FAILURES: &str = "mcp_rbac_jwks_fetch_failures_total";
/// `mcp_rbac_dpop_proofs_total`.
pub(crate) const DPOP_PROOFS: &str = "mcp_rbac_dpop_proofs_total";
/// `mcp_rbac_audit_records_dropped_total`.
pub(crate) const AUDIT_RECORDS_DROPPED: &str = "mcp_rbac_audit_records_dropped_total";

/// Every metric: name, whether it is a histogram, and its help text.
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) const ALL: [(&str, bool, &str); 10] = [
    (
        DPOP_PROOFS,
        false,
        "DPoP requests checked (RFC 9449), by outcome.",
    ),
    (
        DECISIONS,
        false,
        "Access decisions, by item kind, item name, decision and reason.",
    ),
    (
        DECISION_DURATION,
        true,
        "Time the guard took to decide, by item kind.",
    ),
    (
        TOKEN_VERIFICATIONS,
        false,
        "Bearer tokens checked, by outcome and JWS algorithm.",
    ),
    (
        TOKEN_VERIFICATION_DURATION,
        true,
        "Time the token verifier took, by outcome.",
    ),
    (
        TOKEN_CACHE_HITS,
        false,
        "Tokens answered from a verifier's cache, by cache.",
    ),
    (
        TOKEN_CACHE_MISSES,
        false,
        "Tokens a verifier's cache did not know, by cache.",
    ),
    (JWKS_FETCHES, false, "JWKS fetches attempted."),
    (
        JWKS_FETCH_FAILURES,
        false,
        "JWKS fetches that failed; the last good keys stay in use.",
    ),
    (
        AUDIT_RECORDS_DROPPED,
        false,
        "Audit records lost because their sink was full or failed.",
    ),
];

/// Allowed or denied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    Allow,
    Deny,
}

impl Decision {
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
        }
    }
}

/// The keys of the label sets a request records on its usual path, built once: the
/// `counter!`/`histogram!` macros build a key per call, with its labels allocated.
#[cfg(feature = "metrics")]
mod keys {
    use ::metrics::{Key, Level, Metadata};

    /// What the macros would pass: this module's path at info level.
    static METADATA: Metadata<'static> =
        Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

    /// A key with a static name and static labels, usable in a `static`.
    macro_rules! key {
        ($name:expr; $($label:literal => $value:literal),* $(,)?) => {{
            static LABELS: [::metrics::Label; [$($label),*].len()] =
                [$(::metrics::Label::from_static_parts($label, $value)),*];
            ::metrics::Key::from_static_parts($name, &LABELS)
        }};
    }
    /// A `&'static` key.
    macro_rules! static_key {
        ($($key:tt)*) => {{
            static KEY: ::metrics::Key = key!($($key)*);
            Some(&KEY)
        }};
    }
    pub(super) use {key, static_key};

    /// The counter `key` of the current recorder.
    pub(super) fn counter(key: &Key) -> ::metrics::Counter {
        ::metrics::with_recorder(|recorder| recorder.register_counter(key, &METADATA))
    }

    /// The histogram `key` of the current recorder.
    pub(super) fn histogram(key: &Key) -> ::metrics::Histogram {
        ::metrics::with_recorder(|recorder| recorder.register_histogram(key, &METADATA))
    }
}

/// `mcp_rbac_decision_duration_seconds` of an item kind.
#[cfg(feature = "metrics")]
fn decision_duration_key(kind: &str) -> Option<&'static ::metrics::Key> {
    use keys::{key, static_key};
    match kind {
        "tool" => static_key!(DECISION_DURATION; "kind" => "tool"),
        "prompt" => static_key!(DECISION_DURATION; "kind" => "prompt"),
        "resource" => static_key!(DECISION_DURATION; "kind" => "resource"),
        "list" => static_key!(DECISION_DURATION; "kind" => "list"),
        "session" => static_key!(DECISION_DURATION; "kind" => "session"),
        "request" => static_key!(DECISION_DURATION; "kind" => "request"),
        _ => None,
    }
}

/// The source of [`ServerId`]s: never reused, so a handle kept for one server is never taken
/// for another's.
#[cfg(feature = "metrics")]
static NEXT_SERVER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Which server (which bearer layer) a request came through: the bearer layer puts it in the
/// request's extensions, and an item's [`ItemMetrics`] keeps its handles for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ServerId(#[cfg_attr(not(feature = "metrics"), allow(dead_code))] u64);

impl ServerId {
    /// The server a request's extensions name.
    #[inline]
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn of(extensions: Option<&http::Extensions>) -> Option<ServerId> {
        #[cfg(feature = "metrics")]
        return extensions.and_then(|e| e.get::<ServerId>()).copied();
        #[cfg(not(feature = "metrics"))]
        None
    }
}

/// A server's handles for its token checks, kept by its bearer layer: registered with the
/// recorder current at the layer's first verified token.
#[derive(Debug)]
#[cfg_attr(not(feature = "metrics"), derive(Default))]
pub(crate) struct ServerMetrics {
    #[cfg(feature = "metrics")]
    id: ServerId,
    #[cfg(feature = "metrics")]
    tokens: std::sync::OnceLock<TokenHandles>,
}

/// `mcp_rbac_token_verifications_total` of valid tokens by algorithm (as [`VALID_BY_ALGORITHM`])
/// and their `mcp_rbac_token_verification_duration_seconds`.
#[cfg(feature = "metrics")]
#[derive(Debug)]
struct TokenHandles {
    valid: [::metrics::Counter; 13],
    valid_duration: ::metrics::Histogram,
}

#[cfg(feature = "metrics")]
impl Default for ServerMetrics {
    fn default() -> Self {
        ServerMetrics {
            id: ServerId(NEXT_SERVER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)),
            tokens: std::sync::OnceLock::new(),
        }
    }
}

impl ServerMetrics {
    /// Marks a request as this server's, for the items it reaches.
    #[inline]
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn mark(&self, extensions: &mut http::Extensions) {
        #[cfg(feature = "metrics")]
        extensions.insert(self.id);
    }

    /// A token verified (or refused) by the verifier in the time since `started`; `algorithm`
    /// is the `alg` its header names, when it names a supported one.
    #[inline]
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn token_verified(
        &self,
        result: Result<(), &AuthError>,
        algorithm: Option<jsonwebtoken::Algorithm>,
        started: Started,
    ) {
        #[cfg(feature = "metrics")]
        {
            let seconds = started.seconds();
            let error = match result {
                Ok(()) => {
                    let tokens = self.tokens.get_or_init(|| TokenHandles {
                        valid: std::array::from_fn(|i| keys::counter(&VALID_BY_ALGORITHM[i])),
                        valid_duration: keys::histogram(&VALID_DURATION),
                    });
                    tokens.valid[algorithm.map_or(ALGORITHMS.len(), algorithm_index)].increment(1);
                    tokens.valid_duration.record(seconds);
                    return;
                }
                Err(error) => error,
            };
            let outcome = refusal_class(error);
            let algorithm = algorithm.map_or("unknown", |a| {
                ALGORITHMS
                    .get(algorithm_index(a))
                    .copied()
                    .unwrap_or("unknown")
            });
            ::metrics::counter!(TOKEN_VERIFICATIONS, "outcome" => outcome, "algorithm" => algorithm)
                .increment(1);
            ::metrics::histogram!(TOKEN_VERIFICATION_DURATION, "outcome" => outcome)
                .record(seconds);
        }
    }
}

/// One item's `allow`/`granted` count and decision time, kept for the server that last called
/// it: an item's rule is built once per process and shared by every server of its type, each
/// of which may record to its own recorder.
#[derive(Debug, Default)]
pub(crate) struct ItemMetrics {
    #[cfg(feature = "metrics")]
    bound: arc_swap::ArcSwapOption<ItemHandles>,
}

#[cfg(feature = "metrics")]
#[derive(Debug)]
struct ItemHandles {
    server: ServerId,
    granted: ::metrics::Counter,
    duration: ::metrics::Histogram,
}

impl ItemMetrics {
    /// One allowed decision (reason `granted`) on the item `name` of `kind`, decided in the time
    /// since `started`, for a request that came through `server` (registered on every call
    /// without one).
    #[inline]
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn granted(
        &self,
        server: Option<ServerId>,
        kind: &'static str,
        name: &std::sync::Arc<str>,
        started: Started,
    ) {
        #[cfg(feature = "metrics")]
        {
            let Some(server) = server else {
                return decision(kind, name, Decision::Allow, "granted", started);
            };
            let seconds = started.seconds();
            if let Some(kept) = self.bound.load().as_deref().filter(|h| h.server == server) {
                kept.granted.increment(1);
                kept.duration.record(seconds);
                return;
            }
            let labels = vec![
                ::metrics::Label::new("kind", kind),
                ::metrics::Label::new("name", ::metrics::SharedString::from(name.clone())),
                ::metrics::Label::new("decision", Decision::Allow.as_str()),
                ::metrics::Label::new("reason", "granted"),
            ];
            let fresh = ItemHandles {
                server,
                granted: keys::counter(&::metrics::Key::from_parts(DECISIONS, labels)),
                duration: match decision_duration_key(kind) {
                    Some(key) => keys::histogram(key),
                    None => ::metrics::histogram!(DECISION_DURATION, "kind" => kind),
                },
            };
            fresh.granted.increment(1);
            fresh.duration.record(seconds);
            self.bound.store(Some(std::sync::Arc::new(fresh)));
        }
    }
}

/// A verifier's token cache counters (`cache` is `jwt` or `introspection`), registered with
/// the recorder current at the verifier's first lookup.
#[derive(Debug, Default)]
pub(crate) struct CacheMetrics {
    #[cfg(feature = "metrics")]
    bound: std::sync::OnceLock<[::metrics::Counter; 2]>,
}

impl CacheMetrics {
    /// The cache answered (`hit`) or did not know the token.
    #[inline]
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn looked_up(&self, cache: &'static str, hit: bool) {
        #[cfg(feature = "metrics")]
        {
            let [hits, misses] = self.bound.get_or_init(|| {
                [
                    ::metrics::counter!(TOKEN_CACHE_HITS, "cache" => cache),
                    ::metrics::counter!(TOKEN_CACHE_MISSES, "cache" => cache),
                ]
            });
            if hit { hits } else { misses }.increment(1);
        }
    }
}

#[cfg(feature = "metrics")]
fn decision_duration(kind: &'static str, started: Started) {
    match decision_duration_key(kind) {
        Some(key) => keys::histogram(key).record(started.seconds()),
        None => ::metrics::histogram!(DECISION_DURATION, "kind" => kind).record(started.seconds()),
    }
}

/// When a timed step started; nothing at all without the feature.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Started {
    #[cfg(feature = "metrics")]
    at: std::time::Instant,
}

/// Starts timing a step.
#[inline]
pub(crate) fn start() -> Started {
    Started {
        #[cfg(feature = "metrics")]
        at: std::time::Instant::now(),
    }
}

impl Started {
    #[cfg(feature = "metrics")]
    fn seconds(self) -> f64 {
        self.at.elapsed().as_secs_f64()
    }
}

/// One access decision on the item `name` of `kind`, decided in the time since `started`.
#[inline]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn decision(
    kind: &'static str,
    name: &str,
    decision: Decision,
    reason: &'static str,
    started: Started,
) {
    #[cfg(feature = "metrics")]
    {
        ::metrics::counter!(
            DECISIONS,
            "kind" => kind,
            "name" => name.to_owned(),
            "decision" => decision.as_str(),
            "reason" => reason,
        )
        .increment(1);
        decision_duration(kind, started);
    }
}

/// A refusal of a call whose requirement was counted and timed as an allow already (an
/// argument condition's): counted under its reason, not timed, so the duration histogram keeps
/// one sample per call.
#[inline]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn refused_after_allow(kind: &'static str, name: &str, reason: &'static str) {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(
        DECISIONS,
        "kind" => kind,
        "name" => name.to_owned(),
        "decision" => Decision::Deny.as_str(),
        "reason" => reason,
    )
    .increment(1);
}

/// A request refused before any token was verified: `outcome` is `missing`, `duplicate_header`
/// or `malformed_header`.
#[inline]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn token_not_verified(outcome: &'static str) {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(TOKEN_VERIFICATIONS, "outcome" => outcome, "algorithm" => "unknown")
        .increment(1);
}

/// A DPoP proof accepted (`valid`) or a DPoP request refused (the class of [`DpopError`]).
///
/// [`DpopError`]: crate::bearer::DpopError
#[inline]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn dpop_proof(outcome: &'static str) {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(DPOP_PROOFS, "outcome" => outcome).increment(1);
}

/// The `algorithm` label's values: each supported algorithm's JWS name (`unknown` after them).
#[cfg(feature = "metrics")]
const ALGORITHMS: [&str; 12] = [
    "HS256", "HS384", "HS512", "ES256", "ES384", "RS256", "RS384", "RS512", "PS256", "PS384",
    "PS512", "EdDSA",
];

/// `mcp_rbac_token_verifications_total` of valid tokens, in the order of [`ALGORITHMS`], then
/// `unknown`.
#[cfg(feature = "metrics")]
static VALID_BY_ALGORITHM: [::metrics::Key; 13] = {
    use keys::key;
    [
        key!(TOKEN_VERIFICATIONS; "outcome" => "valid", "algorithm" => "HS256"),
        key!(TOKEN_VERIFICATIONS; "outcome" => "valid", "algorithm" => "HS384"),
        key!(TOKEN_VERIFICATIONS; "outcome" => "valid", "algorithm" => "HS512"),
        key!(TOKEN_VERIFICATIONS; "outcome" => "valid", "algorithm" => "ES256"),
        key!(TOKEN_VERIFICATIONS; "outcome" => "valid", "algorithm" => "ES384"),
        key!(TOKEN_VERIFICATIONS; "outcome" => "valid", "algorithm" => "RS256"),
        key!(TOKEN_VERIFICATIONS; "outcome" => "valid", "algorithm" => "RS384"),
        key!(TOKEN_VERIFICATIONS; "outcome" => "valid", "algorithm" => "RS512"),
        key!(TOKEN_VERIFICATIONS; "outcome" => "valid", "algorithm" => "PS256"),
        key!(TOKEN_VERIFICATIONS; "outcome" => "valid", "algorithm" => "PS384"),
        key!(TOKEN_VERIFICATIONS; "outcome" => "valid", "algorithm" => "PS512"),
        key!(TOKEN_VERIFICATIONS; "outcome" => "valid", "algorithm" => "EdDSA"),
        key!(TOKEN_VERIFICATIONS; "outcome" => "valid", "algorithm" => "unknown"),
    ]
};

/// `mcp_rbac_token_verification_duration_seconds` of valid tokens.
#[cfg(feature = "metrics")]
static VALID_DURATION: ::metrics::Key =
    keys::key!(TOKEN_VERIFICATION_DURATION; "outcome" => "valid");

/// One JWKS fetch, and whether it failed.
#[inline]
#[cfg_attr(not(feature = "jwks"), allow(dead_code))]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn jwks_fetch(failed: bool) {
    #[cfg(feature = "metrics")]
    {
        ::metrics::counter!(JWKS_FETCHES).increment(1);
        if failed {
            ::metrics::counter!(JWKS_FETCH_FAILURES).increment(1);
        }
    }
}

/// An audit record was dropped (its sink was full or failed).
#[inline]
#[allow(dead_code)]
pub(crate) fn audit_record_dropped() {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(AUDIT_RECORDS_DROPPED).increment(1);
}

/// Registers every metric's help text with the installed recorder.
#[cfg(feature = "metrics")]
pub(crate) fn describe() {
    for (name, histogram, help) in ALL {
        if histogram {
            ::metrics::describe_histogram!(name, ::metrics::Unit::Seconds, help);
        } else {
            ::metrics::describe_counter!(name, help);
        }
    }
}

/// The `outcome` label of a refused token: its class, never its text (a custom verifier's
/// [`AuthError::Rejected`] reason is free text, so it is only `rejected`).
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) fn refusal_class(error: &AuthError) -> &'static str {
    match error {
        AuthError::TooLarge(_) => "too_large",
        AuthError::Malformed => "malformed",
        AuthError::AlgorithmNotAllowed => "algorithm_not_allowed",
        AuthError::WrongType => "wrong_type",
        AuthError::NotAnAccessToken => "not_an_access_token",
        AuthError::UnknownKey => "unknown_key",
        AuthError::BadSignature => "bad_signature",
        AuthError::Expired => "expired",
        AuthError::NotYetValid => "not_yet_valid",
        AuthError::WrongAudience => "wrong_audience",
        AuthError::WrongIssuer => "wrong_issuer",
        AuthError::MissingClaim(_) => "missing_claim",
        AuthError::ClaimType { .. } => "claim_type",
        AuthError::Rejected(_) => "rejected",
        AuthError::Internal => "internal",
    }
}

/// Where an algorithm's JWS name is in [`ALGORITHMS`] (its length for one not there).
#[cfg(feature = "metrics")]
fn algorithm_index(algorithm: jsonwebtoken::Algorithm) -> usize {
    use jsonwebtoken::Algorithm as A;
    match algorithm {
        A::HS256 => 0,
        A::HS384 => 1,
        A::HS512 => 2,
        A::ES256 => 3,
        A::ES384 => 4,
        A::RS256 => 5,
        A::RS384 => 6,
        A::RS512 => 7,
        A::PS256 => 8,
        A::PS384 => 9,
        A::PS512 => 10,
        A::EdDSA => 11,
        #[allow(unreachable_patterns)]
        _ => ALGORITHMS.len(),
    }
}

/// How long the exporter's histograms' buckets reach: 10 µs to 5 s.
#[cfg(feature = "metrics")]
pub(crate) const BUCKETS: [f64; 18] = [
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025,
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guide_lists_every_metric_and_no_other() {
        let guide = include_str!("../docs/metrics.md");
        for (name, _, _) in ALL {
            assert!(
                guide.contains(&format!("`{name}`")),
                "{name} is not in the guide"
            );
        }
        let mut named: Vec<&str> = guide
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("mcp_rbac_"))
            .collect();
        named.sort_unstable();
        named.dedup();
        for name in named {
            assert!(
                ALL.iter().any(|(n, _, _)| *n == name),
                "the guide names {name}, which is not recorded"
            );
        }
    }

    #[test]
    fn refusal_classes_are_fixed_words_whatever_the_reason() {
        let free_text = AuthError::Rejected("eyJhbGciOiJIUzI1NiJ9 was refused".into());
        assert_eq!(refusal_class(&free_text), "rejected");
        let claim = AuthError::MissingClaim("sub-of-someone".into());
        assert_eq!(refusal_class(&claim), "missing_claim");
        assert_eq!(refusal_class(&AuthError::Expired), "expired");
    }

    /// Kept handles name the series the macros would. A server's and a verifier's go to the
    /// recorder current at their first sample; an item shared by two servers, each called under
    /// its own recorder, counts each call to its server's recorder.
    #[cfg(feature = "metrics")]
    #[test]
    fn each_server_records_to_the_recorder_of_its_first_sample() {
        use metrics_exporter_prometheus::PrometheusBuilder;
        let name: std::sync::Arc<str> = "delete_product".into();
        let item = ItemMetrics::default();
        let cache = CacheMetrics::default();
        let (first, second) = (ServerMetrics::default(), ServerMetrics::default());
        let calls = |server: &ServerMetrics| {
            server.token_verified(Ok(()), Some(jsonwebtoken::Algorithm::RS256), start());
            item.granted(Some(server.id), "tool", &name, start());
        };
        let (one, two) = (
            PrometheusBuilder::new().build_recorder(),
            PrometheusBuilder::new().build_recorder(),
        );
        ::metrics::with_local_recorder(&one, || {
            calls(&first);
            calls(&first);
            cache.looked_up("jwt", true);
            first.token_verified(Err(&AuthError::Expired), None, start());
            decision("tool", &name, Decision::Deny, "missing_permission", start());
        });
        ::metrics::with_local_recorder(&two, || {
            calls(&second);
            // Bound at their first sample: still the first recorder's.
            first.token_verified(Ok(()), Some(jsonwebtoken::Algorithm::RS256), start());
            cache.looked_up("jwt", false);
        });
        // The item kept the second server's handles; the first server's calls take it back.
        ::metrics::with_local_recorder(&one, || calls(&first));
        let granted = |n| {
            format!(
                r#"mcp_rbac_decisions_total{{kind="tool",name="delete_product",decision="allow",reason="granted"}} {n}"#
            )
        };
        let valid = |n| {
            format!(
                r#"mcp_rbac_token_verifications_total{{outcome="valid",algorithm="RS256"}} {n}"#
            )
        };
        let text = one.handle().render();
        for line in [
            granted(3),
            valid(4),
            r#"mcp_rbac_decisions_total{kind="tool",name="delete_product",decision="deny",reason="missing_permission"} 1"#.into(),
            r#"mcp_rbac_decision_duration_seconds_count{kind="tool"} 4"#.into(),
            r#"mcp_rbac_token_verifications_total{outcome="expired",algorithm="unknown"} 1"#.into(),
            r#"mcp_rbac_token_verification_duration_seconds_count{outcome="valid"} 4"#.into(),
            r#"mcp_rbac_token_cache_hits_total{cache="jwt"} 1"#.into(),
            r#"mcp_rbac_token_cache_misses_total{cache="jwt"} 1"#.into(),
        ] {
            assert!(text.contains(&line), "{line} not in:\n{text}");
        }
        let text = two.handle().render();
        for line in [
            granted(1),
            valid(1),
            r#"mcp_rbac_decision_duration_seconds_count{kind="tool"} 1"#.into(),
        ] {
            assert!(text.contains(&line), "{line} not in:\n{text}");
        }
        assert!(
            !text.contains("cache"),
            "the cache is the first recorder's:\n{text}"
        );
    }

    /// A request that came through no bearer layer names no server: its item's samples go to
    /// the current recorder, each time.
    #[cfg(feature = "metrics")]
    #[test]
    fn an_item_without_a_server_records_to_the_current_recorder() {
        use metrics_exporter_prometheus::PrometheusBuilder;
        let name: std::sync::Arc<str> = "list_products".into();
        let item = ItemMetrics::default();
        for _ in 0..2 {
            let recorder = PrometheusBuilder::new().build_recorder();
            ::metrics::with_local_recorder(&recorder, || {
                item.granted(None, "tool", &name, start())
            });
            let text = recorder.handle().render();
            let line = r#"mcp_rbac_decisions_total{kind="tool",name="list_products",decision="allow",reason="granted"} 1"#;
            assert!(text.contains(line), "{line} not in:\n{text}");
        }
    }

    #[test]
    fn timing_is_free_without_the_feature() {
        let size = std::mem::size_of::<Started>();
        if cfg!(feature = "metrics") {
            assert!(size > 0);
        } else {
            assert_eq!(size, 0);
        }
    }
}
