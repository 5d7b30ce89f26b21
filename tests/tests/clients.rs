//! Real MCP clients against the products server: the Python SDK (`mcp` 2.x), the TypeScript SDK
//! (`@modelcontextprotocol/sdk` 1.32) and the MCP Inspector CLI (2.x), each as a child process
//! (see `mcp_rbac_tests::clients`). Each lists tools as admin and as guest (filtered), calls an
//! allowed tool, a denied one (JSON-RPC 403 with `data.required`), and connects without a token
//! (HTTP 401 with `resource_metadata`). The clients surface these differently; each test pins
//! how, since that is what a user of that client sees.
//!
//! Needs `tests/clients/`, which the first test installs (`mcp_rbac_tests::kits`).

use mcp_rbac_examples::products::Running;
use mcp_rbac_tests::clients::{node_with, products_server, python, run, Output};
use mcp_rbac_tests::proxy::LoopbackProxy;
use serde_json::{json, Value};

const ALL_TOOLS: [&str; 6] = [
    "create_product",
    "delete_product",
    "get_product",
    "list_products",
    "update_product",
    "whoami",
];
const GUEST_TOOLS: [&str; 3] = ["get_product", "list_products", "whoami"];

fn tokens(server: &Running) -> (String, String) {
    let tokens = server.tokens.as_ref().expect("development tokens");
    (tokens.admin.clone(), tokens.guest.clone())
}

fn metadata_url(server: &Running) -> String {
    format!(
        "http://{}/.well-known/oauth-protected-resource/mcp",
        server.addr
    )
}

fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.code,
        Some(code),
        "exit code; stdout:\n{}\nstderr:\n{}",
        output.stdout,
        output.stderr
    );
}

/// Runs a client script with the server's URL and the admin and guest tokens in its environment.
async fn run_script(program: &std::path::Path, script: &str, server: &Running) -> Value {
    let (admin, guest) = tokens(server);
    let output = run(
        program,
        &[script],
        &[
            ("MCP_URL", &server.url),
            ("ADMIN_TOKEN", &admin),
            ("GUEST_TOKEN", &guest),
        ],
    )
    .await;
    assert_exit(&output, 0);
    output.json()
}

/// The seeded catalogue, whole: the denied `delete_product` never ran.
fn assert_whole_catalogue(structured: &Value) {
    let names: Vec<&str> = structured["products"]
        .as_array()
        .unwrap_or_else(|| panic!("a product list: {structured}"))
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, ["Widget", "Gadget", "Gizmo"], "{structured}");
}

/// The metadata document a client fetched by following the challenge: RFC 9728 for this server.
fn assert_metadata(metadata: &Value, server: &Running) {
    assert_eq!(metadata["resource"], server.url.as_str(), "{metadata}");
    assert_eq!(metadata["bearer_methods_supported"], json!(["header"]));
    assert!(
        metadata["scopes_supported"]
            .as_array()
            .is_some_and(|s| s.contains(&json!("Admin.Write"))),
        "{metadata}"
    );
}

fn assert_tool_bodies(server: &Running) {
    assert_eq!(
        server.counters.get("delete_product"),
        0,
        "a denied call ran"
    );
    assert!(
        server.counters.get("list_products") > 0,
        "no allowed call ran"
    );
}

/// Python SDK 2.x: `Client` negotiates 2026-07-28 through `server/discover` (and the legacy
/// `initialize` handshake when asked). A denial raises `MCPError` with code 403 and the server's
/// `data`. Without a token the connection fails with `MCPError(-32603, "Server returned an error
/// response")`: the SDK drops the HTTP status, but its own RFC 9728 helper reads
/// `resource_metadata` from the 401 (seen through an httpx event hook) and parses the document.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_sees_filtered_tools_denials_and_the_challenge() {
    let server = products_server(&[]).await;
    let report = run_script(&python(), "python_client.py", &server).await;
    assert!(
        report["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("2.")),
        "{report}"
    );

    let admin = &report["admin"]["ok"];
    assert_eq!(admin["protocol"], "2026-07-28", "{report}");
    assert_eq!(admin["tools"], json!(ALL_TOOLS), "{report}");

    for (session, protocol) in [("guest", "2026-07-28"), ("guest_legacy", "2025-11-25")] {
        let guest = &report[session]["ok"];
        assert_eq!(guest["protocol"], protocol, "{report}");
        assert_eq!(guest["tools"], json!(GUEST_TOOLS), "{report}");
        assert_eq!(guest["allowed"]["ok"]["is_error"], false, "{report}");
        assert_whole_catalogue(&guest["allowed"]["ok"]["structured"]);
        assert_eq!(
            guest["denied"],
            json!({"raised": {
                "name": "MCPError",
                "code": 403,
                "message": "permission denied: tool `delete_product` requires Admin.Write",
                "data": {"tool": "delete_product", "required": "Admin.Write", "reason": "missing_permission"},
            }}),
            "{session}"
        );
    }

    let no_token = &report["no_token"];
    assert_eq!(
        no_token["raised"],
        json!({"name": "MCPError", "code": -32603, "message": "Server returned an error response", "data": null}),
        "{report}"
    );
    let responses = no_token["responses"].as_array().expect("responses");
    assert!(!responses.is_empty(), "{report}");
    for response in responses {
        assert_eq!(response["status"], 401, "{report}");
        assert_eq!(
            response["resource_metadata"],
            metadata_url(&server).as_str()
        );
    }
    assert_metadata(&no_token["metadata"], &server);
    assert_tool_bodies(&server);
}

