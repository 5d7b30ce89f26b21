//! DPoP (RFC 9449) end to end: the products server started with `--dpop accept` or
//! `--dpop require`, tokens of its development issuer bound to a key (`cnf.jkt`), and proofs
//! made here with that key. Every refusal is a 401 with the DPoP challenge of RFC 9449 §7.1.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use mcp_rbac::bearer::dpop::token_hash;
use mcp_rbac::testkit::{now, DpopKey};
use mcp_rbac_examples::products::{DpopFlag, Running};
use mcp_rbac_tests::fixtures::{metadata_url, products};
use serde_json::{json, Value};

const ALGS: &str = "algs=\"ES256 ES384 EdDSA RS256 RS384 RS512 PS256 PS384 PS512\"";

struct Answer {
    status: u16,
    challenges: Vec<String>,
    json: Value,
}

impl Answer {
    fn result(&self) -> &Value {
        &self.json["result"]
    }

    /// The DPoP challenge, which must name `error` and the algorithms.
    fn dpop_challenge(&self, error: &str) -> &str {
        assert_eq!(self.status, 401, "{:?} {}", self.challenges, self.json);
        let dpop = self
            .challenges
            .iter()
            .find(|c| c.starts_with("DPoP "))
            .unwrap_or_else(|| panic!("no DPoP challenge in {:?}", self.challenges));
        assert!(
            dpop.starts_with(&format!("DPoP error=\"{error}\"")),
            "{dpop}"
        );
        assert!(dpop.contains(ALGS), "{dpop}");
        assert_eq!(self.json["error"], error, "{}", self.json);
        dpop
    }

    fn has_bearer_challenge(&self) -> bool {
        self.challenges.iter().any(|c| c.starts_with("Bearer "))
    }
}

