//! The verifiers the products server builds itself (the server builder makes the JWT ones): an
//! external issuer's opaque tokens (RFC 7662 introspection), or static API keys.

use std::path::Path;

use mcp_rbac::verify::{ApiKeyVerifier, IntrospectionVerifier};
use mcp_rbac::ClaimsMapping;

use super::app::StartError;
use super::cli::{ClientSecret, INTROSPECTION_SECRET_ENV};
use super::policy::role_policy;

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
