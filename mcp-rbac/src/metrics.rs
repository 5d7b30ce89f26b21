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

/// The keys of the label sets a request records on its usual path (a verified or cached token,
/// an allowed call), built once: the `counter!`/`histogram!` macros build a key per call, with
/// its labels allocated, and the Prometheus recorder copies an owned key again to look it up.
/// The recorder is still asked for the metric on every call, so a recorder installed or made
/// local later (`metrics::with_local_recorder`) gets the samples.
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

    /// Adds one to the counter `key`.
    pub(super) fn count(key: &Key) {
        ::metrics::with_recorder(|recorder| recorder.register_counter(key, &METADATA)).increment(1);
    }

    /// Records `value` in the histogram `key`.
    pub(super) fn observe(key: &Key, value: f64) {
        ::metrics::with_recorder(|recorder| recorder.register_histogram(key, &METADATA))
            .record(value);
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

/// The `allow`/`granted` count of one item, its key built on first use (the item's name is a
/// label).
#[derive(Debug, Default)]
pub(crate) struct GrantedCounter {
    #[cfg(feature = "metrics")]
    key: std::sync::OnceLock<::metrics::Key>,
}

/// One allowed decision on the item `name` of `kind` (reason `granted`), decided in the time
/// since `started`: [`decision`] with the item's key kept in `counter`.
#[inline]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn granted(
    counter: &GrantedCounter,
    kind: &'static str,
    name: &std::sync::Arc<str>,
    started: Started,
) {
    #[cfg(feature = "metrics")]
    {
        let key = counter.key.get_or_init(|| {
            let labels = vec![
                ::metrics::Label::new("kind", kind),
                ::metrics::Label::new("name", ::metrics::SharedString::from(name.clone())),
                ::metrics::Label::new("decision", Decision::Allow.as_str()),
                ::metrics::Label::new("reason", "granted"),
            ];
            // Retained: labels shared, so the recorder's own copy of the key counts a reference.
            ::metrics::Key::from_parts(DECISIONS, labels).to_retained()
        });
        keys::count(key);
        decision_duration(kind, started);
    }
}

#[cfg(feature = "metrics")]
fn decision_duration(kind: &'static str, started: Started) {
    match decision_duration_key(kind) {
        Some(key) => keys::observe(key, started.seconds()),
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

/// A token verified (or refused) by the verifier in the time since `started`; `algorithm` is
/// the `alg` its header names, when it names a supported one.
#[inline]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn token_verified(
    result: Result<(), &AuthError>,
    algorithm: Option<jsonwebtoken::Algorithm>,
    started: Started,
) {
    #[cfg(feature = "metrics")]
    {
        let outcome = match result {
            Ok(()) => "valid",
            Err(e) => refusal_class(e),
        };
        let seconds = started.seconds();
        if outcome == "valid" {
            keys::count(&VALID_BY_ALGORITHM[algorithm.map_or(ALGORITHMS.len(), algorithm_index)]);
            static VALID: ::metrics::Key =
                keys::key!(TOKEN_VERIFICATION_DURATION; "outcome" => "valid");
            keys::observe(&VALID, seconds);
            return;
        }
        let algorithm = algorithm.map_or("unknown", |a| {
            ALGORITHMS
                .get(algorithm_index(a))
                .copied()
                .unwrap_or("unknown")
        });
        ::metrics::counter!(TOKEN_VERIFICATIONS, "outcome" => outcome, "algorithm" => algorithm)
            .increment(1);
        ::metrics::histogram!(TOKEN_VERIFICATION_DURATION, "outcome" => outcome).record(seconds);
    }
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

/// A verifier's token cache answered (`hit`) or did not know the token; `cache` is `jwt` or
/// `introspection`.
#[inline]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn token_cache(cache: &'static str, hit: bool) {
    #[cfg(feature = "metrics")]
    {
        use keys::{key, static_key};
        let known = match (cache, hit) {
            ("jwt", true) => static_key!(TOKEN_CACHE_HITS; "cache" => "jwt"),
            ("jwt", false) => static_key!(TOKEN_CACHE_MISSES; "cache" => "jwt"),
            ("introspection", true) => static_key!(TOKEN_CACHE_HITS; "cache" => "introspection"),
            ("introspection", false) => {
                static_key!(TOKEN_CACHE_MISSES; "cache" => "introspection")
            }
            _ => None,
        };
        match known {
            Some(key) => keys::count(key),
            None => {
                let name = if hit {
                    TOKEN_CACHE_HITS
                } else {
                    TOKEN_CACHE_MISSES
                };
                ::metrics::counter!(name, "cache" => cache).increment(1);
            }
        }
    }
}

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

    /// The keys built once name the same series as the macros would, and a recorder made
    /// local after the first use still gets the samples.
    #[cfg(feature = "metrics")]
    #[test]
    fn keys_built_once_record_to_the_current_recorder() {
        let name: std::sync::Arc<str> = "delete_product".into();
        let counter = GrantedCounter::default();
        let render = || {
            let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            ::metrics::with_local_recorder(&recorder, || {
                granted(&counter, "tool", &name, start());
                granted(&counter, "tool", &name, start());
                decision("tool", &name, Decision::Deny, "missing_permission", start());
                token_verified(Ok(()), Some(jsonwebtoken::Algorithm::RS256), start());
                token_verified(Err(&AuthError::Expired), None, start());
                token_cache("jwt", true);
                token_cache("introspection", false);
            });
            handle.render()
        };
        for text in [render(), render()] {
            for line in [
                r#"mcp_rbac_decisions_total{kind="tool",name="delete_product",decision="allow",reason="granted"} 2"#,
                r#"mcp_rbac_decisions_total{kind="tool",name="delete_product",decision="deny",reason="missing_permission"} 1"#,
                r#"mcp_rbac_decision_duration_seconds_count{kind="tool"} 3"#,
                r#"mcp_rbac_token_verifications_total{outcome="valid",algorithm="RS256"} 1"#,
                r#"mcp_rbac_token_verifications_total{outcome="expired",algorithm="unknown"} 1"#,
                r#"mcp_rbac_token_verification_duration_seconds_count{outcome="valid"} 1"#,
                r#"mcp_rbac_token_cache_hits_total{cache="jwt"} 1"#,
                r#"mcp_rbac_token_cache_misses_total{cache="introspection"} 1"#,
            ] {
                assert!(text.contains(line), "{line} not in:\n{text}");
            }
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
