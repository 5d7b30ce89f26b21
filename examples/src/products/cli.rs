//! The command line fixed by the contract (scripts and checks rely on it).

use std::net::IpAddr;
use std::path::PathBuf;

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

    /// The resource URL clients use (e.g. behind a proxy): the expected audience and the
    /// metadata's `resource`; its host is allowed. Default: http://<bind>:<port>/mcp.
    #[arg(long)]
    pub public_url: Option<String>,

    /// Write the development tokens as JSON {"admin": …, "user": …, "guest": …} to this file.
    #[arg(long)]
    pub tokens_out: Option<PathBuf>,

    /// Verify tokens of this external issuer instead of running the development issuer.
    #[arg(long, requires = "audience")]
    pub issuer: Option<String>,

    /// The audience external tokens must carry.
    #[arg(long, requires = "issuer")]
    pub audience: Option<String>,

    /// The external issuer's JWKS (default: found through OIDC / RFC 8414 discovery).
    #[arg(long, requires = "issuer")]
    pub jwks_url: Option<String>,

    /// Answer each POST on its own, without sessions, with JSON bodies.
    #[arg(long)]
    pub stateless: bool,
}

impl Cli {
    /// The defaults: development issuer on 127.0.0.1:8000.
    pub fn defaults() -> Self {
        <Self as clap::Parser>::parse_from(["products"])
    }
}
