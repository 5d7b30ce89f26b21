//! Why a token is refused: the one error every verifier returns, read by the bearer layer.

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
