//! DPoP (RFC 9449) end to end with a real authorization server and a real client library:
//! `oidc-provider` issues DPoP-bound client credentials tokens (`cnf.jkt`, `token_type` `DPoP`)
//! to an `oauth4webapi` client (`tests/idp/dpop-client.mjs`, run through
//! `OidcProvider::dpop_client`), which makes a fresh proof for every MCP request it sends to the
//! products server started with `--dpop require` or `--dpop accept` and trusting the provider.
//!
//! Needs the npm project in `tests/idp/`, which the first test installs (`mcp_rbac_tests::kits`).

use std::collections::BTreeSet;

use mcp_rbac::bearer::dpop::thumbprint;
use mcp_rbac_examples::products::{DpopFlag, Running};
use mcp_rbac_tests::fixtures::products_trusting_issuer;
use mcp_rbac_tests::idp::{jwt_parts, OidcProvider};
use mcp_rbac_tests::Mcp;
use serde_json::{json, Value};

/// The scopes the client asks for: reading and writing, not deleting.
const SCOPE: &str = "Guest.Read User.Write";

/// The products server, stateless, with `dpop`, trusting `issuer` through discovery with its own
/// resource URL as the audience (and as the URL DPoP proofs must name).
async fn products_trusting(issuer: &str, dpop: DpopFlag) -> Running {
    products_trusting_issuer(issuer, |cli| cli.dpop = Some(dpop)).await
}

/// The one line of `step` (and, for requests, of JSON-RPC `method`) the client printed.
fn step<'a>(lines: &'a [Value], step: &str, method: Option<&str>) -> &'a Value {
    let found: Vec<&Value> = lines
        .iter()
        .filter(|l| l["step"] == step && method.is_none_or(|m| l["method"] == m))
        .collect();
    assert_eq!(found.len(), 1, "{step} {method:?} in {lines:#?}");
    found[0]
}

fn call(name: &str, arguments: Value) -> Value {
    json!({"method": "tools/call", "params": {"name": name, "arguments": arguments}})
}

