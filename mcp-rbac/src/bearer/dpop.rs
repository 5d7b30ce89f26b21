//! DPoP proofs of possession (RFC 9449) on the resource server: `Authorization: DPoP <token>`
//! with one `DPoP` proof header, checked as RFC 9449 §4.3 and §7.1 say, and the token's
//! `cnf.jkt` (§6) equal to the proof key's RFC 7638 thumbprint.
//!
//! The token is verified (and cached) by the [`TokenVerifier`](crate::verify::TokenVerifier) as
//! any bearer token; the proof is checked on every request. Proof `jti`s are remembered in the
//! layer's [`SharedState`](crate::store::SharedState) for as long as their `iat` stays
//! acceptable.

use std::borrow::Cow;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::{digest, hmac};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::{HeaderMap, Method, Uri};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use crate::metadata::ProtectedResource;
use crate::store::ReplayKey;
use crate::verify::{json_numeric_date, Clock, CompactJws, VerificationKey};

/// The `DPoP` request header (RFC 9449 §4.1).
pub const DPOP_HEADER: &str = "dpop";
/// The response header carrying a server nonce (RFC 9449 §8.1).
pub const DPOP_NONCE_HEADER: &str = "dpop-nonce";
/// How far a proof's `iat` may be from the server's clock, either way (RFC 9449 §11.1).
pub const DEFAULT_DPOP_IAT_WINDOW: Duration = Duration::from_secs(60);
/// The longest proof read; a longer `DPoP` header is refused unparsed.
pub const DEFAULT_MAX_PROOF_BYTES: usize = 8 * 1024;
/// The proof algorithms accepted unless [`Dpop::algorithms`] says otherwise: asymmetric only
/// (RFC 9449 §4.2: `none` and MAC algorithms are never accepted).
pub const DEFAULT_DPOP_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];
/// The longest `jti` accepted (a random id needs far fewer bytes).
const MAX_JTI_BYTES: usize = 256;
/// How many checked proof headers a [`Dpop`] keeps (the least used are forgotten first)…
const PROOF_HEADER_CACHE: usize = 4096;
/// …each at most this long, encoded (an RSA 4096 key's header is about 1 KB).
const MAX_KEPT_HEADER_BYTES: usize = 2048;

/// Whether DPoP-bound tokens are accepted beside bearer tokens, or required.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DpopMode {
    /// `Authorization: DPoP` with a proof, and plain `Bearer` tokens (a DPoP-bound token sent
    /// as `Bearer` is still refused).
    Accept,
    /// Only DPoP-bound tokens with a proof: plain `Bearer` tokens are refused
    /// (`dpop_bound_access_tokens_required` in the metadata).
    Require,
}

/// Why a DPoP request is refused. The text is sent as `error_description`: it names the check
/// that failed, never the proof or the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopError {
    /// A DPoP-bound token (`cnf.jkt`) without a `DPoP` proof header.
    #[error("DPoP proof missing")]
    Missing,
    /// More than one `DPoP` header (RFC 9449 §4.3 check 1).
    #[error("more than one DPoP header")]
    Duplicate,
    /// Longer than the configured cap.
    #[error("DPoP proof is too large")]
    TooLarge,
    /// Not a JWS of a JSON header and claims, or a claim of the wrong type.
    #[error("DPoP proof is malformed")]
    Malformed,
    /// `typ` is not `dpop+jwt`.
    #[error("DPoP proof `typ` is not `dpop+jwt`")]
    WrongType,
    /// `alg` is not one of the accepted asymmetric algorithms.
    #[error("DPoP proof algorithm is not allowed")]
    AlgorithmNotAllowed,
    /// No `jwk` header, or one that is not a public key for `alg`.
    #[error("DPoP proof `jwk` is not a usable public key")]
    BadKey,
    /// The `jwk` header holds private key members.
    #[error("DPoP proof `jwk` contains a private key")]
    PrivateKey,
    /// The signature does not verify with the `jwk`.
    #[error("DPoP proof signature is invalid")]
    BadSignature,
    /// A required claim (`htm`, `htu`, `iat`, `jti`, `ath`) is absent.
    #[error("DPoP proof lacks a required claim (htm, htu, iat, jti, ath)")]
    MissingClaim,
    /// `htm` is not the request's method.
    #[error("DPoP proof `htm` does not match the request method")]
    WrongMethod,
    /// `htu` is not this resource's URL.
    #[error("DPoP proof `htu` does not match the request URL")]
    WrongUrl,
    /// `iat` is further in the past than the window.
    #[error("DPoP proof `iat` is too old")]
    Stale,
    /// `iat` is further in the future than the window.
    #[error("DPoP proof `iat` is in the future")]
    Future,
    /// The `jti` was used before within the window.
    #[error("DPoP proof `jti` was already used")]
    Replayed,
    /// `ath` is not the hash of the access token.
    #[error("DPoP proof `ath` does not match the access token")]
    WrongTokenHash,
    /// The proof key is not the key the token is bound to (`cnf.jkt`).
    #[error("DPoP proof key does not match the token's `cnf.jkt`")]
    WrongKey,
    /// The replay memory is full of unexpired proofs: fail closed.
    #[error("DPoP proof could not be checked for replay")]
    ReplayUnavailable,
    /// Server nonces are on and the proof carries no `nonce`, or one this server did not issue
    /// or that expired (RFC 9449 §8): the refusal carries a fresh `DPoP-Nonce`.
    #[error("DPoP proof must carry a fresh server nonce (DPoP-Nonce)")]
    UseNonce,
    /// The check failed unexpectedly; the request is refused.
    #[error("DPoP proof could not be checked")]
    Internal,
    /// A DPoP-bound token sent with the `Bearer` scheme (RFC 9449 §7.2).
    #[error("DPoP-bound token sent as a bearer token")]
    BoundTokenAsBearer,
    /// A token without `cnf.jkt` sent with the `DPoP` scheme.
    #[error("token sent with the DPoP scheme is not DPoP-bound")]
    UnboundToken,
    /// A plain bearer token where DPoP is required.
    #[error("this resource requires DPoP-bound tokens")]
    BearerNotAccepted,
}

