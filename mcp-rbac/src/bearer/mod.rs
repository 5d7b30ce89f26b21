//! The tower layer that authenticates every request to the MCP endpoint.
//!
//! Around any service: a request without a token is answered here with the challenge, one with
//! a token the verifier accepts reaches the service with its [`Principal`](crate::Principal) in
//! the request's extensions. Here with the development issuer (feature `testkit`):
//!
//! ```
//! use axum::body::Body;
//! use http::{Request, Response, StatusCode};
//! use mcp_rbac::testkit::DevIssuer;
//! use mcp_rbac::{BearerAuthLayer, Principal, ProtectedResource};
//! use tower::{service_fn, Layer, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let url = "https://mcp.example.com/mcp";
//! let issuer = DevIssuer::generate("https://login.example.com", url)?;
//! let resource = ProtectedResource::new(url)?.authorization_server(issuer.issuer());
//! let auth = BearerAuthLayer::new(issuer.verifier_builder().build()?, &resource);
//! let service = auth.layer(service_fn(|request: Request<Body>| async move {
//!     let caller = request.extensions().get::<Principal>().map(|p| p.subject().to_owned());
//!     Ok::<_, std::convert::Infallible>(Response::new(Body::from(caller.unwrap_or_default())))
//! }));
//!
//! // No token: 401, and the challenge names the metadata document (RFC 9728).
//! let refused = service.clone().oneshot(Request::new(Body::empty())).await?;
//! assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(
//!     refused.headers()["www-authenticate"],
//!     r#"Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp""#
//! );
//!
//! // A token of the issuer: the service runs, and sees the caller.
//! let token = issuer.token(serde_json::json!({"sub": "alice"}));
//! let request = Request::builder()
//!     .header("authorization", format!("Bearer {token}"))
//!     .body(Body::empty())?;
//! let allowed = service.oneshot(request).await?;
//! assert_eq!(allowed.status(), StatusCode::OK);
//! let body = axum::body::to_bytes(allowed.into_body(), 1024).await?;
//! assert_eq!(body, "alice");
//! # Ok(())
//! # }
//! ```
//!
//! [`ServerBuilder`](crate::ServerBuilder) puts the layer in front of rmcp's streamable HTTP
//! service for you; the [verifier guide](crate::guides::verifiers) shows the assembly by hand.

mod challenge;
pub mod dpop;
mod drain;
mod header;
mod session;
mod step_up;

use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::FutureExt;
use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use challenge::Challenge;
pub use dpop::{Dpop, DpopError, DpopMode};
pub use drain::{DEFAULT_DRAIN_BYTES, DEFAULT_DRAIN_TIME};
pub use header::{bearer_token, HeaderError};
pub use session::DEFAULT_MAX_SESSIONS;
pub use step_up::{StepUp, StepUpLayer, DEFAULT_MAX_BODY_BYTES};

use self::drain::Drain;
use self::header::Scheme;

use crate::audit;
use crate::metadata::ProtectedResource;
use crate::metrics::{self, Decision};
use crate::store::{MemoryState, ReplayKey, RequestFacts, SharedState, StoreError, Verdicts};
use crate::verify::{header_algorithm, json_numeric_date, AuthError, TokenVerifier};

