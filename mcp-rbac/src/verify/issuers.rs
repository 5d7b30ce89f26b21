//! Several trusted issuers, each with its own keys. The token's (unverified) `iss` only picks
//! which issuer's verifier checks it; that verifier then requires its own keys and its own
//! `iss`, so a token signed by issuer A's key that claims to come from B is refused.

use std::collections::HashMap;

use futures::future::BoxFuture;

use super::jws::unverified_issuer;
use super::{AuthError, JwtVerifier, TokenVerifier, DEFAULT_MAX_TOKEN_BYTES};
use crate::principal::Principal;

/// Routes each token to the [`JwtVerifier`] of the issuer it names.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use mcp_rbac::verify::{Algorithm, Jwks, JwtVerifier, MultiIssuerVerifier};
///
/// let resource = "https://mcp.example.com/mcp";
/// let staff = JwtVerifier::builder()
///     .issuer("https://login.example.com/realms/staff")
///     .audience(resource)
///     .algorithms([Algorithm::RS256])
///     .jwks(Jwks::discover("https://login.example.com/realms/staff").await?)
///     .build()?;
/// let partners = JwtVerifier::builder()
///     .issuer("https://partners.example.org")
///     .audience(resource)
///     .algorithms([Algorithm::ES256])
///     .jwks(Jwks::discover("https://partners.example.org").await?)
///     .build()?;
/// let verifier = MultiIssuerVerifier::new([staff, partners])?;
/// # let _ = verifier; Ok(()) }
/// ```
#[derive(Debug)]
pub struct MultiIssuerVerifier {
    verifiers: Vec<JwtVerifier>,
    by_issuer: HashMap<String, usize>,
}

/// Why issuers cannot be combined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MultiIssuerError {
    /// Two verifiers trust the same issuer: which keys would decide?
    #[error("issuer `{0}` is trusted by two verifiers; give each issuer one verifier")]
    DuplicateIssuer(String),
    /// No verifier given.
    #[error("no issuer configured")]
    Empty,
}

impl MultiIssuerVerifier {
    /// One verifier per issuer (a verifier trusting several issuers that share keys is fine).
    pub fn new(verifiers: impl IntoIterator<Item = JwtVerifier>) -> Result<Self, MultiIssuerError> {
        let verifiers: Vec<JwtVerifier> = verifiers.into_iter().collect();
        let mut by_issuer = HashMap::new();
        for (index, verifier) in verifiers.iter().enumerate() {
            for issuer in verifier.issuers() {
                if by_issuer.insert(issuer.to_owned(), index).is_some() {
                    return Err(MultiIssuerError::DuplicateIssuer(issuer.to_owned()));
                }
            }
        }
        if verifiers.is_empty() {
            return Err(MultiIssuerError::Empty);
        }
        Ok(MultiIssuerVerifier {
            verifiers,
            by_issuer,
        })
    }
}

impl TokenVerifier for MultiIssuerVerifier {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Principal, AuthError>> {
        Box::pin(async move {
            // Bounded before any decoding; each verifier applies its own cap again.
            if token.len() > self.largest_cap() {
                return Err(AuthError::TooLarge(self.largest_cap()));
            }
            let issuer = unverified_issuer(token)?;
            let index = *self
                .by_issuer
                .get(issuer.as_str())
                .ok_or(AuthError::WrongIssuer)?;
            self.verifiers[index].verify(token).await
        })
    }
}

impl MultiIssuerVerifier {
    fn largest_cap(&self) -> usize {
        self.verifiers
            .iter()
            .map(JwtVerifier::max_token_bytes)
            .max()
            .unwrap_or(DEFAULT_MAX_TOKEN_BYTES)
    }
}
