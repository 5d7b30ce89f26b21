//! The identity provider goes away, in every way it can: stopped (connection refused), HTTP 500,
//! invalid JSON, a 10 MB body, a response that never comes. Through the whole outage the products
//! server keeps accepting tokens of the keys it already has, answers 401 for keys it does not
//! know, never panics or answers 5xx, and picks up a new key as soon as the IdP is back.
//!
//! Nothing sleeps: the test polls until a token of an unknown key makes the verifier try the IdP
//! again (its minimum refresh interval has passed), seen in the IdP's request count or, while the
//! IdP is stopped, in the verifier's "JWKS refresh failed" warning.

use std::sync::Arc;
use std::time::Duration;

use mcp_rbac::testkit::DevIssuer;
use mcp_rbac::verify::{Algorithm, Jwks, JwtVerifier, TokenVerifier};
use mcp_rbac_tests::fixtures::logs;
use mcp_rbac_tests::fixtures::{
    eventually, products_claims, serve_products, JwksMode as Mode, JwksServer, EVENTUALLY,
};
use mcp_rbac_tests::{Mcp, Reply, ServeOptions};
use serde_json::{json, Value};

const ISS: &str = "https://idp.test";
const AUD: &str = "https://mcp.test/mcp";
/// Short, so the test walks through several refresh intervals in a few seconds.
const MIN_REFRESH: Duration = Duration::from_millis(300);
const FETCH_TIMEOUT: Duration = Duration::from_secs(1);

fn jwks_of(issuers: &[&DevIssuer]) -> Value {
    let keys: Vec<Value> = issuers
        .iter()
        .flat_map(|i| i.jwks().keys)
        .map(|k| serde_json::to_value(k).unwrap())
        .collect();
    json!({ "keys": keys })
}

fn text(reply: &Reply) -> String {
    reply.result().map_or_else(String::new, |r| {
        r["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    })
}

/// A fresh token (own `jti`, so the verified-token cache cannot answer for it).
fn token(issuer: &DevIssuer, role: &str, n: usize) -> String {
    issuer.token(json!({"sub": format!("{role}-{n}"), "roles": [role], "jti": format!("t{n}")}))
}

/// How many failed refreshes of the JWKS at `url` the verifier has logged.
fn failed_refreshes(url: &str) -> usize {
    let log = logs::capture().text();
    logs::lines(
        &log,
        "WARN",
        "mcp_rbac::auth",
        &["JWKS refresh failed", url],
    )
    .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idp_outage_keeps_known_keys_refuses_unknown_ones_and_recovers() {
    logs::capture();
    let published = DevIssuer::generate(ISS, AUD).unwrap();
    let rotated_in = DevIssuer::generate(ISS, AUD).unwrap();
    let mut idp = JwksServer::start(jwks_of(&[&published])).await;
    let jwks = Jwks::builder(idp.url())
        .min_refresh_interval(MIN_REFRESH)
        .fetch_timeout(FETCH_TIMEOUT)
        .load()
        .await
        .expect("the IdP is up at start");
    let verifier = JwtVerifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .algorithms([Algorithm::ES256])
        .jwks(jwks.clone())
        .claims(products_claims())
        .build()
        .unwrap();
    let verifier: Arc<dyn TokenVerifier> = Arc::new(verifier);
    let (served, counters) = serve_products(ServeOptions::verified_by(verifier)).await;

    let outages: [(&str, Option<Mode>); 5] = [
        ("stopped", None),
        ("HTTP 500", Some(Mode::Status500)),
        ("invalid JSON", Some(Mode::InvalidJson)),
        ("a 10 MB body", Some(Mode::TenMegabytes)),
        ("no answer", Some(Mode::Hang)),
    ];
    let mut n = 0;
    for (outage, mode) in outages {
        match mode {
            None => idp.shut_down().await,
            Some(mode) => idp.set(mode),
        }
        let fetches_before = idp.fetches();
        let failures_before = failed_refreshes(&idp.url());

        // A key the IdP never published while it was up: refused, every time; tried until the
        // minimum refresh interval has passed and the verifier asks the IdP again (and fails).
        let (url, jwks_url) = (&served.url, idp.url());
        eventually(outage, EVENTUALLY, || {
            n += 1;
            let unknown = Mcp::new(url, Some(&token(&rotated_in, "admin", n)));
            let jwks_url = jwks_url.clone();
            async move {
                let unknown = unknown.call_tool("whoami", json!({})).await;
                assert_eq!(unknown.status, 401, "{outage}: {}", unknown.raw);
                let challenge = unknown.header("www-authenticate").unwrap_or_default();
                assert!(
                    challenge.contains("error=\"invalid_token\""),
                    "{outage}: {challenge}"
                );
                (failed_refreshes(&jwks_url) > failures_before).then_some(())
            }
        })
        .await;
        assert_eq!(
            failed_refreshes(&idp.url()),
            failures_before + 1,
            "{outage}: one failed refresh"
        );
        if outage != "stopped" {
            assert_eq!(
                idp.fetches(),
                fetches_before + 1,
                "{outage}: one refresh attempt"
            );
        }

        // Known keys keep working, and authorization still applies.
        n += 1;
        let admin = Mcp::new(&served.url, Some(&token(&published, "admin", n)));
        let reply = admin.call_tool("whoami", json!({})).await;
        assert_eq!(reply.status, 200, "{outage}: {}", reply.raw);
        assert!(
            text(&reply).contains(&format!("admin-{n}")),
            "{outage}: {}",
            reply.raw
        );
        n += 1;
        let guest = Mcp::new(&served.url, Some(&token(&published, "guest", n)));
        let reply = guest.call_tool("delete_product", json!({"id": 1})).await;
        assert_eq!(reply.status, 200, "{outage}: {}", reply.raw);
        assert_eq!(
            reply.rpc_error().map(|e| e["code"].clone()),
            Some(json!(403)),
            "{outage}"
        );
        assert_eq!(
            jwks.kids(),
            vec![published.jwks().keys[0].common.key_id.clone().unwrap()]
        );

        if outage == "stopped" {
            idp.start_again().await;
        }
    }
    assert_eq!(counters.get("delete_product"), 0, "no denied body ran");

    // The IdP is back, with the new key published beside the old one.
    // Until the refresh interval has passed the new key's tokens are refused; then one of them
    // makes the verifier fetch the keys again, and it is accepted.
    idp.set(Mode::Keys(jwks_of(&[&published, &rotated_in])));
    let url = &served.url;
    let reply = eventually("recovered", EVENTUALLY, || {
        n += 1;
        let client = Mcp::new(url, Some(&token(&rotated_in, "admin", n)));
        async move {
            let reply = client.call_tool("whoami", json!({})).await;
            if reply.status == 401 {
                return None;
            }
            Some(reply)
        }
    })
    .await;
    assert_eq!(reply.status, 200, "recovered: {}", reply.raw);
    assert!(
        text(&reply).contains(&format!("admin-{n}")),
        "{}",
        reply.raw
    );
    n += 1;
    let reply = Mcp::new(&served.url, Some(&token(&published, "admin", n)))
        .call_tool("whoami", json!({}))
        .await;
    assert_eq!(reply.status, 200, "old key still published: {}", reply.raw);
    assert_eq!(jwks.kids().len(), 2);
}
