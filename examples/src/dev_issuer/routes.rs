//! The issuer's HTTP surface: `/login`, `/refresh`, `/jwks` and the RFC 8414 metadata.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use mcp_rbac::testkit::{now, DevIssuer};
use serde_json::{json, Value};

use super::refresh::{RefreshError, RefreshTokens};
use super::users::{Users, MAX_PASSWORD_BYTES};

/// RFC 8414's well-known path (the issuer has no path, so nothing is appended).
pub const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";
/// Where the public keys are served.
pub const JWKS_PATH: &str = "/jwks";
/// Requests are small JSON objects; anything larger is refused before parsing.
const MAX_BODY_BYTES: usize = 16 * 1024;
const MAX_USERNAME_BYTES: usize = 256;
const LOGIN_BODY: &str = r#"{"username": string, "password": string}"#;
const REFRESH_BODY: &str = r#"{"refresh_token": string}"#;

/// What the handlers share.
pub struct IssuerState {
    pub(super) signer: DevIssuer,
    pub(super) users: Users,
    pub(super) refresh: RefreshTokens,
    pub(super) access_ttl_secs: u64,
    /// Argon2 checks: a few at a time, a bounded queue behind them.
    pub(super) logins: LoginGate,
}

/// Bounds password checks: `workers` Argon2 checks at a time (one per core, so a burst does not
/// starve the server of CPU) and at most `queue` more logins waiting; a login beyond that is
/// answered 503 at once instead of waiting in an unbounded queue.
pub struct LoginGate {
    /// Held by every login from admission to its answer: workers + queue in all.
    admitted: Arc<tokio::sync::Semaphore>,
    /// Held while hashing.
    hashing: tokio::sync::Semaphore,
}

/// A login admitted through the gate; dropping it leaves the queue.
pub struct Admitted {
    _place: tokio::sync::OwnedSemaphorePermit,
}

impl LoginGate {
    /// `workers` (at least 1) checks at a time and `queue` more waiting.
    pub fn new(workers: usize, queue: usize) -> Self {
        let workers = workers.max(1);
        LoginGate {
            admitted: Arc::new(tokio::sync::Semaphore::new(workers.saturating_add(queue))),
            hashing: tokio::sync::Semaphore::new(workers),
        }
    }

    /// A place in line, or `None` when the line is full.
    pub fn admit(&self) -> Option<Admitted> {
        self.admitted
            .clone()
            .try_acquire_owned()
            .ok()
            .map(|place| Admitted { _place: place })
    }
}

/// The routes, ready to serve.
pub fn router(state: Arc<IssuerState>) -> Router {
    Router::new()
        .route("/login", post(login))
        .route("/refresh", post(refresh))
        .route(JWKS_PATH, get(jwks))
        .route(METADATA_PATH, get(metadata))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

#[derive(serde::Deserialize)]
struct LoginRequest {
    username: String,
    password: String,
}

#[derive(serde::Deserialize)]
struct RefreshRequest {
    refresh_token: String,
}

async fn login(
    State(state): State<Arc<IssuerState>>,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> Response {
    let Json(request) = match body {
        Ok(body) => body,
        Err(rejection) => return bad_request(&rejection, LOGIN_BODY),
    };
    if request.username.len() > MAX_USERNAME_BYTES || request.password.len() > MAX_PASSWORD_BYTES {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "username or password is too long",
        );
    }
    let Some(_in_line) = state.logins.admit() else {
        tracing::info!("login refused: too many logins waiting");
        return (
            [(header::RETRY_AFTER, "1")],
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "too many logins at once; retry shortly",
            ),
        )
            .into_response();
    };
    // Argon2 takes tens of milliseconds of CPU: keep it off the async workers.
    let Ok(_permit) = state.logins.hashing.acquire().await else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "shutting down",
        );
    };
    let checker = state.clone();
    let subject = tokio::task::spawn_blocking(move || {
        checker
            .users
            .authenticate(&request.username, &request.password)
            .map(|user| user.name.clone())
    })
    .await
    .ok()
    .flatten();
    let Some(subject) = subject else {
        tracing::info!("login refused");
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "unknown user or wrong password",
        );
    };
    tracing::info!(subject, "login");
    match state.refresh.start(&subject, now()) {
        Ok(refresh_token) => token_response(&state, &subject, refresh_token),
        Err(e @ RefreshError::Full) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            &e.to_string(),
        ),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            &e.to_string(),
        ),
    }
}

