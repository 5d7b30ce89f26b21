//! The verifiers the products server can run with besides its development issuer: an external
//! issuer's JWTs (keys by JWKS), its opaque tokens (RFC 7662 introspection), or static API keys.

use std::path::Path;

use mcp_rbac::verify::{remote, ApiKeyVerifier, IntrospectionVerifier, Jwks, JwtVerifier};
use mcp_rbac::ClaimsMapping;

use super::app::StartError;
use super::cli::{ClientSecret, INTROSPECTION_SECRET_ENV};
use super::policy::role_policy;

/// JWTs of `issuer` for `audience`, keys from `jwks_url` or found through discovery.
pub async fn external_jwt(
    issuer: &str,
    audience: &str,
    jwks_url: Option<&str>,
    mapping: ClaimsMapping,
) -> Result<JwtVerifier, StartError> {
    let jwks_url = match jwks_url {
        Some(url) => url.to_owned(),
        None => remote::discover_jwks_uri(issuer)
            .await
            .map_err(|e| StartError::Keys(e.to_string()))?,
    };
    // Keys follow the issuer's rotations (refresh on `max-age` and on an unknown `kid`).
    let jwks = Jwks::load(jwks_url)
        .await
        .map_err(|e| StartError::Keys(e.to_string()))?;
    JwtVerifier::builder()
        .issuer(issuer)
        .audience(audience)
        .algorithms(jwks.algorithms())
        .jwks(jwks)
        .claims(mapping)
        .build()
        .map_err(|e| StartError::Config(format!("external issuer {issuer}: {e}")))
}

/// Opaque tokens of `issuer` for `audience`, checked at `endpoint` as `client_id`.
pub fn introspection(
    endpoint: &str,
    client_id: &str,
    client_secret: Option<&ClientSecret>,
    issuer: &str,
    audience: &str,
    mapping: ClaimsMapping,
) -> Result<IntrospectionVerifier, StartError> {
    let secret = client_secret.ok_or_else(|| {
        StartError::Config(format!(
            "--introspection-url needs the client secret in the {INTROSPECTION_SECRET_ENV} \
             environment variable"
        ))
    })?;
    IntrospectionVerifier::builder(endpoint)
        .client_credentials(client_id, secret.0.as_str())
        .issuer(issuer)
        .audience(audience)
        .claims(mapping)
        .build()
        .map_err(|e| StartError::Config(format!("introspection at {endpoint}: {e}")))
}

/// The API keys of a TOML key file, roles expanded by the example's policy.
pub fn api_keys(file: &Path) -> Result<ApiKeyVerifier, StartError> {
    ApiKeyVerifier::builder()
        .role_policy(role_policy())
        .keys_from_toml_file(file)
        .and_then(|keys| keys.build())
        .map_err(|e| StartError::Config(format!("--api-keys: {e}")))
}
