//! The products server's command line, as the README documents it (scripts and the end-to-end
//! tests rely on it). Flags that name a server-builder setting also read its `MCP_RBAC_*`
//! variable; a flag given wins.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Where the introspection client secret comes from.
pub const INTROSPECTION_SECRET_ENV: &str = "INTROSPECTION_CLIENT_SECRET";

/// A client secret that prints as `***` (the `Cli` is `Debug`).
#[derive(Clone)]
pub struct ClientSecret(pub String);

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// The products MCP server with role-based access control.
///
/// With no flags it runs a development issuer (a key generated at start, its JWKS served here)
/// and prints tokens for the admin, user and guest roles.
#[derive(clap::Parser, Debug, Clone)]
#[command(name = "products", version)]
pub struct Cli {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,

    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,

    /// Where to listen as one address (e.g. 0.0.0.0:8000); overrides --bind and --port.
    #[arg(long, env = "MCP_RBAC_BIND")]
    pub listen: Option<SocketAddr>,

    /// The resource URL clients use (e.g. behind a proxy): the expected audience and the
    /// metadata's `resource`; its host is allowed. Default: http://BIND:PORT/mcp.
    #[arg(long, env = "MCP_RBAC_RESOURCE_URL")]
    pub public_url: Option<String>,

    /// Write the development tokens as JSON {"admin": …, "user": …, "guest": …} to this file.
    #[arg(long)]
    pub tokens_out: Option<PathBuf>,

    /// Verify tokens of this external issuer instead of running the development issuer.
    #[arg(long, env = "MCP_RBAC_ISSUER")]
    pub issuer: Option<String>,

    /// The audience external tokens must carry (default: the resource URL).
    #[arg(long, requires = "issuer", env = "MCP_RBAC_AUDIENCE")]
    pub audience: Option<String>,

    /// The external issuer's JWKS (default: found through OIDC / RFC 8414 discovery).
    #[arg(long, requires = "issuer", env = "MCP_RBAC_JWKS_URL")]
    pub jwks_url: Option<String>,

    /// Check the external issuer's opaque tokens by RFC 7662 introspection at this endpoint
    /// (with --issuer, --audience and --client-id; the client secret is read from the
    /// INTROSPECTION_CLIENT_SECRET environment variable, never from the command line).
    #[arg(long, requires_all = ["issuer", "client_id"], conflicts_with = "jwks_url")]
    pub introspection_url: Option<String>,

    /// The client id this server authenticates to the introspection endpoint with.
    #[arg(long, requires = "introspection_url")]
    pub client_id: Option<String>,

    /// The introspection client secret, read from the INTROSPECTION_CLIENT_SECRET environment
    /// variable (never a flag: a command line shows in every process listing).
    #[arg(skip = std::env::var(INTROSPECTION_SECRET_ENV).ok().map(ClientSecret))]
    pub client_secret: Option<ClientSecret>,

    /// Accept static API keys listed (as SHA-256 hashes, each with a subject and roles) in this
    /// TOML file instead of running the development issuer.
    #[arg(long, conflicts_with = "issuer")]
    pub api_keys: Option<PathBuf>,

    /// Answer each POST on its own, without sessions, with JSON bodies.
    #[arg(long, env = "MCP_RBAC_STATELESS")]
    pub stateless: bool,

    /// What tools/list, prompts/list and resources/list show: `hide` what the caller may not
    /// use (default) or `show` everything (calls are checked either way).
    #[arg(long, value_enum, default_value_t = ListModeFlag::Hide, env = "MCP_RBAC_LIST_MODE")]
    pub list_mode: ListModeFlag,

    /// Put each listed item's requirement (`mcp-rbac/requires`) and whether the caller meets it
    /// (`mcp-rbac/allowed`) in its `_meta`.
    #[arg(long)]
    pub requirement_meta: bool,

    /// Answer a refused tools/call that more OAuth scopes would allow with HTTP 403 and
    /// `WWW-Authenticate: Bearer error="insufficient_scope", scope="…"` (step-up authorization)
    /// instead of a JSON-RPC 403.
    #[arg(long, env = "MCP_RBAC_STEP_UP")]
    pub step_up: bool,

    /// Print the server's permission manifest (every tool and prompt with its access rule) as
    /// JSON and exit without serving; `rbac-matrix --manifest -` reads it.
    #[arg(long)]
    pub manifest: bool,

    /// Write one JSON object per authorization decision to this file (JSON Lines, rotated at
    /// 100 MiB, hash-chained: `verify-audit FILE` checks it).
    #[arg(long)]
    pub audit_log: Option<PathBuf>,

    /// How many requests run at once; one more is answered with 503 and `Retry-After`.
    #[arg(long, default_value_t = mcp_rbac::server::DEFAULT_MAX_CONCURRENT_REQUESTS)]
    pub max_concurrent_requests: usize,

