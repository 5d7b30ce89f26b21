//! Decision records as a security team reads them: the products server with `--audit-log`
//! under a mixed, concurrent run. Every request leaves exactly one record, found by the
//! `x-request-id` of its answer, and each record says what the answer said (status, JSON-RPC
//! code, item, subject); none is lost at the default settings; no record and no log line holds
//! a token or its signature; the file's hash chain verifies.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use mcp_rbac::testkit::now;
use mcp_rbac_examples::products::{policy, Products};
use mcp_rbac_tests::fixtures::{logs, products};
use serde_json::{json, Value};

const REQUESTS: usize = 3_000;
const CLIENTS: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Caller {
    Admin,
    User,
    Guest,
    Missing,
    Expired,
    Forged,
    OtherAudience,
}

const CALLERS: [Caller; 7] = [
    Caller::Admin,
    Caller::User,
    Caller::Guest,
    Caller::Missing,
    Caller::Expired,
    Caller::Forged,
    Caller::OtherAudience,
];

/// What each request asks: (JSON-RPC method, params, record kind, record name).
fn ask(i: usize) -> (&'static str, Value, &'static str, &'static str) {
    match (i / CALLERS.len()) % 6 {
        0 => (
            "tools/call",
            json!({"name": "delete_product", "arguments": {"id": 1_000_000}}),
            "tool",
            "delete_product",
        ),
        1 => (
            "tools/call",
            json!({"name": "get_product", "arguments": {"id": 1}}),
            "tool",
            "get_product",
        ),
        2 => ("tools/list", json!({}), "list", "tools/list"),
        3 => (
            "prompts/get",
            json!({"name": "product_brief", "arguments": {"id": "1"}}),
            "prompt",
            "product_brief",
        ),
        4 => (
            "resources/read",
            json!({"uri": "products://audit"}),
            "resource",
            "products://audit",
        ),
        _ => ("resources/list", json!({}), "list", "resources/list"),
    }
}

