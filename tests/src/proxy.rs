//! A loopback HTTP proxy for clients that cannot send an `Authorization` header (the official
//! conformance suite) or do not show what the server answered (the Inspector CLI).
//!
//! It forwards every request to one upstream server unchanged (method, path, headers including
//! `Host` and `Origin`, body), streams the answer back (SSE included), and records each exchange.
//! Given a bearer token it sets `Authorization: Bearer <token>` on every forwarded request.
//!
//! ```no_run
//! # async fn demo(server: std::net::SocketAddr, admin_token: String) {
//! use mcp_rbac_tests::proxy::LoopbackProxy;
//!
//! let proxy = LoopbackProxy::start(server, Some(admin_token)).await;
//! // point the client at `proxy.url("/mcp")`; later:
//! for exchange in proxy.exchanges() {
//!     println!("{} {} -> {}", exchange.method, exchange.path, exchange.status);
//! }
//! # }
//! ```

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio_util::sync::CancellationToken;

/// One request the proxy forwarded, and what came back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// `GET`, `POST`, `DELETE`, …
    pub method: String,
    /// Path and query, as the client sent them.
    pub path: String,
    /// The upstream's status, or 502 when the upstream could not be reached.
    pub status: u16,
    /// The upstream's `WWW-Authenticate` header, if any.
    pub www_authenticate: Option<String>,
}

/// A running proxy; stops when dropped.
pub struct LoopbackProxy {
    /// Where it listens.
    pub addr: SocketAddr,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
    stop: CancellationToken,
}

#[derive(Clone)]
struct Forward {
    upstream: SocketAddr,
    authorization: Option<HeaderValue>,
    client: Client<HttpConnector, Body>,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
}

impl LoopbackProxy {
    /// Listens on a free loopback port and forwards to `upstream`, adding `bearer` (a token,
    /// without the `Bearer ` prefix) as the `Authorization` header when given.
    ///
    /// # Panics
    /// If no loopback port can be bound, or `bearer` is not a valid header value.
    pub async fn start(upstream: SocketAddr, bearer: Option<String>) -> LoopbackProxy {
        let authorization = bearer.map(|token| {
            let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
                .expect("a bearer token is a valid header value");
            value.set_sensitive(true);
            value
        });
        let exchanges = Arc::new(Mutex::new(Vec::new()));
        let forward = Forward {
            upstream,
            authorization,
            client: Client::builder(TokioExecutor::new()).build_http(),
            exchanges: exchanges.clone(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for the proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        let app = axum::Router::new()
            .fallback(forward_one)
            .with_state(forward);
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stopped.cancelled_owned())
                .await;
        });
        LoopbackProxy {
            addr,
            exchanges,
            stop,
        }
    }

    /// The proxy's URL for `path` (e.g. `/mcp`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every exchange so far, in the order the answers arrived.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.exchanges
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for LoopbackProxy {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn forward_one(State(forward): State<Forward>, mut request: Request) -> Response {
    let method = request.method().to_string();
    let path = request
        .uri()
        .path_and_query()
        .map_or_else(|| "/".to_owned(), ToString::to_string);
    let target = format!("http://{}{path}", forward.upstream);
    // The client's `Host` header stays as it was, so the server's DNS-rebinding check sees it.
    *request.uri_mut() = match target.parse::<Uri>() {
        Ok(uri) => uri,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, format!("bad request target: {e}")).into_response()
        }
    };
    if let Some(authorization) = &forward.authorization {
        request
            .headers_mut()
            .insert(AUTHORIZATION, authorization.clone());
    }
    let (status, www_authenticate, response) = match forward.client.request(request).await {
        Ok(response) => {
            let www_authenticate = response
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            (
                response.status().as_u16(),
                www_authenticate,
                response.map(Body::new),
            )
        }
        Err(e) => (
            502,
            None,
            (
                StatusCode::BAD_GATEWAY,
                format!("upstream unreachable: {e}"),
            )
                .into_response(),
        ),
    };
    forward
        .exchanges
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Exchange {
            method,
            path,
            status,
            www_authenticate,
        });
    response
}
