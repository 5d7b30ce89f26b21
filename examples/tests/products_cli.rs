//! The `products` binary as a user runs it: its command line, its printed tokens, and the README's
//! curl example run verbatim against it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use mcp_rbac_examples::products::{self, Cli};

struct Server {
    child: Child,
    url: String,
    stdout: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary with `args` on a free port and reads its banner.
fn spawn(args: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_products"))
        .args(["--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("products starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = Vec::new();
    let mut url = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("banner line");
        if let Some(rest) = line.strip_prefix("products MCP server listening on ") {
            url = rest.to_owned();
        }
        let done = line.starts_with("try:") || (args.contains(&"--issuer") && !url.is_empty());
        lines.push(line);
        if done {
            break;
        }
    }
    assert!(!url.is_empty(), "no banner: {lines:?}");
    Server {
        child,
        url,
        stdout: lines,
    }
}

fn printed(server: &Server, name: &str) -> String {
    let prefix = format!("{name}=");
    server
        .stdout
        .iter()
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
        .unwrap_or_else(|| panic!("{name} not printed: {:?}", server.stdout))
}

#[test]
fn no_flags_prints_working_tokens_and_writes_them_out() {
    let dir = std::env::temp_dir().join(format!("products-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("tokens.json");
    let server = spawn(&["--tokens-out", out.to_str().unwrap()]);
    let written: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    for role in ["admin", "user", "guest"] {
        let token = printed(&server, &format!("{}_TOKEN", role.to_uppercase()));
        assert_eq!(written[role], token.as_str(), "{role}");
        // aud = the resource URL, iss = the server's origin, roles = [role], one hour.
        let claims = claims_of(&token);
        assert_eq!(claims["aud"], server.url.as_str());
        assert_eq!(claims["iss"], server.url.trim_end_matches("/mcp"));
        assert_eq!(claims["roles"], serde_json::json!([role]));
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            3600
        );
    }
    assert!(
        server.url.starts_with("http://127.0.0.1:") && server.url.ends_with("/mcp"),
        "{}",
        server.url
    );
}

fn claims_of(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64");
    serde_json::from_slice(&bytes).expect("claims")
}

/// The README's curl example, run as written, with the tokens and the port of this server.
#[test]
fn readme_curl_example_deletes_as_admin_and_refuses_the_guest() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README");
    let start = readme
        .find("<!-- curl-example -->")
        .expect("README marks its curl example");
    let block = &readme[start..];
    let script = block
        .split("```bash\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a bash block after the marker");
    let server = spawn(&["--stateless"]);
    let port = server
        .url
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches("/mcp")
        .to_owned();
    let output = Command::new("bash")
        .arg("-c")
        .arg(script.replace("127.0.0.1:8000", &format!("127.0.0.1:{port}")))
        .env("ADMIN_TOKEN", printed(&server, "ADMIN_TOKEN"))
        .env("GUEST_TOKEN", printed(&server, "GUEST_TOKEN"))
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let answers: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(answers.len(), 2, "two JSON answers expected:\n{stdout}");
    assert_eq!(
        answers[0]["result"]["content"][0]["text"], "product 2 deleted",
        "{stdout}"
    );
    assert_eq!(answers[1]["error"]["code"], 403, "{stdout}");
    assert_eq!(
        answers[1]["error"]["data"]["required"], "Admin.Write",
        "{stdout}"
    );
}

/// `--issuer` verifies another issuer's tokens: a second server's development issuer stands in for
/// an external identity provider (its JWKS and discovery document are served over HTTP).
// Multi-threaded: the issuer serves its JWKS while this test blocks on the child process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_issuer_by_jwks_url_and_by_discovery() {
    let mut idp_cli = Cli::defaults();
    idp_cli.port = 0;
    let idp = products::start(idp_cli).await.expect("issuer server");
    let issuer = format!("http://{}", idp.addr);
    let tokens = idp.tokens.clone().expect("tokens");
    for jwks in [Some(format!("{issuer}/.well-known/jwks.json")), None] {
        let mut args = vec!["--stateless", "--issuer", &issuer, "--audience", &idp.url];
        if let Some(url) = &jwks {
            args.extend(["--jwks-url", url]);
        }
        let server = spawn(&args);
        let call = |token: &str| {
            let out = Command::new("curl")
                .args(["-s", &server.url, "-H", &format!("Authorization: Bearer {token}")])
                .args(["-H", "Content-Type: application/json", "-H", "Accept: application/json, text/event-stream"])
                .args(["-H", "MCP-Protocol-Version: 2025-11-25", "-w", "\n%{http_code}"])
                .args(["-d", r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_product","arguments":{"id":1}}}"#])
                .output()
                .expect("curl");
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let admin = call(&tokens.admin);
        assert!(
            admin.contains("product 1 deleted") && admin.ends_with("200"),
            "{jwks:?}: {admin}"
        );
        let guest = call(&tokens.guest);
        assert!(
            guest.contains("\"code\":403") && guest.ends_with("200"),
            "{guest}"
        );
        // A token of another issuer (this server has none of its own in this mode): refused.
        let other =
            mcp_rbac::testkit::DevIssuer::generate(issuer.clone(), idp.url.clone()).unwrap();
        let forged = call(&other.token(serde_json::json!({"sub": "x", "roles": ["admin"]})));
        assert!(forged.ends_with("401"), "{forged}");
    }
    idp.shutdown().await;
}

/// `products | head -1`: the reader leaves before the banner is written. The server must go on
/// serving rather than die of a broken pipe (it did, in a race, when the banner used `println!`).
#[test]
fn a_closed_stdout_does_not_stop_the_server() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_products"))
        .args(["--port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("products starts");
    // Closed before the server writes anything: its banner meets a broken pipe every time.
    drop(child.stdout.take());
    let mut answered = false;
    for _ in 0..200 {
        if child.try_wait().expect("child status").is_some() {
            break;
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            answered = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(answered, "the server never accepted a connection");
    // Give the banner write (which follows the bind) time to happen, then check the server lives.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let status = child.try_wait().expect("child status");
    let _ = child.kill();
    let _ = child.wait();
    assert!(status.is_none(), "the server exited: {status:?}");
}
