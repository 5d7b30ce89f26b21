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
    let mut command = Command::new(env!("CARGO_BIN_EXE_products"));
    command.args(["--port", "0"]).args(args);
    start(command, args.contains(&"--issuer"))
}

/// Starts `command` and reads its banner: up to the tool call it suggests, or (`external`: no
/// development issuer, so no tokens) up to the address line.
fn start(mut command: Command, external: bool) -> Server {
    let mut child = command
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
        let done = (line.starts_with("curl ") && line.contains("tools/call"))
            || (external && !url.is_empty());
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

/// A JSON-RPC answer of the server in session mode: the body, or the response in an SSE stream.
fn answer_of(raw: &str) -> serde_json::Value {
    serde_json::from_str(raw).unwrap_or_else(|_| {
        raw.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<serde_json::Value>(d.trim()).ok())
            .find(|v| v.get("id").is_some())
            .unwrap_or_else(|| panic!("no JSON-RPC answer in {raw:?}"))
    })
}

/// `initialize` as `token`, then each of `requests` in that session; their answers.
async fn in_a_session(
    url: &str,
    token: &str,
    requests: &[serde_json::Value],
) -> Vec<serde_json::Value> {
    let http = reqwest::Client::new();
    let post = |body: serde_json::Value, session: Option<&str>| {
        let mut request = http
            .post(url)
            .bearer_auth(token)
            .header("Accept", "application/json, text/event-stream")
            .header("MCP-Protocol-Version", "2025-11-25")
            .json(&body);
        if let Some(session) = session {
            request = request.header("Mcp-Session-Id", session);
        }
        request.send()
    };
    let init = post(
        serde_json::json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "products-cli-test", "version": "1"}}}),
        None,
    )
    .await
    .expect("initialize");
    assert_eq!(init.status(), 200);
    let session = init.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let note = post(
        serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        Some(&session),
    )
    .await
    .expect("initialized");
    assert_eq!(note.status(), 202);
    let mut answers = Vec::new();
    for request in requests {
        let response = post(request.clone(), Some(&session)).await.expect("answer");
        assert_eq!(response.status(), 200);
        answers.push(answer_of(&response.text().await.expect("body")));
    }
    answers
}

// Multi-threaded: the banner is read with blocking I/O.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_flags_prints_working_tokens_and_writes_them_out() {
    use mcp_rbac::{AccessMatrix, ItemKind};
    use mcp_rbac_examples::products::{policy, Products};

    let manifest = Products::manifest();
    let matrix = AccessMatrix::new(&manifest, &policy::role_policy()).unwrap();
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
        // The token works, as this role: it lists what the role may call, whoami names the
        // role, and `delete_product` runs for the admin only (a product that does not exist,
        // so the roles after it see the same catalogue).
        let answers = in_a_session(
            &server.url,
            &token,
            &[
                serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
                serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                    "params": {"name": "whoami", "arguments": {}}}),
                serde_json::json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                    "params": {"name": "delete_product", "arguments": {"id": 999}}}),
            ],
        )
        .await;
        let mut listed: Vec<&str> = answers[0]["result"]["tools"]
            .as_array()
            .unwrap_or_else(|| panic!("{role} tools/list: {}", answers[0]))
            .iter()
            .filter_map(|t| t["name"].as_str())
            .collect();
        listed.sort_unstable();
        let allowed: Vec<&str> = manifest
            .tools
            .keys()
            .map(String::as_str)
            .filter(|tool| matrix.allows(role, ItemKind::Tool, tool))
            .collect();
        assert_eq!(listed, allowed, "{role}");
        let whoami: serde_json::Value = serde_json::from_str(
            answers[1]["result"]["content"][0]["text"]
                .as_str()
                .unwrap_or_default(),
        )
        .unwrap_or_else(|_| panic!("{role} whoami: {}", answers[1]));
        assert_eq!(whoami["roles"], serde_json::json!([role]), "{role}");
        if matrix.allows(role, ItemKind::Tool, "delete_product") {
            assert_eq!(
                answers[2]["result"]["content"][0]["text"], "product 999 deleted",
                "{role}: {}",
                answers[2]
            );
        } else {
            assert_eq!(answers[2]["error"]["code"], 403, "{role}: {}", answers[2]);
            assert_eq!(
                answers[2]["error"]["data"]["required"], "Admin.Write",
                "{role}: {}",
                answers[2]
            );
        }
    }
    assert_eq!(
        ["admin", "user", "guest"].map(|r| matrix.allows(r, ItemKind::Tool, "delete_product")),
        [true, false, false],
        "the roles differ in what the calls above show"
    );
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
    // The answers the README says each caller gets, as written under the block.
    let said = |who: &str| -> serde_json::Value {
        let after = block
            .split(who)
            .nth(1)
            .unwrap_or_else(|| panic!("the README says what {who}"));
        // A double-backtick code span: the message inside quotes the tool in backticks.
        let json = after
            .split("``")
            .nth(1)
            .expect("a code span with the answer")
            .trim();
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{who}: {e}: {json}"))
    };
    assert_eq!(answers[0], said("The admin gets"), "{stdout}");
    assert_eq!(answers[1], said("the guest gets"), "{stdout}");
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
    // The banner is written after the bind and before the server installs its Ctrl-C handler:
    // once SIGINT shows as caught in /proc/<pid>/status, the write to the closed pipe is behind
    // it and the server lives on.
    let pid = child.id();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !catches_sigint(pid) {
        if let Some(status) = child.try_wait().expect("child status") {
            panic!("the server exited: {status:?}");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the server never reached its Ctrl-C handler"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let status = child.try_wait().expect("child status");
    assert!(status.is_none(), "the server exited: {status:?}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
        "the server still accepts connections"
    );
    // And it ends as a server should on Ctrl-C: cleanly.
    let interrupted = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(interrupted.success());
    let status = child.wait().expect("child status");
    assert!(status.success(), "after SIGINT: {status:?}");
}

/// Whether process `pid` catches SIGINT (bit 1 of `SigCgt` in `/proc/<pid>/status`).
fn catches_sigint(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("SigCgt:"))
                .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        })
        .is_some_and(|mask| mask & (1 << 1) != 0)
}

