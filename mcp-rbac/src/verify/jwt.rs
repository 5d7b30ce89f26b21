//! Signed JWT access tokens, with the strict defaults RFC 8725 (JWT Best Current Practices) asks
//! for: algorithms pinned by configuration, `exp`/`iss`/`aud` required, `nbf` checked, small
//! leeway, header-named keys (`jku`, `x5u`, `jwk`, `x5c`) ignored, HMAC never beside asymmetric
//! keys, size capped first.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use jsonwebtoken::{Algorithm, AlgorithmFamily};

use super::cache::{Lookup, TokenCache, DEFAULT_CACHE_BYTES};
use super::jws::CompactJws;
use super::registered::{ClaimRules, TimeWindow};
#[cfg(feature = "jwks")]
use super::Jwks;
use super::{crypto, AuthError, Clock, TokenVerifier, VerificationKey};
use crate::claims::{ClaimObject, ClaimsMapping};
use crate::metrics;
use crate::principal::Principal;

/// Default clock leeway for `exp` and `nbf`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// Default cap on a token's length, checked before any parsing.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Verifies signed JWTs against configured keys.
///
/// ```
/// use mcp_rbac::verify::{Algorithm, JwtVerifier, VerificationKey};
///
/// let verifier = JwtVerifier::builder()
///     .issuer("https://issuer.example")
///     .audience("https://mcp.example/mcp")
///     .algorithms([Algorithm::HS256])
///     .key(VerificationKey::hmac_secret(b"a secret of at least thirty-two bytes").unwrap())
///     .build()
///     .unwrap();
/// # let _ = verifier;
/// ```
pub struct JwtVerifier {
    keys: Vec<Arc<VerificationKey>>,
    #[cfg(feature = "jwks")]
    jwks: Vec<Jwks>,
    cache: Option<TokenCache>,
    cache_metrics: metrics::CacheMetrics,
    algorithms: Vec<Algorithm>,
    rules: ClaimRules,
    accepted_types: Vec<String>,
    mapping: ClaimsMapping,
    max_token_bytes: usize,
    clock: Clock,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("keys", &self.keys)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

/// Why a [`JwtVerifier`] cannot be built. The server should refuse to start.
///
/// ```
/// use mcp_rbac::verify::{Algorithm, JwtConfigError, JwtVerifier, VerificationKey};
///
/// let key = VerificationKey::hmac_secret(&[7; 32])?;
/// let built = JwtVerifier::builder()
///     .issuer("https://sso.example.com")
///     .audience("https://mcp.example.com/mcp")
///     .algorithms([Algorithm::HS512])
///     .key(key)
///     .build();
/// match built {
///     Err(JwtConfigError::ShortSecret { min_bytes, .. }) => assert_eq!(min_bytes, 64),
///     other => panic!("a 32-byte secret cannot serve HS512: {other:?}"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtConfigError {
    /// No algorithm allowed.
    #[error("no token algorithm is allowed: configure at least one (e.g. RS256)")]
    NoAlgorithms,
    /// No expected audience (or an empty one).
    #[error("no audience configured: set the resource URL this server answers for")]
    NoAudience,
    /// No trusted issuer (or an empty one).
    #[error("no issuer configured: set the issuer whose tokens this server trusts")]
    NoIssuer,
    /// No key.
    #[error("no verification key configured")]
    NoKeys,
    /// HMAC next to asymmetric keys or algorithms: a public key must never double as an HMAC secret.
    #[error("HMAC (HS*) algorithms or keys cannot be mixed with asymmetric ones")]
    MixedHmac,
    /// A token cache budget too small to hold one token.
    #[error("token cache of {0} bytes cannot hold a token: use at least 64 KiB, or disable it")]
    CacheTooSmall(u64),
    /// A key that none of the allowed algorithms can use.
    #[error("key {0} fits none of the allowed algorithms")]
    UnusableKey(String),
    /// Leeway beyond five minutes.
    #[error("leeway of {0} s is too large (at most 300 s)")]
    LeewayTooLarge(u64),
    /// An HMAC secret shorter than the hash of an allowed algorithm (RFC 7518 §3.2).
    #[error("HMAC secret is too short for {algorithm:?}: it needs at least {min_bytes} bytes")]
    ShortSecret {
        /// The allowed algorithm the secret is too short for.
        algorithm: Algorithm,
        /// The shortest secret it accepts.
        min_bytes: usize,
    },
}

