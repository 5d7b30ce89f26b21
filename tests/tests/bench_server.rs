//! The peer-benchmark server keeps what the peer harness expects (docs/benchmarks.md, "The peer
//! harness"):
//! stateless JSON at `/mcp`, `delete_product(id)` behind `Admin.Write` from `permissions` with
//! `--auth`, the same tool unguarded without it, and a clear usage error otherwise.

use std::collections::HashMap;

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use mcp_rbac::verify::install_crypto_provider;
use mcp_rbac_examples::bench::{self, BenchConfig};
use mcp_rbac_tests::Mcp;
use serde_json::json;

const ISSUER: &str = "https://issuer.bench.local/";
const AUDIENCE: &str = "mcp-peers-bench";

fn key_path(name: &str) -> String {
    format!(
        "{}/../mcp-rbac/testdata/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn token(permissions: &[&str], kid: &str) -> String {
    install_crypto_provider();
    let key = EncodingKey::from_rsa_pem(&std::fs::read(key_path("rsa2048.pem")).unwrap()).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    let claims = json!({"sub": "bench", "iss": ISSUER, "aud": AUDIENCE, "exp": 4_102_444_800u64,
                        "permissions": permissions, "scope": "mcp:tools"});
    encode(&header, &claims, &key).unwrap()
}

fn config(args: &[&str]) -> Result<BenchConfig, bench::ConfigError> {
    let env: HashMap<&str, String> = HashMap::from([
        ("BENCH_PUBLIC_KEY", key_path("rsa2048.pub.pem")),
        ("BENCH_ISSUER", ISSUER.to_owned()),
        ("BENCH_AUDIENCE", AUDIENCE.to_owned()),
    ]);
    BenchConfig::parse(args.iter().map(|a| a.to_string()), |k| env.get(k).cloned())
}

async fn start(auth: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let mut args = vec!["--port", &port];
    if auth {
        args.push("--auth");
    }
    let app = bench::app(&config(&args).unwrap()).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://127.0.0.1:{port}/mcp")
}

fn delete_42() -> serde_json::Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
           "params": {"name": "delete_product", "arguments": {"id": 42}}})
}

#[tokio::test]
async fn with_auth_the_check_and_the_layer_are_live() {
    let url = start(true).await;
    let admin = Mcp::new(&url, Some(&token(&["Admin.Write"], "bench-rs256-1")))
        .post(&delete_42())
        .await;
    assert_eq!(admin.status, 200);
    assert_eq!(admin.header("content-type"), Some("application/json"));
    assert_eq!(
        admin.json["result"]["content"][0]["text"],
        "product 42 deleted"
    );

    let reader = Mcp::new(&url, Some(&token(&["Product.Read"], "bench-rs256-1")))
        .post(&delete_42())
        .await;
    assert_eq!(reader.status, 200);
    assert_eq!(reader.json["error"]["code"], 403);
    assert_eq!(reader.json["error"]["data"]["required"], "Admin.Write");

    let anonymous = Mcp::new(&url, None).post(&delete_42()).await;
    assert_eq!(anonymous.status, 401);
    assert!(anonymous
        .header("www-authenticate")
        .is_some_and(|h| h.starts_with("Bearer resource_metadata=")));
}

#[tokio::test]
async fn without_auth_it_is_plain_rmcp() {
    let url = start(false).await;
    let anonymous = Mcp::new(&url, None).post(&delete_42()).await;
    assert_eq!(anonymous.status, 200);
    assert_eq!(
        anonymous.json["result"]["content"][0]["text"],
        "product 42 deleted"
    );
}

#[test]
fn bad_command_lines_are_refused_with_usage() {
    let refused = |args: &[&str]| config(args).err().map(|e| e.to_string());
    for (args, says) in [
        (&[][..], "--port is required"),
        (&["--port"][..], "--port needs a value"),
        (&["--port", "http"][..], "`http` is not a port"),
        (&["--port", "1", "--tls"][..], "unknown argument `--tls`"),
    ] {
        let message = refused(args).unwrap_or_default();
        assert!(message.contains(says), "{args:?}: {message}");
        assert!(message.contains("usage: bench_server"), "{message}");
    }
    let missing =
        BenchConfig::parse(["--port", "1", "--auth"].map(String::from), |_| None).unwrap_err();
    assert!(missing.to_string().contains("BENCH_PUBLIC_KEY is not set"));
}