impl DpopError {
    /// The RFC 9449 §7.1 error code: `invalid_dpop_proof` for the proof, `invalid_token` for a
    /// token used with the wrong scheme.
    pub fn error_code(self) -> &'static str {
        match self {
            DpopError::BoundTokenAsBearer
            | DpopError::UnboundToken
            | DpopError::BearerNotAccepted => "invalid_token",
            DpopError::UseNonce => "use_dpop_nonce",
            _ => "invalid_dpop_proof",
        }
    }

    /// A fixed snake_case word for metrics.
    pub(crate) fn class(self) -> &'static str {
        match self {
            DpopError::Missing => "missing",
            DpopError::Duplicate => "duplicate_header",
            DpopError::TooLarge => "too_large",
            DpopError::Malformed => "malformed",
            DpopError::WrongType => "wrong_type",
            DpopError::AlgorithmNotAllowed => "algorithm_not_allowed",
            DpopError::BadKey => "bad_key",
            DpopError::PrivateKey => "private_key",
            DpopError::BadSignature => "bad_signature",
            DpopError::MissingClaim => "missing_claim",
            DpopError::WrongMethod => "wrong_method",
            DpopError::WrongUrl => "wrong_url",
            DpopError::Stale => "stale",
            DpopError::Future => "future",
            DpopError::Replayed => "replayed",
            DpopError::WrongTokenHash => "wrong_token_hash",
            DpopError::WrongKey => "wrong_key",
            DpopError::ReplayUnavailable => "replay_unavailable",
            DpopError::Internal => "internal",
            DpopError::UseNonce => "use_nonce",
            DpopError::BoundTokenAsBearer => "bound_token_as_bearer",
            DpopError::UnboundToken => "unbound_token",
            DpopError::BearerNotAccepted => "bearer_not_accepted",
        }
    }
}

/// Why a [`Dpop`] setting is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopConfigError {
    /// An HMAC algorithm: a proof must be signed by a key only the client holds.
    #[error("DPoP proofs need asymmetric algorithms; {0:?} is symmetric")]
    SymmetricAlgorithm(Algorithm),
    /// No algorithm at all.
    #[error("no DPoP proof algorithm is allowed")]
    NoAlgorithms,
    /// A nonce lifetime of zero or beyond an hour.
    #[error("DPoP nonce lifetime of {0} s is outside 1..=3600 s")]
    NonceLifetime(u64),
    /// The system's random source failed.
    #[error("no random nonce key could be made")]
    Random,
    /// An `iat` window of zero or beyond five minutes.
    #[error("DPoP iat window of {0} s is outside 1..=300 s")]
    Window(u64),
}

/// The DPoP settings of a bearer layer: the mode, the accepted proof algorithms, the `iat`
/// window, the clock, and the URL proofs must name (`htu`): the resource
/// URL clients use, so the check holds behind a reverse proxy.
#[derive(Clone)]
pub struct Dpop {
    mode: DpopMode,
    algorithms: Arc<[Algorithm]>,
    algs_text: Arc<str>,
    window: i64,
    clock: Clock,
    htu: Option<Arc<str>>,
    max_proof_bytes: usize,
    nonces: Option<Arc<Nonces>>,
    headers: Arc<ProofHeaders>,
}

/// Proof headers that passed every header check, by their encoded text: a client signs its
/// proofs under one header (`typ`, `alg` and its public `jwk`), which is then decoded, checked
/// and its key parsed once. The key is the whole encoded header, so a hit is that same header
/// again; the signature, the claims and replay are checked for every proof.
struct ProofHeaders(quick_cache::sync::Cache<Box<str>, Arc<ProofHeader>>);

/// What a proof header gives once checked.
struct ProofHeader {
    alg: Algorithm,
    /// The RFC 7638 thumbprint of its `jwk`, base64url.
    thumbprint: String,
    key: VerificationKey,
}

impl Default for ProofHeaders {
    fn default() -> Self {
        ProofHeaders(quick_cache::sync::Cache::new(PROOF_HEADER_CACHE))
    }
}

/// Server nonces (RFC 9449 §8) without state: a nonce is its issue time and a MAC of it, so it
/// is accepted until it is `lifetime` old by every process holding the key.
struct Nonces {
    key: hmac::Key,
    lifetime: i64,
}