/// Builds a [`JwtVerifier`].
#[derive(Default)]
pub struct JwtVerifierBuilder {
    issuers: Vec<String>,
    audiences: Vec<String>,
    audience_claim: Option<String>,
    algorithms: Vec<Algorithm>,
    keys: Vec<VerificationKey>,
    #[cfg(feature = "jwks")]
    jwks: Vec<Jwks>,
    cache_bytes: Option<u64>,
    leeway: Option<Duration>,
    mapping: Option<ClaimsMapping>,
    max_token_bytes: Option<usize>,
    accepted_types: Option<Vec<String>>,
    clock: Clock,
}

impl JwtVerifier {
    /// Starts a verifier.
    pub fn builder() -> JwtVerifierBuilder {
        JwtVerifierBuilder::default()
    }

    /// The issuers this verifier trusts.
    pub fn issuers(&self) -> impl Iterator<Item = &str> {
        self.rules.issuers.iter().map(String::as_str)
    }

    /// The cap on a token's length.
    pub fn max_token_bytes(&self) -> usize {
        self.max_token_bytes
    }

    async fn verify_token(&self, token: &str) -> Result<Principal, AuthError> {
        if token.len() > self.max_token_bytes {
            return Err(AuthError::TooLarge(self.max_token_bytes));
        }
        // A stale JWKS refreshes in the background whatever the token, so a key removed from
        // the set stops verifying tokens (cached ones included) within one refresh interval
        // even when only cached tokens arrive.
        #[cfg(feature = "jwks")]
        self.jwks.iter().for_each(Jwks::refresh_if_stale);
        let now = self.clock.unix_seconds();
        if let Some(cache) = &self.cache {
            let lookup = cache.get(token, now);
            self.cache_metrics
                .looked_up("jwt", !matches!(lookup, Lookup::Miss));
            match lookup {
                Lookup::Hit(principal) => return Ok(principal),
                Lookup::Refused(reason) => return Err(reason),
                Lookup::Miss => {}
            }
        }
        let jws = CompactJws::parse(token)?;
        if !self.algorithms.contains(&jws.alg) {
            return Err(AuthError::AlgorithmNotAllowed);
        }
        if let Some(typ) = &jws.typ {
            if !self
                .accepted_types
                .iter()
                .any(|t| t.eq_ignore_ascii_case(typ))
            {
                return Err(AuthError::WrongType);
            }
        }
        #[cfg_attr(not(feature = "jwks"), allow(unused_mut))]
        let mut verified = self.verify_with_keys(&jws, now);
        #[cfg(feature = "jwks")]
        if verified.as_ref().err() == Some(&AuthError::UnknownKey) && !self.jwks.is_empty() {
            // A new `kid` may mean the issuer rotated its keys; the JWKS limits how often.
            let mut refreshed = false;
            for jwks in &self.jwks {
                refreshed |= jwks.refresh_for_unknown_kid().await;
            }
            if refreshed {
                if let Some(cache) = &self.cache {
                    cache.forget_untrusted(); // tokens of keys that left are refused from now on
                }
                verified = self.verify_with_keys(&jws, now);
            }
        }
        let (principal, key, window) = verified?;
        if let Some(cache) = &self.cache {
            cache.insert(token, &principal, &key, window);
        }
        Ok(principal)
    }

    /// Checks the signature with each trusted key that fits the header, then the claims;
    /// returns the principal, the key that verified it and when the token may be used.
    fn verify_with_keys(
        &self,
        jws: &CompactJws<'_>,
        now: i64,
    ) -> Result<(Principal, Arc<VerificationKey>, TimeWindow), AuthError> {
        #[cfg(feature = "jwks")]
        let remote: Vec<_> = self.jwks.iter().map(Jwks::keys).collect();
        #[cfg(feature = "jwks")]
        let remote_keys = remote.iter().flat_map(|keys| keys.iter());
        #[cfg(not(feature = "jwks"))]
        let remote_keys = std::iter::empty::<&Arc<VerificationKey>>();
        let kid = jws.kid.as_deref();
        // Whether a key was tried that the token's `kid` names (or the token names none): only
        // then is a failure a bad signature rather than a key this verifier does not hold yet.
        let mut named_key_tried = false;
        for candidate in self
            .keys
            .iter()
            .chain(remote_keys)
            .filter(|k| k.matches(jws.alg, kid))
        {
            named_key_tried |= kid.is_none() || candidate.kid.as_deref() == kid;
            if candidate
                .signature
                .verify(jws.alg, jws.signing_input.as_bytes(), &jws.signature)
            {
                let json = jws.payload_json()?;
                let claims = ClaimObject::parse(&json).map_err(|_| AuthError::Malformed)?;
                let window = self.rules.check(&claims, now)?;
                let principal = self.mapping.principal_builder(&claims)?;
                drop(claims);
                let principal = principal.claims_json(json).build();
                return Ok((principal, candidate.clone(), window));
            }
        }
        Err(if named_key_tried {
            AuthError::BadSignature
        } else {
            AuthError::UnknownKey
        })
    }
}

