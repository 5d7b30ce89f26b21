//! One way to assemble a protected MCP server: give the resource URL once, an issuer and the
//! roles; get an [`axum::Router`] or a running server.
//!
//! The resource URL (`https://mcp.example.com/mcp`) is the one thing the pieces must agree on, so
//! the builder derives every one of them from it: the audience tokens must carry (MCP
//! authorization specification, "Token Audience Binding and Validation"), the RFC 9728 metadata
//! document at both well-known locations, rmcp's allowed `Host` values, and the path the MCP
//! endpoint is served at.
//!
//! ```no_run
//! use mcp_rbac::{Issuer, Role, RolePolicy, ServerBuilder};
//! # #[derive(Clone)] struct Notes;
//! # #[mcp_rbac::tool_router] impl Notes {
//! #     #[tool(requires = "Notes.Read")] async fn read(&self) -> String { String::new() }
//! # }
//! # #[mcp_rbac::tool_handler] impl rmcp::ServerHandler for Notes {}
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let roles = RolePolicy::new([Role::new("reader").grants(["Notes.Read"])])?;
//! ServerBuilder::new("https://mcp.example.com/mcp")
//!     .bind("0.0.0.0:8000".parse()?)
//!     .issuer(Issuer::discover("https://login.example.com"))
//!     .role_policy(roles)
//!     .with_env()?                  // MCP_RBAC_* variables override what the code says
//!     .serve(|| Notes)              // until Ctrl-C or SIGTERM
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! Every setting also comes from the environment ([`ServerBuilder::with_env`]), so a container
//! needs no code change; the README's "Configuration from the environment" lists the variables.

mod env;
#[cfg(feature = "metrics")]
mod exporter;
pub mod limits;
pub mod listener;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::ServerHandler;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_layer::Layer;

pub use env::{ENV_VARIABLES, PRESETS};
pub use limits::{
    DEFAULT_BODY_TIMEOUT, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_CONCURRENT_REQUESTS,
    DEFAULT_REQUEST_TIMEOUT,
};
pub use listener::{Lingering, DEFAULT_LINGER};

use self::limits::Limits;

use crate::authorizer::{Authorization, Authorizer, Placement};
use crate::bearer::{BearerAuthLayer, Dpop, DpopMode, StepUpLayer};
use crate::guard::{Listing, ResourceGuard};
use crate::metadata::ProtectedResource;
use crate::store::SharedState;
use crate::verify::TokenVerifier;
use crate::{ClaimsMapping, ClientPolicy, Manifest, RolePolicy};

/// How long a graceful shutdown waits for requests in flight before it gives up on them.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// Where tokens come from.
#[derive(Clone)]
pub struct Issuer(IssuerKind);

#[derive(Clone)]
enum IssuerKind {
    #[cfg(feature = "testkit")]
    Development,
    #[cfg(feature = "jwks")]
    Discover { issuer: String },
    #[cfg(feature = "jwks")]
    Jwks { issuer: String, jwks_url: String },
    Verifier {
        verifier: Arc<dyn TokenVerifier>,
        authorization_server: Option<String>,
    },
}

impl Issuer {
    /// An embedded development issuer: an ES256 key generated at start (memory only), its JWKS
    /// and OIDC discovery document served by this server, and a one-hour token for every role of
    /// the role policy, printed at start. For development only: the key dies with the process.
    #[cfg(feature = "testkit")]
    pub fn development() -> Self {
        Issuer(IssuerKind::Development)
    }

    /// JWTs of `issuer`, whose keys are found through OIDC discovery or RFC 8414 metadata and
    /// follow its rotations.
    #[cfg(feature = "jwks")]
    pub fn discover(issuer: impl Into<String>) -> Self {
        Issuer(IssuerKind::Discover {
            issuer: issuer.into(),
        })
    }

    /// JWTs of `issuer`, with keys from the JWKS at `jwks_url`.
    #[cfg(feature = "jwks")]
    pub fn jwks(issuer: impl Into<String>, jwks_url: impl Into<String>) -> Self {
        Issuer(IssuerKind::Jwks {
            issuer: issuer.into(),
            jwks_url: jwks_url.into(),
        })
    }

    /// Any [`TokenVerifier`] (introspection, API keys, several issuers, your own).
    /// `authorization_server` is what the metadata document names as the issuer clients get
    /// tokens from (none for API keys).
    pub fn verifier(
        verifier: impl TokenVerifier,
        authorization_server: Option<impl Into<String>>,
    ) -> Self {
        Issuer(IssuerKind::Verifier {
            verifier: Arc::new(verifier),
            authorization_server: authorization_server.map(Into::into),
        })
    }
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            #[cfg(feature = "testkit")]
            IssuerKind::Development => f.write_str("Issuer::development()"),
            #[cfg(feature = "jwks")]
            IssuerKind::Discover { issuer } => write!(f, "Issuer::discover({issuer:?})"),
            #[cfg(feature = "jwks")]
            IssuerKind::Jwks { issuer, jwks_url } => {
                write!(f, "Issuer::jwks({issuer:?}, {jwks_url:?})")
            }
            IssuerKind::Verifier { .. } => f.write_str("Issuer::verifier(..)"),
        }
    }
}