impl Nonces {
    fn issue(&self, now: i64) -> String {
        let time = now.to_be_bytes();
        let tag = hmac::sign(&self.key, &time);
        let mut bytes = time.to_vec();
        bytes.extend_from_slice(tag.as_ref());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn accepts(&self, nonce: &str, now: i64) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(nonce) else {
            return false;
        };
        if bytes.len() != 8 + 32 {
            return false;
        }
        let (time, tag) = bytes.split_at(8);
        if hmac::verify(&self.key, time, tag).is_err() {
            return false;
        }
        let mut issued = [0u8; 8];
        issued.copy_from_slice(time);
        let issued = i64::from_be_bytes(issued);
        issued <= now && now - issued <= self.lifetime
    }
}

impl std::fmt::Debug for Dpop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dpop")
            .field("mode", &self.mode)
            .field("algorithms", &self.algorithms)
            .field("window", &self.window)
            .field("htu", &self.htu)
            .finish_non_exhaustive()
    }
}

impl Dpop {
    /// DPoP in `mode` for `resource`, with [`DEFAULT_DPOP_ALGORITHMS`], a window of
    /// [`DEFAULT_DPOP_IAT_WINDOW`] and the system clock.
    pub fn new(mode: DpopMode, resource: &ProtectedResource) -> Self {
        Dpop {
            mode,
            algorithms: DEFAULT_DPOP_ALGORITHMS.into(),
            algs_text: algs_text(&DEFAULT_DPOP_ALGORITHMS),
            window: DEFAULT_DPOP_IAT_WINDOW.as_secs() as i64,
            clock: Clock::system(),
            htu: normalise_url(resource.resource()).map(Arc::from),
            max_proof_bytes: DEFAULT_MAX_PROOF_BYTES,
            nonces: None,
            headers: Arc::default(),
        }
    }

    /// Asks every proof for a server nonce (RFC 9449 §8) no older than `lifetime` (1 s to 1 h):
    /// a proof without one, or with a stale one, is refused with `use_dpop_nonce` and a fresh
    /// nonce in the `DPoP-Nonce` header, which the client puts in its next proof. Nonces are
    /// MACed with a key made here: each process accepts only its own.
    pub fn nonces(mut self, lifetime: Duration) -> Result<Self, DpopConfigError> {
        let secs = lifetime.as_secs();
        if !(1..=3600).contains(&secs) {
            return Err(DpopConfigError::NonceLifetime(secs));
        }
        let mut secret = [0u8; 32];
        aws_lc_rs::rand::fill(&mut secret).map_err(|_| DpopConfigError::Random)?;
        self.nonces = Some(Arc::new(Nonces {
            key: hmac::Key::new(hmac::HMAC_SHA256, &secret),
            lifetime: secs as i64,
        }));
        Ok(self)
    }

    /// A fresh nonce for a `DPoP-Nonce` header, when nonces are on.
    pub(crate) fn fresh_nonce(&self) -> Option<String> {
        let nonces = self.nonces.as_ref()?;
        Some(nonces.issue(self.clock.unix_seconds()))
    }

