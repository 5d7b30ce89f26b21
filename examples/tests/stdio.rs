//! `products-stdio` as an MCP client launches it: a child process driven by rmcp's own client,
//! its caller's token from `$MCP_ACCESS_TOKEN` or `--token-file`, issued by the `dev-issuer`
//! binary (login → call → refresh → call → the old refresh token refused).

use std::process::Stdio;
use std::time::Duration;

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService, ServiceError};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::ServiceExt;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

const AUDIENCE: &str = "urn:mcp-rbac:products-stdio";
const TOKEN_ENV: &str = "MCP_ACCESS_TOKEN";
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The `dev-issuer` binary on a free port; killed on drop.
struct Issuer {
    url: String,
    http: reqwest::Client,
    _child: Child,
    /// Held open: the issuer keeps printing after its first line.
    _stdout: Lines<BufReader<ChildStdout>>,
}

impl Issuer {
    async fn start(access_ttl: u64) -> Issuer {
        let users = concat!(env!("CARGO_MANIFEST_DIR"), "/dev-issuer-users.toml");
        let mut child = Command::new(env!("CARGO_BIN_EXE_dev-issuer"))
            .args(["--port", "0", "--audience", AUDIENCE, "--users", users])
            .args(["--access-ttl", &access_ttl.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("dev-issuer starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
        let first = tokio::time::timeout(START_TIMEOUT, stdout.next_line())
            .await
            .expect("dev-issuer prints its address in time")
            .expect("stdout readable")
            .expect("a banner line");
        let url = first
            .strip_prefix("dev-issuer listening on ")
            .unwrap_or_else(|| panic!("unexpected banner: {first}"))
            .to_owned();
        Issuer {
            url,
            http: reqwest::Client::new(),
            _child: child,
            _stdout: stdout,
        }
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .expect("issuer answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// (access token, refresh token) of a login that must succeed.
    async fn login(&self, user: &str) -> (String, String) {
        let password = format!("{user}-password");
        let (status, body) = self
            .post("/login", json!({"username": user, "password": password}))
            .await;
        assert_eq!(status, 200, "login {user}: {body}");
        pair(&body)
    }
}

fn pair(body: &Value) -> (String, String) {
    let field = |name: &str| {
        body[name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name} in {body}"))
            .to_owned()
    };
    (field("access_token"), field("refresh_token"))
}

/// How the child gets its token.
enum Token<'a> {
    None,
    Env(&'a str),
    File(&'a std::path::Path),
}

fn stdio_command(issuer: Option<&Issuer>, token: &Token<'_>) -> Command {
    Command::new(env!("CARGO_BIN_EXE_products-stdio")).configure(|cmd| {
        cmd.env_remove(TOKEN_ENV).env("RUST_LOG", "warn");
        if let Some(issuer) = issuer {
            cmd.args(["--issuer", &issuer.url, "--audience", AUDIENCE]);
        }
        match token {
            Token::None => {}
            Token::Env(token) => {
                cmd.env(TOKEN_ENV, token);
            }
            Token::File(path) => {
                cmd.arg("--token-file").arg(path);
            }
        }
    })
}

/// The server as a child process, connected to rmcp's client (the MCP handshake done).
async fn connect(issuer: Option<&Issuer>, token: Token<'_>) -> RunningService<RoleClient, ()> {
    let (transport, _) = TokioChildProcess::builder(stdio_command(issuer, &token))
        .stderr(Stdio::null())
        .spawn()
        .expect("products-stdio spawns");
    tokio::time::timeout(START_TIMEOUT, ().serve(transport))
        .await
        .expect("handshake in time")
        .expect("MCP handshake")
}

async fn call(
    client: &RunningService<RoleClient, ()>,
    tool: &'static str,
    arguments: Value,
) -> Result<CallToolResult, ServiceError> {
    let arguments = arguments.as_object().cloned().unwrap_or_default();
    client
        .call_tool(CallToolRequestParams::new(tool).with_arguments(arguments))
        .await
}

fn text(result: &CallToolResult) -> String {
    serde_json::to_value(&result.content).expect("content serializes")[0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The JSON-RPC error code and data of a refused call.
fn refusal(outcome: Result<CallToolResult, ServiceError>) -> (i32, Option<Value>) {
    match outcome {
        Err(ServiceError::McpError(error)) => (error.code.0, error.data),
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
}

async fn subject(client: &RunningService<RoleClient, ()>) -> String {
    let whoami = call(client, "whoami", json!({})).await.expect("whoami");
    let parsed: Value = serde_json::from_str(&text(&whoami)).expect("whoami answers JSON");
    parsed["subject"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn login_call_refresh_call_and_the_old_refresh_token_is_refused() {
    let issuer = Issuer::start(900).await;
    let (access, refresh) = issuer.login("alice").await;

    let server = connect(Some(&issuer), Token::Env(&access)).await;
    assert_eq!(subject(&server).await, "alice");
    let deleted = call(&server, "delete_product", json!({"id": 2}))
        .await
        .expect("an admin deletes");
    assert_eq!(text(&deleted), "product 2 deleted");
    server.cancel().await.expect("client stops");

    let (status, body) = issuer
        .post("/refresh", json!({ "refresh_token": refresh }))
        .await;
    assert_eq!(status, 200, "{body}");
    let (new_access, new_refresh) = pair(&body);
    assert_ne!(new_refresh, refresh);

    // The new access token, this time from a file.
    let dir = std::env::temp_dir().join(format!("products-stdio-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("token");
    std::fs::write(&file, format!("{new_access}\n")).expect("token file");
    let server = connect(Some(&issuer), Token::File(&file)).await;
    let deleted = call(&server, "delete_product", json!({"id": 3}))
        .await
        .expect("the refreshed token works");
    assert_eq!(text(&deleted), "product 3 deleted");
    server.cancel().await.expect("client stops");
    let _ = std::fs::remove_dir_all(&dir);

    let (status, body) = issuer
        .post("/refresh", json!({ "refresh_token": refresh }))
        .await;
    assert_eq!(status, 401, "reuse of a spent refresh token: {body}");
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn a_user_may_create_but_not_delete_and_the_denial_is_403() {
    let issuer = Issuer::start(900).await;
    let (access, _) = issuer.login("bob").await;
    let server = connect(Some(&issuer), Token::Env(&access)).await;
    let tools: Vec<String> = server
        .list_all_tools()
        .await
        .expect("tools/list")
        .into_iter()
        .map(|t| t.name.into_owned())
        .collect();
    assert!(tools.contains(&"create_product".to_owned()), "{tools:?}");
    assert!(!tools.contains(&"delete_product".to_owned()), "{tools:?}");
    let created = call(
        &server,
        "create_product",
        json!({"name": "Gizmo", "price_cents": 5}),
    )
    .await
    .expect("a user creates");
    assert!(text(&created).starts_with("product "), "{created:?}");
    let (code, data) = refusal(call(&server, "delete_product", json!({"id": 1})).await);
    assert_eq!(code, 403);
    assert_eq!(
        data,
        Some(
            json!({"tool": "delete_product", "required": "Admin.Write", "reason": "missing_permission"})
        )
    );
    server.cancel().await.expect("client stops");
}

#[tokio::test]
async fn without_a_token_every_protected_tool_answers_401() {
    // No token and no issuer: nothing to verify, so the server starts, unauthenticated.
    let server = connect(None, Token::None).await;
    for (tool, arguments) in [
        ("list_products", json!({})),
        ("delete_product", json!({"id": 1})),
        ("whoami", json!({})),
    ] {
        let (code, _) = refusal(call(&server, tool, arguments).await);
        assert_eq!(code, 401, "{tool}");
    }
    // Listing needs a caller too: an anonymous client learns no tool names.
    let listed = server.list_all_tools().await;
    assert!(
        matches!(&listed, Err(ServiceError::McpError(e)) if e.code.0 == 401),
        "{listed:?}"
    );
    server.cancel().await.expect("client stops");
}

#[tokio::test]
async fn a_token_that_does_not_verify_stops_the_server_at_start() {
    let issuer = Issuer::start(900).await;
    let (access, _) = issuer.login("alice").await;
    // The same token with its signature's first character changed.
    let (head, signature) = access.rsplit_once('.').expect("a JWT");
    let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
    let tampered = format!("{head}.{flipped}{}", &signature[1..]);
    for (token, with_issuer, expected) in [
        ("not-a-jwt", true, "was refused: token is malformed"),
        (tampered.as_str(), true, "was refused"),
        (access.as_str(), false, "no --issuer and --audience"),
    ] {
        let mut command = stdio_command(with_issuer.then_some(&issuer), &Token::Env(token));
        let output = tokio::time::timeout(
            START_TIMEOUT,
            command
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .output(),
        )
        .await
        .expect("exits in time")
        .expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{token}: {stderr}");
        assert!(stderr.contains(expected), "{expected}: {stderr}");
        assert!(stderr.contains(TOKEN_ENV), "names the source: {stderr}");
        assert!(!stderr.contains(token), "never prints the token: {stderr}");
        assert!(output.stdout.is_empty(), "nothing on the protocol channel");
    }
}

#[tokio::test]
async fn the_principal_ends_when_the_token_expires() {
    let issuer = Issuer::start(1).await;
    let (access, _) = issuer.login("alice").await;
    // Accepted at start (the verifier allows clock leeway), then refused once `exp` is past:
    // every call succeeds until one is refused with 401, and from then on every one is.
    let server = connect(Some(&issuer), Token::Env(&access)).await;
    let deadline = std::time::Instant::now() + START_TIMEOUT;
    loop {
        match call(&server, "list_products", json!({})).await {
            Ok(result) => assert_ne!(result.is_error, Some(true), "{result:?}"),
            refused => {
                assert_eq!(refusal(refused).0, 401);
                break;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the principal outlived its token"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (code, _) = refusal(call(&server, "list_products", json!({})).await);
    assert_eq!(code, 401);
    server.cancel().await.expect("client stops");
}
