//! The README's first server, run as a user runs it: the `minimal` binary, configured by
//! environment variables only, answering over HTTP.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

/// The README shows `src/main.rs` byte for byte between these markers.
#[test]
fn the_readme_shows_the_example_verbatim() {
    let readme = include_str!("../../../README.md");
    let source = include_str!("../src/main.rs");
    let block = readme
        .split_once("<!-- minimal:begin -->\n```rust\n")
        .and_then(|(_, rest)| rest.split_once("```\n<!-- minimal:end -->"))
        .map(|(block, _)| block)
        .expect("README has a ```rust block between the minimal markers");
    assert_eq!(
        block, source,
        "README's first server differs from examples/minimal/src/main.rs"
    );
    assert!(
        source.lines().count() <= 40,
        "the minimal example grew past 40 lines"
    );
}

/// Kills the server when the test ends, passing or not.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary on a free port; returns it, its URL and its `<ROLE>_TOKEN` lines.
fn start() -> (Server, String, Vec<(String, String)>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_minimal"))
        .env("MCP_RBAC_RESOURCE_URL", "http://127.0.0.1:0/mcp")
        .env("MCP_RBAC_STATELESS", "true")
        .stdout(Stdio::piped())
        .spawn()
        .expect("minimal starts");
    let stdout = child.stdout.take().expect("stdout");
    let server = Server(child);
    let mut url = None;
    let mut tokens = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("banner line");
        if let Some((_, u)) = line.split_once(" listening on ") {
            url = Some(u.to_owned());
        } else if let Some((role, token)) = line.split_once("_TOKEN=") {
            tokens.push((role.to_owned(), token.to_owned()));
            if tokens.len() == 2 {
                break;
            }
        }
    }
    (server, url.expect("the banner names the URL"), tokens)
}

async fn call(url: &str, token: Option<&str>, tool: &str, arguments: Value) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("Accept", "application/json, text/event-stream")
        .header("MCP-Protocol-Version", "2025-11-25")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": tool, "arguments": arguments}}));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("the server answers")
}

/// The JSON-RPC answer of a call with `token` (stateless mode answers in JSON).
async fn answer(url: &str, token: &str, tool: &str, arguments: Value) -> Value {
    call(url, Some(token), tool, arguments)
        .await
        .json()
        .await
        .expect("a JSON answer")
}

#[tokio::test]
async fn refuses_without_a_token_allows_the_editor_and_denies_the_reader() {
    let (_server, url, tokens) = start();
    let token = |role: &str| {
        tokens
            .iter()
            .find(|(r, _)| r == role)
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| panic!("no {role} token in {tokens:?}"))
    };
    let origin = url.trim_end_matches("/mcp");

    let anonymous = call(&url, None, "delete_note", json!({"id": 7})).await;
    assert_eq!(anonymous.status(), 401);
    let challenge = anonymous.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        challenge,
        format!("Bearer resource_metadata=\"{origin}/.well-known/oauth-protected-resource/mcp\"")
    );

    let allowed = answer(&url, &token("EDITOR"), "delete_note", json!({"id": 7})).await;
    assert_eq!(
        allowed["result"]["content"][0]["text"], "note 7 deleted",
        "{allowed}"
    );

    let denied = answer(&url, &token("READER"), "delete_note", json!({"id": 7})).await;
    assert_eq!(denied["error"]["code"], 403, "{denied}");
    assert_eq!(
        denied["error"]["data"],
        json!({"tool": "delete_note", "required": "Notes.Delete", "reason": "missing_permission"})
    );

    let whoami = answer(&url, &token("READER"), "whoami", json!({})).await;
    assert_eq!(whoami["result"]["content"][0]["text"], "reader", "{whoami}");
}