/// What the banner prints is either prose about the server or a command that works when pasted
/// into a shell as printed, in the mode the server was started in.
#[test]
fn every_command_the_banner_prints_works_as_printed() {
    for mode in [&[][..], &["--stateless"][..]] {
        let server = spawn(mode);
        let mut script = vec!["set -euo pipefail".to_owned()];
        for line in &server.stdout {
            let prose = line.starts_with("products MCP server listening on ")
                || line.starts_with("development issuer ")
                || line.starts_with('#');
            let command = line.starts_with("curl ")
                || line.starts_with("SESSION=$(curl ")
                || (line.contains("_TOKEN=ey")
                    && line.split('=').next().is_some_and(|name| {
                        name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                    }));
            assert!(
                prose || command,
                "{mode:?}: neither prose nor a command: {line}"
            );
            if command {
                script.push(line.clone());
            }
        }
        let output = Command::new("bash")
            .arg("-c")
            .arg(script.join("\n"))
            .output()
            .expect("bash runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{mode:?}: {output:?}");
        // whoami's answer, as the admin: the last command's output is the tool's result.
        assert!(
            stdout.contains(r#"\"subject\":\"admin\""#) && stdout.contains(r#""isError":false"#),
            "{mode:?}: {stdout}"
        );
        assert!(!stdout.contains("\"error\""), "{mode:?}: {stdout}");
    }
}

/// A container sets variables, not flags: the products server configured by `MCP_RBAC_*`
/// variables alone (an external issuer found by discovery, a fixed audience, stateless, lists
/// showing everything) answers every role as the role matrix says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variables_alone_configure_the_server_and_it_answers_the_role_matrix() {
    use mcp_rbac::{AccessMatrix, ItemKind};
    use mcp_rbac_examples::products::{policy, Products};

    const AUDIENCE: &str = "urn:products:env-test";
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer_url = format!("http://{}", listener.local_addr().unwrap());
    let issuer = mcp_rbac::testkit::DevIssuer::generate(issuer_url.clone(), AUDIENCE).unwrap();
    let app: axum::Router = issuer.router();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut command = Command::new(env!("CARGO_BIN_EXE_products"));
    command
        .env("MCP_RBAC_BIND", "127.0.0.1:0")
        .env("MCP_RBAC_RESOURCE_URL", "http://127.0.0.1:0/mcp")
        .env("MCP_RBAC_ISSUER", &issuer_url)
        .env("MCP_RBAC_AUDIENCE", AUDIENCE)
        .env("MCP_RBAC_STATELESS", "true")
        .env("MCP_RBAC_LIST_MODE", "show");
    let server = start(command, true);

    let matrix = AccessMatrix::new(&Products::manifest(), &policy::role_policy()).unwrap();
    let post = |token: String, body: serde_json::Value| {
        let url = server.url.clone();
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .header("Accept", "application/json, text/event-stream")
                .header("MCP-Protocol-Version", "2025-11-25")
                .json(&body)
                .send()
                .await
                .expect("answer");
            assert_eq!(response.status(), 200);
            response
                .json::<serde_json::Value>()
                .await
                .expect("JSON (stateless mode)")
        }
    };
    let arguments = |tool: &str| match tool {
        "get_product" => serde_json::json!({"id": 2}),
        "delete_product" => serde_json::json!({"id": 3}),
        "create_product" => serde_json::json!({"name": "lamp", "price_cents": 1200}),
        "update_product" => serde_json::json!({"id": 2, "name": "lamp II"}),
        _ => serde_json::json!({}),
    };
    for role in matrix.roles() {
        let token = issuer.token(serde_json::json!({"sub": role, "roles": [role]}));
        // `show`: every tool listed, whatever the role may call.
        let list = post(
            token.clone(),
            serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        )
        .await;
        let listed = list["result"]["tools"].as_array().map(Vec::len);
        assert_eq!(
            listed,
            Some(Products::manifest().tools.len()),
            "{role}: {list}"
        );
        for tool in Products::manifest().tools.keys() {
            let body = serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                                          "params": {"name": tool, "arguments": arguments(tool)}});
            let answer = post(token.clone(), body).await;
            // `update_product`'s condition refuses a seeded product (no owner) to all but admins.
            if tool == "update_product"
                && matrix.allows(role, ItemKind::Tool, tool)
                && role != "admin"
            {
                assert_eq!(answer["error"]["code"], 403, "{role} {tool}: {answer}");
                assert_eq!(
                    answer["error"]["data"]["reason"], "not_owner",
                    "{role} {tool}: {answer}"
                );
            } else if matrix.allows(role, ItemKind::Tool, tool) {
                assert_eq!(
                    answer["result"]["isError"], false,
                    "{role} {tool}: {answer}"
                );
            } else {
                assert_eq!(answer["error"]["code"], 403, "{role} {tool}: {answer}");
            }
        }
    }
    // A missing product is the tool's own error, readable by the model: a result with isError.
    let admin = issuer.token(serde_json::json!({"sub": "admin", "roles": ["admin"]}));
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                                  "params": {"name": "get_product", "arguments": {"id": 999}}});
    let missing = post(admin, body).await;
    assert_eq!(
        missing["result"],
        serde_json::json!({"content": [{"type": "text", "text": "no product 999"}], "isError": true})
    );
    // A token for another audience: refused, so MCP_RBAC_AUDIENCE is what is checked.
    let wrong_audience =
        issuer.token(serde_json::json!({"sub": "a", "roles": ["admin"], "aud": "urn:other"}));
    let refused = reqwest::Client::new()
        .post(&server.url)
        .bearer_auth(wrong_audience)
        .header("Accept", "application/json, text/event-stream")
        .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
}

