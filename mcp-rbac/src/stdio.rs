//! Servers without HTTP (stdio, a child process, any byte stream): one caller for the whole
//! process, authenticated once at start.
//!
//! Over stdio there is no `Authorization` header per request, so the token comes from the
//! environment (or a file) when the process starts, is verified then, and [`WithPrincipal`] hands
//! the resulting [`Principal`] to every request, where the same guarded routers check it as over
//! HTTP. The decisions:
//!
//! - **No token** (variable unset or empty): the server runs, every protected tool and prompt
//!   answers JSON-RPC error 401, and `tools/list` shows only public tools. Never an allow.
//! - **A token that does not verify**: [`principal_from`] returns an error naming the source and
//!   the reason (never the token). The server should print it and exit nonzero; it must not fall
//!   back to running unauthenticated, since the user meant to authenticate.
//! - **The token expires while the process runs**: from its `exp` on, requests carry no principal
//!   (401), so a long-lived process does not outlive its credential.
//!
//! ```no_run
//! use mcp_rbac::stdio::{principal_from, TokenSource, WithPrincipal};
//! use mcp_rbac::verify::TokenVerifier;
//! use rmcp::ServiceExt;
//!
//! # type In = tokio::io::DuplexStream;
//! # type Out = tokio::io::DuplexStream;
//! // `stdio` is `rmcp::transport::stdio()` (rmcp feature `transport-io`) in a real server.
//! async fn serve<S: rmcp::ServerHandler>(
//!     handler: S,
//!     verifier: &dyn TokenVerifier,
//!     stdio: (In, Out),
//! ) -> Result<(), Box<dyn std::error::Error>> {
//!     // Err (exit nonzero) for a bad token; Ok(None) when MCP_ACCESS_TOKEN is unset.
//!     let principal = principal_from(&TokenSource::env("MCP_ACCESS_TOKEN"), verifier).await?;
//!     let running = WithPrincipal::new(handler, principal).serve(stdio).await?;
//!     running.waiting().await?;
//!     Ok(())
//! }
//! ```

use std::borrow::Cow;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rmcp::model::{ClientNotification, ClientRequest, ProtocolVersion, ServerResult};
use rmcp::service::{NotificationContext, RequestContext, Service, ServiceRole};
use rmcp::{ErrorData, RoleServer};

use crate::principal::Principal;
use crate::verify::{AuthError, TokenVerifier};

/// The environment variable the example servers read a start-up token from.
pub const DEFAULT_TOKEN_ENV: &str = "MCP_ACCESS_TOKEN";

/// The most a token file may hold. Verifiers cap tokens far lower; this only keeps a wrong path
/// (a log file, a device) from being read whole.
pub const MAX_TOKEN_FILE_BYTES: u64 = 64 * 1024;

/// Where the start-up token comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenSource {
    /// An environment variable; unset or blank means "no token".
    Env(String),
    /// A file holding the token (surrounding whitespace ignored); it must exist and hold one.
    File(PathBuf),
}

impl TokenSource {
    /// The environment variable `name`.
    pub fn env(name: impl Into<String>) -> Self {
        TokenSource::Env(name.into())
    }

    /// The file at `path`.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        TokenSource::File(path.into())
    }

    /// The token, `None` when an environment variable is unset or blank.
    ///
    /// ```
    /// use mcp_rbac::stdio::TokenSource;
    /// let source = TokenSource::env("MCP_RBAC_DOC_EXAMPLE_UNSET");
    /// assert_eq!(source.read().unwrap(), None);
    /// assert!(TokenSource::file("/nonexistent/token").read().is_err());
    /// ```
    pub fn read(&self) -> Result<Option<String>, StartupTokenError> {
        match self {
            TokenSource::Env(name) => match std::env::var(name) {
                Ok(value) => Ok(Some(value.trim().to_owned()).filter(|t| !t.is_empty())),
                Err(std::env::VarError::NotPresent) => Ok(None),
                Err(std::env::VarError::NotUnicode(_)) => Err(StartupTokenError::Unreadable {
                    from: self.clone(),
                    reason: "it is not valid UTF-8".into(),
                }),
            },
            TokenSource::File(path) => read_token_file(path).map(Some).map_err(|e| match e {
                TokenFileError::Io(source) => StartupTokenError::Read {
                    from: self.clone(),
                    source,
                },
                TokenFileError::Content(reason) => StartupTokenError::Unreadable {
                    from: self.clone(),
                    reason,
                },
            }),
        }
    }
}