/// TypeScript SDK 1.32 (`StreamableHTTPClientTransport`, token in `requestInit.headers`, protocol
/// 2025-11-25). A denial rejects with `McpError` (`code` 403, the server's `data`, message
/// prefixed `MCP error 403:`). Without a token `connect` rejects with `StreamableHTTPError`
/// whose `code` is the HTTP status 401; the SDK's `extractWWWAuthenticateParams` finds
/// `resource_metadata` in the challenge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_sdk_sees_filtered_tools_denials_and_the_challenge() {
    let server = products_server(&[]).await;
    let node = node_with("@modelcontextprotocol/sdk");
    let report = run_script(&node, "sdk-client.mjs", &server).await;
    assert!(
        report["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("1.32.")),
        "{report}"
    );

    assert_eq!(report["admin"]["protocol"], "2025-11-25", "{report}");
    assert_eq!(report["admin"]["tools"]["ok"], json!(ALL_TOOLS), "{report}");

    let guest = &report["guest"];
    assert_eq!(guest["tools"]["ok"], json!(GUEST_TOOLS), "{report}");
    assert_eq!(guest["allowed"]["ok"]["isError"], false, "{report}");
    assert_whole_catalogue(&guest["allowed"]["ok"]["structuredContent"]);
    assert_eq!(
        guest["denied"],
        json!({"threw": {
            "name": "McpError",
            "code": 403,
            "message": "MCP error 403: permission denied: tool `delete_product` requires Admin.Write",
            "data": {"tool": "delete_product", "required": "Admin.Write", "reason": "missing_permission"},
        }}),
        "{report}"
    );

    let no_token = &report["no_token"];
    assert_eq!(no_token["threw"]["name"], "StreamableHTTPError", "{report}");
    assert_eq!(no_token["threw"]["code"], 401, "{report}");
    assert_eq!(
        no_token["responses"],
        json!([{"method": "POST", "status": 401, "resource_metadata": metadata_url(&server), "error": null}]),
        "{report}"
    );
    assert_eq!(no_token["metadata"]["status"], 200, "{report}");
    assert_metadata(&no_token["metadata"]["body"], &server);
    assert_tool_bodies(&server);
}

/// The Inspector CLI, one invocation per step, with `--format json`.
struct Inspector {
    node: std::path::PathBuf,
    home: std::path::PathBuf,
}

impl Inspector {
    fn new(name: &str) -> Inspector {
        // Its catalogue and OAuth store go to a HOME of this test's own, not the user's.
        let home = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("inspector-home-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&home).expect("a HOME for the inspector");
        Inspector {
            node: node_with("@modelcontextprotocol/inspector"),
            home,
        }
    }

    async fn run(&self, url: &str, token: Option<&str>, args: &[&str]) -> Output {
        let launcher =
            "node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js";
        let header = token.map(|t| format!("Authorization: Bearer {t}"));
        let mut all = vec![launcher, "--cli", url, "--format", "json", "--quiet"];
        all.extend_from_slice(args);
        if let Some(header) = &header {
            all.extend_from_slice(&["--header", header]);
        }
        let home = self.home.to_string_lossy().into_owned();
        run(&self.node, &all, &[("HOME", &home)]).await
    }

    async fn tool_names(&self, url: &str, token: &str) -> Value {
        let output = self
            .run(url, Some(token), &["--method", "tools/list"])
            .await;
        assert_exit(&output, 0);
        let mut names: Vec<String> = output.json()["result"]["tools"]
            .as_array()
            .unwrap_or_else(|| panic!("a tool list: {}", output.stdout))
            .iter()
            .filter_map(|t| t["name"].as_str().map(str::to_owned))
            .collect();
        names.sort();
        json!(names)
    }
}

impl Drop for Inspector {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

/// The Inspector CLI (`--cli <url> --header "Authorization: Bearer …"`, Node 22). It looks a tool
/// up in `tools/list` before calling it, so a tool hidden from the guest is refused on the client
/// (`tool_not_found`, exit 5) and never reaches the server (with the server's `--list-mode show`
/// it does, see the next test). A denied prompt (no such look-up) is reported as `auth_required`
/// with `status: 403` and the server's message (exit 3). Without a token it reports `auth_required` (exit 3) and does not show
/// the challenge, so that run goes through the recording proxy, which shows the 401 and its
/// `resource_metadata`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspector_cli_sees_filtered_tools_denials_and_the_challenge() {
    let server = products_server(&[]).await;
    let (admin, guest) = tokens(&server);
    let inspector = Inspector::new("hide");
    let url = server.url.as_str();

