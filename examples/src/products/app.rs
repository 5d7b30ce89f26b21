//! Assembling and starting the server: the products handler, its catalogue and the issuer the
//! flags choose, given to [`ServerBuilder`]. Everything else (audience, metadata, allowed hosts,
//! layers, sessions) the builder derives from the resource URL.

use std::net::SocketAddr;
use std::sync::Arc;

use mcp_rbac::audit::{JsonLinesOptions, JsonLinesSink};
use mcp_rbac::cedar::{CedarAuthorizer, CedarError};
use mcp_rbac::server::RunningServer;
use mcp_rbac::store::SharedState;
use mcp_rbac::testkit::DevIssuer;
use mcp_rbac::{ClaimsMapping, Issuer, ServerBuilder};

use super::catalog::{Catalog, Counters};
use super::cli::Cli;
use super::policy::{client_policy, role_policy};
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
    /// Where `GET /metrics` is served, with `--metrics`.
    pub metrics: Option<SocketAddr>,
    /// DPoP replay, revocations and session owners (in Redis with `--redis`).
    pub state: Arc<dyn SharedState>,
    stateless: bool,
    server: RunningServer,
}

impl Running {
    /// What the binary prints at start: whole lines, each ending in a newline. Every command
    /// in it runs as printed (a shell that ran the `*_TOKEN=` lines has the tokens): with
    /// sessions, `initialize` first and the session's id on every call after it.
    pub fn banner(&self) -> String {
        let mut out = self.server.banner();
        if self.tokens.is_none() {
            return out;
        }
        let post = format!(
            "curl -s {} -H \"Authorization: Bearer $ADMIN_TOKEN\" -H 'Content-Type: application/json' \
             -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2025-11-25'",
            self.url
        );
        let call = r#"-d '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"whoami","arguments":{}}}'"#;
        if self.stateless {
            out.push_str(&format!("# try:\n{post} {call}\n"));
        } else {
            out.push_str(&format!(
                "# try (a session: initialize, then name the session on every request):\n\
                 SESSION=$({post} -D - -o /dev/null -d '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{{}},\"clientInfo\":{{\"name\":\"curl\",\"version\":\"1\"}}}}}}' | tr -d '\\r' | sed -n 's/^mcp-session-id: //Ip')\n\
                 {post} -H \"Mcp-Session-Id: $SESSION\" -d '{{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}}'\n\
                 {post} -H \"Mcp-Session-Id: $SESSION\" {call}\n"
            ));
        }
        out
    }

    /// Stops accepting requests and waits for the server task.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// Binds, builds the app for `cli`, and serves it in the background.
pub async fn start(cli: Cli) -> Result<Running, StartError> {
    let url = cli
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}/mcp", host_port(cli.listen_addr())));
    let cedar = cli.cedar.as_deref().map(cedar_authorizer).transpose()?;
    let mapping = ClaimsMapping::default().with_role_policy(role_policy());
    let external = cli.issuer.as_ref().filter(|i| *i != "development");
    let issuer = match (external, &cli.api_keys) {
        (Some(external), _) => {
            let audience = cli.audience.clone().unwrap_or_default();
            match (&cli.introspection_url, &cli.jwks_url) {
                (Some(endpoint), _) => Issuer::verifier(
                    verifiers::introspection(
                        endpoint,
                        cli.client_id.as_deref().unwrap_or_default(),
                        cli.client_secret.as_ref(),
                        external,
                        &audience,
                        mapping.clone(),
                    )?,
                    Some(external),
                ),
                (None, Some(jwks_url)) => Issuer::jwks(external, jwks_url),
                (None, None) => Issuer::discover(external),
            }
        }
        (None, Some(file)) => Issuer::verifier(verifiers::api_keys(file)?, None::<String>),
        (None, None) => Issuer::development(),
    };
    let mut builder = ServerBuilder::new(url)
        .name("products MCP server")
        .bind(cli.listen_addr())
        .issuer(issuer)
        .claims(mapping)
        .role_policy(role_policy())
        .client_policy(client_policy())
        .list_mode(cli.listing())
        .manifest(Products::manifest())
        .resources(Products::resources())
        .step_up(cli.step_up)
        .stateless(cli.stateless)
        .max_concurrent_requests(cli.max_concurrent_requests)
        .request_timeout(cli.request_timeout)
        .body_timeout(cli.body_timeout)
        .shutdown_timeout(cli.shutdown_timeout);
    // With Cedar the policy file decides every call instead of the role policy and the
    // requirements. The role policy still fills in the principal's permissions, which the code
    // reads (`whoami`, update_product's ownership condition); the file names roles itself.
    if let Some(cedar) = cedar {
        builder = builder.authorizer_replacing_requirements(cedar);
    }
    if let Some(audience) = &cli.audience {
        builder = builder.audience(audience);
    }
    if let Some(path) = &cli.audit_log {
        let sink = JsonLinesSink::open(path, JsonLinesOptions::default())
            .map_err(|e| StartError::Config(format!("audit log {}: {e}", path.display())))?;
        builder = builder.audit_sink(sink);
    }
    if let Some(addr) = cli.metrics {
        builder = builder.metrics(addr);
    }
    if let Some(mode) = cli.dpop {
        builder = builder.dpop(mode.into());
    }
    if let Some(url) = &cli.redis {
        builder = builder.redis(url);
    }
    let catalog = Catalog::seeded();
    let counters = catalog.counters();
    let server = builder
        .start(move || Products::new(catalog.clone()))
        .await
        .map_err(|e| match e {
            mcp_rbac::ServerError::Keys { .. } => StartError::Keys(e.to_string()),
            mcp_rbac::ServerError::Bind { addr, source } => StartError::Bind { addr, source },
            e => StartError::Config(e.to_string()),
        })?;
    let development = server.assembled().development_tokens();
    let tokens = development.and_then(|t| {
        Some(Tokens {
            admin: t.get("admin")?.to_owned(),
            user: t.get("user")?.to_owned(),
            guest: t.get("guest")?.to_owned(),
        })
    });
    if let (Some(path), Some(tokens)) = (&cli.tokens_out, &tokens) {
        let json = serde_json::to_string_pretty(tokens).unwrap_or_default();
        std::fs::write(path, json)
            .map_err(|e| StartError::Config(format!("writing {}: {e}", path.display())))?;
    }
    Ok(Running {
        addr: server.local_addr(),
        url: server.url().to_owned(),
        issuer: server.assembled().development_issuer().cloned(),
        tokens,
        stateless: cli.stateless,
        metrics: server.metrics_addr(),
        state: server.assembled().shared_state().clone(),
        counters,
        server,
    })
}

/// The Cedar policies of `path`, checked against the server's tools, prompts and resources.
pub fn cedar_authorizer(path: &std::path::Path) -> Result<CedarAuthorizer, StartError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| StartError::Config(format!("Cedar policy {}: {e}", path.display())))?;
    cedar_authorizer_of(&text)
        .map_err(|e| StartError::Config(format!("Cedar policy {}: {e}", path.display())))
}

/// The Cedar policies `text`, checked against the server's tools, prompts and resources.
pub fn cedar_authorizer_of(text: &str) -> Result<CedarAuthorizer, CedarError> {
    CedarAuthorizer::builder(text)
        .tools(Products::tools())
        .prompts(Products::prompts())
        .resources(Products::resources())
        .build()
}

/// `127.0.0.1:8000`, `[::1]:8000`; port 0 stays 0 (the builder fills in the bound port).
fn host_port(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(v4) => v4.to_string(),
        SocketAddr::V6(v6) => format!("[{}]:{}", v6.ip(), v6.port()),
    }
}