/// Why a server could not be assembled or started. Each message names the setting (and the
/// environment variable, where one was read) at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// A setting's value is unusable.
    #[error("{0}")]
    Config(String),
    /// The resource URL is not one the metadata document can name.
    #[error("resource URL: {0}")]
    ResourceUrl(#[from] crate::metadata::ResourceUrlError),
    /// The development issuer's key could not be made.
    #[cfg(feature = "testkit")]
    #[error(transparent)]
    DevelopmentIssuer(#[from] crate::testkit::DevIssuerError),
    /// The verifier for an issuer's tokens could not be built.
    #[error("issuer {issuer}: {source}")]
    Verifier {
        /// The issuer.
        issuer: String,
        /// Why.
        source: crate::verify::JwtConfigError,
    },
    /// The role policy file could not be read or is invalid.
    #[error("role policy {path}: {source}")]
    RolePolicy {
        /// The file.
        path: PathBuf,
        /// Why.
        source: crate::PolicyError,
    },
    /// The client policy file could not be read or is invalid.
    #[error("client policy {path}: {source}")]
    ClientPolicy {
        /// The file.
        path: PathBuf,
        /// Why.
        source: crate::ClientPolicyError,
    },
    /// The issuer's keys could not be fetched (discovery or JWKS).
    #[cfg(feature = "jwks")]
    #[error("fetching the keys of issuer {issuer}: {source}")]
    Keys {
        /// The issuer.
        issuer: String,
        /// Why.
        source: crate::verify::remote::FetchError,
    },
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Where the bearer layer's state between requests lives.
enum StateSource {
    Given(Arc<dyn SharedState>),
    #[cfg(feature = "redis")]
    Redis(String),
}

enum PolicySource {
    Inline(RolePolicy),
    File(PathBuf),
}

enum ClientPolicySource {
    Inline(ClientPolicy),
    /// Only [`ServerBuilder::client_policy_file`] (feature `toml`) makes one.
    #[cfg_attr(not(feature = "toml"), allow(dead_code))]
    File(PathBuf),
}

/// Assembles a protected MCP server over rmcp's streamable HTTP transport. See the [module
/// documentation](self).
pub struct ServerBuilder {
    name: String,
    resource_url: String,
    bind: Option<SocketAddr>,
    issuer: Option<Issuer>,
    audience: Option<String>,
    claims: ClaimsMapping,
    role_policy: Option<PolicySource>,
    client_policy: Option<ClientPolicySource>,
    listing: Option<Listing>,
    authorization: Option<Authorization>,
    manifest: Option<Manifest>,
    resource_scopes: Vec<String>,
    step_up: bool,
    dpop: Option<DpopMode>,
    stateless: bool,
    shared_state: Option<StateSource>,
    allowed_hosts: Vec<String>,
    shutdown_timeout: Duration,
    limits: Limits,
    audit_sinks: Vec<Box<dyn FnOnce(crate::audit::Audit) -> crate::audit::Audit + Send>>,
    #[cfg(feature = "metrics")]
    metrics: Option<SocketAddr>,
}

impl ServerBuilder {
    /// A server whose MCP endpoint is `resource_url` (e.g. `https://mcp.example.com/mcp`): the
    /// URL clients use, the audience tokens must carry, the metadata's `resource`. A port of `0`
    /// (`http://127.0.0.1:0/mcp`) binds a free port and puts it into the URL.
    pub fn new(resource_url: impl Into<String>) -> Self {
        ServerBuilder {
            name: "MCP server".to_owned(),
            resource_url: resource_url.into(),
            bind: None,
            issuer: None,
            audience: None,
            claims: ClaimsMapping::default(),
            role_policy: None,
            client_policy: None,
            listing: None,
            authorization: None,
            manifest: None,
            resource_scopes: Vec::new(),
            step_up: false,
            dpop: None,
            stateless: false,
            shared_state: None,
            allowed_hosts: Vec::new(),
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            limits: Limits::default(),
            audit_sinks: Vec::new(),
            #[cfg(feature = "metrics")]
            metrics: None,
        }
    }

    /// What the start-up banner calls this server (`<name> listening on <url>`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The resource URL set by [`new`](Self::new).
    pub fn resource_url(&self) -> &str {
        &self.resource_url
    }

    /// Where to listen. Default: the resource URL's host (an IP address or `localhost`) and port;
    /// a URL naming another host (a server behind a proxy) needs this.
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = Some(addr);
        self
    }

    /// Where tokens come from. Required.
    pub fn issuer(mut self, issuer: Issuer) -> Self {
        self.issuer = Some(issuer);
        self
    }

    /// Shorthand for [`Issuer::verifier`] without an authorization server.
    pub fn verifier(self, verifier: impl TokenVerifier) -> Self {
        self.issuer(Issuer::verifier(verifier, None::<String>))
    }

    /// The audience JWTs must carry, when it is not the resource URL (an IdP that cannot issue
    /// RFC 8707 resource-bound tokens names its own audience).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Where permissions, scopes and roles are read from in the token (default:
    /// [`ClaimsMapping::default`]: `permissions`, `scope`/`scp`, `roles`).
    pub fn claims(mut self, mapping: ClaimsMapping) -> Self {
        self.claims = mapping;
        self
    }

    /// What each role grants.
    pub fn role_policy(mut self, policy: RolePolicy) -> Self {
        self.role_policy = Some(PolicySource::Inline(policy));
        self
    }

    /// What each role grants, from a TOML file read when the server is assembled.
    #[cfg(feature = "toml")]
    pub fn role_policy_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.role_policy = Some(PolicySource::File(path.into()));
        self
    }

    /// What each OAuth client may do for its user: every principal's permissions are capped by
    /// the ceiling of its client and of the clients in its actor chain (see [`ClientPolicy`]
    /// and the [client ceilings guide](crate::guides::client_ceilings)). Applies to every
    /// issuer, [`Issuer::verifier`] ones included.
    pub fn client_policy(mut self, policy: ClientPolicy) -> Self {
        self.client_policy = Some(ClientPolicySource::Inline(policy));
        self
    }

    /// The client policy from a TOML file read when the server is assembled (see
    /// [`ClientPolicy::from_toml_str`]).
    #[cfg(feature = "toml")]
    pub fn client_policy_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.client_policy = Some(ClientPolicySource::File(path.into()));
        self
    }

    /// How lists treat items the caller may not use, for handlers without their own
    /// `listing = …` (default: hidden).
    pub fn list_mode(mut self, listing: Listing) -> Self {
        self.listing = Some(listing);
        self
    }

    /// A policy engine consulted on every call, prompt and resource read (with the call's
    /// arguments) and for every listed item (without), after the item's requirement holds: both
    /// must allow. See [`crate::authorizer`].
    pub fn authorizer(mut self, authorizer: impl Authorizer) -> Self {
        self.authorization = Some(Authorization {
            authorizer: std::sync::Arc::new(authorizer),
            placement: Placement::Beside,
        });
        self
    }

    /// A policy engine that decides alone: the items' requirements (`requires`, `public`) are
    /// not checked, and the role policy grants nothing the engine does not read. For a
    /// deployment whose policy file (e.g. Cedar) replaces the role policy and the requirements;
    /// it must permit every item it should serve, public ones included. The manifest and
    /// step-up still show the code's requirements.
    pub fn authorizer_replacing_requirements(mut self, authorizer: impl Authorizer) -> Self {
        self.authorization = Some(Authorization {
            authorizer: std::sync::Arc::new(authorizer),
            placement: Placement::Replacing,
        });
        self
    }

    /// The server's permission manifest (`Type::tool_router_manifest()`, merged with the prompt
    /// router's): the metadata's `scopes_supported` lists every permission it requires, and
    /// [`step_up`](Self::step_up) reads the tools' requirements from it.
    pub fn manifest(mut self, manifest: Manifest) -> Self {
        self.manifest = Some(manifest);
        self
    }

    /// Guarded resources: their permissions join `scopes_supported`.
    pub fn resources(mut self, guard: &ResourceGuard) -> Self {
        self.resource_scopes
            .extend(crate::metadata::resource_scopes(guard));
        self
    }

    /// Answer a refused `tools/call` that more OAuth scopes would allow with the MCP
    /// specification's HTTP 403 `insufficient_scope` challenge (needs [`manifest`](Self::manifest)).
    pub fn step_up(mut self, on: bool) -> Self {
        self.step_up = on;
        self
    }

    /// Accepts DPoP-bound tokens with their proofs (RFC 9449) beside bearer tokens
    /// ([`DpopMode::Accept`]), or only them ([`DpopMode::Require`]): proofs must name the resource
    /// URL, with an `iat` within a minute; the metadata lists the proof algorithms. See the
    /// [DPoP guide](crate::guides::dpop); [`BearerAuthLayer::dpop`] takes the other settings.
    pub fn dpop(mut self, mode: DpopMode) -> Self {
        self.dpop = Some(mode);
        self
    }

    /// Where DPoP proof `jti`s, revocations and session owners are kept (this process's
    /// [`MemoryState`](crate::store::MemoryState) unless set): replicas behind a load balancer
    /// share one, e.g. a [`RedisState`](crate::store). With sessions, a state that shares them
    /// also keeps rmcp's session state, so any replica serves any session. When the state cannot
    /// answer, protected requests get `503` with `Retry-After` (the
    /// [replicas guide](crate::guides::replicas)).
    pub fn shared_state(mut self, state: Arc<dyn SharedState>) -> Self {
        self.shared_state = Some(StateSource::Given(state));
        self
    }

    /// [`shared_state`](Self::shared_state) in the Redis (or Valkey) at `url`
    /// (`redis://host:6379`), with [`RedisState`](crate::store::RedisState)'s defaults. The
    /// connection is made on first use and remade whenever it is lost: the server starts while
    /// Redis is down (refusing protected requests until it is up); a malformed URL stops it.
    #[cfg(feature = "redis")]
    pub fn redis(mut self, url: impl Into<String>) -> Self {
        self.shared_state = Some(StateSource::Redis(url.into()));
        self
    }

    /// Answer each POST on its own, without sessions, with a JSON body (rmcp's stateless mode).
    pub fn stateless(mut self, on: bool) -> Self {
        self.stateless = on;
        self
    }

    /// Another `Host` value rmcp accepts (the resource URL's host and loopback are accepted).
    pub fn allowed_host(mut self, host: impl Into<String>) -> Self {
        self.allowed_hosts.push(host.into());
        self
    }

    /// How long a graceful shutdown waits for requests in flight ([`DEFAULT_SHUTDOWN_TIMEOUT`]).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Decision records also go to `sink` (besides the `tracing` events), each carrying the
    /// policy version of the manifest and role policy given here; see [`crate::audit`].
    pub fn audit_sink(mut self, sink: impl crate::audit::AuditSink) -> Self {
        self.audit_sinks
            .push(Box::new(move |audit| audit.sink(sink)));
        self
    }

    /// The largest request body the MCP endpoint reads ([`DEFAULT_MAX_BODY_BYTES`]); a larger
    /// one gets `413 Payload Too Large`. See [`limits`] for where each limit sits.
    pub fn max_body_bytes(mut self, max: usize) -> Self {
        self.limits.max_body_bytes = max;
        self
    }

    /// How long a client may take to send a request body, first byte to last
    /// ([`DEFAULT_BODY_TIMEOUT`]); a slower one gets `408 Request Timeout`.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.limits.body_timeout = timeout;
        self
    }

    /// How many requests run at once ([`DEFAULT_MAX_CONCURRENT_REQUESTS`]); one more is answered
    /// at once with `503 Service Unavailable` and `Retry-After`, never queued.
    pub fn max_concurrent_requests(mut self, max: usize) -> Self {
        self.limits.max_concurrent_requests = max;
        self
    }

    /// How long a request may take to produce its answer ([`DEFAULT_REQUEST_TIMEOUT`]); a slower
    /// one gets `503 Service Unavailable`. A stream of server-sent events is not cut.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.limits.request_timeout = timeout;
        self
    }

    /// Serve the process's metrics (the `mcp_rbac_*` ones among them; see the metrics guide) as
    /// Prometheus text at `GET /metrics` on `addr`, a listener of its own outside the bearer
    /// layer, from [`start`](Self::start) until the server stops. The first server that serves
    /// metrics installs the Prometheus recorder as the process's global one; a process whose
    /// global recorder is another one cannot start such a server. Port `0` picks a free port
    /// ([`RunningServer::metrics_addr`]).
    #[cfg(feature = "metrics")]
    pub fn metrics(mut self, addr: SocketAddr) -> Self {
        self.metrics = Some(addr);
        self
    }

    /// The settings of the process environment's `MCP_RBAC_*` variables, over what the code set
    /// (see [`ENV_VARIABLES`]). A variable that is set but unusable is an error naming it.
    pub fn with_env(self) -> Result<Self, ServerError> {
        self.with_vars(|name| std::env::var(name).ok())
    }

    /// [`with_env`](Self::with_env) with the variables read through `lookup`.
    pub fn with_vars(self, lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ServerError> {
        env::apply(self, &|name: &str| {
            lookup(name).filter(|v| !v.trim().is_empty())
        })
    }

    /// The assembled app, without listening: the MCP endpoint behind the bearer layer, the
    /// metadata documents and, with the development issuer, its JWKS. Merge routes of your own
    /// into it and serve it with axum.
    pub async fn router<S, F>(self, factory: F) -> Result<Assembled, ServerError>
    where
        S: ServerHandler + Send + 'static,
        F: Fn() -> S + Send + Sync + 'static,
    {
        let url = self.resource_url.clone();
        let never = CancellationToken::new();
        self.assemble(url, factory, never, limits::InFlight::default())
            .await
    }

    /// Binds, assembles and serves in the background until [`RunningServer::shutdown`].
    pub async fn start<S, F>(self, factory: F) -> Result<RunningServer, ServerError>
    where
        S: ServerHandler + Send + 'static,
        F: Fn() -> S + Send + Sync + 'static,
    {
        let uri = parse_url(&self.resource_url)?;
        let addr = match self.bind {
            Some(addr) => addr,
            None => default_bind(&uri)?,
        };
        let (listener, addr) = bind_listener(addr).await?;
        #[cfg(feature = "metrics")]
        let metrics = match self.metrics {
            Some(addr) => Some(exporter::bind(addr).await?),
            None => None,
        };
        // Port 0 in the URL: the port the system chose.
        let url = if uri.port_u16() == Some(0) {
            let host = uri.host().unwrap_or("127.0.0.1");
            let scheme = uri.scheme_str().unwrap_or("http");
            format!("{scheme}://{host}:{}{}", addr.port(), uri.path())
        } else {
            self.resource_url.clone()
        };
        let name = self.name.clone();
        let timeout = self.shutdown_timeout;
        let stop = CancellationToken::new();
        let sessions = CancellationToken::new();
        let in_flight = limits::InFlight::default();
        let assembled = self
            .assemble(url, factory, sessions.clone(), in_flight.clone())
            .await?;
        let app = assembled.router.clone();
        let task = tokio::spawn({
            let stop = stop.clone();
            async move {
                let served = axum::serve(Lingering::new(listener), app)
                    .with_graceful_shutdown(stop.cancelled_owned())
                    .await;
                if let Err(e) = served {
                    tracing::error!(target: "mcp_rbac::server", "server stopped: {e}");
                }
            }
        });
        Ok(RunningServer {
            addr,
            name,
            assembled,
            #[cfg(feature = "metrics")]
            metrics: metrics.map(|bound| bound.serve(stop.clone())),
            stop,
            sessions,
            in_flight,
            timeout,
            task,
        })
    }

    /// Binds, prints the address (and the development tokens) on stdout, and serves until Ctrl-C
    /// or SIGTERM; then stops accepting, lets requests in flight finish (up to the shutdown
    /// timeout) and returns.
    pub async fn serve<S, F>(self, factory: F) -> Result<(), ServerError>
    where
        S: ServerHandler + Send + 'static,
        F: Fn() -> S + Send + Sync + 'static,
    {
        let running = self.start(factory).await?;
        running.print_banner();
        shutdown_signal().await;
        running.shutdown().await;
        Ok(())
    }

    async fn assemble<S, F>(
        self,
        url: String,
        factory: F,
        sessions: CancellationToken,
        in_flight: limits::InFlight,
    ) -> Result<Assembled, ServerError>
    where
        S: ServerHandler + Send + 'static,
        F: Fn() -> S + Send + Sync + 'static,
    {
        let uri = parse_url(&url)?;
        let mut resource = ProtectedResource::new(url.clone())?;
        let policy = match self.role_policy {
            Some(PolicySource::Inline(policy)) => Some(policy),
            Some(PolicySource::File(path)) => Some(read_policy(path)?),
            None => None,
        };
        let claims = match &policy {
            Some(policy) => self.claims.with_role_policy(policy.clone()),
            None => self.claims,
        };
        let client_policy = match self.client_policy {
            Some(ClientPolicySource::Inline(policy)) => Some(policy),
            Some(ClientPolicySource::File(path)) => Some(read_client_policy(path)?),
            None => None,
        };
        let claims = match &client_policy {
            Some(clients) => claims.with_client_policy(clients.clone()),
            None => claims,
        };
        let audience = self.audience.unwrap_or_else(|| url.clone());
        let issuer = self.issuer.ok_or_else(|| {
            ServerError::Config(
                "no issuer: call .issuer(..) or set MCP_RBAC_ISSUER (the MCP endpoint never \
                 serves without verifying tokens)"
                    .to_owned(),
            )
        })?;

        // Only the JWT issuers read them; a custom verifier maps its own claims.
        #[cfg(not(any(feature = "jwks", feature = "testkit")))]
        let _ = (claims, audience);
        let mut app = Router::new();
        let (verifier, development): (Arc<dyn TokenVerifier>, Option<Development>) = match issuer.0
        {
            #[cfg(feature = "testkit")]
            IssuerKind::Development => {
                let origin = format!(
                    "{}://{}",
                    uri.scheme_str().unwrap_or("http"),
                    uri.authority().map(|a| a.as_str()).unwrap_or_default()
                );
                let dev = crate::testkit::DevIssuer::generate(origin.clone(), audience.clone())?;
                let verifier = dev
                    .verifier_builder()
                    .claims(claims)
                    .build()
                    .map_err(|source| ServerError::Verifier {
                        issuer: origin.clone(),
                        source,
                    })?;
                let roles: Vec<String> = policy
                    .as_ref()
                    .map(|p| p.roles().into_iter().map(str::to_owned).collect())
                    .unwrap_or_default();
                let tokens = DevelopmentTokens::mint(&dev, &roles);
                app = app.merge(dev.router());
                resource = resource.authorization_server(origin);
                (Arc::new(verifier), Some((Arc::new(dev), tokens)))
            }
            #[cfg(feature = "jwks")]
            IssuerKind::Discover { issuer } => {
                let jwks = crate::verify::Jwks::discover(&issuer).await;
                resource = resource.authorization_server(issuer.clone());
                (jwt_verifier(issuer, &audience, jwks, claims)?, None)
            }
            #[cfg(feature = "jwks")]
            IssuerKind::Jwks { issuer, jwks_url } => {
                let jwks = crate::verify::Jwks::load(jwks_url).await;
                resource = resource.authorization_server(issuer.clone());
                (jwt_verifier(issuer, &audience, jwks, claims)?, None)
            }
            IssuerKind::Verifier {
                verifier,
                authorization_server,
            } => {
                if let Some(server) = authorization_server {
                    resource = resource.authorization_server(server);
                }
                let verifier: Arc<dyn TokenVerifier> = match &client_policy {
                    Some(clients) => Arc::new(Capped {
                        verifier,
                        policy: clients.clone(),
                    }),
                    None => verifier,
                };
                (verifier, None)
            }
        };
        if let Some(manifest) = &self.manifest {
            resource = resource.scopes_from_manifest(manifest);
        }
        resource = resource.scopes(self.resource_scopes);

        let mut config =
            StreamableHttpServerConfig::default().with_cancellation_token(sessions.child_token());
        let mut hosts = vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ];
        if let Some(host) = uri.host() {
            hosts.push(
                host.trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_owned(),
            );
        }
        hosts.extend(self.allowed_hosts);
        config = config.with_allowed_hosts(hosts);
        let state: Option<Arc<dyn SharedState>> = match self.shared_state {
            None => None,
            Some(StateSource::Given(state)) => Some(state),
            #[cfg(feature = "redis")]
            Some(StateSource::Redis(url)) => Some(Arc::new(
                crate::store::RedisState::open(url)
                    .map_err(|e| ServerError::Config(e.to_string()))?,
            )),
        };
        if self.stateless {
            config = config
                .with_legacy_session_mode(false)
                .with_json_response(true);
        } else if let Some(state) = &state {
            config.session_store = state.mcp_session_store();
        }
        let mcp = StreamableHttpService::new(
            move || Ok(factory()),
            LocalSessionManager::default().into(),
            config,
        );
        let path = match uri.path().trim_end_matches('/') {
            "" => "/".to_owned(),
            path => path.to_owned(),
        };
        let dpop = self.dpop.map(|mode| Dpop::new(mode, &resource));
        if let Some(dpop) = &dpop {
            let required = dpop.mode() == DpopMode::Require;
            resource = resource.dpop(dpop.algorithm_names(), required);
        }
        let mut auth = BearerAuthLayer::new(verifier, &resource);
        if let Some(dpop) = dpop {
            auth = auth.dpop(dpop);
        }
        if let Some(state) = state {
            auth = auth.shared_state(state);
        }
        let state = auth.state().clone();
        let listing = self.listing.unwrap_or_default();
        let with_listing = axum::Extension(listing);
        let mcp = axum::Extension(self.authorization).layer(mcp);
        // Request → bearer layer → limits (body, concurrency, timeout) → list mode → step-up →
        // authorizer → rmcp.
        let endpoint = match (self.step_up, &self.manifest) {
            (true, Some(manifest)) => {
                // Inside the bearer layer: it needs the verified principal.
                let step_up = StepUpLayer::new(manifest, &resource);
                limits::endpoint(with_listing.layer(step_up.layer(mcp)))
            }
            (true, None) => {
                return Err(ServerError::Config(
                    "step-up needs the manifest: call .manifest(Type::tool_router_manifest())"
                        .to_owned(),
                ))
            }
            (false, _) => limits::endpoint(with_listing.layer(mcp)),
        };
        let mut audit = crate::audit::Audit::new(
            self.manifest
                .clone()
                .unwrap_or_default()
                .policy_version_with_clients(policy.as_ref(), client_policy.as_ref()),
        );
        for add in self.audit_sinks {
            audit = add(audit);
        }
        // Outside the bearer layer: its refusals are decisions too.
        let with_audit = axum::Extension(audit.clone());
        app = app.route_service(
            &path,
            with_audit.layer(auth.layer(self.limits.wrap(endpoint, in_flight))),
        );
        app = app.merge(resource.router());
        Ok(Assembled {
            router: app,
            url,
            resource,
            development,
            audit,
            state,
        })
    }
}