/// `--cedar FILE` with a policy naming what the server does not have: the binary exits non-zero
/// before listening, naming it on stderr. The shipped file starts.
#[test]
fn a_cedar_policy_naming_an_unknown_tool_or_argument_stops_the_start() {
    let dir = std::env::temp_dir().join(format!("products-cedar-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let shipped = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/products.cedar"))
        .expect("examples/products.cedar");
    let cases = [
        (
            "tool",
            shipped.replace(r#"Tool::"delete_product""#, r#"Tool::"delte_product""#),
            r#"Tool::"delte_product""#,
        ),
        (
            "argument",
            shipped.replace("context.price_cents", "context.prize_cents"),
            "prize_cents",
        ),
        (
            "attribute",
            shipped.replace(
                r#"principal.permissions.contains("Admin.Read")"#,
                r#"principal.permisions.contains("Admin.Read")"#,
            ),
            "permisions",
        ),
    ];
    for (what, text, named) in cases {
        assert_ne!(
            text, shipped,
            "{what}: the misspelling must change the file"
        );
        let file = dir.join(format!("{what}.cedar"));
        std::fs::write(&file, text).expect("write policy");
        let mut child = Command::new(env!("CARGO_BIN_EXE_products"))
            .args(["--port", "0", "--cedar"])
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("products runs");
        // A server that started anyway would never exit: give it a deadline, then fail.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while child.try_wait().expect("wait").is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("{what}: the server started with a policy naming {named}");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let output = child.wait_with_output().expect("output");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{what}: {stderr}");
        assert!(
            stderr.contains(named),
            "{what}: stderr names {named}: {stderr}"
        );
        assert!(output.stdout.is_empty(), "{what}: nothing served");
    }
    let _ = std::fs::remove_dir_all(&dir);

    let server = spawn(&[
        "--cedar",
        concat!(env!("CARGO_MANIFEST_DIR"), "/products.cedar"),
    ]);
    assert!(server.url.ends_with("/mcp"), "{}", server.url);
}