impl TokenVerifier for JwtVerifier {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Principal, AuthError>> {
        Box::pin(self.verify_token(token))
    }
}

impl JwtVerifierBuilder {
    /// The trusted issuer (`iss` must equal it). Call again to trust several issuers that share keys.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// An accepted audience: this server's canonical resource URL (`aud` must contain one).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// The claim that must name an [`audience`](Self::audience): `aud` unless set. Amazon
    /// Cognito access tokens carry no `aud`; they name the app client in `client_id`, so a
    /// Cognito resource server sets `audience_claim("client_id")` and its app client id as the
    /// audience. `aud` is then not read at all.
    ///
    /// ```
    /// use mcp_rbac::verify::{Algorithm, JwtVerifier, Jwks};
    /// use mcp_rbac::ClaimsMapping;
    ///
    /// # async fn cognito() -> Result<JwtVerifier, Box<dyn std::error::Error>> {
    /// let pool = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123";
    /// let verifier = JwtVerifier::builder()
    ///     .issuer(pool)
    ///     .audience("3n4b5urk1ft4fl3mg5e62nqo6g") // the app client id
    ///     .audience_claim("client_id")
    ///     .algorithms([Algorithm::RS256])
    ///     .jwks(Jwks::load(format!("{pool}/.well-known/jwks.json")).await?)
    ///     .claims(ClaimsMapping::cognito())
    ///     .build()?;
    /// # Ok(verifier)
    /// # }
    /// ```
    pub fn audience_claim(mut self, claim: impl Into<String>) -> Self {
        self.audience_claim = Some(claim.into());
        self
    }

