//! The development issuer end to end: log in, call the products server (started with
//! `--issuer <dev issuer> --audience <its resource URL>`, keys found by RFC 8414 discovery) with
//! the access token, refresh, call again, and see the old refresh token refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use mcp_rbac_examples::dev_issuer::{JWKS_PATH, METADATA_PATH};
use mcp_rbac_tests::dev_issuer::{IssuerAndServer, IssuerClient, IssuerReply};
use mcp_rbac_tests::Mcp;
use serde_json::{json, Value};

fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

fn assert_token_pair(reply: &IssuerReply) {
    assert_eq!(reply.status, 200, "{}", reply.raw);
    assert_eq!(reply.json["token_type"], "Bearer");
    assert_eq!(reply.cache_control.as_deref(), Some("no-store"));
    assert!(reply.json["expires_in"].as_u64().is_some_and(|s| s > 0));
}

/// The text of a successful `tools/call`, or a panic showing the answer.
async fn call_text(mcp: &Mcp, tool: &str, arguments: Value) -> String {
    let reply = mcp.call_tool(tool, arguments).await;
    assert_eq!(reply.status, 200, "{tool}: {}", reply.raw);
    let result = reply
        .result()
        .unwrap_or_else(|| panic!("{tool} failed: {}", reply.raw));
    assert_eq!(result["isError"], false, "{tool}: {}", reply.raw);
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn login_call_refresh_call_and_the_old_refresh_token_is_refused() {
    let both = IssuerAndServer::start().await;
    let issuer = both.client();
    let url = both.products.url.clone();

    let first = issuer.login("alice", "alice-password").await;
    assert_token_pair(&first);
    let access = first.field("access_token");
    let claims = claims_of(&access);
    assert_eq!(claims["iss"], both.issuer.issuer.as_str());
    assert_eq!(claims["aud"], url.as_str());
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["roles"], json!(["admin"]));

    let admin = Mcp::new(&url, Some(&access));
    let whoami: Value = serde_json::from_str(&call_text(&admin, "whoami", json!({})).await)
        .expect("whoami answers JSON");
    assert_eq!(whoami["subject"], "alice");
    assert_eq!(
        call_text(&admin, "delete_product", json!({"id": 2})).await,
        "product 2 deleted"
    );

    let old_refresh = first.field("refresh_token");
    let second = issuer.refresh(&old_refresh).await;
    assert_token_pair(&second);
    let new_access = second.field("access_token");
    let new_refresh = second.field("refresh_token");
    assert_ne!(new_refresh, old_refresh, "the refresh token rotates");
    assert_eq!(claims_of(&new_access)["sub"], "alice");
    let admin = Mcp::new(&url, Some(&new_access));
    assert_eq!(
        call_text(&admin, "delete_product", json!({"id": 3})).await,
        "product 3 deleted"
    );

    // Reuse of the spent token: refused, and the whole login's family with it.
    let reused = issuer.refresh(&old_refresh).await;
    assert_eq!(reused.status, 401, "{}", reused.raw);
    assert_eq!(reused.json["error"], "invalid_grant");
    let successor = issuer.refresh(&new_refresh).await;
    assert_eq!(successor.status, 401, "family revoked: {}", successor.raw);
    // A fresh login is a new family and works.
    assert_token_pair(&issuer.login("alice", "alice-password").await);
}

