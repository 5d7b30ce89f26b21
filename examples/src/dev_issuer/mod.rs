//! A development identity provider: password logins, rotating refresh tokens, and ES256 access
//! tokens that the products server verifies like any external issuer's.
//!
//! - `POST /login` `{"username", "password"}` → `{"access_token", "refresh_token", "token_type":
//!   "Bearer", "expires_in", "refresh_token_expires_in"}`; a wrong password and an unknown user
//!   both answer the same 401.
//! - `POST /refresh` `{"refresh_token"}` → a new pair; the presented token is spent, and
//!   presenting a spent one revokes every token of that login (see [`refresh`]).
//! - Password checks (Argon2) run one per core, with at most [`MAX_QUEUED_LOGINS`] logins
//!   waiting; more answer 503 with `Retry-After`. The refresh table holds only live logins (at
//!   most [`refresh::MAX_FAMILIES`]) and a few spent tokens of each.
//! - `GET /jwks`, `GET /.well-known/oauth-authorization-server` (RFC 8414, with `jwks_uri`).
//!   No OpenID discovery document: this issuer makes no ID tokens.
//!
//! Users, Argon2 password hashes and roles come from a TOML file ([`users`]). The signing key is
//! generated at start and lives only in memory: tokens die with the process.
//!
//! ```text
//! dev-issuer --port 9000 --audience http://127.0.0.1:8000/mcp
//! products --issuer http://127.0.0.1:9000 --audience http://127.0.0.1:8000/mcp
//! ```

mod cli;
pub mod refresh;
mod routes;
pub mod users;

pub use cli::{Cli, Command, ServeArgs};
pub use routes::{JWKS_PATH, METADATA_PATH};
pub use users::{hash_password, User, Users, UsersError};

use std::net::SocketAddr;
use std::sync::Arc;

use mcp_rbac::testkit::DevIssuer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use refresh::RefreshTokens;
use routes::{IssuerState, LoginGate};

/// Logins that may wait for a password check; more are answered 503 with `Retry-After`.
pub const MAX_QUEUED_LOGINS: usize = 64;

/// Why the issuer did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Cannot listen.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The users file is unusable.
    #[error(transparent)]
    Users(#[from] UsersError),
    /// A flag's value is unusable.
    #[error("{0}")]
    Config(String),
    /// No signing key.
    #[error("{0}")]
    Key(String),
}

/// A started issuer.
pub struct Running {
    /// The bound address.
    pub addr: SocketAddr,
    /// The issuer URL (`iss` of its tokens; metadata under it).
    pub issuer: String,
    /// The audience of its access tokens.
    pub audience: String,
    /// The users who may log in.
    pub users: Vec<User>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// What the binary prints at start (the first line is what scripts wait for).
    pub fn banner(&self) -> String {
        let mut out = format!("dev-issuer listening on {}\n", self.issuer);
        out.push_str(&format!(
            "access tokens for audience {}; metadata at {}{METADATA_PATH}\nusers:",
            self.audience, self.issuer
        ));
        for user in &self.users {
            out.push_str(&format!(" {} ({})", user.name, user.roles.join(", ")));
        }
        out
    }

    /// Stops accepting requests and waits for the server task.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }
}

/// Loads the users, binds, and serves in the background.
pub async fn start(args: ServeArgs) -> Result<Running, StartError> {
    let users = Users::load(&args.users)?;
    if args.audience.trim().is_empty() {
        return Err(StartError::Config("--audience must not be empty".into()));
    }
    let addr = SocketAddr::new(args.bind, args.port);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| StartError::Bind { addr, source })?;
    let issuer = match &args.issuer_url {
        Some(url) if !is_http_url(url) => {
            return Err(StartError::Config(format!(
                "--issuer-url must be an http(s) URL, not `{url}`"
            )))
        }
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => match addr.ip() {
            std::net::IpAddr::V6(ip) => format!("http://[{ip}]:{}", addr.port()),
            ip => format!("http://{ip}:{}", addr.port()),
        },
    };
    let signer = DevIssuer::generate(issuer.clone(), args.audience.clone())
        .map_err(|e| StartError::Key(e.to_string()))?;
    let listed = users.iter().cloned().collect();
    let state = Arc::new(IssuerState {
        signer,
        users,
        refresh: RefreshTokens::new(args.refresh_ttl),
        access_ttl_secs: args.access_ttl,
        logins: LoginGate::new(
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            MAX_QUEUED_LOGINS,
        ),
    });
    let app = routes::router(state);
    let shutdown = CancellationToken::new();
    let task = crate::serve::spawn_until(listener, app, shutdown.clone(), "dev-issuer");
    Ok(Running {
        addr,
        issuer,
        audience: args.audience,
        users: listed,
        shutdown,
        task,
    })
}

fn is_http_url(url: &str) -> bool {
    url.parse::<http::Uri>().is_ok_and(|uri| {
        matches!(uri.scheme_str(), Some("http" | "https")) && uri.authority().is_some()
    })
}
