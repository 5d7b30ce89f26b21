//! The products server's metrics (`--metrics ADDR`, feature `metrics`) as an operator sees them:
//! a real Prometheus (Debian's `prometheus` package, installed on first use when it is not on
//! `PATH`) scrapes `GET /metrics`, and its query API answers with the decisions and token checks
//! the test caused. Its own test binary: the Prometheus recorder is global to the process.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use mcp_rbac_tests::fixtures::{eventually, products};
use mcp_rbac_tests::kits::debian_program;
use mcp_rbac_tests::Mcp;
use serde_json::{json, Value};

/// How long Prometheus may take to start and scrape once.
const SCRAPED_WITHIN: Duration = Duration::from_secs(60);

/// A Prometheus server on a loopback port, scraping one target every second; killed (and its
/// directory removed) when dropped.
struct Prometheus {
    child: Mutex<Child>,
    dir: PathBuf,
    addr: SocketAddr,
}

impl Prometheus {
    fn start(binary: &Path, target: SocketAddr) -> Prometheus {
        let dir = std::env::temp_dir().join(format!("mcp-rbac-prometheus-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("data")).expect("Prometheus directory");
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: mcp\n    scrape_interval: 1s\n    \
             static_configs:\n      - targets: [\"{target}\"]\n"
        );
        std::fs::write(dir.join("prometheus.yml"), config).expect("Prometheus configuration");
        let addr = free_loopback_port();
        let log = std::fs::File::create(dir.join("prometheus.log")).expect("Prometheus log");
        let child = Command::new(binary)
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        Prometheus {
            child: Mutex::new(child),
            dir,
            addr,
        }
    }

    /// The value of the instant query `query`, once it has a sample (`None` before).
    async fn value(&self, http: &reqwest::Client, query: &str) -> Option<f64> {
        let exited = self
            .child
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .try_wait();
        if let Ok(Some(status)) = exited {
            panic!("Prometheus exited ({status}):\n{}", self.log());
        }
        let encoded: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("query", query)
            .finish();
        let url = format!("http://{}/api/v1/query?{encoded}", self.addr);
        let answer: Value = http.get(url).send().await.ok()?.json().await.ok()?;
        assert_eq!(answer["status"], "success", "{query}: {answer}");
        let sample = answer["data"]["result"].as_array()?.first()?;
        sample["value"][1].as_str()?.parse().ok()
    }

    /// `query`'s value once Prometheus has scraped the target.
    async fn scraped(&self, http: &reqwest::Client, query: &str) -> f64 {
        let what = format!("Prometheus's answer to `{query}`");
        eventually(&what, SCRAPED_WITHIN, || self.value(http, query)).await
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(PoisonError::into_inner);
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_loopback_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    listener.local_addr().expect("its address")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_decisions_and_token_checks() {
    let prometheus_binary = debian_program("prometheus", "prometheus");
    let server = products(|cli| cli.metrics = Some("127.0.0.1:0".parse().unwrap())).await;
    let metrics = server.metrics.expect("the metrics endpoint's address");
    let tokens = server.tokens.clone().expect("development tokens");

    // Denials: the guest and the user may not delete; the admin may.
    let (guest_denials, user_denials, admin_calls) = (3, 2, 2);
    let mut sent = Vec::new();
    for (token, times, allowed) in [
        (&tokens.guest, guest_denials, false),
        (&tokens.user, user_denials, false),
        (&tokens.admin, admin_calls, true),
    ] {
        let client = Mcp::new(&server.url, Some(token));
        for id in 0..times {
            let reply = client
                .call_tool("delete_product", json!({"id": 100 + id}))
                .await;
            let denied = reply.rpc_error().is_some_and(|e| e["code"] == 403);
            assert_eq!(!denied, allowed, "{}", reply.raw);
        }
        sent.push(token.clone());
    }
    // No token, and a token whose signature is not the issuer's.
    let missing = Mcp::new(&server.url, None)
        .call_tool("delete_product", json!({"id": 1}))
        .await;
    assert_eq!(missing.status, 401);
    let (head, _) = tokens.admin.rsplit_once('.').expect("a JWS");
    let forged = format!("{head}.{}", "A".repeat(86));
    let refused = Mcp::new(&server.url, Some(&forged))
        .call_tool("delete_product", json!({"id": 1}))
        .await;
    assert_eq!(refused.status, 401);
    sent.push(forged);

    // What the endpoint serves names no token.
    let http = reqwest::Client::new();
    let text = http
        .get(format!("http://{metrics}/metrics"))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics text");
    assert!(
        text.contains("# TYPE mcp_rbac_decisions_total counter"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE mcp_rbac_decision_duration_seconds histogram"),
        "{text}"
    );
    for token in &sent {
        let signature = token.rsplit('.').next().unwrap_or_default();
        assert!(
            !text.contains(token.as_str()) && !text.contains(signature),
            "the metrics name a token"
        );
    }

    let prometheus = Prometheus::start(&prometheus_binary, metrics);
    let denied = prometheus
        .scraped(
            &http,
            r#"sum(mcp_rbac_decisions_total{kind="tool",name="delete_product",decision="deny",reason="missing_permission"})"#,
        )
        .await;
    assert_eq!(denied, f64::from(guest_denials + user_denials));
    let allowed = prometheus
        .scraped(
            &http,
            r#"sum(mcp_rbac_decisions_total{kind="tool",name="delete_product",decision="allow"})"#,
        )
        .await;
    assert_eq!(allowed, f64::from(admin_calls));
    let valid = prometheus
        .scraped(
            &http,
            r#"sum(mcp_rbac_token_verifications_total{outcome="valid",algorithm="ES256"})"#,
        )
        .await;
    assert_eq!(valid, f64::from(guest_denials + user_denials + admin_calls));
    let forged = prometheus
        .scraped(
            &http,
            r#"sum(mcp_rbac_token_verifications_total{outcome="bad_signature",algorithm="ES256"})"#,
        )
        .await;
    assert_eq!(forged, 1.0);
    let missing = prometheus
        .scraped(
            &http,
            r#"sum(mcp_rbac_token_verifications_total{outcome="missing"})"#,
        )
        .await;
    assert_eq!(missing, 1.0);
    let timed = prometheus
        .scraped(
            &http,
            r#"sum(mcp_rbac_decision_duration_seconds_count{kind="tool"})"#,
        )
        .await;
    assert_eq!(timed, f64::from(guest_denials + user_denials + admin_calls));

    drop(prometheus);
    server.shutdown().await;
    // Stopped with the server.
    assert!(
        std::net::TcpStream::connect(metrics).is_err(),
        "the metrics endpoint outlived the server"
    );
}
