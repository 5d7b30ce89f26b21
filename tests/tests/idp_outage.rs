//! The identity provider goes away, in every way it can: stopped (connection refused), HTTP 500,
//! invalid JSON, a 10 MB body, a response that never comes. Through the whole outage the products
//! server keeps accepting tokens of the keys it already has, answers 401 for keys it does not
//! know, never panics or answers 5xx, and picks up a new key as soon as the IdP is back.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use mcp_rbac::testkit::DevIssuer;
use mcp_rbac::verify::{Algorithm, Jwks, JwtVerifier, TokenVerifier};
use mcp_rbac::ClaimsMapping;
use mcp_rbac_examples::products::{policy::role_policy, Catalog, Products};
use mcp_rbac_tests::{serve, Mcp, Reply};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

const ISS: &str = "https://idp.test";
const AUD: &str = "https://mcp.test/mcp";
/// Short, so the test walks through several refresh intervals in a few seconds.
const MIN_REFRESH: Duration = Duration::from_millis(300);
const FETCH_TIMEOUT: Duration = Duration::from_secs(1);

/// What the JWKS endpoint does next.
#[derive(Clone)]
enum Mode {
    Keys(Value),
    Status500,
    InvalidJson,
    TenMegabytes,
    Hang,
}

struct Idp {
    mode: Mutex<Mode>,
    fetches: AtomicUsize,
}

/// The JWKS endpoint, which can be stopped and started again on the same port.
struct JwksServer {
    idp: Arc<Idp>,
    addr: SocketAddr,
    stop: Option<(CancellationToken, tokio::task::JoinHandle<()>)>,
}

impl JwksServer {
    async fn start(keys: Value) -> JwksServer {
        let idp = Arc::new(Idp {
            mode: Mutex::new(Mode::Keys(keys)),
            fetches: AtomicUsize::new(0),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut server = JwksServer {
            idp,
            addr,
            stop: None,
        };
        server.serve(listener);
        server
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let stop = CancellationToken::new();
        let app = Router::new()
            .route("/jwks", get(jwks))
            .with_state(self.idp.clone());
        let token = stop.clone();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(token.cancelled_owned())
                .await;
        });
        self.stop = Some((stop, task));
    }

    fn url(&self) -> String {
        format!("http://{}/jwks", self.addr)
    }

    fn set(&self, mode: Mode) {
        *self.idp.mode.lock().unwrap() = mode;
    }

    fn fetches(&self) -> usize {
        self.idp.fetches.load(Ordering::SeqCst)
    }

    async fn shut_down(&mut self) {
        if let Some((stop, task)) = self.stop.take() {
            stop.cancel();
            let _ = task.await;
        }
    }

    async fn start_again(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr)
            .await
            .expect("the IdP's port is free again");
        self.serve(listener);
    }
}

async fn jwks(State(idp): State<Arc<Idp>>) -> Response {
    idp.fetches.fetch_add(1, Ordering::SeqCst);
    let mode = idp.mode.lock().unwrap().clone();
    match mode {
        Mode::Keys(keys) => axum::Json(keys).into_response(),
        Mode::Status500 => (StatusCode::INTERNAL_SERVER_ERROR, "upstream broke").into_response(),
        Mode::InvalidJson => (StatusCode::OK, "{\"keys\": [ {\"kty\": ").into_response(),
        Mode::TenMegabytes => {
            let mut body = String::from("{\"keys\":[],\"padding\":\"");
            body.push_str(&"x".repeat(10 * 1024 * 1024));
            body.push_str("\"}");
            (StatusCode::OK, body).into_response()
        }
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
    }
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idp_outage_keeps_known_keys_refuses_unknown_ones_and_recovers() {
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
        .claims(ClaimsMapping::default().with_role_policy(role_policy()))
        .build()
        .unwrap();
    let verifier: Arc<dyn TokenVerifier> = Arc::new(verifier);
    let catalog = Catalog::seeded();
    let counters = catalog.counters();
    let served = serve(move || Products::new(catalog.clone()), Some(verifier)).await;

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
        tokio::time::sleep(MIN_REFRESH + Duration::from_millis(100)).await;
        let fetches_before = idp.fetches();

        // A key the IdP never published while it was up: refused, after one failed refresh.
        n += 1;
        let unknown = Mcp::new(&served.url, Some(&token(&rotated_in, "admin", n)))
            .call_tool("whoami", json!({}))
            .await;
        assert_eq!(unknown.status, 401, "{outage}: {}", unknown.raw);
        let challenge = unknown.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.contains("error=\"invalid_token\""),
            "{outage}: {challenge}"
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
    idp.set(Mode::Keys(jwks_of(&[&published, &rotated_in])));
    tokio::time::sleep(MIN_REFRESH + Duration::from_millis(100)).await;
    n += 1;
    let reply = Mcp::new(&served.url, Some(&token(&rotated_in, "admin", n)))
        .call_tool("whoami", json!({}))
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
