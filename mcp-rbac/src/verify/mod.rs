//! Bearer token → [`Principal`]. [`JwtVerifier`] does it for signed JWTs; any
//! other scheme (introspection, API keys, …) implements [`TokenVerifier`].

mod api_key;
#[cfg(feature = "toml")]
mod api_key_file;
mod cache;
mod clock;
mod crypto;
#[cfg(feature = "jwks")]
mod introspection;
mod issuers;
#[cfg(feature = "jwks")]
mod jwks;
mod jws;
mod jwt;
mod keys;
mod registered;
#[cfg(feature = "jwks")]
pub mod remote;
mod signature;
mod validate;

use futures::future::BoxFuture;

pub use api_key::{ApiKeyConfigError, ApiKeyVerifier, ApiKeyVerifierBuilder};
pub use cache::DEFAULT_CACHE_BYTES;
pub use clock::{Clock, ManualClock};
pub use crypto::install_crypto_provider;
#[cfg(feature = "jwks")]
pub use introspection::{
    IntrospectionConfigError, IntrospectionVerifier, IntrospectionVerifierBuilder,
    DEFAULT_INTROSPECTION_CACHE_TTL, DEFAULT_INTROSPECTION_NEGATIVE_TTL,
    DEFAULT_INTROSPECTION_QUEUE_WAIT, DEFAULT_INTROSPECTION_TIMEOUT,
    DEFAULT_MAX_CONCURRENT_INTROSPECTIONS, INTROSPECTION_NEGATIVE_CACHE_ENTRIES,
    MAX_INTROSPECTION_RESPONSE_BYTES,
};
pub use issuers::{MultiIssuerError, MultiIssuerVerifier};
pub use jsonwebtoken::Algorithm;
#[cfg(feature = "jwks")]
pub use jwks::{Jwks, JwksBuilder, DEFAULT_MAX_AGE, DEFAULT_MIN_REFRESH_INTERVAL};
pub use jwt::{
    JwtConfigError, JwtVerifier, JwtVerifierBuilder, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES,
};
pub use keys::{KeyError, VerificationKey};
pub(crate) use registered::json_numeric_date;
pub use validate::{TokenVerifierExt, Validated};

use crate::principal::Principal;

/// Verifies a bearer token and says who it belongs to.
///
/// Implementations must fail closed: any doubt is an [`AuthError`]. The error's text is sent to
/// the client as `error_description`, so it must never contain the token or key material.
pub trait TokenVerifier: Send + Sync + 'static {
    /// The principal of `token`, or why it is refused.
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Principal, AuthError>>;
}

/// A shared verifier verifies as the verifier it shares (so `Arc<dyn TokenVerifier>` is one).
impl<T: TokenVerifier + ?Sized> TokenVerifier for std::sync::Arc<T> {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Principal, AuthError>> {
        (**self).verify(token)
    }
}

/// Why a token is refused. Every variant answers HTTP 401 `invalid_token`; the text is safe to
/// show the client (it names claims and reasons, never token contents).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Larger than the configured cap; refused before parsing.
    #[error("token is larger than {0} bytes")]
    TooLarge(usize),
    /// Not three base64url segments of JSON.
    #[error("token is malformed")]
    Malformed,
    /// The header names an algorithm outside the configured allow-list (or `none`).
    #[error("token algorithm is not allowed")]
    AlgorithmNotAllowed,
    /// The header's `typ` is not a JWT access token type.
    #[error("token type is not accepted")]
    WrongType,
    /// The token is not an access token: its claims mark it as an ID token or a refresh token
    /// (see [`ClaimsMapping::accept_id_tokens`](crate::ClaimsMapping::accept_id_tokens)), or an
    /// introspection answer's `token_type` is not an access token type.
    #[error("token is not an access token")]
    NotAnAccessToken,
    /// No configured key matches the token's `kid` and algorithm.
    #[error("no trusted key matches the token")]
    UnknownKey,
    /// The signature does not verify.
    #[error("token signature is invalid")]
    BadSignature,
    /// `exp` is in the past (beyond the leeway).
    #[error("token has expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("token is not valid yet")]
    NotYetValid,
    /// `aud` does not name this resource.
    #[error("token audience is not this resource")]
    WrongAudience,
    /// `iss` is not the trusted issuer.
    #[error("token issuer is not trusted")]
    WrongIssuer,
    /// A required claim is absent.
    #[error("token lacks the `{0}` claim")]
    MissingClaim(String),
    /// A claim has the wrong JSON type.
    #[error("token claim `{claim}` must be {expected}")]
    ClaimType {
        /// The claim's path.
        claim: String,
        /// What it should be.
        expected: &'static str,
    },
    /// The verifier refused for its own reason (custom verifiers).
    #[error("{0}")]
    Rejected(String),
    /// The verifier failed unexpectedly (e.g. it panicked); the request is refused.
    #[error("token could not be verified")]
    Internal,
}

/// Seconds since the epoch on the system clock.
#[cfg(test)]
pub(crate) fn unix_now() -> i64 {
    Clock::system().unix_seconds()
}
