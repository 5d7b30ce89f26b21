//! Answers given before the request body is read, without spoiling the connection.
//!
//! The bearer layer refuses a request on its headers alone. If it answered and left the body
//! unread, the HTTP/1.1 server could not find the next request on the connection: it closes the
//! connection instead, the client — told nothing — sends its next request into a closed socket,
//! and unread bytes make the kernel answer with a reset that can destroy the refusal itself.
//! So a refusal first reads and discards what is left of the body, up to [`DEFAULT_DRAIN_BYTES`]
//! and [`DEFAULT_DRAIN_TIME`]; past either bound it answers with `Connection: close`, and the
//! server closes only after the answer (the server builder's listener then reads what the
//! client still sends before closing, so no reset follows).

use std::time::Duration;

use axum::body::Body;
use http::header::{CONNECTION, EXPECT};
use http::{HeaderValue, Request, Response};
use http_body::Body as HttpBody;

/// How much of a refused request's body is read and discarded to keep the connection.
pub const DEFAULT_DRAIN_BYTES: usize = 64 * 1024;

/// How long a refusal waits for the rest of the body before it closes the connection instead.
pub const DEFAULT_DRAIN_TIME: Duration = Duration::from_secs(1);

/// The bounds a refusal drains the body within.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Drain {
    pub(crate) max_bytes: usize,
    pub(crate) max_time: Duration,
}

impl Default for Drain {
    fn default() -> Self {
        Drain {
            max_bytes: DEFAULT_DRAIN_BYTES,
            max_time: DEFAULT_DRAIN_TIME,
        }
    }
}

impl Drain {
    /// `refusal`, after reading what is left of `request`'s body within the bounds; with
    /// `Connection: close` when the body was not read to its end.
    pub(crate) async fn answer<B>(
        self,
        request: Request<B>,
        mut refusal: Response<Body>,
    ) -> Response<Body>
    where
        B: HttpBody + Send,
    {
        // A client waiting for `100 Continue` has not sent its body: asking for it only to
        // discard it wastes both sides' time; closing after the answer costs nothing.
        let waiting_to_send = request.headers().contains_key(EXPECT);
        if waiting_to_send || !self.read_to_end(request.into_body()).await {
            refusal
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
        }
        refusal
    }

    /// Whether `body` ended within the bounds (its bytes are discarded).
    async fn read_to_end<B>(self, body: B) -> bool
    where
        B: HttpBody + Send,
    {
        if body.is_end_stream() {
            return true;
        }
        if body.size_hint().lower() > self.max_bytes as u64 {
            return false;
        }
        let mut body = std::pin::pin!(body);
        let mut read = 0usize;
        let reading = async {
            while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
                let Ok(frame) = frame else { return false };
                if let Some(data) = frame.data_ref() {
                    read += bytes::Buf::remaining(data);
                    if read > self.max_bytes {
                        return false;
                    }
                }
            }
            true
        };
        tokio::time::timeout(self.max_time, reading)
            .await
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use futures::StreamExt;
    use http::StatusCode;

    fn refusal() -> Response<Body> {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        response
    }

    fn closes(response: &Response<Body>) -> bool {
        response
            .headers()
            .get(CONNECTION)
            .is_some_and(|v| v == "close")
    }

    fn streamed(chunks: Vec<&'static [u8]>) -> Body {
        Body::from_stream(futures::stream::iter(
            chunks
                .into_iter()
                .map(|c| Ok::<_, std::io::Error>(Bytes::from_static(c))),
        ))
    }

    #[tokio::test]
    async fn a_body_within_the_bound_is_read_and_the_connection_kept() {
        let request = Request::new(streamed(vec![b"{\"jsonrpc\"", b":\"2.0\"}"]));
        assert!(!closes(&Drain::default().answer(request, refusal()).await));
        let empty = Request::new(Body::empty());
        assert!(!closes(&Drain::default().answer(empty, refusal()).await));
    }

    #[tokio::test]
    async fn a_body_past_the_bound_closes_the_connection() {
        let drain = Drain {
            max_bytes: 8,
            ..Drain::default()
        };
        // Known length past the bound: not read at all.
        let request = Request::new(Body::from(vec![b'x'; 9]));
        assert!(closes(&drain.answer(request, refusal()).await));
        // Unknown length, found past the bound while reading.
        let request = Request::new(streamed(vec![b"12345", b"67890"]));
        assert!(closes(&drain.answer(request, refusal()).await));
        // Exactly the bound is still read.
        let request = Request::new(streamed(vec![b"1234", b"5678"]));
        assert!(!closes(&drain.answer(request, refusal()).await));
    }

    #[tokio::test]
    async fn a_body_that_stalls_closes_the_connection_at_the_deadline() {
        let drain = Drain {
            max_time: Duration::from_millis(50),
            ..Drain::default()
        };
        let stalled = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"{"))])
            .chain(futures::stream::pending());
        let request = Request::new(Body::from_stream(stalled));
        let started = std::time::Instant::now();
        let answer = drain.answer(request, refusal()).await;
        assert!(closes(&answer));
        assert!(started.elapsed() >= drain.max_time);
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn a_client_waiting_for_100_continue_is_not_asked_for_its_body() {
        let request = Request::builder()
            .header(EXPECT, "100-continue")
            .body(Body::from_stream(futures::stream::pending::<
                Result<Bytes, std::io::Error>,
            >()))
            .unwrap();
        assert!(closes(&Drain::default().answer(request, refusal()).await));
    }

    #[tokio::test]
    async fn a_failing_body_closes_the_connection() {
        let failing = futures::stream::iter([Err::<Bytes, _>(std::io::Error::other("reset"))]);
        let request = Request::new(Body::from_stream(failing));
        assert!(closes(&Drain::default().answer(request, refusal()).await));
    }
}