/// A listener on `addr` (port 0: a free one), and the address it got.
async fn bind_listener(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), ServerError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| ServerError::Bind { addr, source })?;
    Ok((listener, bound))
}

fn parse_url(url: &str) -> Result<http::Uri, ServerError> {
    let uri: http::Uri = url.parse().map_err(|_| {
        ServerError::Config(format!(
            "resource URL `{url}` is not an absolute http(s) URL"
        ))
    })?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(_)) => Ok(uri),
        _ => Err(ServerError::Config(format!(
            "resource URL `{url}` is not an absolute http(s) URL"
        ))),
    }
}

fn default_bind(uri: &http::Uri) -> Result<SocketAddr, ServerError> {
    let host = uri.host().unwrap_or_default();
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        });
    let ip = match host.trim_start_matches('[').trim_end_matches(']') {
        "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        literal => literal.parse().map_err(|_| {
            ServerError::Config(format!(
                "the resource URL's host `{host}` is not an address to listen on: call \
                 .bind(addr) or set MCP_RBAC_BIND (e.g. 0.0.0.0:8000 behind a proxy)"
            ))
        })?,
    };
    Ok(SocketAddr::new(ip, port))
}

fn read_policy(path: PathBuf) -> Result<RolePolicy, ServerError> {
    #[cfg(feature = "toml")]
    {
        RolePolicy::from_toml_file(&path).map_err(|source| ServerError::RolePolicy { path, source })
    }
    #[cfg(not(feature = "toml"))]
    {
        Err(ServerError::Config(format!(
            "role policy {}: reading TOML needs the `toml` feature",
            path.display()
        )))
    }
}

