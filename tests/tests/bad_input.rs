//! Bad input gets a clear answer and changes nothing: never a panic, never a 5xx. Bad credentials
//! get the exact 401 of the README's "On the wire" table; a body that is not JSON-RPC gets rmcp's exact 415.

use mcp_rbac::testkit::now;
use mcp_rbac_tests::fixtures::products_stateless as start;
use mcp_rbac_tests::{Mcp, Reply};
use serde_json::json;

fn call() -> serde_json::Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}})
}

fn assert_invalid(reply: &Reply, description: &str, case: &str) {
    assert_eq!(reply.status, 401, "{case}: {}", reply.raw);
    let challenge = reply.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\", resource_metadata=\""),
        "{case}: {challenge}"
    );
    assert_eq!(reply.json["error"], "invalid_token", "{case}");
    assert_eq!(reply.json["error_description"], description, "{case}");
}

fn assert_missing(reply: &Reply, case: &str) {
    assert_eq!(reply.status, 401, "{case}: {}", reply.raw);
    let challenge = reply.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer resource_metadata=\""),
        "{case}: {challenge}"
    );
    assert!(reply.raw.is_empty(), "{case}");
}

#[tokio::test]
async fn malformed_authorization_headers() {
    let server = start().await;
    let anonymous = Mcp::new(&server.url, None);
    let malformed = "Authorization header is not `Bearer <token>`";
    let huge = format!("Bearer {}", "a".repeat(100 * 1024));
    let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
        ("empty bearer", b"Bearer".to_vec(), Some(malformed)),
        ("bearer and spaces", b"Bearer    ".to_vec(), Some(malformed)),
        ("two words", b"Bearer abc def".to_vec(), Some(malformed)),
        ("quote", b"Bearer ab\"c".to_vec(), Some(malformed)),
        (
            "non-UTF-8",
            b"Bearer \xff\xfe\xfd".to_vec(),
            Some(malformed),
        ),
        ("basic scheme", b"Basic dXNlcjpwYXNz".to_vec(), None),
        ("no scheme", b"eyJhbGciOiJub25lIn0".to_vec(), None),
        ("garbage token", b"Bearer %%%".to_vec(), Some(malformed)),
        (
            "not a JWT",
            b"Bearer abc.def.ghi".to_vec(),
            Some("token is malformed"),
        ),
        (
            "one segment",
            b"Bearer abcdef".to_vec(),
            Some("token is malformed"),
        ),
        (
            "100 KB token",
            huge.into_bytes(),
            Some("token is larger than 16384 bytes"),
        ),
    ];
    for (case, value, expected) in cases {
        let reply = anonymous
            .post_with(&call(), &[("authorization", &value)])
            .await;
        match expected {
            Some(description) => assert_invalid(&reply, description, case),
            None => assert_missing(&reply, case),
        }
    }
    assert_eq!(server.counters.get("whoami"), 0);

    let admin = server.tokens.clone().expect("tokens").admin;
    let twice = anonymous
        .post_with(
            &call(),
            &[
                ("authorization", format!("Bearer {admin}").as_bytes()),
                ("authorization", format!("Bearer {admin}").as_bytes()),
            ],
        )
        .await;
    assert_invalid(
        &twice,
        "more than one Authorization header",
        "duplicate headers",
    );

    let lowercase = anonymous
        .post_with(
            &call(),
            &[("authorization", format!("bearer {admin}").as_bytes())],
        )
        .await;
    assert_eq!(
        lowercase.status, 200,
        "the scheme is case-insensitive: {}",
        lowercase.raw
    );
    assert_eq!(server.counters.get("whoami"), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn token_in_the_query_string_authenticates_nothing() {
    let server = start().await;
    let admin = server.tokens.clone().expect("tokens").admin;
    let client = Mcp::new(&format!("{}?access_token={admin}", server.url), None);
    let reply = client.post(&call()).await;
    assert_missing(&reply, "query token");
    assert!(!reply.raw.contains(&admin));
    server.shutdown().await;
}

#[tokio::test]
async fn claims_of_the_wrong_type_are_refused() {
    let server = start().await;
    let issuer = server.issuer.clone().expect("issuer");
    let cases = [
        (
            json!({"sub": "u", "permissions": "Admin.Write"}),
            "token claim `permissions` must be an array of strings",
        ),
        (
            json!({"sub": "u", "permissions": [1, 2]}),
            "token claim `permissions` must be an array of strings",
        ),
        (
            json!({"sub": "u", "scope": 5}),
            "token claim `scope` must be a space-delimited string or an array of strings",
        ),
        (
            json!({"sub": "u", "roles": {"admin": true}}),
            "token claim `roles` must be an array of strings",
        ),
        (
            json!({"sub": 42}),
            "token claim `sub` must be a non-empty string",
        ),
        (json!({"roles": ["admin"]}), "token lacks the `sub` claim"),
        (
            json!({"sub": "u", "exp": null}),
            "token lacks the `exp` claim",
        ),
        (
            json!({"sub": "u", "iss": null}),
            "token lacks the `iss` claim",
        ),
        (
            json!({"sub": "u", "aud": null}),
            "token lacks the `aud` claim",
        ),
        (
            json!({"sub": "u", "nbf": now() + 3600}),
            "token is not valid yet",
        ),
        (
            json!({"sub": "u", "iss": "https://elsewhere.example"}),
            "token issuer is not trusted",
        ),
    ];
    for (claims, description) in cases {
        let token = issuer.token(claims.clone());
        let reply = Mcp::new(&server.url, Some(&token)).post(&call()).await;
        assert_invalid(&reply, description, &claims.to_string());
    }
    // `exp` as a string is not a number of seconds.
    let token = issuer.token(json!({"sub": "u", "exp": "tomorrow"}));
    let reply = Mcp::new(&server.url, Some(&token)).post(&call()).await;
    assert_invalid(
        &reply,
        "token claim `exp` must be a NumericDate (seconds since the epoch)",
        "exp a string",
    );
    assert_eq!(server.counters.get("whoami"), 0);
    server.shutdown().await;
}

#[tokio::test]
async fn unsigned_and_edited_tokens_are_refused() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let server = start().await;
    let guest = server.tokens.clone().expect("tokens").guest;
    let mut parts = guest.split('.');
    let (header, _payload, signature) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let admin_claims = json!({"sub": "guest", "roles": ["admin"], "iss": format!("http://{}", server.addr), "aud": server.url, "exp": now() + 600});
    let forged_payload = URL_SAFE_NO_PAD.encode(admin_claims.to_string());
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let cases = [
        (
            format!("{header}.{forged_payload}.{signature}"),
            "token signature is invalid",
        ),
        (
            format!("{none_header}.{forged_payload}."),
            "token algorithm is not allowed",
        ),
        (format!("{header}.{forged_payload}"), "token is malformed"),
        (
            format!("{header}.{forged_payload}.{}", &signature[..40]),
            "token signature is invalid",
        ),
    ];
    for (token, description) in cases {
        let reply = Mcp::new(&server.url, Some(&token))
            .call_tool("delete_product", json!({"id": 1}))
            .await;
        assert_invalid(&reply, description, &token);
    }
    assert_eq!(server.counters.get("delete_product"), 0);
    server.shutdown().await;
}