#[tokio::test]
async fn roles_from_the_users_file_decide_what_the_server_allows() {
    let both = IssuerAndServer::start().await;
    let issuer = both.client();
    let bob = issuer.login("bob", "bob-password").await;
    assert_token_pair(&bob);
    let user = Mcp::new(&both.products.url, Some(&bob.field("access_token")));
    let created = call_text(
        &user,
        "create_product",
        json!({"name": "Gizmo", "price_cents": 5}),
    )
    .await;
    assert!(created.starts_with("product "), "{created}");
    let denied = user.call_tool("delete_product", json!({"id": 1})).await;
    let error = denied.rpc_error().expect("a JSON-RPC error");
    assert_eq!(error["code"], 403, "{}", denied.raw);
    assert_eq!(error["data"]["required"], "Admin.Write");

    let carol = issuer.login("carol", "carol-password").await;
    let guest = Mcp::new(&both.products.url, Some(&carol.field("access_token")));
    let denied = guest
        .call_tool("create_product", json!({"name": "x", "price_cents": 1}))
        .await;
    assert_eq!(denied.rpc_error().expect("denied")["code"], 403);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_401() {
    let both = IssuerAndServer::start().await;
    let issuer = both.client();
    let wrong = issuer.login("alice", "bob-password").await;
    let unknown = issuer.login("mallory", "alice-password").await;
    let empty = issuer.login("", "").await;
    for reply in [&wrong, &unknown, &empty] {
        assert_eq!(reply.status, 401, "{}", reply.raw);
        assert_eq!(reply.json["error"], "invalid_credentials");
        assert!(reply.json.get("access_token").is_none());
    }
    assert_eq!(
        wrong.raw, unknown.raw,
        "the answer does not tell which names exist"
    );
    // A refresh token never issued, or an access token presented as one.
    let access = issuer
        .login("alice", "alice-password")
        .await
        .field("access_token");
    for bogus in ["not-a-refresh-token", access.as_str()] {
        let reply = issuer.refresh(bogus).await;
        assert_eq!(reply.status, 401, "{}", reply.raw);
        assert_eq!(reply.json["error"], "invalid_grant");
    }
}

#[tokio::test]
async fn malformed_requests_get_400_json_errors_that_do_not_echo_the_body() {
    let both = IssuerAndServer::start().await;
    let issuer = both.client();
    let secret = "hunter2-do-not-echo";
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("/login", "application/json", b"{not json".to_vec()),
        (
            "/login",
            "application/json",
            format!("\"{secret}\"").into_bytes(),
        ),
        (
            "/login",
            "application/json",
            json!({"username": "alice"}).to_string().into_bytes(),
        ),
        (
            "/login",
            "application/json",
            json!({"username": 1, "password": secret})
                .to_string()
                .into_bytes(),
        ),
        (
            "/login",
            "text/plain",
            json!({"username": "alice", "password": secret})
                .to_string()
                .into_bytes(),
        ),
        (
            "/login",
            "application/json",
            json!({"username": "alice", "password": "x".repeat(2000)})
                .to_string()
                .into_bytes(),
        ),
        ("/login", "application/json", vec![b' '; 64 * 1024]),
        (
            "/refresh",
            "application/json",
            json!({"refresh_token": 7}).to_string().into_bytes(),
        ),
        ("/refresh", "application/json", Vec::new()),
    ];
    for (path, content_type, body) in cases {
        let reply = issuer.post_raw(path, content_type, body).await;
        assert_eq!(reply.status, 400, "{path} {content_type}: {}", reply.raw);
        assert_eq!(reply.json["error"], "invalid_request", "{}", reply.raw);
        assert!(reply.json["error_description"].is_string());
        assert!(!reply.raw.contains(secret), "{}", reply.raw);
    }
}

#[tokio::test]
async fn rfc8414_metadata_and_jwks_describe_the_issuer() {
    let both = IssuerAndServer::start().await;
    let issuer = both.client();
    let metadata = issuer.get(METADATA_PATH).await;
    assert_eq!(metadata.status, 200, "{}", metadata.raw);
    assert_eq!(metadata.json["issuer"], both.issuer.issuer.as_str());
    let jwks_uri = metadata.field("jwks_uri");
    assert_eq!(jwks_uri, format!("{}{JWKS_PATH}", both.issuer.issuer));
    let jwks = IssuerClient::new(&jwks_uri).get("").await;
    let keys = jwks.json["keys"].as_array().expect("a JWK set");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["alg"], "ES256");
    assert!(keys[0].get("d").is_none(), "no private part");
    // Not an OpenID provider: no ID tokens, so no OIDC discovery document.
    assert_eq!(
        issuer.get("/.well-known/openid-configuration").await.status,
        404
    );
    // A token of another issuer (its own key, another `aud`) is refused by the products server.
    let stranger =
        mcp_rbac_examples::dev_issuer::start(mcp_rbac_examples::dev_issuer::ServeArgs::for_test(
            mcp_rbac_tests::dev_issuer::example_users_file(),
            "http://elsewhere.test/mcp",
        ))
        .await
        .expect("second issuer");
    let foreign = IssuerClient::new(&stranger.issuer)
        .login("alice", "alice-password")
        .await
        .field("access_token");
    let reply = Mcp::new(&both.products.url, Some(&foreign))
        .call_tool("whoami", json!({}))
        .await;
    assert_eq!(reply.status, 401, "{}", reply.raw);
}