/// One answer as the client saw it.
#[derive(Debug)]
struct Seen {
    caller: Caller,
    kind: &'static str,
    name: &'static str,
    status: u16,
    /// The JSON-RPC error code, if the answer was one.
    code: Option<i64>,
    /// The JSON-RPC id sent.
    jsonrpc_id: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_leaves_one_record_that_matches_its_answer() {
    let log = logs::capture();
    let dir = std::env::temp_dir().join(format!("mcp-rbac-audit-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("audit.jsonl");
    let server = products(|cli| cli.audit_log = Some(file.clone())).await;
    let issuer = server.issuer.clone().unwrap();
    let role = |role: &str| issuer.token(json!({"sub": role, "roles": [role]}));
    let forged = {
        let token = role("admin");
        let (input, signature) = token.rsplit_once('.').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
        bytes[0] ^= 1;
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(bytes))
    };
    let tokens: HashMap<usize, Option<String>> = CALLERS
        .iter()
        .enumerate()
        .map(|(n, caller)| {
            let token = match caller {
                Caller::Admin => Some(role("admin")),
                Caller::User => Some(role("user")),
                Caller::Guest => Some(role("guest")),
                Caller::Missing => None,
                Caller::Expired => Some(issuer.token(
                    json!({"sub": "admin", "roles": ["admin"], "iat": now() - 7200, "exp": now() - 3600}),
                )),
                Caller::Forged => Some(forged.clone()),
                Caller::OtherAudience => Some(issuer.token(
                    json!({"sub": "admin", "roles": ["admin"], "aud": "http://127.0.0.1:1/other"}),
                )),
            };
            (n, token)
        })
        .collect();
    for token in tokens.values().flatten() {
        log.token(token);
    }
    let tokens = Arc::new(tokens);
    let seen: Arc<Mutex<HashMap<String, Seen>>> = Arc::default();
    let http = reqwest::Client::new();
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let (tokens, seen, http, url) = (
            tokens.clone(),
            seen.clone(),
            http.clone(),
            server.url.clone(),
        );
        clients.push(tokio::spawn(async move {
            for i in (client..REQUESTS).step_by(CLIENTS) {
                let caller = CALLERS[i % CALLERS.len()];
                let (method, params, kind, name) = ask(i);
                let mut request = http
                    .post(&url)
                    .header("accept", "application/json, text/event-stream")
                    .header("mcp-protocol-version", mcp_rbac_tests::PROTOCOL)
                    .json(&json!({"jsonrpc": "2.0", "id": i, "method": method, "params": params}));
                if let Some(token) = &tokens[&(i % CALLERS.len())] {
                    request = request.bearer_auth(token);
                }
                let response = request.send().await.expect("answer");
                let status = response.status().as_u16();
                let id = response.headers()["x-request-id"]
                    .to_str()
                    .unwrap()
                    .to_owned();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                let code = body["error"]["code"].as_i64();
                let previous = seen.lock().unwrap().insert(
                    id.clone(),
                    Seen {
                        caller,
                        kind,
                        name,
                        status,
                        code,
                        jsonrpc_id: i,
                    },
                );
                assert!(previous.is_none(), "request id {id} given twice");
            }
        }));
    }
    for client in clients {
        client.await.unwrap();
    }
    // Shutting down flushes the sinks.
    server.shutdown().await;

    let text = std::fs::read_to_string(&file).unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), REQUESTS);
    assert_eq!(records.len(), REQUESTS, "one record per request, none lost");
    let version = Products::manifest()
        .policy_version_with_clients(Some(&policy::role_policy()), Some(&policy::client_policy()));
    let mut by_id: HashMap<&str, &Value> = HashMap::new();
    for record in &records {
        let id = record["request_id"].as_str().expect("request id");
        assert!(by_id.insert(id, record).is_none(), "two records for {id}");
        assert_eq!(record["policy_version"], version.as_str());
    }
    let mut denials_of_delete = 0;
    for (id, answer) in seen.iter() {
        let record = by_id
            .get(id.as_str())
            .unwrap_or_else(|| panic!("no record for {answer:?}"));
        let subject = match answer.caller {
            Caller::Admin => Some("admin"),
            Caller::User => Some("user"),
            Caller::Guest => Some("guest"),
            _ => None,
        };
        let expected: (&str, &str, &str) = match (subject, answer.status, answer.code) {
            (None, 401, None) => {
                let reason = if answer.caller == Caller::Missing {
                    "no_token"
                } else {
                    "invalid_token"
                };
                assert_eq!(record["status"], 401, "{record}");
                ("request", "deny", reason)
            }
            (Some(_), 200, Some(403)) => (answer.kind, "deny", "missing_permission"),
            (Some(_), 200, None) if answer.kind == "list" => ("list", "allow", "filtered"),
            (Some(_), 200, None) => (answer.kind, "allow", "granted"),
            other => panic!("unexpected answer {other:?} for {answer:?}"),
        };
        assert_eq!(
            (
                record["kind"].as_str().unwrap(),
                record["decision"].as_str().unwrap(),
                record["reason"].as_str().unwrap()
            ),
            expected,
            "{answer:?} → {record}"
        );
        assert_eq!(record["subject"].as_str(), subject, "{record}");
        if subject.is_some() {
            assert_eq!(record["name"], answer.name, "{record}");
            assert_eq!(record["jsonrpc_id"], answer.jsonrpc_id, "{record}");
        }
        if answer.name == "delete_product" && expected.1 == "deny" && subject.is_some() {
            denials_of_delete += 1;
        }
    }
    assert!(denials_of_delete > 0);

    // No token, and no signature of one, in the records or in any log line.
    for token in tokens.values().flatten() {
        let signature = token.rsplit('.').next().unwrap();
        assert!(!text.contains(token.as_str()) && !text.contains(signature));
    }
    log.assert_no_secret_logged();

    assert_eq!(
        mcp_rbac::audit::verify_chain(&file, false).unwrap(),
        REQUESTS
    );
    std::fs::remove_dir_all(dir).unwrap();
}
