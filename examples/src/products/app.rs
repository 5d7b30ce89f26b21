//! Assembling and starting the server: the auth mode, the axum app, the listener.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use mcp_rbac::bearer::{BearerAuthLayer, StepUpLayer};
use mcp_rbac::metadata::ProtectedResource;
use mcp_rbac::testkit::DevIssuer;
use mcp_rbac::verify::TokenVerifier;
use mcp_rbac::ClaimsMapping;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::Layer;

use super::catalog::{Catalog, Counters};
use super::cli::Cli;
use super::policy::role_policy;
use super::server::Products;
use super::verifiers;

/// Why the server did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Cannot listen.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// A flag's value is unusable.
    #[error("{0}")]
    Config(String),
    /// The external issuer's keys could not be fetched.
    #[error("fetching the issuer's keys: {0}")]
    Keys(String),
}

/// Development tokens, one per role.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Tokens {
    /// Role `admin`.
    pub admin: String,
    /// Role `user`.
    pub user: String,
    /// Role `guest`.
    pub guest: String,
}

/// A started server.
pub struct Running {
    /// The bound address.
    pub addr: SocketAddr,
    /// The MCP endpoint's URL (the resource, and the expected audience in development mode).
    pub url: String,
    /// Development tokens, when the development issuer runs.
    pub tokens: Option<Tokens>,
    /// The development issuer, when it runs (tests mint their own tokens with it).
    pub issuer: Option<Arc<DevIssuer>>,
    /// How often each tool body ran.
    pub counters: Arc<Counters>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// What the binary prints at start: whole lines, each ending in a newline.
    pub fn banner(&self) -> String {
        let mut out = format!("products MCP server listening on {}\n", self.url);
        if let (Some(tokens), Some(issuer)) = (&self.tokens, &self.issuer) {
            out.push_str(&format!(
                "development issuer {} (ES256, JWKS at {}{}); tokens valid for 1 hour:\n",
                issuer.issuer(),
                issuer.issuer(),
                mcp_rbac::testkit::JWKS_PATH
            ));
            out.push_str(&format!(
                "ADMIN_TOKEN={}\nUSER_TOKEN={}\nGUEST_TOKEN={}\n",
                tokens.admin, tokens.user, tokens.guest
            ));
            out.push_str(&format!(
                "try: curl -s {} -H \"Authorization: Bearer $ADMIN_TOKEN\" -H 'Content-Type: application/json' \
                 -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2025-11-25' \
                 -d '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{{\"name\":\"whoami\",\"arguments\":{{}}}}}}'\n",
                self.url
            ));
        }
        out
    }

    /// Stops accepting requests and waits for the server task.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }
}