/// Caps the principals of a verifier that does not apply a client policy itself (one given to
/// [`Issuer::verifier`](crate::Issuer::verifier)).
struct Capped {
    verifier: Arc<dyn crate::TokenVerifier>,
    policy: ClientPolicy,
}

impl crate::TokenVerifier for Capped {
    fn verify<'a>(
        &'a self,
        token: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<crate::Principal, crate::AuthError>> {
        Box::pin(async move {
            let principal = self.verifier.verify(token).await?;
            Ok(principal.with_client_policy(&self.policy))
        })
    }
}

fn read_client_policy(path: PathBuf) -> Result<ClientPolicy, ServerError> {
    #[cfg(feature = "toml")]
    {
        ClientPolicy::from_toml_file(&path)
            .map_err(|source| ServerError::ClientPolicy { path, source })
    }
    #[cfg(not(feature = "toml"))]
    {
        Err(ServerError::Config(format!(
            "client policy {}: reading TOML needs the `toml` feature",
            path.display()
        )))
    }
}

/// A verifier of `issuer`'s JWTs with the keys fetched (or the error of fetching them).
#[cfg(feature = "jwks")]
fn jwt_verifier(
    issuer: String,
    audience: &str,
    jwks: Result<crate::verify::Jwks, crate::verify::remote::FetchError>,
    claims: ClaimsMapping,
) -> Result<Arc<dyn TokenVerifier>, ServerError> {
    let jwks = jwks.map_err(|source| ServerError::Keys {
        issuer: issuer.clone(),
        source,
    })?;
    let verifier = crate::verify::JwtVerifier::builder()
        .issuer(&issuer)
        .audience(audience)
        .algorithms(jwks.algorithms())
        .jwks(jwks)
        .claims(claims)
        .build()
        .map_err(|source| ServerError::Verifier {
            issuer: issuer.clone(),
            source,
        })?;
    Ok(Arc::new(verifier))
}