    assert_eq!(inspector.tool_names(url, &admin).await, json!(ALL_TOOLS));
    assert_eq!(inspector.tool_names(url, &guest).await, json!(GUEST_TOOLS));

    let allowed = inspector
        .run(
            url,
            Some(&guest),
            &[
                "--method",
                "tools/call",
                "--tool-name",
                "get_product",
                "--tool-arg",
                "id=1",
            ],
        )
        .await;
    assert_exit(&allowed, 0);
    let result = &allowed.json()["result"];
    assert_eq!(result["isError"], false, "{result}");
    assert_eq!(result["structuredContent"]["name"], "Widget", "{result}");

    let hidden = inspector
        .run(
            url,
            Some(&guest),
            &[
                "--method",
                "tools/call",
                "--tool-name",
                "delete_product",
                "--tool-arg",
                "id=2",
            ],
        )
        .await;
    assert_exit(&hidden, 5);
    assert_eq!(
        hidden.stderr_json().expect("an error envelope")["error"]["code"],
        "tool_not_found"
    );

    let prompt = inspector
        .run(
            url,
            Some(&guest),
            &[
                "--method",
                "prompts/get",
                "--prompt-name",
                "product_brief",
                "--prompt-args",
                "id=1",
            ],
        )
        .await;
    assert_exit(&prompt, 3);
    assert_eq!(
        prompt.stderr_json().expect("an error envelope"),
        json!({"error": {
            "code": "auth_required",
            "message": "permission denied: prompt `product_brief` requires User.Read",
            "status": 403,
        }})
    );

    let recorder = LoopbackProxy::start(server.addr, None).await;
    let anonymous = inspector
        .run(
            &recorder.url("/mcp"),
            None,
            &["--method", "tools/list", "--stored-auth-only"],
        )
        .await;
    assert_exit(&anonymous, 3);
    assert_eq!(
        anonymous.stderr_json().expect("an error envelope")["error"]["code"],
        "auth_required"
    );
    let exchanges = recorder.exchanges();
    assert!(!exchanges.is_empty(), "the inspector sent nothing");
    for exchange in &exchanges {
        assert_eq!(exchange.status, 401, "{exchange:?}");
        assert_eq!(
            exchange.www_authenticate.as_deref(),
            Some(format!("Bearer resource_metadata=\"{}\"", metadata_url(&server)).as_str())
        );
    }
    assert_eq!(
        server.counters.get("delete_product"),
        0,
        "a denied call ran"
    );
}

/// With `--list-mode show` the guest sees every tool, so the Inspector CLI sends the call: the
/// server's JSON-RPC 403 is reported like a denied prompt, `auth_required` with `status: 403` and
/// the server's message (exit 3; `data` is not shown).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspector_cli_sends_a_listed_but_denied_call_and_shows_the_denial() {
    let server = products_server(&["--list-mode", "show"]).await;
    let (_, guest) = tokens(&server);
    let inspector = Inspector::new("show");
    let url = server.url.as_str();

    assert_eq!(inspector.tool_names(url, &guest).await, json!(ALL_TOOLS));
    let denied = inspector
        .run(
            url,
            Some(&guest),
            &[
                "--method",
                "tools/call",
                "--tool-name",
                "delete_product",
                "--tool-arg",
                "id=2",
            ],
        )
        .await;
    assert_exit(&denied, 3);
    assert_eq!(
        denied.stderr_json().expect("an error envelope"),
        json!({"error": {
            "code": "auth_required",
            "message": "permission denied: tool `delete_product` requires Admin.Write",
            "status": 403,
        }})
    );
    assert_eq!(
        server.counters.get("delete_product"),
        0,
        "a denied call ran"
    );
}