async fn refresh(
    State(state): State<Arc<IssuerState>>,
    body: Result<Json<RefreshRequest>, JsonRejection>,
) -> Response {
    let Json(request) = match body {
        Ok(body) => body,
        Err(rejection) => return bad_request(&rejection, REFRESH_BODY),
    };
    match state.refresh.rotate(&request.refresh_token, now()) {
        Ok((refresh_token, subject)) => {
            if state.users.get(&subject).is_none() {
                return error(StatusCode::UNAUTHORIZED, "invalid_grant", "user is gone");
            }
            tracing::info!(subject, "refresh");
            token_response(&state, &subject, refresh_token)
        }
        Err(RefreshError::Random) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            &RefreshError::Random.to_string(),
        ),
        Err(e) => error(StatusCode::UNAUTHORIZED, "invalid_grant", &e.to_string()),
    }
}

/// An access token for `subject` (roles from the users file, read afresh so a refresh picks up
/// the current roles) and the given refresh token, as OAuth token responses look.
fn token_response(state: &IssuerState, subject: &str, refresh_token: String) -> Response {
    let roles = state
        .users
        .get(subject)
        .map(|u| u.roles.clone())
        .unwrap_or_default();
    let issued_at = now();
    let access_token = state.signer.token(json!({
        "sub": subject,
        "roles": roles,
        "iat": issued_at,
        "exp": issued_at + state.access_ttl_secs,
    }));
    if access_token.is_empty() {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "signing failed",
        );
    }
    no_store(
        StatusCode::OK,
        json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": state.access_ttl_secs,
            "refresh_token": refresh_token,
            "refresh_token_expires_in": state.refresh.ttl_secs(),
        }),
    )
}

async fn jwks(State(state): State<Arc<IssuerState>>) -> Json<Value> {
    Json(serde_json::to_value(state.signer.jwks()).unwrap_or(Value::Null))
}

/// RFC 8414 metadata. There is no authorization endpoint (logins are direct), so no response
/// types; `login_endpoint` and `refresh_endpoint` are this issuer's own, non-standard fields.
async fn metadata(State(state): State<Arc<IssuerState>>) -> Json<Value> {
    let issuer = state.signer.issuer().trim_end_matches('/');
    Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}{JWKS_PATH}"),
        "response_types_supported": [],
        "grant_types_supported": ["refresh_token"],
        "token_endpoint_auth_methods_supported": ["none"],
        "login_endpoint": format!("{issuer}/login"),
        "refresh_endpoint": format!("{issuer}/refresh"),
    }))
}

/// A 400 saying what the body should have been. serde's own message is not echoed: it can
/// quote the body (`invalid type: string "hunter2"`), which may hold a password.
fn bad_request(rejection: &JsonRejection, expected: &str) -> Response {
    let description = match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            "Content-Type must be application/json".to_owned()
        }
        JsonRejection::JsonSyntaxError(_) => "the body is not valid JSON".to_owned(),
        JsonRejection::JsonDataError(_) => format!("the body must be {expected}"),
        _ => format!("the body must be {expected}, at most {MAX_BODY_BYTES} bytes"),
    };
    error(StatusCode::BAD_REQUEST, "invalid_request", &description)
}

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    no_store(
        status,
        json!({"error": code, "error_description": description}),
    )
}

/// Token responses and their errors must not be cached (RFC 6749 §5.1).
fn no_store(status: StatusCode, body: Value) -> Response {
    (
        status,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(body),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::LoginGate;

    #[test]
    fn the_login_line_is_bounded() {
        let gate = LoginGate::new(2, 3);
        let admitted: Vec<_> = (0..5).map(|_| gate.admit()).collect();
        assert!(admitted.iter().all(Option::is_some));
        assert!(gate.admit().is_none(), "the sixth login is turned away");
        drop(admitted);
        assert!(gate.admit().is_some(), "the line frees as logins finish");
    }
}