/// Resolves on Ctrl-C, or on SIGTERM where there are signals (what container runtimes send).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// The development issuer's tokens, one per role, in the role policy's order.
#[derive(Clone, Debug, Default)]
pub struct DevelopmentTokens(Vec<(String, String)>);

impl DevelopmentTokens {
    #[cfg(feature = "testkit")]
    fn mint(issuer: &crate::testkit::DevIssuer, roles: &[String]) -> Self {
        let tokens = roles
            .iter()
            .map(|role| {
                let claims = serde_json::json!({"sub": role, "roles": [role]});
                (role.clone(), issuer.token(claims))
            })
            .collect();
        DevelopmentTokens(tokens)
    }

    /// The token of `role`.
    pub fn get(&self, role: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(r, _)| r == role)
            .map(|(_, t)| t.as_str())
    }

    /// Every `(role, token)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(r, t)| (r.as_str(), t.as_str()))
    }
}

/// An assembled server: the app and what it was assembled from.
pub struct Assembled {
    audit: crate::audit::Audit,
    state: Arc<dyn SharedState>,
    router: Router,
    url: String,
    resource: ProtectedResource,
    development: Option<Development>,
}

/// The development issuer and the tokens it minted at start.
#[cfg(feature = "testkit")]
type Development = (Arc<crate::testkit::DevIssuer>, DevelopmentTokens);
#[cfg(not(feature = "testkit"))]
type Development = ((), DevelopmentTokens);

