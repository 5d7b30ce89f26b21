//! Against real identity providers, started here as child processes (see `mcp_rbac_tests::idp`):
//! `oauth2-mock-server` as an OIDC issuer trusted by the products server through discovery, its
//! key rotation picked up by a JWKS refresh, and `oidc-provider`'s RFC 8707 resource-bound
//! client credentials tokens, as `at+jwt` and as opaque tokens checked by introspection.
//!
//! Needs the npm project in `tests/idp/`, which the first test installs (`mcp_rbac_tests::kits`).

use std::collections::BTreeSet;
use std::time::Duration;

use mcp_rbac::verify::{remote, Algorithm, AuthError, Jwks, JwtVerifier, TokenVerifier};
use mcp_rbac::ClaimsMapping;
use mcp_rbac_examples::products::{policy::role_policy, ClientSecret, Running};
use mcp_rbac_tests::fixtures::{eventually, products_trusting_issuer, try_products, EVENTUALLY};
use mcp_rbac_tests::idp::{jwt_parts, with_payload, MockServer, OidcProvider};
use mcp_rbac_tests::{Mcp, Reply};
use serde_json::{json, Value};

/// The products server in stateless mode, trusting `issuer` (OIDC discovery unless `jwks_url`),
/// with its own resource URL `http://127.0.0.1:<port>/mcp` as the audience.
async fn products_trusting(issuer: &str, jwks_url: Option<String>) -> Running {
    products_trusting_issuer(issuer, |cli| cli.jwks_url = jwks_url.clone()).await
}

