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
        ::metrics::histogram!(DECISION_DURATION, "kind" => kind).record(started.seconds());
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
        let algorithm = algorithm.map_or("unknown", algorithm_name);
        ::metrics::counter!(TOKEN_VERIFICATIONS, "outcome" => outcome, "algorithm" => algorithm)
            .increment(1);
        ::metrics::histogram!(TOKEN_VERIFICATION_DURATION, "outcome" => outcome)
            .record(started.seconds());
    }
}

/// A verifier's token cache answered (`hit`) or did not know the token; `cache` is `jwt` or
/// `introspection`.
#[inline]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn token_cache(cache: &'static str, hit: bool) {
    #[cfg(feature = "metrics")]
    {
        let name = if hit {
            TOKEN_CACHE_HITS
        } else {
            TOKEN_CACHE_MISSES
        };
        ::metrics::counter!(name, "cache" => cache).increment(1);
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

/// The `algorithm` label: the algorithm's JWS name.
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
fn algorithm_name(algorithm: jsonwebtoken::Algorithm) -> &'static str {
    use jsonwebtoken::Algorithm as A;
    match algorithm {
        A::HS256 => "HS256",
        A::HS384 => "HS384",
        A::HS512 => "HS512",
        A::ES256 => "ES256",
        A::ES384 => "ES384",
        A::RS256 => "RS256",
        A::RS384 => "RS384",
        A::RS512 => "RS512",
        A::PS256 => "PS256",
        A::PS384 => "PS384",
        A::PS512 => "PS512",
        A::EdDSA => "EdDSA",
        _ => "unknown",
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