impl Assembled {
    /// The axum app (MCP endpoint, metadata, development JWKS).
    pub fn into_router(self) -> Router {
        self.router
    }

    /// The resource URL (the port filled in when it was `0`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The protected resource (its metadata URL, its scopes).
    pub fn resource(&self) -> &ProtectedResource {
        &self.resource
    }

    /// Where decision records go, and the policy version they carry.
    pub fn audit(&self) -> &crate::audit::Audit {
        &self.audit
    }

    /// The bearer layer's state (DPoP replay, revocations, session owners): revoke through it.
    pub fn shared_state(&self) -> &Arc<dyn SharedState> {
        &self.state
    }

    /// The development tokens, with `Issuer::development()` (feature `testkit`).
    pub fn development_tokens(&self) -> Option<&DevelopmentTokens> {
        self.development.as_ref().map(|(_, tokens)| tokens)
    }

    /// The development issuer, with `Issuer::development()` (feature `testkit`), to mint other tokens.
    #[cfg(feature = "testkit")]
    pub fn development_issuer(&self) -> Option<&Arc<crate::testkit::DevIssuer>> {
        self.development.as_ref().map(|(issuer, _)| issuer)
    }
}

/// A server serving in the background.
pub struct RunningServer {
    addr: SocketAddr,
    name: String,
    assembled: Assembled,
    #[cfg(feature = "metrics")]
    metrics: Option<exporter::Serving>,
    /// Stops accepting and closes idle connections.
    stop: CancellationToken,
    /// Ends rmcp's sessions and their event streams.
    sessions: CancellationToken,
    in_flight: limits::InFlight,
    timeout: Duration,
    task: tokio::task::JoinHandle<()>,
}

