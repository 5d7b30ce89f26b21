//! What a server does under overload, with slow clients and with slow handlers.
//!
//! Behind the bearer layer (so only verified callers get this far), each request to the MCP
//! endpoint passes, in order:
//!
//! 1. **The body, read whole first** — at most [`DEFAULT_MAX_BODY_BYTES`] within
//!    [`DEFAULT_BODY_TIMEOUT`], counted from the first byte asked for to the last; a body past
//!    the size gets `413 Payload Too Large`, one not done in time `408 Request Timeout`, both
//!    with `Connection: close`. rmcp reads every POST body whole before it parses it anyway;
//!    reading it here, before the concurrency limit, keeps a client that trickles its body
//!    from holding a slot meant for requests ready to run. The deadline is a total one:
//!    tower-http's `RequestBodyTimeout` restarts its clock at every frame, so a body sent a
//!    byte at a time would never end.
//! 2. **The concurrency limit** — at most [`DEFAULT_MAX_CONCURRENT_REQUESTS`] requests run at
//!    once (tower's `ConcurrencyLimit`); one more is shed at once (tower's `LoadShed`) with
//!    `503 Service Unavailable` and `Retry-After: 1`, never queued.
//! 3. **The request timeout** — a request whose answer is not ready within
//!    [`DEFAULT_REQUEST_TIMEOUT`] gets `503 Service Unavailable` (tower-http's `Timeout`). An
//!    answer streamed as server-sent events is ready when its stream starts; the stream itself
//!    is not cut.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use http::header::{CONNECTION, RETRY_AFTER};
use http::{HeaderValue, Request, StatusCode};
use http_body_util::BodyExt;
use tower_service::Service;

/// The largest request body the MCP endpoint reads.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// How long a client may take to send a request body, first byte to last.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// How many requests run at once before more are answered with 503.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 512;

/// How long a request may take to produce its answer.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Requests that have begun and whose answer has not been sent whole: what a graceful shutdown
/// waits for. A `GET` (the server-to-client event stream, open for as long as the session) is
/// not counted: it ends when the sessions are closed, after the requests in flight.
#[derive(Clone, Default)]
pub(crate) struct InFlight(Arc<InFlightState>);

#[derive(Default)]
struct InFlightState {
    count: AtomicUsize,
    idle: tokio::sync::Notify,
}

impl InFlight {
    fn enter(&self) -> InFlightGuard {
        self.0.count.fetch_add(1, Ordering::SeqCst);
        InFlightGuard(self.0.clone())
    }

    /// Waits until no request is in flight.
    pub(crate) async fn idle(&self) {
        loop {
            let notified = self.0.idle.notified();
            if self.0.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// One request in flight, until dropped with its answer's body.
struct InFlightGuard(Arc<InFlightState>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// An answer's body that keeps its request counted in flight until sent or dropped.
struct Counted {
    body: Body,
    #[allow(dead_code)] // held for its drop
    guard: InFlightGuard,
}

impl http_body::Body for Counted {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The limits of [the module](self), as set on the server builder.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) max_body_bytes: usize,
    pub(crate) body_timeout: Duration,
    pub(crate) max_concurrent_requests: usize,
    pub(crate) request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

impl Limits {
    /// `service` inside the three limits, as one service for a route.
    pub(crate) fn wrap<S>(self, service: S, in_flight: InFlight) -> ReadBody<Inner>
    where
        S: Service<Request<Body>, Response = Response, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        let limited = tower::ServiceBuilder::new()
            .layer(axum::error_handling::HandleErrorLayer::new(overloaded))
            .load_shed()
            .concurrency_limit(self.max_concurrent_requests.max(1))
            .layer(tower_http::timeout::TimeoutLayer::with_status_code(
                StatusCode::SERVICE_UNAVAILABLE,
                self.request_timeout,
            ))
            .service(service);
        ReadBody {
            inner: Inner::new(limited),
            max_bytes: self.max_body_bytes,
            timeout: self.body_timeout,
            in_flight,
        }
    }
}

/// The service behind the body reader, its type erased.
pub(crate) type Inner = tower::util::BoxCloneSyncService<Request<Body>, Response, Infallible>;

/// `service` (rmcp's, with the layers inside the limits) as an [`Inner`].
pub(crate) fn endpoint<S, ResBody>(service: S) -> Inner
where
    S: Service<Request<Body>, Response = http::Response<ResBody>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    ResBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    ResBody::Error: Into<axum::BoxError>,
{
    use tower::ServiceExt;
    Inner::new(service.map_response(|response| response.map(Body::new)))
}

/// The only error the stack above produces: shed for want of a free slot.
async fn overloaded(_: axum::BoxError) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(RETRY_AFTER, HeaderValue::from_static("1"))],
        "server busy, retry shortly",
    )
        .into_response()
}

