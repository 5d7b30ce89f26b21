//! Reading a POST body ahead of rmcp, bounded, and finding the tool a single `tools/call` names.

use std::borrow::Cow;

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use serde::Deserialize;

/// A body read ahead.
pub(crate) enum Buffered {
    /// The whole body, at most the limit.
    Complete(Bytes),
    /// Longer than the limit: what was read, then the rest, unread, for the normal path.
    Oversized(Body),
    /// The client's body failed mid-way.
    Failed,
}

/// Reads `body` while it stays within `limit` bytes.
pub(crate) async fn read_bounded(body: Body, limit: usize) -> Buffered {
    let mut stream = body.into_data_stream();
    let mut read = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            return Buffered::Failed;
        };
        read.extend_from_slice(&chunk);
        if read.len() > limit {
            let head =
                futures::stream::once(std::future::ready(Ok::<_, axum::Error>(read.freeze())));
            return Buffered::Oversized(Body::from_stream(head.chain(stream)));
        }
    }
    Buffered::Complete(read.freeze())
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow)]
    method: Cow<'a, str>,
    #[serde(borrow)]
    params: Option<CallParams<'a>>,
}

#[derive(Deserialize)]
struct CallParams<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
}

/// The tool named by `body` when it is one JSON-RPC `tools/call` request object. A batch, another
/// method or anything that does not parse gives `None` (the request then takes the normal path,
/// where the route's guard still checks it).
pub(crate) fn called_tool(body: &[u8]) -> Option<Cow<'_, str>> {
    // A struct also deserializes from a JSON array; only an object is a single request.
    let first = body.iter().find(|b| !b.is_ascii_whitespace())?;
    if *first != b'{' {
        return None;
    }
    let message: Message<'_> = serde_json::from_slice(body).ok()?;
    if message.method != "tools/call" {
        return None;
    }
    Some(message.params?.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn finds_the_tool_of_a_single_call() {
        let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_product","arguments":{"id":2}}}"#;
        assert_eq!(called_tool(body).as_deref(), Some("delete_product"));
        let escaped = br#" {"method":"tools\/call","params":{"name":"del\u0065te"},"id":1}"#;
        assert_eq!(called_tool(escaped).as_deref(), Some("delete"));
    }

    #[test]
    fn everything_else_is_not_a_call() {
        for body in [
            &br#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}]"#[..],
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#,
            br#"{"method":"tools/call","method":"tools/call","params":{"name":"x"}}"#,
            br#"{"method":"tools/call","params":{"name":7}}"#,
            b"not json",
            b"",
        ] {
            assert_eq!(called_tool(body), None, "{}", String::from_utf8_lossy(body));
        }
    }

    #[tokio::test]
    async fn an_oversized_body_goes_on_whole() {
        let data = vec![b'x'; 100];
        let Buffered::Oversized(body) = read_bounded(Body::from(data.clone()), 10).await else {
            panic!("expected oversized");
        };
        let collected = body.collect().await.expect("body").to_bytes();
        assert_eq!(collected.as_ref(), data.as_slice());

        let Buffered::Complete(bytes) = read_bounded(Body::from("short"), 10).await else {
            panic!("expected complete");
        };
        assert_eq!(bytes.as_ref(), b"short");
    }
}