impl RunningServer {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where `GET /metrics` is served, with [`ServerBuilder::metrics`].
    #[cfg(feature = "metrics")]
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|m| m.addr)
    }

    /// What it was assembled from (URL, resource, development tokens).
    pub fn assembled(&self) -> &Assembled {
        &self.assembled
    }

    /// The resource URL.
    pub fn url(&self) -> &str {
        &self.assembled.url
    }

    /// The start-up banner: `<name> listening on <url>`, with metrics `metrics at
    /// http://<addr>/metrics`, and with the development issuer a line naming it and
    /// `<ROLE>_TOKEN=<jwt>` for each role (shell assignments). Whole lines.
    pub fn banner(&self) -> String {
        #[cfg_attr(not(feature = "metrics"), allow(unused_mut))]
        let mut out = format!("{} listening on {}\n", self.name, self.assembled.url);
        #[cfg(feature = "metrics")]
        if let Some(addr) = self.metrics_addr() {
            out.push_str(&format!("metrics at http://{addr}/metrics\n"));
        }
        #[cfg(feature = "testkit")]
        let out = self.development_banner(out);
        out
    }

    #[cfg(feature = "testkit")]
    fn development_banner(&self, mut out: String) -> String {
        if let Some((issuer, tokens)) = &self.assembled.development {
            out.push_str(&format!(
                "development issuer {} (ES256, JWKS at {}{}); tokens valid for 1 hour:\n",
                issuer.issuer(),
                issuer.issuer(),
                crate::testkit::JWKS_PATH
            ));
            for (role, token) in tokens.iter() {
                out.push_str(&format!("{}_TOKEN={token}\n", shell_name(role)));
            }
        }
        out
    }

    /// Writes the [banner](Self::banner) to stdout. A closed stdout (`server | head -1`) is
    /// ignored: it must not stop the server.
    pub fn print_banner(&self) {
        use std::io::Write;
        let _ = std::io::stdout().lock().write_all(self.banner().as_bytes());
    }

    /// Stops accepting connections and closes idle ones; lets the requests in flight finish and
    /// send their answers; then ends rmcp's sessions (and so their event streams) and waits for
    /// the connections to close. All of it within the shutdown timeout; what is left after it is
    /// stopped.
    pub async fn shutdown(self) {
        let deadline = tokio::time::Instant::now() + self.timeout;
        self.stop.cancel();
        // Sessions end only after the answers in flight: rmcp answers a request whose session
        // ends under it with an error.
        let _ = tokio::time::timeout_at(deadline, self.in_flight.idle()).await;
        self.sessions.cancel();
        let mut task = self.task;
        let stopped = tokio::time::timeout_at(deadline, &mut task).await;
        let audit = self.assembled.audit.clone();
        let _ = tokio::task::spawn_blocking(move || audit.flush()).await;
        if stopped.is_err() {
            tracing::warn!(
                target: "mcp_rbac::server",
                "requests still in flight after {:?}; stopping them", self.timeout
            );
            task.abort();
        }
        #[cfg(feature = "metrics")]
        if let Some(metrics) = self.metrics {
            let mut task = metrics.task;
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                task.abort();
            }
        }
    }
}