/// Reads a request's body whole, within a size and a total time, before `inner` sees it.
#[derive(Clone)]
pub(crate) struct ReadBody<S> {
    inner: S,
    max_bytes: usize,
    timeout: Duration,
    in_flight: InFlight,
}

impl<S, B> Service<Request<B>> for ReadBody<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let (max_bytes, timeout) = (self.max_bytes, self.timeout);
        let guard = (request.method() != http::Method::GET).then(|| self.in_flight.enter());
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            if body.size_hint().lower() > max_bytes as u64 {
                return Ok(closing(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request body too large",
                ));
            }
            let limited = http_body_util::Limited::new(body, max_bytes);
            let bytes = match tokio::time::timeout(timeout, limited.collect()).await {
                Ok(Ok(collected)) => collected.to_bytes(),
                Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
                    return Ok(closing(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "request body too large",
                    ))
                }
                // The client's connection failed mid-body: nobody reads this answer.
                Ok(Err(_)) => return Ok(closing(StatusCode::BAD_REQUEST, "request body failed")),
                Err(_) => {
                    return Ok(closing(
                        StatusCode::REQUEST_TIMEOUT,
                        "request body not received in time",
                    ))
                }
            };
            let answer = inner
                .call(Request::from_parts(parts, Body::from(bytes)))
                .await?;
            Ok(match guard {
                Some(guard) => answer.map(|body| Body::new(Counted { body, guard })),
                None => answer,
            })
        })
    }
}