    /// The proof algorithms accepted (asymmetric ones only).
    pub fn algorithms(
        mut self,
        algorithms: impl IntoIterator<Item = Algorithm>,
    ) -> Result<Self, DpopConfigError> {
        let mut chosen: Vec<Algorithm> = Vec::new();
        for alg in algorithms {
            if matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
                return Err(DpopConfigError::SymmetricAlgorithm(alg));
            }
            if !chosen.contains(&alg) {
                chosen.push(alg);
            }
        }
        if chosen.is_empty() {
            return Err(DpopConfigError::NoAlgorithms);
        }
        self.algs_text = algs_text(&chosen);
        self.algorithms = chosen.into();
        // Headers checked against another allow-list are not kept.
        self.headers = Arc::default();
        Ok(self)
    }

    /// How far a proof's `iat` may be from the clock, either way (1 s to 5 min).
    pub fn iat_window(mut self, window: Duration) -> Result<Self, DpopConfigError> {
        let secs = window.as_secs();
        if !(1..=300).contains(&secs) {
            return Err(DpopConfigError::Window(secs));
        }
        self.window = secs as i64;
        Ok(self)
    }

    /// The clock `iat` is judged by (a [`ManualClock`](crate::verify::ManualClock) in tests).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The mode.
    pub fn mode(&self) -> DpopMode {
        self.mode
    }

    /// The accepted proof algorithms.
    pub fn accepted_algorithms(&self) -> &[Algorithm] {
        &self.algorithms
    }

    /// The accepted proof algorithms' JWS names, for the metadata document
    /// ([`ProtectedResource::dpop`]).
    pub fn algorithm_names(&self) -> Vec<String> {
        self.algorithms.iter().map(|a| format!("{a:?}")).collect()
    }

    /// The algorithms as the `algs` challenge parameter lists them (space-separated names).
    pub(crate) fn algs(&self) -> &str {
        &self.algs_text
    }

    /// The clock's time, seconds since the epoch.
    pub(crate) fn now(&self) -> i64 {
        self.clock.unix_seconds()
    }

    /// Checks the request's proof for `token`, bound to the key of thumbprint `jkt`
    /// (RFC 9449 §4.3 and §7.1), every check but replay: what to record as used, which the
    /// bearer layer does in its [`SharedState`](crate::store::SharedState) once the rest passed.
    pub(crate) fn check(
        &self,
        method: &Method,
        headers: &HeaderMap,
        token: &str,
        jkt: &str,
    ) -> Result<ReplayKey, DpopError> {
        let mut values = headers.get_all(DPOP_HEADER).iter();
        let Some(value) = values.next() else {
            return Err(DpopError::Missing);
        };
        if values.next().is_some() {
            return Err(DpopError::Duplicate);
        }
        if value.len() > self.max_proof_bytes {
            return Err(DpopError::TooLarge);
        }
        let proof = value.to_str().map_err(|_| DpopError::Malformed)?;
        let now = self.clock.unix_seconds();
        let checked = self.check_proof(method, proof, token, jkt, now)?;
        Ok(ReplayKey {
            digest: checked.key,
            expires_at: checked.iat.saturating_add(self.window).saturating_add(1),
        })
    }

    /// The checks of a proof's header (RFC 9449 §4.3 checks 2–7): an allowed asymmetric
    /// algorithm, `typ` `dpop+jwt`, a public `jwk` that fits the algorithm.
    fn check_header(&self, proof: &str) -> Result<ProofHeader, DpopError> {
        let jws = CompactJws::parse(proof).map_err(|e| match e {
            crate::verify::AuthError::AlgorithmNotAllowed => DpopError::AlgorithmNotAllowed,
            _ => DpopError::Malformed,
        })?;
        if !self.algorithms.contains(&jws.alg) {
            return Err(DpopError::AlgorithmNotAllowed);
        }
        if !jws
            .typ
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("dpop+jwt"))
        {
            return Err(DpopError::WrongType);
        }
        let jwk = header_jwk(proof)?;
        let thumbprint = thumbprint(&jwk).ok_or(DpopError::BadKey)?;
        let parsed: Jwk =
            serde_json::from_value(Value::Object(jwk)).map_err(|_| DpopError::BadKey)?;
        let key = VerificationKey::from_jwk(&parsed).map_err(|_| DpopError::BadKey)?;
        if !key.matches(jws.alg, None) {
            return Err(DpopError::BadKey);
        }
        Ok(ProofHeader {
            alg: jws.alg,
            thumbprint,
            key,
        })
    }

    /// Every check but replay; the `iat` and replay key of a proof that passed them.
    fn check_proof(
        &self,
        method: &Method,
        proof: &str,
        token: &str,
        jkt: &str,
        now: i64,
    ) -> Result<Checked, DpopError> {
        let mut segments = proof.split('.');
        let (Some(encoded_header), Some(payload), Some(signature), None) = (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) else {
            return Err(DpopError::Malformed);
        };
        let header = match self.headers.0.get(encoded_header) {
            Some(header) => header,
            None => {
                let header = Arc::new(self.check_header(proof)?);
                if encoded_header.len() <= MAX_KEPT_HEADER_BYTES {
                    self.headers
                        .0
                        .insert(encoded_header.into(), Arc::clone(&header));
                }
                header
            }
        };
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| DpopError::Malformed)?;
        let signing_input = &proof[..encoded_header.len() + 1 + payload.len()];
        if !header
            .key
            .signature
            .verify(header.alg, signing_input.as_bytes(), &signature)
        {
            return Err(DpopError::BadSignature);
        }
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| DpopError::Malformed)?;
        let claims: ProofClaims =
            serde_json::from_slice(&payload).map_err(|_| DpopError::Malformed)?;
        let (Some(htm), Some(htu), Some(iat), Some(jti), Some(ath)) =
            (claims.htm, claims.htu, claims.iat, claims.jti, claims.ath)
        else {
            return Err(DpopError::MissingClaim);
        };
        let iat = json_numeric_date(&iat).ok_or(DpopError::Malformed)?;
        if jti.is_empty() || jti.len() > MAX_JTI_BYTES {
            return Err(DpopError::Malformed);
        }
        if htm != method.as_str() {
            return Err(DpopError::WrongMethod);
        }
        // The URL as the configured one is written needs no normalising: that one is normal.
        match &self.htu {
            Some(expected) if **expected == *htu => {}
            Some(expected) if normalise_url(&htu).is_some_and(|given| **expected == *given) => {}
            _ => return Err(DpopError::WrongUrl),
        }
        if iat < now.saturating_sub(self.window) {
            return Err(DpopError::Stale);
        }
        if iat > now.saturating_add(self.window) {
            return Err(DpopError::Future);
        }
        if ath != token_hash(token) {
            return Err(DpopError::WrongTokenHash);
        }
        if let Some(nonces) = &self.nonces {
            if !claims.nonce.is_some_and(|n| nonces.accepts(&n, now)) {
                return Err(DpopError::UseNonce);
            }
        }
        if header.thumbprint != jkt {
            return Err(DpopError::WrongKey);
        }
        let mut context = digest::Context::new(&digest::SHA256);
        context.update(header.thumbprint.as_bytes());
        context.update(b".");
        context.update(jti.as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(context.finish().as_ref());
        Ok(Checked { iat, key })
    }
}

struct Checked {
    iat: i64,
    key: [u8; 32],
}

