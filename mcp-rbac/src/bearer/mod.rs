//! The tower layer that authenticates every request to the MCP endpoint.
//!
//! ```no_run
//! use std::sync::Arc;
//! use axum::Router;
//! use mcp_rbac::bearer::BearerAuthLayer;
//! use mcp_rbac::metadata::ProtectedResource;
//! use mcp_rbac::verify::TokenVerifier;
//! use tower_layer::Layer;
//!
//! fn app<S>(mcp: S, verifier: Arc<dyn TokenVerifier>) -> Router
//! where
//!     S: tower_service::Service<http::Request<axum::body::Body>, Response = http::Response<axum::body::Body>, Error = std::convert::Infallible>
//!         + Clone + Send + Sync + 'static,
//!     S::Future: Send + 'static,
//! {
//!     let resource = ProtectedResource::new("http://127.0.0.1:8000/mcp").unwrap()
//!         .authorization_server("https://issuer.example");
//!     let auth = BearerAuthLayer::new(verifier, &resource);
//!     Router::new()
//!         .route_service("/mcp", auth.layer(mcp))
//!         .merge(resource.router())
//! }
//! ```

mod challenge;
mod header;
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

pub use challenge::Challenge;
pub use header::{bearer_token, HeaderError};
pub(crate) use step_up::is_scope_token;
pub use step_up::{StepUp, StepUpLayer, DEFAULT_MAX_BODY_BYTES};

use crate::audit;
use crate::metadata::ProtectedResource;
use crate::verify::{AuthError, TokenVerifier};

/// Authenticates each request with a [`TokenVerifier`]: a verified [`Principal`](crate::Principal)
/// goes into the request's extensions (where the guards find it through rmcp's request context);
/// anything else is answered here with 401 and the contract's `WWW-Authenticate` challenge.
#[derive(Clone)]
pub struct BearerAuthLayer {
    verifier: Arc<dyn TokenVerifier>,
    challenge: Challenge,
}

impl BearerAuthLayer {
    /// A layer verifying with `verifier`, whose challenges point at `resource`'s metadata.
    pub fn new(verifier: Arc<dyn TokenVerifier>, resource: &ProtectedResource) -> Self {
        BearerAuthLayer {
            verifier,
            challenge: Challenge::new(&resource.metadata_url()),
        }
    }
}

impl<S> Layer<S> for BearerAuthLayer {
    type Service = BearerAuth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BearerAuth {
            inner,
            verifier: self.verifier.clone(),
            challenge: self.challenge.clone(),
        }
    }
}

/// The service [`BearerAuthLayer`] makes.
#[derive(Clone)]
pub struct BearerAuth<S> {
    inner: S,
    verifier: Arc<dyn TokenVerifier>,
    challenge: Challenge,
}

impl<S, B, ResBody> Service<Request<B>> for BearerAuth<S>
where
    S: Service<Request<B>, Response = Response<ResBody>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
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
        let token = match bearer_token(request.headers()) {
            Ok(Some(token)) => token.to_owned(),
            Ok(None) => {
                audit::token_rejected("no bearer token");
                return Box::pin(std::future::ready(Ok(self.challenge.missing())));
            }
            Err(e) => {
                audit::token_rejected(e.description());
                return Box::pin(std::future::ready(Ok(self
                    .challenge
                    .invalid(e.description()))));
            }
        };
        // The ready inner service goes with this request; a fresh clone waits for the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        let challenge = self.challenge.clone();
        Box::pin(async move {
            // A verifier that panics refuses the request; it never allows it or drops the connection.
            // `verify` is called inside the guarded future: it may panic before returning one.
            let verified = AssertUnwindSafe(async { verifier.verify(&token).await })
                .catch_unwind()
                .await
                .unwrap_or(Err(AuthError::Internal));
            match verified {
                Ok(principal) => {
                    request.extensions_mut().insert(principal);
                    let response = inner.call(request).await?;
                    Ok(response.map(Body::new))
                }
                Err(e) => {
                    let description = e.to_string();
                    audit::token_rejected(&description);
                    Ok(challenge.invalid(&description))
                }
            }
        })
    }
}
