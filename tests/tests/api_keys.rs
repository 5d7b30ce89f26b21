//! The products server with static API keys (`--api-keys FILE`): keys stored as SHA-256 hashes in
//! a TOML file, each naming a subject and roles that the example's role policy expands.

use mcp_rbac::verify::ApiKeyVerifier;
use mcp_rbac_examples::products::Running;
use mcp_rbac_tests::fixtures::try_products;
use mcp_rbac_tests::Mcp;
use serde_json::{json, Value};

const ADMIN_KEY: &str = "admin-key-9f2c4e1a7b3d5f60";
const GUEST_KEY: &str = "guest-key-1b8e3c6a0d4f2e79";

/// A file in the system's temporary directory, removed on drop.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn with(contents: &str) -> TempFile {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("mcp-rbac-keys-{}-{n}.toml", std::process::id()));
        std::fs::write(&path, contents).expect("writing a temporary file");
        TempFile(path)
    }

    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn key_file(entries: &[(&str, &str, &str)]) -> TempFile {
    let mut toml = String::new();
    for (subject, key, roles) in entries {
        toml.push_str(&format!(
            "[[keys]]\nsubject = \"{subject}\"\nsha256 = \"{}\"\nroles = {roles}\n\n",
            ApiKeyVerifier::hash_key(key)
        ));
    }
    TempFile::with(&toml)
}

async fn products_with_keys(file: &std::path::Path) -> Result<Running, String> {
    try_products(|cli| cli.api_keys = Some(file.to_owned()))
        .await
        .map_err(|e| e.to_string())
}

fn text(reply: &mcp_rbac_tests::Reply) -> Value {
    let text = reply.result().expect("a result")["content"][0]["text"]
        .as_str()
        .unwrap_or_default();
    serde_json::from_str(text).unwrap_or(Value::String(text.to_owned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_map_to_roles_through_the_products_server() {
    let file = key_file(&[
        ("ci-bot", ADMIN_KEY, "[\"admin\"]"),
        ("dashboard", GUEST_KEY, "[\"guest\"]"),
    ]);
    let server = products_with_keys(file.path()).await.expect("starts");
    assert!(
        server.tokens.is_none(),
        "no development tokens with API keys"
    );
    let url = server.url.clone();

    let admin = Mcp::new(&url, Some(ADMIN_KEY));
    let whoami = text(&admin.call_tool("whoami", json!({})).await);
    assert_eq!(whoami["subject"], "ci-bot");
    assert_eq!(whoami["roles"], json!(["admin"]));
    let reply = admin.call_tool("delete_product", json!({"id": 2})).await;
    assert_eq!(text(&reply), "product 2 deleted");

    let guest = Mcp::new(&url, Some(GUEST_KEY));
    let reply = guest.call_tool("delete_product", json!({"id": 3})).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.rpc_error(),
        Some(&json!({
            "code": 403,
            "message": "permission denied: tool `delete_product` requires Admin.Write",
            "data": {"tool": "delete_product", "required": "Admin.Write", "reason": "missing_permission"},
        }))
    );
    let reply = guest.call_tool("list_products", json!({})).await;
    assert!(reply.rpc_error().is_none(), "{}", reply.raw);

    // A near miss, a key's hash presented as the key, and no key at all.
    for wrong in [
        &ADMIN_KEY[..ADMIN_KEY.len() - 1],
        &ApiKeyVerifier::hash_key(ADMIN_KEY),
    ] {
        let reply = Mcp::new(&url, Some(wrong))
            .call_tool("delete_product", json!({"id": 3}))
            .await;
        assert_eq!(reply.status, 401, "{}", reply.raw);
        let challenge = reply.header("www-authenticate").unwrap_or_default();
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        assert!(!reply.raw.contains(wrong), "the key is never echoed");
    }
    let reply = Mcp::new(&url, None)
        .call_tool("delete_product", json!({"id": 3}))
        .await;
    assert_eq!(reply.status, 401);
    assert_eq!(server.counters.get("delete_product"), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn a_bad_key_file_stops_the_server_with_a_clear_message() {
    let missing = products_with_keys(std::path::Path::new("/nonexistent/keys.toml"))
        .await
        .err();
    assert!(
        missing.as_deref().is_some_and(
            |e| e.starts_with("--api-keys: cannot read API key file /nonexistent/keys.toml:")
        ),
        "{missing:?}"
    );

    let plaintext = TempFile::with("[[keys]]\nsubject = \"ci-bot\"\nkey = \"hunter2\"\n");
    let refused = products_with_keys(plaintext.path()).await.err();
    assert!(
        refused
            .as_deref()
            .is_some_and(|e| e
                .starts_with("--api-keys: API key TOML at line 3, column 1: unknown field `key`")),
        "{refused:?}"
    );

    let empty = key_file(&[]);
    let refused = products_with_keys(empty.path()).await.err();
    assert_eq!(
        refused.as_deref(),
        Some("--api-keys: no API key configured")
    );
}
