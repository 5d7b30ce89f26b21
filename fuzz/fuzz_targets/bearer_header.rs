//! The `Authorization` header: `bearer_token` on up to three header values (split at `\n`),
//! then the whole bearer layer on the same request.
//!
//! Checks: a token read is a non-empty RFC 6750 b64token found in the only header, after a
//! `Bearer` scheme in any case; two headers are `Duplicate`; the layer answers 401 with a
//! `WWW-Authenticate` challenge (no fuzz input can hold a valid signature) and never echoes
//! the token in the challenge or the body.
#![no_main]

use std::convert::Infallible;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use axum::body::Body;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use libfuzzer_sys::fuzz_target;
use mcp_rbac::bearer::{bearer_token, BearerAuthLayer, HeaderError};
use mcp_rbac::metadata::ProtectedResource;
use mcp_rbac_fuzz::json::{AUDIENCE, ISSUER};
use mcp_rbac_fuzz::{run, tokens};
use tower_layer::Layer;
use tower_service::Service;

/// The protected service: reaching it means the layer let the request through.
#[derive(Clone)]
struct Reached;

impl Service<Request<Body>> for Reached {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<Body>) -> Self::Future {
        std::future::ready(Ok(Response::new(Body::from("reached"))))
    }
}

fn layer() -> &'static BearerAuthLayer {
    static LAYER: OnceLock<BearerAuthLayer> = OnceLock::new();
    LAYER.get_or_init(|| {
        let resource = ProtectedResource::new(AUDIENCE)
            .expect("a valid resource URL")
            .authorization_server(ISSUER);
        BearerAuthLayer::new(Arc::new(tokens::hs256_verifier()), &resource)
    })
}

fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    for raw in data.split(|b| *b == b'\n').take(3) {
        if let Ok(value) = HeaderValue::from_bytes(raw) {
            headers.append(AUTHORIZATION, value);
        }
    }
    let count = headers.get_all(AUTHORIZATION).iter().count();
    let token = match bearer_token(&headers) {
        Ok(Some(token)) => {
            assert_eq!(count, 1);
            let value = headers[AUTHORIZATION]
                .to_str()
                .expect("a token comes from text");
            let (scheme, _) = value.split_once(' ').expect("scheme, space, token");
            assert!(scheme.eq_ignore_ascii_case("bearer"), "{value:?}");
            assert!(is_b64token(token), "{token:?} is not a b64token");
            assert!(value.contains(token));
            Some(token.to_owned())
        }
        Ok(None) => {
            assert!(count <= 1);
            None
        }
        Err(HeaderError::Duplicate) => {
            assert!(count >= 2);
            None
        }
        Err(HeaderError::Malformed) => {
            assert_eq!(count, 1);
            None
        }
        Err(other) => panic!("a refusal this target does not know: {other}"),
    };

    let mut request = Request::new(Body::empty());
    *request.headers_mut() = headers;
    let mut service = layer().layer(Reached);
    let response = run(service.call(request)).expect("infallible");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .expect("a 401 carries a challenge")
        .to_str()
        .expect("a challenge is text")
        .to_owned();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(challenge.contains("resource_metadata="), "{challenge}");
    let body = run(axum::body::to_bytes(response.into_body(), 1 << 20)).expect("a small body");
    if let Some(token) = token.filter(|t| t.len() >= 8) {
        assert!(
            !challenge.contains(&token),
            "the challenge echoes the token"
        );
        assert!(
            !String::from_utf8_lossy(&body).contains(&token),
            "the body echoes the token"
        );
    }
});