/// What rmcp answers a verified caller whose body is not a JSON-RPC message: HTTP 415 with a
/// plain-text reason (no JSON body, no challenge), before any handler runs.
const NOT_JSON_RPC: &str = "fail to deserialize request body unrecognized JSON-RPC message";

#[tokio::test]
async fn bodies_that_are_not_json_rpc_are_client_errors() {
    let server = start().await;
    let admin = server.tokens.clone().expect("tokens").admin;
    let client = Mcp::new(&server.url, Some(&admin));
    for body in [
        json!("text"),
        json!([]),
        json!({"jsonrpc": "2.0"}),
        json!({"id": 1, "method": 5}),
        json!([{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "whoami", "arguments": {}}}]),
    ] {
        let reply = client.post(&body).await;
        assert_eq!(reply.status, 415, "{body}: {}", reply.raw);
        assert_eq!(reply.raw, NOT_JSON_RPC, "{body}");
        assert_eq!(reply.header("content-type"), None, "{body}");
        assert_eq!(reply.header("www-authenticate"), None, "{body}");
    }
    assert!(server.counters.ran_except(&[]).is_empty(), "no body ran");
    // The same client's well-formed call still works.
    let reply = client.call_tool("whoami", json!({})).await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    assert_eq!(reply.json["result"]["isError"], false, "{}", reply.raw);
    server.shutdown().await;
}
