//! `dev-issuer [serve flags]` or `dev-issuer hash-password`.

use std::net::IpAddr;
use std::path::PathBuf;

/// A development identity provider: password logins, rotating refresh tokens, ES256 access
/// tokens, JWKS and RFC 8414 metadata. Not for production: the signing key lives in memory.
#[derive(clap::Parser, Debug, Clone)]
#[command(name = "dev-issuer", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// A tool instead of the server.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The server's flags.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Subcommands.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum Command {
    /// Read a password from standard input (one line) and print its Argon2id PHC hash, for the
    /// users file: `echo -n 'secret' | dev-issuer hash-password`.
    HashPassword,
}

/// Where and how the issuer serves.
#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// The users file (TOML: `[users.NAME]` with `password_hash` and `roles`).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/dev-issuer-users.toml"))]
    pub users: PathBuf,

    /// The `aud` of the access tokens: the protected server's resource URL.
    #[arg(long, default_value = "http://127.0.0.1:8000/mcp")]
    pub audience: String,

    /// Port to listen on (0 picks a free one; the banner's first line says which).
    #[arg(long, default_value_t = 9000)]
    pub port: u16,

    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,

    /// The issuer URL clients see (the tokens' `iss`). Default: http://BIND:PORT.
    #[arg(long)]
    pub issuer_url: Option<String>,

    /// Access token lifetime, in seconds.
    #[arg(long, default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub access_ttl: u64,

    /// Refresh token lifetime, in seconds (each refresh starts a new one).
    #[arg(long, default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(1..=2_592_000))]
    pub refresh_ttl: u64,
}

impl ServeArgs {
    /// The defaults, with `users` and `audience` given and a free port: for tests.
    pub fn for_test(users: impl Into<PathBuf>, audience: impl Into<String>) -> Self {
        let mut args = <Cli as clap::Parser>::parse_from(["dev-issuer"]).serve;
        args.users = users.into();
        args.audience = audience.into();
        args.port = 0;
        args
    }
}