/// Authenticates each request with a [`TokenVerifier`]: a verified [`Principal`](crate::Principal)
/// goes into the request's extensions (where the guards find it through rmcp's request context);
/// anything else is answered here with 401 and the `WWW-Authenticate` challenge of RFC 6750 §3
/// and RFC 9728 §5.1, as the MCP authorization specification asks.
///
/// It also binds each MCP session (`Mcp-Session-Id`) to the issuer and subject that opened it:
/// another principal naming that session gets `404 Not Found`, as for a session that does not
/// exist. Sessions this process did not open (restored by rmcp from a shared store) are bound to
/// the first principal they serve.
///
/// With [`dpop`](Self::dpop) it also takes `Authorization: DPoP <token>` with a proof of
/// possession (RFC 9449): see the [DPoP guide](crate::guides::dpop). A token bound to a DPoP key
/// (`cnf.jkt`) sent as `Bearer` is refused whether DPoP is on or not.
///
/// A refusal reads and discards what is left of the request body first (up to
/// [`DEFAULT_DRAIN_BYTES`] within [`DEFAULT_DRAIN_TIME`]), so a kept-alive connection serves
/// the client's next request; past either bound the refusal says `Connection: close`.
#[derive(Clone)]
pub struct BearerAuthLayer {
    verifier: Arc<dyn TokenVerifier>,
    challenge: Challenge,
    state: Arc<dyn SharedState>,
    /// The state is the layer's own [`MemoryState`], sized by `max_sessions`.
    own_state: bool,
    sessions: bool,
    drain: Drain,
    dpop: Option<Dpop>,
    metrics: Arc<metrics::ServerMetrics>,
}

impl BearerAuthLayer {
    /// A layer verifying with `verifier` (any [`TokenVerifier`], or one already shared in an
    /// `Arc`), whose challenges point at `resource`'s metadata.
    pub fn new(verifier: impl TokenVerifier, resource: &ProtectedResource) -> Self {
        BearerAuthLayer {
            verifier: Arc::new(verifier),
            challenge: Challenge::new(&resource.metadata_url()),
            state: Arc::new(MemoryState::default().max_sessions(DEFAULT_MAX_SESSIONS)),
            own_state: true,
            sessions: true,
            drain: Drain::default(),
            dpop: None,
            metrics: Arc::default(),
        }
    }

    /// Accepts (or, in [`DpopMode::Require`], requires) DPoP-bound tokens with their proofs
    /// (RFC 9449); the challenges then name the DPoP scheme and its algorithms.
    pub fn dpop(mut self, dpop: Dpop) -> Self {
        self.challenge = self.challenge.with_dpop(&dpop);
        self.dpop = Some(dpop);
        self
    }

    /// How much of a refused request's body to read and discard, and for how long, before
    /// answering ([`DEFAULT_DRAIN_BYTES`], [`DEFAULT_DRAIN_TIME`]). A body past either bound is
    /// left unread and the refusal closes the connection.
    pub fn drain(mut self, max_bytes: usize, max_time: std::time::Duration) -> Self {
        self.drain = Drain {
            max_bytes,
            max_time,
        };
        self
    }

    /// How many session owners to remember ([`DEFAULT_MAX_SESSIONS`] unless set). Past it the
    /// least used are forgotten, and such a session is bound again to the next principal it
    /// serves; `0` stops binding sessions to principals altogether. With a
    /// [`shared_state`](Self::shared_state) given, only `0` counts (the state bounds itself).
    pub fn max_sessions(mut self, max: usize) -> Self {
        self.sessions = max > 0;
        if self.own_state && max > 0 {
            self.state = Arc::new(MemoryState::default().max_sessions(max));
        }
        self
    }

    /// Where proof `jti`s, revocations and session owners are kept: a `RedisState` (feature
    /// `redis`) shared by replicas, or a [`MemoryState`] of other sizes.
    pub fn shared_state(mut self, state: Arc<dyn SharedState>) -> Self {
        self.state = state;
        self.own_state = false;
        self
    }

    /// The state proof `jti`s, revocations and session owners are kept in: revoke through it.
    pub fn state(&self) -> &Arc<dyn SharedState> {
        &self.state
    }
}

impl<S> Layer<S> for BearerAuthLayer {
    type Service = BearerAuth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BearerAuth {
            inner,
            verifier: self.verifier.clone(),
            challenge: self.challenge.clone(),
            state: self.state.clone(),
            sessions: self.sessions,
            drain: self.drain,
            dpop: self.dpop.clone(),
            metrics: self.metrics.clone(),
        }
    }
}

/// The service [`BearerAuthLayer`] makes.
#[derive(Clone)]
pub struct BearerAuth<S> {
    inner: S,
    verifier: Arc<dyn TokenVerifier>,
    challenge: Challenge,
    state: Arc<dyn SharedState>,
    sessions: bool,
    drain: Drain,
    dpop: Option<Dpop>,
    metrics: Arc<metrics::ServerMetrics>,
}