    /// Seconds a request may take to produce its answer before it gets 503.
    #[arg(long, value_parser = seconds, default_value = "60")]
    pub request_timeout: Duration,

    /// Seconds a client may take to send a request body, first byte to last, before it gets 408.
    #[arg(long, value_parser = seconds, default_value = "10")]
    pub body_timeout: Duration,

    /// Serve Prometheus metrics (`mcp_rbac_*`: decisions, token verifications, JWKS fetches)
    /// at `GET /metrics` on this address (e.g. 127.0.0.1:9464), outside the bearer layer.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<SocketAddr>,

    /// Accept DPoP-bound tokens with their proofs (RFC 9449) beside bearer tokens (`accept`), or
    /// only them (`require`: plain Bearer tokens are refused).
    #[arg(long, value_enum, value_name = "MODE")]
    pub dpop: Option<DpopFlag>,
    /// Authorize with the Cedar policies in this file instead of the role policy and the tools'
    /// requirements (`examples/products.cedar` is the equivalent of both, plus an argument
    /// condition). Checked at start against the server's tools: a policy naming an unknown
    /// tool or argument stops the server.
    #[arg(long, value_name = "FILE")]
    pub cedar: Option<PathBuf>,

    /// Seconds a shutdown (Ctrl-C or SIGTERM) waits for requests in flight.
    #[arg(long, value_parser = seconds, default_value = "30")]
    pub shutdown_timeout: Duration,

    /// Keep DPoP proof replay, revocations and session owners in this Redis (or Valkey), e.g.
    /// redis://127.0.0.1:6379, shared by every replica. While it cannot be reached, protected
    /// requests get 503 with Retry-After.
    #[arg(long, value_name = "URL", env = "MCP_RBAC_REDIS")]
    pub redis: Option<String>,

    /// An admin command instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The products server's admin commands.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum Command {
    /// Revoke tokens in the Redis that replicas share: every token of a subject issued until
    /// now (or --before), or one token by its `jti`.
    Revoke(Revoke),
}

/// `products revoke`.
#[derive(clap::Args, Debug, Clone)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["subject", "jti"])))]
pub struct Revoke {
    /// The Redis the servers use (their --redis).
    #[arg(long, value_name = "URL", env = "MCP_RBAC_REDIS")]
    pub redis: String,

    /// Revoke every token of this subject (`sub`) issued at or before --before.
    #[arg(long)]
    pub subject: Option<String>,

    /// The subject's issuer (`iss`); without it, tokens that carry no `iss` (e.g. API keys).
    #[arg(long, requires = "subject")]
    pub issuer: Option<String>,

    /// Seconds since the epoch: tokens issued at or before it are revoked (default: now).
    #[arg(long, requires = "subject")]
    pub before: Option<i64>,

    /// Revoke the one token whose `jti` is this.
    #[arg(long, requires = "until")]
    pub jti: Option<String>,

    /// Seconds since the epoch until which the `jti` is revoked (the token's `exp`).
    #[arg(long, requires = "jti")]
    pub until: Option<i64>,
}

/// A positive number of seconds (`0.5`, `30`).
fn seconds(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s < 1e9 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!("`{text}` is not a positive number of seconds")),
    }
}

/// `--dpop`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DpopFlag {
    /// DPoP-bound tokens and bearer tokens.
    Accept,
    /// DPoP-bound tokens only.
    Require,
}

impl From<DpopFlag> for mcp_rbac::DpopMode {
    fn from(flag: DpopFlag) -> Self {
        match flag {
            DpopFlag::Accept => mcp_rbac::DpopMode::Accept,
            DpopFlag::Require => mcp_rbac::DpopMode::Require,
        }
    }
}

/// `--list-mode`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ListModeFlag {
    /// Only what the caller may use.
    #[default]
    Hide,
    /// Everything.
    Show,
}

impl Cli {
    /// The defaults: development issuer on 127.0.0.1:8000.
    pub fn defaults() -> Self {
        <Self as clap::Parser>::parse_from(["products"])
    }

    /// Where to listen: `--listen`, else `--bind` and `--port`.
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen
            .unwrap_or_else(|| SocketAddr::new(self.bind, self.port))
    }

    /// The list policy `--list-mode` and `--requirement-meta` ask for.
    pub fn listing(&self) -> mcp_rbac::guard::Listing {
        let mode = match self.list_mode {
            ListModeFlag::Hide => mcp_rbac::guard::ListMode::Hide,
            ListModeFlag::Show => mcp_rbac::guard::ListMode::Show,
        };
        mcp_rbac::guard::Listing::new(mode).with_requirement_meta(self.requirement_meta)
    }
}
