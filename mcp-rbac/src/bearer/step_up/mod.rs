//! Opt-in step-up authorization: a `tools/call` the caller may not make, but could with more OAuth
//! scopes, is answered at the HTTP layer with the MCP specification's scope challenge (403,
//! `WWW-Authenticate: Bearer error="insufficient_scope", scope="…", resource_metadata="…"`)
//! instead of a JSON-RPC 403 at HTTP 200, which OAuth clients do not treat as a reason to
//! re-authorize. Which scopes are named is explained in `scopes.rs` (for `any(..)`: one
//! alternative, the first one scopes can meet).
//!
//! The layer goes inside [`BearerAuthLayer`](super::BearerAuthLayer) (it needs the principal):
//!
//! ```no_run
//! use std::sync::Arc;
//! use axum::Router;
//! use mcp_rbac::bearer::{BearerAuthLayer, StepUpLayer};
//! use mcp_rbac::metadata::ProtectedResource;
//! use mcp_rbac::verify::TokenVerifier;
//! use mcp_rbac::Manifest;
//! use tower_layer::Layer;
//!
//! fn app<S>(mcp: S, verifier: Arc<dyn TokenVerifier>, manifest: &Manifest) -> Router
//! where
//!     S: tower_service::Service<http::Request<axum::body::Body>, Response = http::Response<axum::body::Body>, Error = std::convert::Infallible>
//!         + Clone + Send + Sync + 'static,
//!     S::Future: Send + 'static,
//! {
//!     let resource = ProtectedResource::new("https://mcp.example/mcp").unwrap()
//!         .authorization_server("https://issuer.example")
//!         .scopes_from_manifest(manifest);           // scopes_supported, from the requirements
//!     let auth = BearerAuthLayer::new(verifier, &resource);
//!     let step_up = StepUpLayer::new(manifest, &resource).max_body_bytes(256 * 1024);
//!     Router::new()
//!         .route_service("/mcp", auth.layer(step_up.layer(mcp)))
//!         .merge(resource.router())
//! }
//! ```
//!
//! To decide before rmcp runs, the layer reads the POST body ahead (up to
//! [`max_body_bytes`](StepUpLayer::max_body_bytes)) and parses one JSON-RPC request. Everything it
//! cannot decide goes on unchanged to the normal path, where the route's guard still refuses: a
//! batch, another method, JSON it cannot parse, an unknown or public tool, a body over the limit,
//! a requirement scopes cannot meet. The layer only ever adds refusals; it never allows anything.

mod body;
mod scopes;

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use futures::future::BoxFuture;
use http::header::CONTENT_LENGTH;
use http::{Method, Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use self::body::{called_tool, read_bounded, Buffered};
use self::scopes::challenge_scopes;
use super::Challenge;
use crate::audit;
use crate::metadata::{is_scope_token, manifest_scopes, ProtectedResource};
use crate::metrics::{self, Decision};
use crate::principal::Principal;
use crate::requirement::{Access, Requirement};
use crate::Manifest;

/// The default read-ahead limit: 1 MiB. Larger bodies take the normal path.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// Answers refused-but-fixable `tools/call`s with a scope challenge. See the [step-up guide](crate::guides::step_up).
#[derive(Clone, Debug)]
pub struct StepUpLayer {
    config: Arc<Config>,
}

#[derive(Clone, Debug)]
struct Config {
    /// Tool → requirement, for the tools that have one (public and unguarded tools are absent).
    tools: HashMap<String, Requirement>,
    /// Permission names a client can ask the authorization server for.
    scopes: HashSet<String>,
    challenge: Challenge,
    max_body_bytes: usize,
}

impl StepUpLayer {
    /// Challenges for the tools of `manifest` (e.g. `MyServer::tool_router_manifest()`), pointing
    /// at `resource`'s metadata. The scopes a client may be asked for are the resource's
    /// `scopes_supported`, or, when it advertises none, every permission the manifest requires.
    pub fn new(manifest: &Manifest, resource: &ProtectedResource) -> Self {
        let tools = manifest
            .tools
            .iter()
            .filter_map(|(tool, rule)| match rule.parse::<Access>() {
                // `unguarded` parses as a permission name; such a tool is refused by the handler.
                Ok(Access::Requires(req)) if rule != "unguarded" => Some((tool.clone(), req)),
                _ => None,
            })
            .collect();
        let advertised = resource.scopes_supported();
        let scopes = if advertised.is_empty() {
            manifest_scopes(manifest)
        } else {
            advertised.to_vec()
        };
        StepUpLayer {
            config: Arc::new(Config {
                tools,
                scopes: HashSet::new(),
                challenge: Challenge::new(&resource.metadata_url()),
                max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            }),
        }
        .scopes(scopes)
    }

    /// Replaces the scopes a client may be asked for. Names that are not RFC 6749 scope-tokens
    /// (spaces, quotes, non-ASCII) are left out: they cannot be requested.
    pub fn scopes(mut self, scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Arc::make_mut(&mut self.config).scopes = scopes
            .into_iter()
            .map(Into::into)
            .filter(|s| is_scope_token(s))
            .collect();
        self
    }

    /// How much of a POST body is read ahead (default [`DEFAULT_MAX_BODY_BYTES`]). A longer body
    /// goes on to the normal path whole, where a refused call gets the JSON-RPC 403.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        Arc::make_mut(&mut self.config).max_body_bytes = limit;
        self
    }
}

