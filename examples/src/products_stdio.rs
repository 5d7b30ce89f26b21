//! The products server over stdio, as MCP clients launch local servers: the same guarded
//! [`Products`] handler, one caller per process.
//!
//! The caller's token comes from `$MCP_ACCESS_TOKEN` (or `--token-file`) and is verified once, at
//! start, against `--issuer`/`--audience` (keys through RFC 8414 / OIDC discovery, or
//! `--jwks-url`). No token: the server runs and every protected tool answers JSON-RPC 401. A token
//! that does not verify: a message on stderr and exit status 1, never an unauthenticated server.

use std::path::PathBuf;
use std::sync::Arc;

use mcp_rbac::stdio::{principal_from, TokenSource, WithPrincipal, DEFAULT_TOKEN_ENV};
use mcp_rbac::verify::{remote, Jwks, JwtVerifier, TokenVerifier};
use mcp_rbac::{ClaimsMapping, Principal};

use crate::products::policy::{client_policy, role_policy};
use crate::products::{Catalog, Products};

/// The products MCP server on standard input and output.
#[derive(clap::Parser, Debug, Clone)]
#[command(name = "products-stdio", version)]
pub struct Cli {
    /// Read the caller's token from this file instead of $MCP_ACCESS_TOKEN.
    #[arg(long)]
    pub token_file: Option<PathBuf>,

    /// The issuer whose tokens are accepted (needed when a token is given).
    #[arg(long, requires = "audience")]
    pub issuer: Option<String>,

    /// The audience the token must carry.
    #[arg(long, requires = "issuer")]
    pub audience: Option<String>,

    /// The issuer's JWKS (default: found through RFC 8414 / OIDC discovery).
    #[arg(long, requires = "issuer")]
    pub jwks_url: Option<String>,
}

impl Cli {
    /// Where the token comes from.
    pub fn token_source(&self) -> TokenSource {
        match &self.token_file {
            Some(path) => TokenSource::file(path),
            None => TokenSource::env(DEFAULT_TOKEN_ENV),
        }
    }
}

/// The handler to serve, wrapped with the caller verified at start.
pub async fn authenticated_server(cli: &Cli) -> Result<WithPrincipal<Products>, String> {
    let source = cli.token_source();
    let principal = caller(cli, &source).await?;
    match &principal {
        Some(p) => tracing::info!(
            subject = p.subject(),
            "serving stdio as the token's subject"
        ),
        None => tracing::warn!(
            "no token in the {source}: serving unauthenticated (protected tools answer 401)"
        ),
    }
    Ok(WithPrincipal::new(
        Products::new(Catalog::seeded()),
        principal,
    ))
}

async fn caller(cli: &Cli, source: &TokenSource) -> Result<Option<Principal>, String> {
    // Read first: with no token there is nothing to verify, and no issuer to reach.
    if source.read().map_err(|e| e.to_string())?.is_none() {
        return Ok(None);
    }
    let (Some(issuer), Some(audience)) = (&cli.issuer, &cli.audience) else {
        return Err(format!(
            "a token is given in the {source}, but no --issuer and --audience to verify it"
        ));
    };
    let verifier = verifier(issuer, audience, cli.jwks_url.as_deref()).await?;
    principal_from(source, verifier.as_ref())
        .await
        .map_err(|e| e.to_string())
}

async fn verifier(
    issuer: &str,
    audience: &str,
    jwks_url: Option<&str>,
) -> Result<Arc<dyn TokenVerifier>, String> {
    let jwks_url = match jwks_url {
        Some(url) => url.to_owned(),
        None => remote::discover_jwks_uri(issuer)
            .await
            .map_err(|e| format!("discovering the issuer's keys: {e}"))?,
    };
    let jwks = Jwks::load(jwks_url)
        .await
        .map_err(|e| format!("fetching the issuer's keys: {e}"))?;
    let verifier = JwtVerifier::builder()
        .issuer(issuer)
        .audience(audience)
        .algorithms(jwks.algorithms())
        .jwks(jwks)
        .claims(
            ClaimsMapping::default()
                .with_role_policy(role_policy())
                .with_client_policy(client_policy()),
        )
        .build()
        .map_err(|e| format!("issuer {issuer}: {e}"))?;
    Ok(Arc::new(verifier))
}
