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
pub(crate) use jws::{header_algorithm, CompactJws};
pub use jwt::{
    JwtConfigError, JwtVerifier, JwtVerifierBuilder, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES,
};
pub use keys::{KeyError, VerificationKey};
pub(crate) use registered::json_numeric_date;
pub use validate::{TokenVerifierExt, Validated};

pub use crate::error::AuthError;
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

/// Seconds since the epoch on the system clock.
#[cfg(test)]
pub(crate) fn unix_now() -> i64 {
    Clock::system().unix_seconds()
}
