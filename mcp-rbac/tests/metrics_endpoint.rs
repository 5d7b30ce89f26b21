//! `ServerBuilder::metrics`: `GET /metrics` on a listener of its own, without a token, started and
//! stopped with the server; two servers of one process share the one Prometheus recorder. Its own
//! test binary, since the recorder is global to the process.
#![cfg(all(feature = "metrics", feature = "jwks"))]

use std::net::SocketAddr;

use mcp_rbac::server::RunningServer;
use mcp_rbac::{Issuer, Role, RolePolicy, ServerBuilder};
use serde_json::json;

#[derive(Clone)]
struct Notes;

#[mcp_rbac::tool_router]
impl Notes {
    #[tool(requires = "Notes.Read", description = "Read the notes")]
    async fn read(&self) -> String {
        "notes".into()
    }

    #[tool(requires = "Notes.Write", description = "Erase the notes")]
    async fn erase(&self) -> String {
        "erased".into()
    }
}

#[mcp_rbac::tool_handler]
impl rmcp::ServerHandler for Notes {}

async fn try_start(issuer: Issuer) -> Result<RunningServer, mcp_rbac::ServerError> {
    let roles = RolePolicy::new([Role::new("reader").grants(["Notes.Read"])]).unwrap();
    ServerBuilder::new("http://127.0.0.1:0/mcp")
        .issuer(issuer)
        .role_policy(roles)
        .stateless(true)
        .metrics("127.0.0.1:0".parse().unwrap())
        .start(|| Notes)
        .await
}

async fn start(issuer: Issuer) -> RunningServer {
    try_start(issuer).await.expect("the server starts")
}

async fn call(server: &RunningServer, token: Option<&str>, tool: &str) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(server.url())
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .body(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                   "params": {"name": tool, "arguments": {}}})
            .to_string(),
        );
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("the MCP endpoint answers")
}

async fn scrape(addr: SocketAddr) -> String {
    let response = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .expect("the metrics endpoint answers");
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    response.text().await.unwrap()
}

/// The value of the one sample of `name` whose labels include every one of `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    let mut found = text.lines().filter(|line| {
        line.strip_prefix(name)
            .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
            && labels.iter().all(|label| line.contains(label))
    });
    let line = found.next()?;
    assert!(
        found.next().is_none(),
        "more than one sample matches {labels:?}"
    );
    line.rsplit(' ').next()?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_the_recorder_and_stop_their_endpoints() {
    let first = start(Issuer::development()).await;
    // The second server fetches the keys of the first one's development issuer.
    let origin = first.url().trim_end_matches("/mcp").to_owned();
    let jwks = format!("{origin}{}", mcp_rbac::testkit::JWKS_PATH);
    let second = start(Issuer::jwks(&origin, jwks)).await;
    // A JWKS nobody serves: the server does not start, and the failed fetch is counted.
    let nowhere = Issuer::jwks("http://127.0.0.1:1", "http://127.0.0.1:1/jwks.json");
    assert!(try_start(nowhere).await.is_err());
    let (first_metrics, second_metrics) = (
        first.metrics_addr().expect("metrics address"),
        second.metrics_addr().expect("metrics address"),
    );
    assert_ne!(first_metrics, second_metrics);
    assert!(first
        .banner()
        .contains(&format!("metrics at http://{first_metrics}/metrics\n")));

    let reader = first
        .assembled()
        .development_tokens()
        .and_then(|t| t.get("reader"))
        .expect("a reader token")
        .to_owned();
    let erase = call(&first, Some(&reader), "erase")
        .await
        .text()
        .await
        .unwrap();
    assert!(erase.contains("\"code\":403"), "{erase}");
    let read = call(&first, Some(&reader), "read")
        .await
        .text()
        .await
        .unwrap();
    assert!(read.contains("notes"), "{read}");
    assert_eq!(call(&first, None, "read").await.status(), 401);

    // The second server's endpoint renders what the first server recorded: one recorder.
    let text = scrape(second_metrics).await;
    assert!(text.contains("# HELP mcp_rbac_decisions_total"), "{text}");
    let deny = [r#"kind="tool""#, r#"name="erase""#, r#"decision="deny""#];
    let denied = sample(&text, "mcp_rbac_decisions_total", &deny);
    assert_eq!(denied, Some(1.0), "{text}");
    let allow = [
        r#"name="read""#,
        r#"decision="allow""#,
        r#"reason="granted""#,
    ];
    assert_eq!(sample(&text, "mcp_rbac_decisions_total", &allow), Some(1.0));
    let valid = [r#"outcome="valid""#, r#"algorithm="ES256""#];
    assert_eq!(
        sample(&text, "mcp_rbac_token_verifications_total", &valid),
        Some(2.0)
    );
    let missing = [r#"outcome="missing""#];
    assert_eq!(
        sample(&text, "mcp_rbac_token_verifications_total", &missing),
        Some(1.0)
    );
    assert_eq!(sample(&text, "mcp_rbac_jwks_fetches_total", &[]), Some(2.0));
    assert_eq!(
        sample(&text, "mcp_rbac_jwks_fetch_failures_total", &[]),
        Some(1.0)
    );
    // The reader's token: verified once, then answered from the verified-token cache.
    let jwt = [r#"cache="jwt""#];
    assert_eq!(
        sample(&text, "mcp_rbac_token_cache_misses_total", &jwt),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "mcp_rbac_token_cache_hits_total", &jwt),
        Some(1.0)
    );
    assert!(!text.contains(&reader), "the metrics name a token");
    let first_text = scrape(first_metrics).await;
    assert_eq!(
        sample(&first_text, "mcp_rbac_decisions_total", &deny),
        Some(1.0)
    );

    // Only `GET /metrics` is there.
    let http = reqwest::Client::new();
    let other = http.get(format!("http://{first_metrics}/mcp")).send().await;
    assert_eq!(other.unwrap().status(), 404);
    let post = http
        .post(format!("http://{first_metrics}/metrics"))
        .send()
        .await;
    assert_eq!(post.unwrap().status(), 405);

    first.shutdown().await;
    assert!(
        tokio::net::TcpStream::connect(first_metrics).await.is_err(),
        "the first server's metrics endpoint outlived it"
    );
    scrape(second_metrics).await;
    second.shutdown().await;
    assert!(tokio::net::TcpStream::connect(second_metrics)
        .await
        .is_err());
}