/// An answer after which the connection closes (the rest of the body is never read).
fn closing(status: StatusCode, message: &'static str) -> Response {
    (
        status,
        [(CONNECTION, HeaderValue::from_static("close"))],
        message,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use futures::StreamExt;
    use tower::ServiceExt;

    /// Echoes the body's length after `delay`.
    fn echo(delay: Duration) -> Inner {
        Inner::new(tower::service_fn(
            move |request: Request<Body>| async move {
                tokio::time::sleep(delay).await;
                let body = axum::body::to_bytes(request.into_body(), usize::MAX)
                    .await
                    .unwrap_or_default();
                Ok::<_, Infallible>(body.len().to_string().into_response())
            },
        ))
    }

    impl Limits {
        fn wrap_for_test(self, service: Inner) -> ReadBody<Inner> {
            self.wrap(service, InFlight::default())
        }
    }

    fn limits() -> Limits {
        Limits {
            max_body_bytes: 16,
            body_timeout: Duration::from_millis(100),
            max_concurrent_requests: 1,
            request_timeout: Duration::from_millis(200),
        }
    }

    async fn text(response: Response) -> (StatusCode, Option<HeaderValue>, String) {
        let status = response.status();
        let connection = response.headers().get(CONNECTION).cloned();
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        (
            status,
            connection,
            String::from_utf8_lossy(&body).into_owned(),
        )
    }

    #[tokio::test]
    async fn a_body_within_the_limits_reaches_the_service_whole() {
        let service = limits().wrap_for_test(echo(Duration::ZERO));
        let chunks =
            futures::stream::iter(["0123", "456789"].map(|c| Ok::<_, Infallible>(Bytes::from(c))));
        let answer = service
            .oneshot(Request::new(Body::from_stream(chunks)))
            .await
            .unwrap();
        assert_eq!(text(answer).await, (StatusCode::OK, None, "10".to_owned()));
    }

    #[tokio::test]
    async fn a_body_past_the_size_is_refused_with_413_and_close() {
        let close = Some(HeaderValue::from_static("close"));
        let known = Request::new(Body::from(vec![b'x'; 17]));
        let answer = limits()
            .wrap_for_test(echo(Duration::ZERO))
            .oneshot(known)
            .await
            .unwrap();
        assert_eq!(text(answer).await.0, StatusCode::PAYLOAD_TOO_LARGE);
        let chunks = futures::stream::iter(
            ["0123456789", "0123456789"].map(|c| Ok::<_, Infallible>(Bytes::from(c))),
        );
        let streamed = Request::new(Body::from_stream(chunks));
        let answer = limits()
            .wrap_for_test(echo(Duration::ZERO))
            .oneshot(streamed)
            .await
            .unwrap();
        let (status, connection, _) = text(answer).await;
        assert_eq!((status, connection), (StatusCode::PAYLOAD_TOO_LARGE, close));
    }

    #[tokio::test]
    async fn a_trickling_body_is_cut_at_the_total_deadline() {
        // A byte every 20 ms: never idle for long, but never done within 100 ms either.
        let trickle = futures::stream::iter(0..16).then(|_| async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok::<_, Infallible>(Bytes::from_static(b"x"))
        });
        let started = std::time::Instant::now();
        let answer = limits()
            .wrap_for_test(echo(Duration::ZERO))
            .oneshot(Request::new(Body::from_stream(trickle)))
            .await
            .unwrap();
        let (status, connection, _) = text(answer).await;
        assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
        assert_eq!(
            connection.as_ref().map(|v| v.as_bytes()),
            Some(&b"close"[..])
        );
        assert!(started.elapsed() < Duration::from_millis(300));
    }

    #[tokio::test]
    async fn one_request_past_the_limit_is_shed_with_503_and_retry_after() {
        // The first request holds the only slot until released.
        let entered = std::sync::Arc::new(tokio::sync::Notify::new());
        let release = std::sync::Arc::new(tokio::sync::Notify::new());
        let held = Inner::new(tower::service_fn({
            let (entered, release) = (entered.clone(), release.clone());
            move |_: Request<Body>| {
                let (entered, release) = (entered.clone(), release.clone());
                async move {
                    entered.notify_one();
                    release.notified().await;
                    Ok::<_, Infallible>("done".into_response())
                }
            }
        }));
        let service = limits().wrap_for_test(held);
        let busy = tokio::spawn(service.clone().oneshot(Request::new(Body::empty())));
        entered.notified().await;
        let shed = service
            .clone()
            .oneshot(Request::new(Body::empty()))
            .await
            .unwrap();
        assert_eq!(shed.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(shed.headers()[RETRY_AFTER], "1");
        release.notify_one();
        assert_eq!(text(busy.await.unwrap().unwrap()).await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn a_request_is_in_flight_until_its_answer_is_sent() {
        let in_flight = InFlight::default();
        let service = limits().wrap(echo(Duration::ZERO), in_flight.clone());
        let post = Request::post("/mcp").body(Body::from("abc")).unwrap();
        let answer = service.clone().oneshot(post).await.unwrap();
        // Answered, but its body not yet sent: still in flight.
        let idle = in_flight.idle();
        tokio::pin!(idle);
        assert!(futures::poll!(idle.as_mut()).is_pending());
        assert_eq!(text(answer).await.2, "3");
        tokio::time::timeout(Duration::from_secs(1), idle)
            .await
            .unwrap();
        // A GET (an event stream) is not waited for.
        let _stream = service.oneshot(Request::new(Body::empty())).await.unwrap();
        tokio::time::timeout(Duration::from_secs(1), in_flight.idle())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_slow_answer_gets_503_at_the_request_timeout() {
        let answer = limits()
            .wrap_for_test(echo(Duration::from_secs(5)))
            .oneshot(Request::new(Body::empty()))
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