/// The proof claims RFC 9449 §4.2 defines (a repeated member is malformed), borrowed from the
/// decoded payload where no escape needs undoing.
#[derive(serde::Deserialize)]
struct ProofClaims<'p> {
    #[serde(default, borrow)]
    htm: Option<Cow<'p, str>>,
    #[serde(default, borrow)]
    htu: Option<Cow<'p, str>>,
    #[serde(default)]
    iat: Option<Value>,
    #[serde(default, borrow)]
    jti: Option<Cow<'p, str>>,
    #[serde(default, borrow)]
    ath: Option<Cow<'p, str>>,
    #[serde(default, borrow)]
    nonce: Option<Cow<'p, str>>,
}

fn algs_text(algorithms: &[Algorithm]) -> Arc<str> {
    algorithms
        .iter()
        .map(|a| format!("{a:?}"))
        .collect::<Vec<_>>()
        .join(" ")
        .into()
}

/// The proof header's `jwk` member: a JSON object without private key members (RFC 9449 §4.3
/// check 7; `k` is a symmetric key).
fn header_jwk(proof: &str) -> Result<Map<String, Value>, DpopError> {
    #[derive(serde::Deserialize)]
    struct Header {
        #[serde(default)]
        jwk: Option<Value>,
    }
    let encoded = proof.split('.').next().unwrap_or_default();
    let json = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| DpopError::Malformed)?;
    let header: Header = serde_json::from_slice(&json).map_err(|_| DpopError::Malformed)?;
    let Some(Value::Object(jwk)) = header.jwk else {
        return Err(DpopError::BadKey);
    };
    const PRIVATE: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
    if PRIVATE.iter().any(|m| jwk.contains_key(*m)) {
        return Err(DpopError::PrivateKey);
    }
    Ok(jwk)
}

/// The RFC 7638 SHA-256 thumbprint of a public JWK, base64url: the required members of its
/// `kty` in lexicographic order, as JSON without whitespace. `None` for another `kty` or a
/// required member that is not a string.
pub fn thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    let members = thumbprint_members(jwk)?;
    let mut json = String::from("{");
    for (i, name) in members.iter().enumerate() {
        let value = jwk.get(*name)?.as_str()?;
        if i > 0 {
            json.push(',');
        }
        json.push_str(&serde_json::to_string(name).ok()?);
        json.push(':');
        json.push_str(&serde_json::to_string(value).ok()?);
    }
    json.push('}');
    Some(URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, json.as_bytes())))
}

/// The members an RFC 7638 thumbprint covers for `jwk`'s `kty`, in lexicographic order.
fn thumbprint_members(jwk: &Map<String, Value>) -> Option<&'static [&'static str]> {
    Some(match jwk.get("kty")?.as_str()? {
        "EC" => &["crv", "kty", "x", "y"],
        "RSA" => &["e", "kty", "n"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    })
}

/// `ath`: base64url of the SHA-256 of the access token (RFC 9449 §4.2).
pub fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, token.as_bytes()))
}