/// `admin` → `ADMIN`, `read-only` → `READ_ONLY`: a role as a shell variable name.
#[cfg(feature = "testkit")]
fn shell_name(role: &str) -> String {
    role.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_defaults_to_the_urls_address() {
        let uri = parse_url("http://127.0.0.1:8123/mcp").unwrap();
        assert_eq!(
            default_bind(&uri).unwrap(),
            "127.0.0.1:8123".parse().unwrap()
        );
        let uri = parse_url("http://localhost/mcp").unwrap();
        assert_eq!(default_bind(&uri).unwrap(), "127.0.0.1:80".parse().unwrap());
        let uri = parse_url("https://[::1]/mcp").unwrap();
        assert_eq!(default_bind(&uri).unwrap(), "[::1]:443".parse().unwrap());
    }

    #[test]
    fn a_host_name_needs_an_explicit_bind() {
        let uri = parse_url("https://mcp.example.com/mcp").unwrap();
        let error = default_bind(&uri).unwrap_err().to_string();
        assert!(error.contains("MCP_RBAC_BIND"), "{error}");
    }

    #[test]
    fn resource_urls_must_be_absolute_http() {
        for bad in ["/mcp", "ftp://x/mcp", "not a url", ""] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[cfg(feature = "testkit")]
    #[test]
    fn roles_become_shell_variable_names() {
        assert_eq!(shell_name("admin"), "ADMIN");
        assert_eq!(shell_name("read-only.v2"), "READ_ONLY_V2");
    }

    #[tokio::test]
    async fn no_issuer_does_not_assemble() {
        #[derive(Clone)]
        struct Empty;
        impl ServerHandler for Empty {}
        let error = ServerBuilder::new("http://127.0.0.1:1/mcp")
            .router(|| Empty)
            .await
            .err()
            .expect("refused")
            .to_string();
        assert!(error.contains("no issuer"), "{error}");
    }
}