/// A POST of a JSON-RPC `method` with `params`, with `authorization` and each of `proofs` as a
/// `DPoP` header.
async fn post(
    url: &str,
    authorization: Option<String>,
    proofs: &[&str],
    method: &str,
    params: Value,
) -> Answer {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", mcp_rbac_tests::PROTOCOL)
        .body(body.to_string());
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    for proof in proofs {
        request = request.header("dpop", *proof);
    }
    let response = request.send().await.expect("HTTP request");
    let status = response.status().as_u16();
    let challenges = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .collect();
    let text = response.text().await.unwrap_or_default();
    Answer {
        status,
        challenges,
        json: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

struct Client {
    url: String,
    token: String,
    key: DpopKey,
}

impl Client {
    /// A user (`roles`) whose token is bound to a fresh key.
    fn bound(server: &Running, roles: &[&str]) -> Client {
        let key = DpopKey::generate().expect("a key");
        let issuer = server.issuer.as_ref().expect("the development issuer");
        let token = issuer.token(json!({
            "sub": "alice", "roles": roles, "cnf": {"jkt": key.thumbprint()},
        }));
        Client {
            url: server.url.clone(),
            token,
            key,
        }
    }

    fn proof(&self) -> String {
        self.key.proof("POST", &self.url, &self.token)
    }

    /// A proof of this client's key with `change` merged over valid claims (`null` removes).
    fn proof_with(&self, header: Value, change: Value) -> String {
        let mut claims = json!({
            "htm": "POST", "htu": self.url, "iat": now(),
            "jti": format!("jti-{}", rand_id()), "ath": token_hash(&self.token),
        });
        for (k, v) in change.as_object().expect("an object") {
            if v.is_null() {
                claims.as_object_mut().expect("an object").remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        self.key.sign(header, claims)
    }

    async fn call(&self, proofs: &[&str], method: &str, params: Value) -> Answer {
        let auth = Some(format!("DPoP {}", self.token));
        post(&self.url, auth, proofs, method, params).await
    }

    async fn with(&self, proof: &str) -> Answer {
        self.call(&[proof], "tools/list", json!({})).await
    }
}

fn rand_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

fn tool_names(answer: &Answer) -> Vec<&str> {
    answer.result()["tools"]
        .as_array()
        .map(|tools| tools.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn accept_mode_serves_bound_tokens_with_proofs_and_refuses_bad_proofs() {
    let server = products(|cli| cli.dpop = Some(DpopFlag::Accept)).await;
    let user = Client::bound(&server, &["user"]);

    // List, an allowed call, a denied call: each with a fresh proof.
    let listed = user.with(&user.proof()).await;
    assert_eq!(listed.status, 200, "{}", listed.json);
    assert!(
        tool_names(&listed).contains(&"create_product"),
        "{}",
        listed.json
    );
    assert!(
        !tool_names(&listed).contains(&"delete_product"),
        "{}",
        listed.json
    );
    let allowed = user
        .call(
            &[&user.proof()],
            "tools/call",
            json!({"name": "list_products", "arguments": {}}),
        )
        .await;
    assert_eq!(allowed.status, 200, "{}", allowed.json);
    assert!(allowed.json["error"].is_null(), "{}", allowed.json);
    let denied = user
        .call(
            &[&user.proof()],
            "tools/call",
            json!({"name": "delete_product", "arguments": {"id": 1}}),
        )
        .await;
    assert_eq!(denied.status, 200, "{}", denied.json);
    assert_eq!(denied.json["error"]["code"], 403, "{}", denied.json);

    // A plain bearer token still works in accept mode.
    let plain = server
        .issuer
        .as_ref()
        .expect("issuer")
        .token(json!({"sub": "bob", "roles": ["guest"]}));
    let bearer = post(
        &server.url,
        Some(format!("Bearer {plain}")),
        &[],
        "tools/list",
        json!({}),
    )
    .await;
    assert_eq!(bearer.status, 200, "{}", bearer.json);

    // Refusals, each with the DPoP challenge (and the Bearer one beside it in accept mode).
    let stale = now() - 120;
    let future = now() + 120;
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "another method",
            user.proof_with(json!({}), json!({"htm": "GET"})),
            "htm",
        ),
        (
            "another URL",
            user.proof_with(json!({}), json!({"htu": "http://127.0.0.1:1/mcp"})),
            "htu",
        ),
        (
            "a stale iat",
            user.proof_with(json!({}), json!({"iat": stale})),
            "too old",
        ),
        (
            "a future iat",
            user.proof_with(json!({}), json!({"iat": future})),
            "future",
        ),
        (
            "a wrong ath",
            user.proof_with(json!({}), json!({"ath": token_hash("another token")})),
            "ath",
        ),
        ("alg none", unsigned_proof(&user), "algorithm"),
        ("an HS256 proof", hs256_proof(&user), "algorithm"),
        (
            "a private key in jwk",
            private_jwk_proof(&user),
            "private key",
        ),
    ];
    for (case, proof, says) in &cases {
        let answer = user.with(proof).await;
        let challenge = answer.dpop_challenge("invalid_dpop_proof");
        assert!(challenge.contains(says), "{case}: {challenge}");
        assert!(
            answer.has_bearer_challenge(),
            "{case}: {:?}",
            answer.challenges
        );
    }

    // A proof signed by a key other than the token's `cnf.jkt`.
    let stranger = DpopKey::generate().expect("a key");
    let foreign = stranger.proof("POST", &user.url, &user.token);
    let answer = user.with(&foreign).await;
    assert!(answer
        .dpop_challenge("invalid_dpop_proof")
        .contains("cnf.jkt"));

    // A reused jti: the first use passes, the second is refused.
    let once = user.proof();
    assert_eq!(user.with(&once).await.status, 200);
    let again = user.with(&once).await;
    assert!(again
        .dpop_challenge("invalid_dpop_proof")
        .contains("already used"));

    // No proof for a bound token, two DPoP headers.
    let missing = user.call(&[], "tools/list", json!({})).await;
    assert!(missing
        .dpop_challenge("invalid_dpop_proof")
        .contains("missing"));
    let (first, second) = (user.proof(), user.proof());
    let two = user.call(&[&first, &second], "tools/list", json!({})).await;
    assert!(two
        .dpop_challenge("invalid_dpop_proof")
        .contains("more than one"));

    // The bound token sent as Bearer, with or without a proof.
    for proofs in [vec![], vec![user.proof()]] {
        let proofs: Vec<&str> = proofs.iter().map(String::as_str).collect();
        let auth = Some(format!("Bearer {}", user.token));
        let answer = post(&user.url, auth, &proofs, "tools/list", json!({})).await;
        let challenge = answer.dpop_challenge("invalid_token");
        assert!(challenge.contains("bearer"), "{challenge}");
    }

    // The metadata lists DPoP.
    let metadata: Value = reqwest::get(metadata_url(server.addr))
        .await
        .expect("metadata")
        .json()
        .await
        .expect("JSON");
    assert_eq!(metadata["dpop_bound_access_tokens_required"], false);
    assert_eq!(metadata["dpop_signing_alg_values_supported"][0], "ES256");
    server.shutdown().await;
}

#[tokio::test]
async fn require_mode_refuses_plain_bearer_tokens() {
    let server = products(|cli| cli.dpop = Some(DpopFlag::Require)).await;
    let issuer = server.issuer.as_ref().expect("issuer");
    let plain = issuer.token(json!({"sub": "bob", "roles": ["admin"]}));
    let refused = post(
        &server.url,
        Some(format!("Bearer {plain}")),
        &[],
        "tools/list",
        json!({}),
    )
    .await;
    let challenge = refused.dpop_challenge("invalid_token");
    assert!(challenge.contains("requires DPoP"), "{challenge}");
    assert!(!refused.has_bearer_challenge(), "{:?}", refused.challenges);
    // No credential at all: the DPoP challenge alone.
    let none = post(&server.url, None, &[], "tools/list", json!({})).await;
    assert_eq!(none.status, 401);
    assert_eq!(none.challenges.len(), 1, "{:?}", none.challenges);
    assert!(
        none.challenges[0].starts_with("DPoP algs="),
        "{:?}",
        none.challenges
    );
    // An unbound token with the DPoP scheme is refused too; a bound one with its proof serves.
    let unbound = post(
        &server.url,
        Some(format!("DPoP {plain}")),
        &[],
        "tools/list",
        json!({}),
    )
    .await;
    unbound.dpop_challenge("invalid_token");
    let admin = Client::bound(&server, &["admin"]);
    let listed = admin.with(&admin.proof()).await;
    assert_eq!(listed.status, 200, "{}", listed.json);
    assert!(
        tool_names(&listed).contains(&"delete_product"),
        "{}",
        listed.json
    );
    let metadata: Value = reqwest::get(metadata_url(server.addr))
        .await
        .expect("metadata")
        .json()
        .await
        .expect("JSON");
    assert_eq!(metadata["dpop_bound_access_tokens_required"], true);
    server.shutdown().await;
}

#[tokio::test]
async fn without_dpop_a_bound_token_is_still_refused_as_bearer() {
    let server = products(|_| {}).await;
    let user = Client::bound(&server, &["user"]);
    let auth = Some(format!("Bearer {}", user.token));
    let refused = post(&user.url, auth, &[], "tools/list", json!({})).await;
    assert_eq!(refused.status, 401);
    assert!(refused.challenges.iter().all(|c| c.starts_with("Bearer ")));
    assert_eq!(refused.json["error"], "invalid_token");
    server.shutdown().await;
}

/// A proof with `alg: none` and no signature.
fn unsigned_proof(user: &Client) -> String {
    let header = json!({"typ": "dpop+jwt", "alg": "none", "jwk": user.key.jwk()});
    let claims = json!({
        "htm": "POST", "htu": user.url, "iat": now(), "jti": rand_id(),
        "ath": token_hash(&user.token),
    });
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// A proof MACed with HS256 (whose `jwk` names the client's public key).
fn hs256_proof(user: &Client) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.typ = Some("dpop+jwt".into());
    header.jwk = serde_json::from_value(user.key.jwk()).ok();
    let claims = json!({
        "htm": "POST", "htu": user.url, "iat": now(), "jti": rand_id(),
        "ath": token_hash(&user.token),
    });
    mcp_rbac::verify::install_crypto_provider();
    let secret = jsonwebtoken::EncodingKey::from_secret(&[7; 32]);
    jsonwebtoken::encode(&header, &claims, &secret).expect("an HS256 proof")
}

/// A valid proof whose `jwk` also carries a private key member.
fn private_jwk_proof(user: &Client) -> String {
    let mut jwk = user.key.jwk();
    jwk["d"] = json!("jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI");
    user.proof_with(json!({"jwk": jwk}), json!({}))
}