/// A URL as RFC 9449 §4.3 compares `htu`: without query and fragment, with scheme and host in
/// lower case, a default port dropped, an empty path as `/` and percent-escapes in upper case
/// (RFC 3986 §6.2.2, §6.2.3). `None` when it is not an absolute http(s) URL.
fn normalise_url(url: &str) -> Option<String> {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    let uri = Uri::from_str(&url[..end]).ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let authority = uri.authority()?;
    if authority.as_str().contains('@') {
        return None;
    }
    let host = authority.host().to_ascii_lowercase();
    let port = authority
        .port_u16()
        .filter(|p| *p != default_port)
        .map(|p| format!(":{p}"))
        .unwrap_or_default();
    let path = match uri.path() {
        "" => "/",
        path => path,
    };
    let mut normal = format!("{scheme}://{host}{port}");
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            normal.push('%');
            normal.push(char::from(bytes[i + 1].to_ascii_uppercase()));
            normal.push(char::from(bytes[i + 2].to_ascii_uppercase()));
            i += 3;
        } else {
            normal.push(char::from(bytes[i]));
            i += 1;
        }
    }
    Some(normal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{MemoryState, StoreError};
    use crate::testkit::DpopKey;
    use crate::verify::ManualClock;
    use futures::future::BoxFuture;
    use serde_json::json;

    const URL: &str = "https://mcp.example.com/mcp";
    const NOW: u64 = 1_900_000_000;
    const TOKEN: &str = "eyJ.token.sig";

    fn dpop(clock: &ManualClock) -> Dpop {
        let resource = ProtectedResource::new(URL).unwrap();
        Dpop::new(DpopMode::Accept, &resource).clock(clock.clock())
    }

    fn headers(proofs: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for p in proofs {
            map.append(DPOP_HEADER, p.parse().unwrap());
        }
        map
    }

    /// Every check but replay.
    async fn check(d: &Dpop, key: &DpopKey, proof: &str) -> Result<(), DpopError> {
        d.check(&Method::POST, &headers(&[proof]), TOKEN, &key.thumbprint())
            .map(|_| ())
    }

    /// Every check, replay in `store` included, as the bearer layer makes them.
    async fn check_once(
        d: &Dpop,
        store: &MemoryState,
        key: &DpopKey,
        proof: &str,
    ) -> Result<(), DpopError> {
        let replay = d.check(&Method::POST, &headers(&[proof]), TOKEN, &key.thumbprint())?;
        match store.first_use(&replay, d.now()) {
            Ok(true) => Ok(()),
            Ok(false) => Err(DpopError::Replayed),
            Err(_) => Err(DpopError::ReplayUnavailable),
        }
    }

    fn claims(_key: &DpopKey) -> Value {
        json!({"htm": "POST", "htu": URL, "iat": NOW, "jti": "j-1", "ath": token_hash(TOKEN)})
    }

    #[tokio::test]
    async fn a_valid_proof_passes_once() {
        let clock = ManualClock::new(NOW);
        let store = MemoryState::new(10);
        let d = dpop(&clock);
        let key = DpopKey::generate().unwrap();
        let proof = key.sign(json!({}), claims(&key));
        assert_eq!(check_once(&d, &store, &key, &proof).await, Ok(()));
        assert_eq!(
            check_once(&d, &store, &key, &proof).await,
            Err(DpopError::Replayed)
        );
        // Another jti passes; the first is forgotten only once its iat is out of the window.
        let other = key.sign(
            json!({}),
            json!({"jti": "j-2", "htm": "POST", "htu": URL,
            "iat": NOW, "ath": token_hash(TOKEN)}),
        );
        assert_eq!(check_once(&d, &store, &key, &other).await, Ok(()));
        assert_eq!(store.remembered_proofs(), 2);
        // Once their iat is out of the window they are refused as stale, and forgotten.
        clock.advance(Duration::from_secs(61));
        assert_eq!(
            check_once(&d, &store, &key, &proof).await,
            Err(DpopError::Stale)
        );
        let later = key.sign(
            json!({}),
            json!({"jti": "j-1", "htm": "POST", "htu": URL, "iat": NOW + 61,
                "ath": token_hash(TOKEN)}),
        );
        assert_eq!(check_once(&d, &store, &key, &later).await, Ok(()));
        assert_eq!(store.remembered_proofs(), 1);
    }

    #[tokio::test]
    async fn each_check_refuses_with_its_reason() {
        let clock = ManualClock::new(NOW);
        let d = dpop(&clock);
        let key = DpopKey::generate().unwrap();
        let other_key = DpopKey::generate().unwrap();
        let with = |change: Value| {
            let mut c = claims(&key);
            for (k, v) in change.as_object().unwrap() {
                if v.is_null() {
                    c.as_object_mut().unwrap().remove(k);
                } else {
                    c[k] = v.clone();
                }
            }
            key.sign(json!({}), c)
        };
        let cases = [
            (with(json!({"htm": "GET"})), DpopError::WrongMethod),
            (with(json!({"htm": "post"})), DpopError::WrongMethod),
            (
                with(json!({"htu": "https://mcp.example.com/other"})),
                DpopError::WrongUrl,
            ),
            (
                with(json!({"htu": "https://evil.example.com/mcp"})),
                DpopError::WrongUrl,
            ),
            (with(json!({"iat": NOW - 61})), DpopError::Stale),
            (with(json!({"iat": NOW + 61})), DpopError::Future),
            (with(json!({"iat": "now"})), DpopError::Malformed),
            (
                with(json!({"ath": token_hash("another")})),
                DpopError::WrongTokenHash,
            ),
            (with(json!({"ath": null})), DpopError::MissingClaim),
            (with(json!({"jti": null})), DpopError::MissingClaim),
            (with(json!({"jti": ""})), DpopError::Malformed),
            (with(json!({"jti": "x".repeat(300)})), DpopError::Malformed),
            (other_key.sign(json!({}), claims(&key)), DpopError::WrongKey),
            (
                key.sign(json!({"typ": "JWT"}), claims(&key)),
                DpopError::WrongType,
            ),
            (
                key.sign(json!({"typ": null}), claims(&key)),
                DpopError::WrongType,
            ),
            (
                key.sign(json!({"jwk": null}), claims(&key)),
                DpopError::BadKey,
            ),
            (
                key.sign(json!({"jwk": other_key.jwk()}), claims(&key)),
                DpopError::BadSignature,
            ),
            (
                key.sign(json!({"alg": "ES384"}), claims(&key)),
                DpopError::BadKey,
            ),
            (
                key.sign(json!({"alg": "none"}), claims(&key)),
                DpopError::AlgorithmNotAllowed,
            ),
            (
                key.sign(json!({"alg": "HS256"}), claims(&key)),
                DpopError::AlgorithmNotAllowed,
            ),
            (
                key.sign(json!({"crit": ["x"]}), claims(&key)),
                DpopError::Malformed,
            ),
            ("a.b".to_owned(), DpopError::Malformed),
            ("x".repeat(9000), DpopError::TooLarge),
        ];
        for (proof, reason) in cases {
            assert_eq!(check(&d, &key, &proof).await, Err(reason), "{reason:?}");
        }
        let mut private = key.jwk();
        private["d"] = json!("AAAA");
        let proof = key.sign(json!({"jwk": private}), claims(&key));
        assert_eq!(check(&d, &key, &proof).await, Err(DpopError::PrivateKey));
        // Within the window either way, it passes.
        let edge = with(json!({"iat": NOW - 60}));
        assert_eq!(check(&d, &key, &edge).await, Ok(()));
    }

    /// A header checked for one proof serves the next proof with the same header; a header
    /// whose JWK has the same thumbprint and another member is checked on its own.
    #[tokio::test]
    async fn a_checked_header_serves_only_the_same_header() {
        let clock = ManualClock::new(NOW);
        let d = dpop(&clock);
        let key = DpopKey::generate().unwrap();
        let with_jti = |jti: &str, header: Value| {
            let mut c = claims(&key);
            c["jti"] = json!(jti);
            key.sign(header, c)
        };
        assert_eq!(check(&d, &key, &with_jti("a", json!({}))).await, Ok(()));
        assert_eq!(d.headers.0.len(), 1);
        assert_eq!(check(&d, &key, &with_jti("b", json!({}))).await, Ok(()));
        assert_eq!(d.headers.0.len(), 1, "one header, kept once");
        for (member, value) in [
            ("use", json!("enc")),
            ("key_ops", json!(["sign"])),
            ("alg", json!("ES384")),
        ] {
            let mut jwk = key.jwk();
            jwk[member] = value;
            let proof = with_jti(member, json!({"jwk": jwk}));
            assert_eq!(
                check(&d, &key, &proof).await,
                Err(DpopError::BadKey),
                "{member}"
            );
        }
        // Refused headers are not kept; another accepted header is kept on its own.
        assert_eq!(d.headers.0.len(), 1);
        let mut jwk = key.jwk();
        jwk["use"] = json!("sig");
        let proof = with_jti("c", json!({"jwk": jwk}));
        assert_eq!(check(&d, &key, &proof).await, Ok(()));
        assert_eq!(d.headers.0.len(), 2);
    }

    #[tokio::test]
    async fn header_count_and_other_methods() {
        let clock = ManualClock::new(NOW);
        let d = dpop(&clock);
        let key = DpopKey::generate().unwrap();
        let proof = key.sign(json!({}), claims(&key));
        let jkt = key.thumbprint();
        assert_eq!(
            d.check(&Method::POST, &HeaderMap::new(), TOKEN, &jkt)
                .map(|_| ()),
            Err(DpopError::Missing)
        );
        assert_eq!(
            d.check(&Method::POST, &headers(&[&proof, &proof]), TOKEN, &jkt)
                .map(|_| ()),
            Err(DpopError::Duplicate)
        );
        let mut get = claims(&key);
        get["htm"] = json!("GET");
        let get = key.sign(json!({}), get);
        assert_eq!(
            d.check(&Method::GET, &headers(&[&get]), TOKEN, &jkt)
                .map(|_| ()),
            Ok(())
        );
        assert_eq!(
            d.check(&Method::DELETE, &headers(&[&get]), TOKEN, &jkt)
                .map(|_| ()),
            Err(DpopError::WrongMethod)
        );
    }

    /// A shared state whose check panics.
    struct Panics;

    impl crate::store::SharedState for Panics {
        fn check<'a>(
            &'a self,
            _: &'a crate::store::RequestFacts<'a>,
        ) -> BoxFuture<'a, Result<crate::store::Verdicts, StoreError>> {
            panic!("the store failed")
        }
        fn revoke_jti<'a>(&'a self, _: &'a str, _: i64) -> BoxFuture<'a, Result<(), StoreError>> {
            unreachable!()
        }
        fn revoke_subject<'a>(
            &'a self,
            _: Option<&'a str>,
            _: &'a str,
            _: i64,
        ) -> BoxFuture<'a, Result<(), StoreError>> {
            unreachable!()
        }
        fn bind_session<'a>(
            &'a self,
            _: &'a [u8],
            _: &'a crate::store::SessionOwner,
            _: bool,
        ) -> BoxFuture<'a, Result<(), StoreError>> {
            unreachable!()
        }
        fn session_owner<'a>(
            &'a self,
            _: &'a [u8],
        ) -> BoxFuture<'a, Result<Option<crate::store::SessionOwner>, StoreError>> {
            unreachable!()
        }
        fn remove_session<'a>(&'a self, _: &'a [u8]) -> BoxFuture<'a, Result<(), StoreError>> {
            unreachable!()
        }
    }

    #[tokio::test]
    async fn a_shared_state_that_panics_refuses_the_request() {
        use axum::body::Body;
        use tower::{Layer, ServiceExt};
        let issuer = crate::testkit::DevIssuer::generate("https://login.example.com", URL).unwrap();
        let resource = ProtectedResource::new(URL).unwrap();
        let dpop = Dpop::new(DpopMode::Accept, &resource);
        let verifier = issuer.verifier_builder().build().unwrap();
        let auth = crate::BearerAuthLayer::new(verifier, &resource)
            .dpop(dpop)
            .shared_state(Arc::new(Panics));
        let service = auth.layer(tower::service_fn(|_: http::Request<Body>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(Body::empty()))
        }));
        let key = DpopKey::generate().unwrap();
        let token = issuer.token(json!({"sub": "a", "cnf": {"jkt": key.thumbprint()}}));
        let request = http::Request::post(URL)
            .header("authorization", format!("DPoP {token}"))
            .header(DPOP_HEADER, key.proof("POST", URL, &token))
            .body(Body::empty())
            .unwrap();
        let answer = service.oneshot(request).await.unwrap();
        assert_eq!(answer.status(), http::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(answer.headers()[http::header::RETRY_AFTER], "1");
        assert!(answer
            .headers()
            .get(http::header::WWW_AUTHENTICATE)
            .is_none());
    }

    #[tokio::test]
    async fn server_nonces_are_handed_out_and_required() {
        use axum::body::Body;
        use tower::{Layer, ServiceExt};
        let issuer = crate::testkit::DevIssuer::generate("https://login.example.com", URL).unwrap();
        let resource = ProtectedResource::new(URL).unwrap();
        let clock = ManualClock::new(crate::testkit::now());
        let dpop = Dpop::new(DpopMode::Accept, &resource)
            .clock(clock.clock())
            .nonces(Duration::from_secs(300))
            .unwrap();
        let other_server = dpop.clone().nonces(Duration::from_secs(300)).unwrap();
        let verifier = issuer.verifier_builder().build().unwrap();
        let auth = crate::BearerAuthLayer::new(verifier, &resource).dpop(dpop);
        let service = auth.layer(tower::service_fn(|_: http::Request<Body>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(Body::empty()))
        }));
        let key = DpopKey::generate().unwrap();
        let token = issuer.token(json!({"sub": "a", "cnf": {"jkt": key.thumbprint()}}));
        let mut jti = 0;
        let mut send = |nonce: Option<&str>| {
            jti += 1;
            let mut claims = json!({"htm": "POST", "htu": URL, "jti": format!("n-{jti}"),
                "iat": clock.clock().unix_seconds(), "ath": token_hash(&token)});
            if let Some(nonce) = nonce {
                claims["nonce"] = json!(nonce);
            }
            let request = http::Request::post(URL)
                .header("authorization", format!("DPoP {token}"))
                .header(DPOP_HEADER, key.sign(json!({}), claims))
                .body(Body::empty())
                .unwrap();
            service.clone().oneshot(request)
        };
        let use_nonce = |answer: &http::Response<Body>| {
            assert_eq!(answer.status(), http::StatusCode::UNAUTHORIZED);
            let dpop = answer.headers().get_all(http::header::WWW_AUTHENTICATE);
            let dpop = dpop.iter().next_back().unwrap().to_str().unwrap();
            assert!(dpop.starts_with("DPoP error=\"use_dpop_nonce\""), "{dpop}");
            answer.headers()[DPOP_NONCE_HEADER]
                .to_str()
                .unwrap()
                .to_owned()
        };
        // No nonce: refused with one; with it: served, again and again within its lifetime.
        let nonce = use_nonce(&send(None).await.unwrap());
        assert_eq!(send(Some(&nonce)).await.unwrap().status(), 200);
        clock.advance(Duration::from_secs(200));
        assert_eq!(send(Some(&nonce)).await.unwrap().status(), 200);
        // Past its lifetime, or made by another key, or made up: refused with a fresh one.
        clock.advance(Duration::from_secs(101));
        let fresh = use_nonce(&send(Some(&nonce)).await.unwrap());
        assert_ne!(fresh, nonce);
        let foreign = other_server.fresh_nonce().unwrap();
        use_nonce(&send(Some(&foreign)).await.unwrap());
        use_nonce(&send(Some("made-up")).await.unwrap());
        assert_eq!(send(Some(&fresh)).await.unwrap().status(), 200);
    }

    #[test]
    fn urls_compare_as_rfc_9449_says() {
        let n = |u: &str| normalise_url(u);
        assert_eq!(n(URL).as_deref(), Some(URL));
        assert_eq!(
            n("HTTPS://MCP.example.COM:443/mcp?x=1#f").as_deref(),
            Some(URL)
        );
        assert_eq!(n("http://h:80").as_deref(), Some("http://h/"));
        assert_eq!(
            n("http://h:8080/a%2fb").as_deref(),
            Some("http://h:8080/a%2Fb")
        );
        assert_ne!(n("https://mcp.example.com/MCP").as_deref(), Some(URL));
        assert_eq!(n("ftp://h/x"), None);
        assert_eq!(n("https://u@h/x"), None);
        assert_eq!(n("/mcp"), None);
    }

    #[test]
    fn thumbprints_follow_rfc_7638() {
        // RFC 7638 §3.1's example RSA key and thumbprint.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            thumbprint(jwk.as_object().unwrap()).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
        assert_eq!(
            thumbprint(json!({"kty": "oct", "k": "a"}).as_object().unwrap()),
            None
        );
        assert_eq!(
            thumbprint(
                json!({"kty": "EC", "crv": "P-256", "x": "a"})
                    .as_object()
                    .unwrap()
            ),
            None
        );
    }

    #[test]
    fn only_asymmetric_algorithms_are_configured() {
        let resource = ProtectedResource::new(URL).unwrap();
        let d = Dpop::new(DpopMode::Require, &resource);
        assert_eq!(
            d.clone()
                .algorithms([Algorithm::ES256, Algorithm::HS256])
                .err(),
            Some(DpopConfigError::SymmetricAlgorithm(Algorithm::HS256))
        );
        assert_eq!(
            d.clone().algorithms([]).err(),
            Some(DpopConfigError::NoAlgorithms)
        );
        let es = d
            .clone()
            .algorithms([Algorithm::ES256, Algorithm::EdDSA])
            .unwrap();
        assert_eq!(es.algs(), "ES256 EdDSA");
        assert!(d.algs().starts_with("ES256 ES384 EdDSA RS256"));
        assert!(Dpop::new(DpopMode::Accept, &resource)
            .iat_window(Duration::ZERO)
            .is_err());
    }
}