impl fmt::Display for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::Env(name) => write!(f, "environment variable {name}"),
            TokenSource::File(path) => write!(f, "token file {}", path.display()),
        }
    }
}

enum TokenFileError {
    Io(std::io::Error),
    Content(String),
}

fn read_token_file(path: &Path) -> Result<String, TokenFileError> {
    let file = std::fs::File::open(path).map_err(TokenFileError::Io)?;
    let mut text = String::new();
    file.take(MAX_TOKEN_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(TokenFileError::Io)?;
    if text.len() as u64 > MAX_TOKEN_FILE_BYTES {
        return Err(TokenFileError::Content(format!(
            "it is larger than {MAX_TOKEN_FILE_BYTES} bytes"
        )));
    }
    let token = text.trim();
    if token.is_empty() {
        return Err(TokenFileError::Content("it is empty".into()));
    }
    Ok(token.to_owned())
}

/// Why a start-up token gave no principal. The text names the source and the reason, never the
/// token, so it is safe to print.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartupTokenError {
    /// The token file cannot be opened or read (missing, not UTF-8, …): the operating system's
    /// error is the source.
    #[error("cannot read the token from the {from}: {source}")]
    Read {
        /// Where it was looked for.
        from: TokenSource,
        /// Why it could not be read.
        #[source]
        source: std::io::Error,
    },
    /// The source holds no usable token (an empty file, a variable that is not UTF-8, a file
    /// too large).
    #[error("cannot read the token from the {from}: {reason}")]
    Unreadable {
        /// Where it was looked for.
        from: TokenSource,
        /// Why it could not be read.
        reason: String,
    },
    /// The verifier refused the token.
    #[error("the token in the {from} was refused: {reason}")]
    Refused {
        /// Where it came from.
        from: TokenSource,
        /// The verifier's reason.
        #[source]
        reason: AuthError,
    },
}

/// Reads the token from `source` and verifies it: `Ok(None)` when there is none (see
/// [`TokenSource::read`]), an error when it cannot be read or is refused.
pub async fn principal_from(
    source: &TokenSource,
    verifier: &dyn TokenVerifier,
) -> Result<Option<Principal>, StartupTokenError> {
    match source.read()? {
        None => Ok(None),
        Some(token) => {
            verifier
                .verify(&token)
                .await
                .map(Some)
                .map_err(|reason| StartupTokenError::Refused {
                    from: source.clone(),
                    reason,
                })
        }
    }
}

/// An rmcp service that serves `inner` as one fixed caller: it puts the principal into every
/// request's context, where [`principal_from_context`](crate::principal_from_context) and the
/// guards find it. `None` serves every request unauthenticated (protected tools answer 401).
///
/// It forwards everything else to `inner` unchanged; serve it like the handler itself
/// (`WithPrincipal::new(handler, principal).serve(transport)`). The principal comes only from
/// here: nothing a client sends over the transport can set it.
pub struct WithPrincipal<S> {
    inner: S,
    principal: Option<Principal>,
    /// `exp` of the token, in seconds since the epoch, when it had one (read as the verifiers
    /// read it: a fraction is rounded down; an `exp` that is not a number is already past).
    expires_at: Option<i64>,
    expiry_logged: AtomicBool,
}

impl<S> WithPrincipal<S> {
    /// Serves `inner` as `principal` (or unauthenticated when `None`).
    pub fn new(inner: S, principal: Option<Principal>) -> Self {
        let expires_at = principal
            .as_ref()
            .and_then(|p| p.claims().get("exp"))
            .map(|exp| crate::verify::json_numeric_date(exp).unwrap_or(i64::MIN));
        WithPrincipal {
            inner,
            principal,
            expires_at,
            expiry_logged: AtomicBool::new(false),
        }
    }

    /// The wrapped service.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The principal requests get at `now` (seconds since the epoch): none once the token's
    /// `exp` has passed.
    pub fn principal_at(&self, now: u64) -> Option<&Principal> {
        match self.expires_at {
            Some(exp) if i128::from(now) >= i128::from(exp) => None,
            _ => self.principal.as_ref(),
        }
    }

    fn current_principal(&self) -> Option<Principal> {
        let principal = self.principal_at(unix_now()).cloned();
        if principal.is_none()
            && self.principal.is_some()
            && !self.expiry_logged.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(
                target: "mcp_rbac::auth",
                "the start-up token has expired; requests are now unauthenticated"
            );
        }
        principal
    }
}