impl<S, B, ResBody> Service<Request<B>> for BearerAuth<S>
where
    S: Service<Request<B>, Response = Response<ResBody>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<axum::BoxError>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let started = std::time::Instant::now();
        // Every answer names the request, so support can find its decision records.
        let request_id = audit::RequestId::generate();
        let id_header = http::HeaderValue::from_str(request_id.as_str()).ok();
        request.extensions_mut().insert(request_id);
        self.metrics.mark(request.extensions_mut());
        let with_id = move |mut response: Response<Body>| {
            if let Some(id) = id_header {
                response.headers_mut().insert(audit::REQUEST_ID_HEADER, id);
            }
            response
        };
        // The header value is shared bytes: cloning it counts a reference, copying no token.
        let header = header::single_value(request.headers()).and_then(|value| {
            let Some(value) = value else { return Ok(None) };
            Ok(header::token_range(value.as_bytes())?.map(|found| (value.clone(), found)))
        });
        let drain = self.drain;
        let dpop_on = self.dpop.is_some();
        let (value, (scheme, range)) = match header {
            // The DPoP scheme is another scheme's credential when DPoP is off.
            Ok(Some((_, (Scheme::Dpop, _)))) if !dpop_on => {
                let scope = audit::Scope::of_extensions(request.extensions());
                audit::token_rejected(scope, true, "no bearer token", started);
                metrics::token_not_verified("missing");
                let refusal = with_id(self.challenge.missing());
                return Box::pin(async move { Ok(drain.answer(request, refusal).await) });
            }
            Ok(Some((_, (Scheme::Bearer, _))))
                if self
                    .dpop
                    .as_ref()
                    .is_some_and(|d| d.mode() == DpopMode::Require) =>
            {
                let error = DpopError::BearerNotAccepted;
                let scope = audit::Scope::of_extensions(request.extensions());
                audit::token_rejected(scope, false, &error.to_string(), started);
                metrics::dpop_proof(error.class());
                let refusal = with_id(self.challenge.dpop_refused(error));
                return Box::pin(async move { Ok(drain.answer(request, refusal).await) });
            }
            Ok(Some(found)) => found,
            Ok(None) => {
                let scope = audit::Scope::of_extensions(request.extensions());
                audit::token_rejected(scope, true, "no bearer token", started);
                metrics::token_not_verified("missing");
                let refusal = with_id(self.challenge.missing());
                return Box::pin(async move { Ok(drain.answer(request, refusal).await) });
            }
            Err(e) => {
                let scope = audit::Scope::of_extensions(request.extensions());
                audit::token_rejected(scope, false, e.description(), started);
                metrics::token_not_verified(match e {
                    HeaderError::Duplicate => "duplicate_header",
                    HeaderError::Malformed => "malformed_header",
                });
                let refusal = with_id(self.challenge.invalid(e.description()));
                return Box::pin(async move { Ok(drain.answer(request, refusal).await) });
            }
        };
        // The ready inner service goes with this request; a fresh clone waits for the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        let challenge = self.challenge.clone();
        let state = self.state.clone();
        let sessions = self.sessions;
        let dpop = self.dpop.clone();
        let server_metrics = self.metrics.clone();
        Box::pin(async move {
            // A verifier that panics refuses the request; it never allows it or drops the connection.
            // `verify` is called inside the guarded future: it may panic before returning one.
            let verifying = metrics::start();
            let mut algorithm = None;
            let verified = AssertUnwindSafe(async {
                match header::token_text(&value, range.clone()) {
                    Ok(token) => {
                        algorithm = header_algorithm(token);
                        verifier.verify(token).await
                    }
                    Err(_) => Err(AuthError::Malformed),
                }
            })
            .catch_unwind()
            .await
            .unwrap_or(Err(AuthError::Internal));
            server_metrics.token_verified(verified.as_ref().map(|_| ()), algorithm, verifying);
            let dpop_refusal = |error: DpopError| {
                let mut refusal = if dpop.is_some() {
                    challenge.dpop_refused(error)
                } else {
                    challenge.invalid(&error.to_string())
                };
                // With server nonces on, a refusal hands out the nonce to use (RFC 9449 §8).
                let nonce = dpop.as_ref().and_then(Dpop::fresh_nonce);
                if let Some(nonce) = nonce.and_then(|n| http::HeaderValue::from_str(&n).ok()) {
                    refusal.headers_mut().insert(dpop::DPOP_NONCE_HEADER, nonce);
                }
                refusal
            };
            let principal = match verified {
                Ok(principal) => principal,
                Err(e) => {
                    let description = e.to_string();
                    let scope = audit::Scope::of_extensions(request.extensions());
                    audit::token_rejected(scope, false, &description, started);
                    let refusal = with_id(match scheme {
                        Scheme::Dpop => challenge.dpop_invalid_token(&description),
                        Scheme::Bearer => challenge.invalid(&description),
                    });
                    return Ok(drain.answer(request, refusal).await);
                }
            };
            // The proof of possession (RFC 9449 §7.1), or the refusal of a bound token as Bearer.
            let token = header::token_text(&value, range.clone()).unwrap_or_default();
            let (method, headers) = (request.method(), request.headers());
            let bound = possession(dpop.as_ref(), scheme, method, headers, token, &principal);
            let replay = match bound {
                Ok(replay) => replay,
                Err(error) => {
                    let scope = audit::Scope::of_extensions(request.extensions());
                    audit::token_rejected(scope, false, &error.to_string(), started);
                    metrics::dpop_proof(error.class());
                    return Ok(drain.answer(request, with_id(dpop_refusal(error))).await);
                }
            };
            // Replay, revocation and the session's owner: one question to the shared state.
            let checking = metrics::start();
            let session = sessions
                .then(|| request.headers().get(session::SESSION_HEADER).cloned())
                .flatten();
            let claims = principal.claims();
            let facts = RequestFacts {
                now: dpop.as_ref().map_or_else(crate::store::unix_now, Dpop::now),
                replay,
                token_id: claims.get("jti").and_then(serde_json::Value::as_str),
                issuer: principal.issuer(),
                subject: principal.subject(),
                issued_at: claims.get("iat").and_then(json_numeric_date),
                session: session.as_ref().map(|id| id.as_bytes()),
            };
            // A state that panics refuses the request, like one that cannot be reached. `check`
            // is called inside the guarded future: it may panic before returning one.
            let verdicts = AssertUnwindSafe(async { state.check(&facts).await })
                .catch_unwind()
                .await
                .unwrap_or_else(|_| Err(StoreError::Unavailable("panicked".to_owned())));
            let verdicts = match verdicts {
                Ok(verdicts) => verdicts,
                Err(StoreError::Full) if replay.is_some() => {
                    let error = DpopError::ReplayUnavailable;
                    let scope = audit::Scope::of_extensions(request.extensions());
                    audit::token_rejected(scope, false, &error.to_string(), started);
                    metrics::dpop_proof(error.class());
                    return Ok(drain.answer(request, with_id(dpop_refusal(error))).await);
                }
                Err(error) => {
                    tracing::error!(target: "mcp_rbac::auth", %error, "shared state unavailable: request refused");
                    let scope = audit::Scope::of_extensions(request.extensions());
                    audit::store_unavailable(scope, &principal, started);
                    let reason = "store_unavailable";
                    metrics::decision("request", "", Decision::Deny, reason, checking);
                    return Ok(drain.answer(request, with_id(unavailable())).await);
                }
            };
            let Verdicts {
                replayed,
                revoked,
                session_owner,
            } = verdicts;
            if revoked {
                let description = "token revoked";
                let scope = audit::Scope::of_extensions(request.extensions());
                audit::token_rejected(scope, false, description, started);
                metrics::decision("request", "", Decision::Deny, "revoked", checking);
                let refusal = with_id(match scheme {
                    Scheme::Dpop => challenge.dpop_invalid_token(description),
                    Scheme::Bearer => challenge.invalid(description),
                });
                return Ok(drain.answer(request, refusal).await);
            }
            if replayed {
                let error = DpopError::Replayed;
                let scope = audit::Scope::of_extensions(request.extensions());
                audit::token_rejected(scope, false, &error.to_string(), started);
                metrics::dpop_proof(error.class());
                return Ok(drain.answer(request, with_id(dpop_refusal(error))).await);
            }
            if replay.is_some() {
                metrics::dpop_proof("valid");
            }
            let known_owner = session_owner.is_some();
            if session_owner.is_some_and(|owner| !session::is_owner(&owner, &principal)) {
                let scope = audit::Scope::of_extensions(request.extensions());
                audit::foreign_session(scope, &principal, started);
                let reason = "foreign_session";
                metrics::decision("session", "", Decision::Deny, reason, checking);
                return Ok(drain.answer(request, with_id(session::not_found())).await);
            }
            if !sessions {
                request.extensions_mut().insert(principal);
                return Ok(with_id(inner.call(request).await?.map(Body::new)));
            }
            let is_delete = request.method() == http::Method::DELETE;
            request.extensions_mut().insert(principal.clone());
            let response = inner.call(request).await?.map(Body::new);
            if !response.status().is_success() {
                return Ok(with_id(response));
            }
            let owner = session::owner_of(&principal);
            let recorded = match &session {
                // A session opened: it is this principal's. Unrecorded, its id is not handed out.
                None => match response.headers().get(session::SESSION_HEADER) {
                    Some(id) => state.bind_session(id.as_bytes(), &owner, false).await,
                    None => Ok(()),
                },
                Some(id) if is_delete => state.remove_session(id.as_bytes()).await,
                // First use of a session without an owner: it is this principal's now.
                Some(id) if !known_owner => state.bind_session(id.as_bytes(), &owner, true).await,
                Some(_) => Ok(()),
            };
            match recorded {
                Ok(()) => Ok(with_id(response)),
                Err(error) if session.is_none() => {
                    tracing::error!(target: "mcp_rbac::auth", %error, "session owner not recorded: session refused");
                    Ok(with_id(unavailable()))
                }
                Err(error) => {
                    tracing::warn!(target: "mcp_rbac::auth", %error, "session owner not updated");
                    Ok(with_id(response))
                }
            }
        })
    }
}