/// The oauth4webapi client's token is DPoP-bound to its key; list, an allowed call and a denied
/// call go through with its proofs; the same token without a proof, as `Bearer`, is refused.
async fn library_client_through(dpop: DpopFlag) {
    let idp = OidcProvider::start("ES256").await;
    let server = products_trusting(&idp.issuer, dpop).await;
    let url = server.url.clone();
    let lines = idp
        .dpop_client(
            &url,
            SCOPE,
            &[
                json!({"method": "tools/list", "params": {}}),
                call(
                    "create_product",
                    json!({"name": "kite", "price_cents": 1200}),
                ),
                call("delete_product", json!({"id": 2})),
            ],
        )
        .await;
    let calls: Vec<&Value> = lines
        .iter()
        .filter(|l| l["step"] == "request" && l["method"] == "tools/call")
        .collect();
    assert_eq!(calls.len(), 2, "{lines:#?}");
    let (allowed, denied) = (calls[0], calls[1]);

    // The token: bound by the provider to the key the library holds.
    let token = step(&lines, "token", None);
    assert_eq!(token["dpop_header_sent"], true, "{token}");
    assert_eq!(token["token_type"], "DPoP", "{token}");
    let claims = &token["claims"];
    let jwk = token["jwk"].as_object().expect("the client's public JWK");
    let jkt = thumbprint(jwk).expect("an EC P-256 key");
    assert_eq!(claims["cnf"]["jkt"], jkt.as_str(), "{claims}");
    assert_eq!(claims["aud"], url.as_str(), "{claims}");
    assert_eq!(claims["iss"], idp.issuer.as_str(), "{claims}");
    assert_eq!(claims["scope"], SCOPE, "{claims}");

    // Every MCP request: the DPoP scheme and a proof of the library for this URL and method, each
    // with its own `jti`.
    let requests: Vec<&Value> = lines.iter().filter(|l| l["step"] == "request").collect();
    assert_eq!(requests.len(), 5, "{lines:#?}");
    let mut jtis = BTreeSet::new();
    for request in &requests {
        assert_eq!(request["authorization_scheme"], "DPoP", "{request}");
        let proof = &request["proof"];
        assert_eq!(proof["header"]["typ"], "dpop+jwt", "{request}");
        assert_eq!(proof["header"]["alg"], "ES256", "{request}");
        assert_eq!(
            thumbprint(proof["header"]["jwk"].as_object().expect("jwk")).as_deref(),
            Some(jkt.as_str())
        );
        assert_eq!(proof["claims"]["htm"], "POST", "{request}");
        assert_eq!(proof["claims"]["htu"], url.as_str(), "{request}");
        assert!(proof["claims"]["ath"].is_string(), "{request}");
        jtis.insert(proof["claims"]["jti"].as_str().expect("jti").to_owned());
        assert!(
            request["status"] == 200 || request["status"] == 202,
            "{request}"
        );
    }
    assert_eq!(jtis.len(), requests.len(), "a fresh jti per request");

    let initialize = step(&lines, "request", Some("initialize"));
    assert!(
        initialize["message"]["result"]["serverInfo"].is_object(),
        "{initialize}"
    );

    // The tools the scopes allow, and no other.
    let listed = step(&lines, "request", Some("tools/list"));
    let mut names: Vec<&str> = listed["message"]["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("{listed}"))
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "create_product",
            "get_product",
            "list_products",
            "update_product",
            "whoami"
        ],
        "{listed}"
    );

    // The allowed call ran; the denied one is the JSON-RPC 403 and did not run.
    assert_eq!(allowed["status"], 200, "{allowed}");
    assert!(allowed["message"]["error"].is_null(), "{allowed}");
    assert_eq!(allowed["message"]["result"]["isError"], false, "{allowed}");
    assert_eq!(server.counters.get("create_product"), 1);
    assert_eq!(denied["status"], 200, "{denied}");
    assert_eq!(
        denied["message"]["error"],
        json!({
            "code": 403,
            "message": "permission denied: tool `delete_product` requires Admin.Write",
            "data": {
                "tool": "delete_product",
                "required": "Admin.Write",
                "reason": "missing_permission"
            },
        }),
        "{denied}"
    );
    assert_eq!(server.counters.get("delete_product"), 0);

    // The same token as `Bearer` without a proof: 401 with the DPoP challenge (as the library
    // parsed it), `invalid_token`.
    let bearer = step(&lines, "bearer", None);
    assert_eq!(bearer["authorization_scheme"], "Bearer", "{bearer}");
    assert!(bearer["proof"].is_null(), "{bearer}");
    assert_eq!(bearer["status"], 401, "{bearer}");
    let challenges = bearer["challenges"].as_array().expect("challenges");
    let dpop_challenge = challenges
        .iter()
        .find(|c| {
            c["scheme"]
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case("dpop"))
        })
        .unwrap_or_else(|| panic!("no DPoP challenge: {bearer}"));
    assert_eq!(
        dpop_challenge["parameters"]["error"], "invalid_token",
        "{bearer}"
    );
    assert!(
        dpop_challenge["parameters"]["algs"]
            .as_str()
            .is_some_and(|algs| algs.split(' ').any(|a| a == "ES256")),
        "{bearer}"
    );
    // Under `accept` a bearer token would do, but not one bound to a key: the refusal says so.
    let description = match dpop {
        DpopFlag::Require => "this resource requires DPoP-bound tokens",
        DpopFlag::Accept => "DPoP-bound token sent as a bearer token",
    };
    assert_eq!(
        bearer["body"],
        json!({"error": "invalid_token", "error_description": description}),
        "{bearer}"
    );
    assert_eq!(
        dpop_challenge["parameters"]["error_description"], description,
        "{bearer}"
    );
    let bearer_challenge = challenges.iter().any(|c| {
        c["scheme"]
            .as_str()
            .is_some_and(|s| s.eq_ignore_ascii_case("bearer"))
    });
    assert_eq!(bearer_challenge, dpop == DpopFlag::Accept, "{bearer}");

    // A token requested without a proof is a plain bearer token (no `cnf`), as every other test
    // of this provider gets: served under `accept`, refused under `require`.
    let plain = idp
        .client_credentials(&url, SCOPE)
        .await
        .unwrap_or_else(|(status, body)| panic!("HTTP {status} {body}"));
    assert!(jwt_parts(&plain).1.get("cnf").is_none());
    let reply = Mcp::new(&url, Some(&plain)).list_tools().await;
    match dpop {
        DpopFlag::Accept => assert_eq!(reply.status, 200, "{}", reply.raw),
        DpopFlag::Require => {
            assert_eq!(reply.status, 401, "{}", reply.raw);
            assert_eq!(reply.json["error"], "invalid_token", "{}", reply.raw);
        }
    }
    // Only the MCP requests with proofs reached the tools.
    assert_eq!(server.counters.get("create_product"), 1);
    server.shutdown().await;
}

/// `--dpop require`: only DPoP-bound tokens with proofs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth4webapi_client_with_oidc_provider_token_under_require() {
    library_client_through(DpopFlag::Require).await;
}

/// `--dpop accept`: the same exchange, with bearer tokens also accepted (not this bound one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth4webapi_client_with_oidc_provider_token_under_accept() {
    library_client_through(DpopFlag::Accept).await;
}