fn text(reply: &Reply) -> &str {
    reply.result().expect("a result")["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
}

fn assert_invalid_token(reply: &Reply, server: &Running, description: &str) {
    assert_eq!(reply.status, 401, "{}", reply.raw);
    assert_eq!(
        reply.header("www-authenticate"),
        Some(
            format!(
                "Bearer error=\"invalid_token\", resource_metadata=\"http://{}/.well-known/oauth-protected-resource/mcp\"",
                server.addr
            )
            .as_str()
        )
    );
    assert_eq!(
        reply.json,
        json!({"error": "invalid_token", "error_description": description})
    );
}

fn denied(tool: &str, required: &str) -> Value {
    json!({
        "code": 403,
        "message": format!("permission denied: tool `{tool}` requires {required}"),
        "data": {"tool": tool, "required": required, "reason": "missing_permission"},
    })
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

fn string_set(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect()
}

/// The products server finds oauth2-mock-server's keys through OIDC discovery (`--issuer
/// http://localhost:<port> --audience <its resource URL>`) and maps the tokens' `roles` and
/// `permissions`: admin deletes, guest is denied in the JSON-RPC shape of the README's "On the wire", another
/// audience and a token changed after signing are 401 `invalid_token`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_server_trusts_oauth2_mock_server_through_discovery() {
    let idp = MockServer::start().await;
    assert!(
        idp.issuer.starts_with("http://localhost:"),
        "{}",
        idp.issuer
    );
    let server = products_trusting(&idp.issuer, None).await;
    let url = server.url.clone();

    let admin = idp
        .token(&[("sub", "alice"), ("aud", &url), ("roles", "admin")])
        .await;
    let (header, claims) = jwt_parts(&admin);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(claims["iss"], idp.issuer.as_str());
    assert_eq!(claims["roles"], json!(["admin"]));

    let reply = Mcp::new(&url, Some(&admin))
        .call_tool("delete_product", json!({"id": 2}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    assert_eq!(
        reply.json["result"],
        json!({"content": [{"type": "text", "text": "product 2 deleted"}], "isError": false})
    );
    let whoami = Mcp::new(&url, Some(&admin))
        .call_tool("whoami", json!({}))
        .await;
    let me: Value = serde_json::from_str(text(&whoami)).expect("whoami JSON");
    assert_eq!(me["subject"], "alice");
    assert_eq!(me["roles"], json!(["admin"]));
    assert_eq!(
        string_set(&me["permissions"]),
        set(&[
            "Guest.Read",
            "User.Read",
            "User.Write",
            "Admin.Read",
            "Admin.Write"
        ])
    );

    let guest = idp
        .token(&[("sub", "gus"), ("aud", &url), ("roles", "guest")])
        .await;
    let as_guest = Mcp::new(&url, Some(&guest));
    let reply = as_guest.call_tool("delete_product", json!({"id": 3})).await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    assert_eq!(
        reply.rpc_error(),
        Some(&denied("delete_product", "Admin.Write"))
    );
    let reply = as_guest.call_tool("get_product", json!({"id": 3})).await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    assert!(reply.rpc_error().is_none(), "guest reads: {}", reply.raw);
    assert_eq!(
        server.counters.get("delete_product"),
        1,
        "the guest's call never reached the tool"
    );

    // A direct `permissions` claim, no role.
    let service = idp
        .token(&[
            ("sub", "svc"),
            ("aud", &url),
            ("permissions", "Admin.Write"),
        ])
        .await;
    let reply = Mcp::new(&url, Some(&service))
        .call_tool("delete_product", json!({"id": 4}))
        .await;
    assert_eq!(text(&reply), "product 4 deleted", "{}", reply.raw);
    let reply = Mcp::new(&url, Some(&service))
        .call_tool(
            "create_product",
            json!({"name": "Doohickey", "price_cents": 100}),
        )
        .await;
    assert!(reply.rpc_error().is_none(), "{}", reply.raw);

    // Another audience: a real token of the trusted issuer, but for another resource.
    let elsewhere = idp
        .token(&[
            ("sub", "alice"),
            ("aud", "http://127.0.0.1:1/other"),
            ("roles", "admin"),
        ])
        .await;
    let reply = Mcp::new(&url, Some(&elsewhere))
        .call_tool("delete_product", json!({"id": 5}))
        .await;
    assert_invalid_token(&reply, &server, "token audience is not this resource");

    // The guest's token, promoted to admin after signing.
    let (_, mut claims) = jwt_parts(&guest);
    claims["roles"] = json!(["admin"]);
    let forged = with_payload(&guest, &claims);
    let reply = Mcp::new(&url, Some(&forged))
        .call_tool("delete_product", json!({"id": 5}))
        .await;
    assert_invalid_token(&reply, &server, "token signature is invalid");

    // Its untouched original still works, and delete_product ran only for the two allowed callers.
    let reply = as_guest.call_tool("list_products", json!({})).await;
    assert!(reply.rpc_error().is_none(), "{}", reply.raw);
    assert_eq!(server.counters.get("delete_product"), 2);
    server.shutdown().await;
}

/// The same with `--jwks-url`: the products server skips discovery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_server_trusts_oauth2_mock_server_by_jwks_url() {
    let idp = MockServer::start().await;
    let server = products_trusting(&idp.issuer, Some(idp.jwks_url())).await;
    let url = server.url.clone();
    let user = idp
        .token(&[("sub", "uma"), ("aud", &url), ("roles", "user")])
        .await;
    let as_user = Mcp::new(&url, Some(&user));
    let reply = as_user
        .call_tool(
            "create_product",
            json!({"name": "Widget", "price_cents": 250}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    assert!(reply.rpc_error().is_none(), "{}", reply.raw);
    let reply = as_user.call_tool("delete_product", json!({"id": 1})).await;
    assert_eq!(
        reply.rpc_error(),
        Some(&denied("delete_product", "Admin.Write"))
    );
    server.shutdown().await;
}

/// oauth2-mock-server rotates its signing key: the JWKS (found through discovery) holds only the
/// old key until a token names the new `kid`, which makes the verifier refetch it (no sooner than
/// the minimum refresh interval) and accept the token; the old key's tokens stay valid while it
/// is published.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_refresh_picks_up_oauth2_mock_server_key_rotation() {
    const AUDIENCE: &str = "https://mcp.example/mcp";
    let idp = MockServer::start().await;
    let jwks_url = remote::discover_jwks_uri(&idp.issuer)
        .await
        .expect("discovery");
    assert_eq!(jwks_url, idp.jwks_url());
    let jwks = Jwks::builder(jwks_url)
        .min_refresh_interval(Duration::from_millis(100))
        .load()
        .await
        .expect("JWKS");
    let first_kids = jwks.kids();
    assert_eq!(first_kids.len(), 1, "{first_kids:?}");
    let verifier = JwtVerifier::builder()
        .issuer(&idp.issuer)
        .audience(AUDIENCE)
        .algorithms([Algorithm::RS256])
        .jwks(jwks.clone())
        .claims(ClaimsMapping::default().with_role_policy(role_policy()))
        .build()
        .expect("verifier");

    let before = idp
        .token(&[("sub", "alice"), ("aud", AUDIENCE), ("roles", "admin")])
        .await;
    assert_eq!(jwt_parts(&before).0["kid"], first_kids[0].as_str());
    let principal = verifier
        .verify(&before)
        .await
        .expect("a token of the first key");
    assert_eq!(principal.subject(), "alice");
    assert!(principal.has_permission("Admin.Write"));

    let new_kid = idp.rotate().await;
    assert_ne!(new_kid, first_kids[0]);
    let after = idp
        .token(&[("sub", "bob"), ("aud", AUDIENCE), ("roles", "guest")])
        .await;
    assert_eq!(jwt_parts(&after).0["kid"], new_kid.as_str());
    assert_eq!(jwks.kids(), first_kids, "nothing refetched yet");

    // Refused as an unknown key until the minimum refresh interval has passed; then the verifier
    // refetches the JWKS and accepts it.
    let principal = eventually("the rotated key", EVENTUALLY, || async {
        match verifier.verify(&after).await {
            Ok(principal) => Some(principal),
            Err(AuthError::UnknownKey) => None,
            Err(e) => panic!("a token of the rotated key: {e}"),
        }
    })
    .await;
    assert_eq!(principal.subject(), "bob");
    assert!(principal.has_permission("Guest.Read"));
    assert!(!principal.has_permission("Admin.Write"));
    let kids: BTreeSet<String> = jwks.kids().into_iter().collect();
    assert_eq!(kids, [first_kids[0].clone(), new_kid].into_iter().collect());

    // The old key is still published, so its tokens still verify.
    assert_eq!(
        verifier.verify(&before).await.expect("old key").subject(),
        "alice"
    );
    // A rotated-key token changed after signing is still refused.
    let (_, mut claims) = jwt_parts(&after);
    claims["roles"] = json!(["admin"]);
    assert_eq!(
        verifier.verify(&with_payload(&after, &claims)).await.err(),
        Some(AuthError::BadSignature)
    );
}

/// oidc-provider's client credentials tokens, bound to a resource by RFC 8707: `typ` `at+jwt`,
/// `aud` = the resource; accepted by a verifier built with `Jwks::discover(issuer)` and the
/// resource URL as audience, its `scope` mapped to permissions; a token for another resource is
/// `WrongAudience`. Both of the provider's signing algorithms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_provider_resource_bound_at_jwt_through_discovery() {
    const RESOURCE: &str = "http://127.0.0.1:8000/mcp";
    for alg in ["ES256", "RS256"] {
        let idp = OidcProvider::start(alg).await;
        let jwks = Jwks::discover(&idp.issuer).await.expect("discovery");
        assert_eq!(jwks.kids().len(), 2, "{alg}: an ES256 and an RS256 key");
        let verifier = JwtVerifier::builder()
            .issuer(&idp.issuer)
            .audience(RESOURCE)
            .algorithms([Algorithm::ES256, Algorithm::RS256])
            .jwks(jwks)
            .build()
            .expect("verifier");

        let token = idp
            .client_credentials(RESOURCE, "Admin.Write Guest.Read")
            .await
            .unwrap_or_else(|(status, body)| panic!("{alg}: HTTP {status} {body}"));
        let (header, claims) = jwt_parts(&token);
        assert_eq!(header["typ"], "at+jwt", "{alg}");
        assert_eq!(header["alg"], alg);
        assert_eq!(claims["aud"], RESOURCE, "{alg}");
        assert_eq!(claims["iss"], idp.issuer.as_str());
        assert_eq!(claims["scope"], "Admin.Write Guest.Read");

        let principal = verifier.verify(&token).await.expect("resource-bound token");
        assert_eq!(principal.subject(), idp.client_id());
        assert_eq!(principal.issuer(), Some(idp.issuer.as_str()));
        assert_eq!(
            principal.scopes().iter().cloned().collect::<BTreeSet<_>>(),
            set(&["Admin.Write", "Guest.Read"])
        );
        assert!(principal.has_permission("Admin.Write"), "{alg}");
        assert!(principal.has_permission("Guest.Read"), "{alg}");
        assert!(!principal.has_permission("User.Write"), "{alg}");

        let other = idp
            .client_credentials("http://127.0.0.1:8001/mcp", "Admin.Write")
            .await
            .expect("a token for another resource");
        assert_eq!(jwt_parts(&other).1["aud"], "http://127.0.0.1:8001/mcp");
        assert_eq!(
            verifier.verify(&other).await.err(),
            Some(AuthError::WrongAudience),
            "{alg}"
        );

        // A scope the resource server does not offer is left out of the token.
        let narrowed = idp
            .client_credentials(RESOURCE, "Guest.Read Root.Everything")
            .await
            .unwrap_or_else(|(status, body)| panic!("{alg}: HTTP {status} {body}"));
        assert_eq!(jwt_parts(&narrowed).1["scope"], "Guest.Read", "{alg}");
        let principal = verifier.verify(&narrowed).await.expect("narrowed token");
        assert!(principal.has_permission("Guest.Read"), "{alg}");
        assert!(!principal.has_permission("Root.Everything"), "{alg}");
    }
}

/// The products server trusts oidc-provider through discovery: a client credentials token bound
/// to its resource URL with scope `Admin.Write` deletes; one with `Guest.Read` only is denied;
/// one bound to another resource is 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_server_accepts_oidc_provider_client_credentials() {
    let idp = OidcProvider::start("ES256").await;
    let server = products_trusting(&idp.issuer, None).await;
    let url = server.url.clone();

    let admin = idp
        .client_credentials(&url, "Admin.Write")
        .await
        .unwrap_or_else(|(status, body)| panic!("HTTP {status} {body}"));
    let reply = Mcp::new(&url, Some(&admin))
        .call_tool("delete_product", json!({"id": 2}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    assert_eq!(text(&reply), "product 2 deleted");

    let reader = idp
        .client_credentials(&url, "Guest.Read")
        .await
        .unwrap_or_else(|(status, body)| panic!("HTTP {status} {body}"));
    let as_reader = Mcp::new(&url, Some(&reader));
    let reply = as_reader
        .call_tool("delete_product", json!({"id": 3}))
        .await;
    assert_eq!(
        reply.rpc_error(),
        Some(&denied("delete_product", "Admin.Write"))
    );
    let reply = as_reader.call_tool("list_products", json!({})).await;
    assert!(reply.rpc_error().is_none(), "{}", reply.raw);

    let elsewhere = idp
        .client_credentials("http://127.0.0.1:1/other", "Admin.Write")
        .await
        .unwrap_or_else(|(status, body)| panic!("HTTP {status} {body}"));
    let reply = Mcp::new(&url, Some(&elsewhere))
        .call_tool("delete_product", json!({"id": 3}))
        .await;
    assert_invalid_token(&reply, &server, "token audience is not this resource");
    assert_eq!(server.counters.get("delete_product"), 1);
    server.shutdown().await;
}

/// The products server checks oidc-provider's opaque access tokens by RFC 7662 introspection:
/// `Admin.Write` deletes, `Guest.Read` lists but is denied the delete, a token for another
/// resource (introspected `aud`) and a made-up token are 401, and without the client secret the
/// server refuses to start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_server_introspects_oidc_provider_opaque_tokens() {
    let idp = OidcProvider::start_opaque().await;
    let server = products_trusting_issuer(&idp.issuer, |cli| {
        cli.introspection_url = Some(idp.introspection_endpoint.clone());
        cli.client_id = Some(idp.client_id().to_owned());
        cli.client_secret = Some(ClientSecret(idp.client_secret().to_owned()));
    })
    .await;
    let url = server.url.clone();
    let token = |scope: &'static str, resource: String| {
        let idp = &idp;
        async move {
            idp.client_credentials(&resource, scope)
                .await
                .unwrap_or_else(|(status, body)| panic!("HTTP {status} {body}"))
        }
    };

    let admin = token("Admin.Write", url.clone()).await;
    assert_eq!(admin.split('.').count(), 1, "an opaque token, not a JWT");
    let reply = Mcp::new(&url, Some(&admin))
        .call_tool("delete_product", json!({"id": 2}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    assert_eq!(text(&reply), "product 2 deleted");
    let reply = Mcp::new(&url, Some(&admin))
        .call_tool("whoami", json!({}))
        .await;
    assert!(text(&reply).contains(idp.client_id()), "{}", reply.raw);

    let reader = Mcp::new(&url, Some(&token("Guest.Read", url.clone()).await));
    let reply = reader.call_tool("delete_product", json!({"id": 3})).await;
    assert_eq!(
        reply.rpc_error(),
        Some(&denied("delete_product", "Admin.Write"))
    );
    let reply = reader.call_tool("list_products", json!({})).await;
    assert!(reply.rpc_error().is_none(), "{}", reply.raw);

    let elsewhere = token("Admin.Write", "http://127.0.0.1:1/other".into()).await;
    let reply = Mcp::new(&url, Some(&elsewhere))
        .call_tool("delete_product", json!({"id": 3}))
        .await;
    assert_eq!(reply.status, 401, "{}", reply.raw);
    let made_up = "1XR49hbMb9jF_xIgEOMeJKvhUNPaAYJqPQw_fljXgQO";
    let reply = Mcp::new(&url, Some(made_up))
        .call_tool("delete_product", json!({"id": 3}))
        .await;
    assert_eq!(reply.status, 401, "{}", reply.raw);
    assert_eq!(server.counters.get("delete_product"), 1);
    server.shutdown().await;

    let refused = try_products(|cli| {
        cli.stateless = false;
        cli.issuer = Some(idp.issuer.clone());
        cli.audience = Some("http://127.0.0.1:1/mcp".into());
        cli.introspection_url = Some(idp.introspection_endpoint.clone());
        cli.client_id = Some(idp.client_id().to_owned());
        cli.client_secret = None;
    })
    .await
    .err()
    .map(|e| e.to_string());
    assert_eq!(
        refused.as_deref(),
        Some(
            "--introspection-url needs the client secret in the INTROSPECTION_CLIENT_SECRET \
             environment variable"
        )
    );
}

/// Each IdP's tokens are refused by a server trusting the other one, even when they name that
/// server's resource URL as audience and carry the admin role or scope (the keys are looked up
/// first, so no claim of a foreign token is read).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_the_other_idp_are_refused() {
    let (mock, provider) = tokio::join!(MockServer::start(), OidcProvider::start("RS256"));

    let trusts_mock = products_trusting(&mock.issuer, None).await;
    let url = trusts_mock.url.clone();
    let foreign = provider
        .client_credentials(&url, "Admin.Write")
        .await
        .unwrap_or_else(|(status, body)| panic!("HTTP {status} {body}"));
    let reply = Mcp::new(&url, Some(&foreign))
        .call_tool("delete_product", json!({"id": 2}))
        .await;
    assert_invalid_token(&reply, &trusts_mock, "no trusted key matches the token");
    let own = mock
        .token(&[("sub", "alice"), ("aud", &url), ("roles", "admin")])
        .await;
    let reply = Mcp::new(&url, Some(&own))
        .call_tool("delete_product", json!({"id": 2}))
        .await;
    assert_eq!(text(&reply), "product 2 deleted");
    trusts_mock.shutdown().await;

    let trusts_provider = products_trusting(&provider.issuer, None).await;
    let url = trusts_provider.url.clone();
    let foreign = mock
        .token(&[
            ("sub", "alice"),
            ("aud", &url),
            ("roles", "admin"),
            ("scope", "Admin.Write"),
        ])
        .await;
    let reply = Mcp::new(&url, Some(&foreign))
        .call_tool("delete_product", json!({"id": 2}))
        .await;
    assert_invalid_token(&reply, &trusts_provider, "no trusted key matches the token");
    assert_eq!(trusts_provider.counters.get("delete_product"), 0);
    trusts_provider.shutdown().await;
}