    /// The allowed algorithms; the token header never chooses outside them.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms.extend(algorithms);
        self
    }

    /// A trusted key.
    pub fn key(mut self, key: VerificationKey) -> Self {
        self.keys.push(key);
        self
    }

    /// Trusted keys.
    pub fn keys(mut self, keys: impl IntoIterator<Item = VerificationKey>) -> Self {
        self.keys.extend(keys);
        self
    }

    /// A JWKS whose keys are trusted as they come and go (see [`Jwks`]).
    #[cfg(feature = "jwks")]
    pub fn jwks(mut self, jwks: Jwks) -> Self {
        self.jwks.push(jwks);
        self
    }

    /// Memory budget of the verified-token cache ([`DEFAULT_CACHE_BYTES`](super::DEFAULT_CACHE_BYTES)
    /// unless set; `0` turns the cache off). A cached token skips its signature check; its
    /// `exp`/`nbf` are still checked at every use, and it is forgotten when its key leaves
    /// the trusted set.
    pub fn token_cache_bytes(mut self, bytes: u64) -> Self {
        self.cache_bytes = Some(bytes);
        self
    }

    /// Clock leeway for `exp` and `nbf` ([`DEFAULT_LEEWAY`] unless set; at most 300 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = Some(leeway);
        self
    }

    /// Where permissions, scopes and roles are read from, and the role policy.
    pub fn claims(mut self, mapping: ClaimsMapping) -> Self {
        self.mapping = Some(mapping);
        self
    }

    /// Cap on the token's length ([`DEFAULT_MAX_TOKEN_BYTES`] unless set).
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = Some(bytes);
        self
    }

    /// Accepted `typ` header values (case-insensitive; an absent `typ` is accepted). Default:
    /// `JWT`, `at+jwt`, `application/at+jwt`.
    pub fn accepted_types(mut self, types: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.accepted_types = Some(types.into_iter().map(Into::into).collect());
        self
    }

    /// Where the time comes from ([`Clock::system`] unless set): tests pass a
    /// [`ManualClock`](super::ManualClock)'s clock to check expiry without waiting. Give a
    /// [`Jwks`] the same clock with [`JwksBuilder::clock`](super::JwksBuilder::clock).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The verifier, or why the configuration is unsafe.
    pub fn build(self) -> Result<JwtVerifier, JwtConfigError> {
        crypto::install_crypto_provider();
        if self.algorithms.is_empty() {
            return Err(JwtConfigError::NoAlgorithms);
        }
        // An empty string is what an unset environment variable gives: it is no audience (and
        // a token whose `aud` is empty must not match it).
        if self.audiences.is_empty()
            || self.audiences.iter().any(|a| a.trim().is_empty())
            || self
                .audience_claim
                .as_ref()
                .is_some_and(|c| c.trim().is_empty())
        {
            return Err(JwtConfigError::NoAudience);
        }
        if self.issuers.is_empty() || self.issuers.iter().any(|i| i.trim().is_empty()) {
            return Err(JwtConfigError::NoIssuer);
        }
        #[cfg(feature = "jwks")]
        let has_jwks = !self.jwks.is_empty();
        #[cfg(not(feature = "jwks"))]
        let has_jwks = false;
        if self.keys.is_empty() && !has_jwks {
            return Err(JwtConfigError::NoKeys);
        }
        let hmac_alg = self
            .algorithms
            .iter()
            .any(|a| a.family() == AlgorithmFamily::Hmac);
        let other_alg = self
            .algorithms
            .iter()
            .any(|a| a.family() != AlgorithmFamily::Hmac);
        let hmac_key = self.keys.iter().any(|k| k.family == AlgorithmFamily::Hmac);
        // A JWKS only ever yields public keys.
        let other_key = has_jwks || self.keys.iter().any(|k| k.family != AlgorithmFamily::Hmac);
        if (hmac_alg || hmac_key) && (other_alg || other_key) {
            return Err(JwtConfigError::MixedHmac);
        }
        for key in self
            .keys
            .iter()
            .filter(|k| k.family == AlgorithmFamily::Hmac)
        {
            for &algorithm in &self.algorithms {
                if key.algorithm.is_none_or(|a| a == algorithm)
                    && !key.signature.supports(algorithm)
                {
                    return Err(JwtConfigError::ShortSecret {
                        algorithm,
                        min_bytes: super::signature::hmac_min_bytes(algorithm).unwrap_or(64),
                    });
                }
            }
        }
        for key in &self.keys {
            if !self
                .algorithms
                .iter()
                .any(|a| key.matches(*a, key.kid.as_deref()))
            {
                return Err(JwtConfigError::UnusableKey(
                    key.kid
                        .clone()
                        .unwrap_or_else(|| format!("{:?}", key.family)),
                ));
            }
        }
        let leeway = self.leeway.unwrap_or(DEFAULT_LEEWAY).as_secs();
        if leeway > 300 {
            return Err(JwtConfigError::LeewayTooLarge(leeway));
        }
        let cache = match self.cache_bytes.unwrap_or(DEFAULT_CACHE_BYTES) {
            0 => None,
            bytes if bytes < 64 * 1024 => return Err(JwtConfigError::CacheTooSmall(bytes)),
            bytes => Some(TokenCache::new(bytes, Duration::from_secs(leeway))),
        };
        Ok(JwtVerifier {
            keys: self.keys.into_iter().map(Arc::new).collect(),
            #[cfg(feature = "jwks")]
            jwks: self.jwks,
            cache,
            cache_metrics: metrics::CacheMetrics::default(),
            algorithms: self.algorithms,
            rules: ClaimRules {
                issuers: self.issuers,
                audiences: self.audiences,
                audience_claim: self.audience_claim.unwrap_or_else(|| "aud".into()),
                leeway: i64::try_from(leeway).unwrap_or(300),
            },
            accepted_types: self.accepted_types.unwrap_or_else(|| {
                vec!["JWT".into(), "at+jwt".into(), "application/at+jwt".into()]
            }),
            mapping: self.mapping.unwrap_or_default(),
            max_token_bytes: self.max_token_bytes.unwrap_or(DEFAULT_MAX_TOKEN_BYTES),
            clock: self.clock,
        })
    }
}