/// The answer when the shared state cannot be asked: the server's outage, not the client's
/// token, so `503` and a retry shortly.
fn unavailable() -> Response<Body> {
    let mut response = Response::new(Body::from(
        "Service Unavailable: authorization state unreachable",
    ));
    *response.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
    response.headers_mut().insert(
        http::header::RETRY_AFTER,
        http::HeaderValue::from_static("1"),
    );
    response
}

/// Whether a verified `principal`'s token may be used with `scheme`: a DPoP-bound token
/// (`cnf.jkt`) only with the DPoP scheme and a valid proof of its key, the DPoP scheme only for
/// a bound token.
/// For a DPoP request, the proof to record as used.
fn possession(
    dpop: Option<&Dpop>,
    scheme: Scheme,
    method: &http::Method,
    headers: &http::HeaderMap,
    token: &str,
    principal: &crate::Principal,
) -> Result<Option<ReplayKey>, DpopError> {
    let jkt = principal.confirmation_jkt();
    match (scheme, jkt, dpop) {
        (Scheme::Bearer, None, _) => Ok(None),
        (Scheme::Bearer, Some(_), _) => Err(DpopError::BoundTokenAsBearer),
        (Scheme::Dpop, None, _) => Err(DpopError::UnboundToken),
        // Not reached: the layer treats the DPoP scheme as absent when DPoP is off.
        (Scheme::Dpop, Some(_), None) => Err(DpopError::Missing),
        (Scheme::Dpop, Some(jkt), Some(dpop)) => dpop.check(method, headers, token, jkt).map(Some),
    }
}