impl<S> fmt::Debug for WithPrincipal<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithPrincipal")
            .field("subject", &self.principal.as_ref().map(Principal::subject))
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl<S: Service<RoleServer>> Service<RoleServer> for WithPrincipal<S> {
    async fn handle_request(
        &self,
        request: ClientRequest,
        mut context: RequestContext<RoleServer>,
    ) -> Result<ServerResult, ErrorData> {
        // Whatever was there (nothing, under stdio) is replaced, so only this wrapper decides.
        context.extensions.remove::<Principal>();
        if let Some(principal) = self.current_principal() {
            context.extensions.insert(principal);
        }
        self.inner.handle_request(request, context).await
    }

    async fn handle_notification(
        &self,
        notification: ClientNotification,
        mut context: NotificationContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        context.extensions.remove::<Principal>();
        if let Some(principal) = self.current_principal() {
            context.extensions.insert(principal);
        }
        self.inner.handle_notification(notification, context).await
    }

    fn get_info(&self) -> <RoleServer as ServiceRole>::Info {
        self.inner.get_info()
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        self.inner.supported_protocol_versions()
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal_expiring_at(exp: u64) -> Principal {
        let mut claims = serde_json::Map::new();
        claims.insert("exp".into(), exp.into());
        Principal::builder("alice").claims(claims).build()
    }

    #[test]
    fn the_principal_is_dropped_from_its_exp_on() {
        let served = WithPrincipal::new((), Some(principal_expiring_at(1_000)));
        assert_eq!(
            served.principal_at(999).map(Principal::subject),
            Some("alice")
        );
        assert!(served.principal_at(1_000).is_none());
        assert!(served.principal_at(5_000).is_none());
    }

    #[test]
    fn a_fractional_or_malformed_exp_expires_as_the_verifiers_read_it() {
        // The verifiers accept `exp: 1900000000.5` and read it as 1900000000.
        let mut claims = serde_json::Map::new();
        claims.insert("exp".into(), serde_json::json!(1_900_000_000.5));
        let served = WithPrincipal::new((), Some(Principal::builder("a").claims(claims).build()));
        assert!(served.principal_at(1_899_999_999).is_some());
        assert!(served.principal_at(1_900_000_000).is_none());
        assert!(served.principal_at(u64::MAX).is_none());
        // An `exp` a custom verifier left unreadable fails closed.
        let mut claims = serde_json::Map::new();
        claims.insert("exp".into(), "tomorrow".into());
        let served = WithPrincipal::new((), Some(Principal::builder("b").claims(claims).build()));
        assert!(served.principal_at(0).is_none());
    }

    #[test]
    fn a_principal_without_exp_does_not_expire_and_none_stays_none() {
        let served = WithPrincipal::new((), Some(Principal::builder("svc").build()));
        assert!(served.principal_at(u64::MAX).is_some());
        let anonymous = WithPrincipal::new((), None);
        assert!(anonymous.principal_at(0).is_none());
    }

    #[test]
    fn token_files_are_trimmed_and_empty_or_huge_files_refused() {
        let dir = std::env::temp_dir().join(format!("mcp-rbac-stdio-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good");
        std::fs::write(&good, "  abc.def.ghi\n").unwrap();
        assert_eq!(
            TokenSource::file(&good).read().unwrap().as_deref(),
            Some("abc.def.ghi")
        );
        let empty = dir.join("empty");
        std::fs::write(&empty, "\n \n").unwrap();
        let err = TokenSource::file(&empty).read().unwrap_err().to_string();
        assert!(err.contains("is empty"), "{err}");
        let huge = dir.join("huge");
        std::fs::write(&huge, vec![b'a'; MAX_TOKEN_FILE_BYTES as usize + 1]).unwrap();
        let err = TokenSource::file(&huge).read().unwrap_err().to_string();
        assert!(err.contains("larger than"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_refused_token_names_the_source_and_reason_but_not_the_token() {
        let verifier = crate::verify::ApiKeyVerifier::builder()
            .key(
                "the-only-key-that-works-0123456789",
                Principal::builder("k").build(),
            )
            .build()
            .unwrap();
        let dir = std::env::temp_dir().join(format!("mcp-rbac-stdio-r-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "secret-looking-wrong-key\n").unwrap();
        let err = principal_from(&TokenSource::file(&file), &verifier)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("was refused"), "{err}");
        assert!(err.contains(&file.display().to_string()), "{err}");
        assert!(!err.contains("secret-looking-wrong-key"), "{err}");
        std::fs::write(&file, "the-only-key-that-works-0123456789").unwrap();
        let ok = principal_from(&TokenSource::file(&file), &verifier)
            .await
            .unwrap();
        assert_eq!(ok.map(|p| p.subject().to_owned()).as_deref(), Some("k"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