impl Config {
    /// The scopes to challenge with, when `tool` is refused to `principal` and scopes can fix it.
    fn challenge_for(
        &self,
        tool: &str,
        principal: &Principal,
        scope: audit::Scope<'_>,
    ) -> Option<Vec<&str>> {
        let started = std::time::Instant::now();
        let counted_from = metrics::start();
        let requirement = self.tools.get(tool)?;
        let scopes = challenge_scopes(requirement, principal, &self.scopes)?;
        audit::insufficient_scope(scope, tool, principal, &requirement.to_string(), started);
        metrics::decision(
            "tool",
            tool,
            Decision::Deny,
            "insufficient_scope",
            counted_from,
        );
        Some(scopes)
    }
}

impl<S> Layer<S> for StepUpLayer {
    type Service = StepUp<S>;

    fn layer(&self, inner: S) -> Self::Service {
        StepUp {
            inner,
            config: self.config.clone(),
        }
    }
}

/// The service [`StepUpLayer`] makes.
#[derive(Clone, Debug)]
pub struct StepUp<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S, B, ResBody> Service<Request<B>> for StepUp<S>
where
    S: Service<Request<Body>, Response = Response<ResBody>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<axum::BoxError>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The ready inner service goes with this request; a fresh clone waits for the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = self.config.clone();
        let request = request.map(Body::new);
        Box::pin(async move {
            let request = match screen(&config, request).await {
                Screened::Forward(request) => request,
                Screened::Answer(response) => return Ok(response),
            };
            let response = inner.call(request).await?;
            Ok(response.map(Body::new))
        })
    }
}

enum Screened {
    Forward(Request<Body>),
    Answer(Response<Body>),
}

/// Decides whether `request` is a refused call scopes can fix; otherwise hands it back intact.
async fn screen(config: &Config, request: Request<Body>) -> Screened {
    let principal = match request.extensions().get::<Principal>() {
        Some(principal) if request.method() == Method::POST => principal.clone(),
        _ => return Screened::Forward(request),
    };
    let declared_length = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_length.is_some_and(|n| n > config.max_body_bytes as u64) {
        return Screened::Forward(request);
    }
    let (parts, body) = request.into_parts();
    let bytes = match read_bounded(body, config.max_body_bytes).await {
        Buffered::Complete(bytes) => bytes,
        Buffered::Oversized(body) => return Screened::Forward(Request::from_parts(parts, body)),
        Buffered::Failed => return Screened::Answer(unreadable_body()),
    };
    if let Some(tool) = called_tool(&bytes) {
        let scope = audit::Scope::of_extensions(&parts.extensions);
        if let Some(scopes) = config.challenge_for(&tool, &principal, scope) {
            return Screened::Answer(config.challenge.insufficient_scope(&scopes));
        }
    }
    Screened::Forward(Request::from_parts(parts, Body::from(bytes)))
}

/// The client's body broke off: nothing to forward, and nothing rmcp could have parsed either.
fn unreadable_body() -> Response<Body> {
    let body = serde_json::json!({
        "error": "invalid_request",
        "error_description": "the request body could not be read",
    });
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}