/// Binds, builds the app for `cli`, and serves it in the background.
pub async fn start(cli: Cli) -> Result<Running, StartError> {
    let addr = SocketAddr::new(cli.bind, cli.port);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| StartError::Bind { addr, source })?;
    let host = match addr.ip() {
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    let origin = format!("http://{host}:{}", addr.port());
    let url = cli
        .public_url
        .clone()
        .unwrap_or_else(|| format!("{origin}/mcp"));
    let mut resource =
        ProtectedResource::new(url.clone()).map_err(|e| StartError::Config(e.to_string()))?;
    let mapping = ClaimsMapping::default().with_role_policy(role_policy());

    let mut app = Router::new();
    let (verifier, issuer, tokens): (Arc<dyn TokenVerifier>, _, _) =
        match (&cli.issuer, &cli.api_keys) {
            (Some(external), _) => {
                let audience = cli.audience.clone().unwrap_or_default();
                let verifier: Arc<dyn TokenVerifier> = match &cli.introspection_url {
                    Some(endpoint) => Arc::new(verifiers::introspection(
                        endpoint,
                        cli.client_id.as_deref().unwrap_or_default(),
                        cli.client_secret.as_ref(),
                        external,
                        &audience,
                        mapping,
                    )?),
                    None => Arc::new(
                        verifiers::external_jwt(
                            external,
                            &audience,
                            cli.jwks_url.as_deref(),
                            mapping,
                        )
                        .await?,
                    ),
                };
                resource = resource.authorization_server(external.clone());
                (verifier, None, None)
            }
            (None, Some(file)) => (Arc::new(verifiers::api_keys(file)?), None, None),
            (None, None) => {
                // The development issuer's `iss` is this server's public origin.
                let public_origin = origin_of(&url).unwrap_or(origin.clone());
                let issuer = DevIssuer::generate(public_origin.clone(), url.clone())
                    .map_err(|e| StartError::Config(e.to_string()))?;
                let verifier = issuer
                    .verifier_builder()
                    .claims(mapping)
                    .build()
                    .map_err(|e| StartError::Config(e.to_string()))?;
                let tokens = Tokens {
                    admin: issuer.token(json!({"sub": "admin", "roles": ["admin"]})),
                    user: issuer.token(json!({"sub": "user", "roles": ["user"]})),
                    guest: issuer.token(json!({"sub": "guest", "roles": ["guest"]})),
                };
                resource = resource.authorization_server(public_origin);
                app = app.merge(issuer.router());
                (Arc::new(verifier), Some(Arc::new(issuer)), Some(tokens))
            }
        };
    // Every permission a tool, prompt or resource requires: the scopes a client may ask for.
    let manifest = Products::manifest();
    let resource = resource
        .scopes_from_manifest(&manifest)
        .scopes_from_resources(Products::resources());

    if let (Some(path), Some(tokens)) = (&cli.tokens_out, &tokens) {
        let json = serde_json::to_string_pretty(tokens).unwrap_or_default();
        std::fs::write(path, json)
            .map_err(|e| StartError::Config(format!("writing {}: {e}", path.display())))?;
    }

    let shutdown = CancellationToken::new();
    let mut config =
        StreamableHttpServerConfig::default().with_cancellation_token(shutdown.child_token());
    let mut hosts = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
        host.clone(),
    ];
    if let Some(public_host) = host_of(&url) {
        hosts.push(public_host);
    }
    config = config.with_allowed_hosts(hosts);
    if cli.stateless {
        config = config
            .with_legacy_session_mode(false)
            .with_json_response(true);
    }
    let catalog = Catalog::seeded();
    let counters = catalog.counters();
    let listing = cli.listing();
    let mcp = StreamableHttpService::new(
        move || Ok(Products::new(catalog.clone()).with_listing(listing)),
        LocalSessionManager::default().into(),
        config,
    );
    let path = path_of(&url);
    let auth = BearerAuthLayer::new(verifier, &resource);
    app = if cli.step_up {
        // Inside the bearer layer: it needs the verified principal.
        let step_up = StepUpLayer::new(&manifest, &resource);
        app.route_service(&path, auth.layer(step_up.layer(mcp)))
    } else {
        app.route_service(&path, auth.layer(mcp))
    };
    app = app.merge(resource.router());

    let task = crate::serve::spawn_until(listener, app, shutdown.clone(), "server");
    Ok(Running {
        addr,
        url,
        tokens,
        issuer,
        counters,
        shutdown,
        task,
    })
}

fn origin_of(url: &str) -> Option<String> {
    let uri: http::Uri = url.parse().ok()?;
    Some(format!("{}://{}", uri.scheme_str()?, uri.authority()?))
}

fn host_of(url: &str) -> Option<String> {
    let uri: http::Uri = url.parse().ok()?;
    Some(
        uri.host()?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned(),
    )
}

fn path_of(url: &str) -> String {
    url.parse::<http::Uri>()
        .ok()
        .map(|u| u.path().to_owned())
        .filter(|p| !p.is_empty() && p != "/")
        .unwrap_or_else(|| "/mcp".to_owned())
}
