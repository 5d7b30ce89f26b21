//! Mixed load on the products server (stateless, in-process): 32 concurrent keep-alive
//! connections, `tools/call` requests of every tool, from valid tokens of every role, direct
//! permissions, expired, forged, `alg: none`, truncated, wrong-audience and missing tokens. Every
//! answer is checked against the decision the README's "On the wire" table requires; none may be
//! wrong, none a 5xx, and no request may fail on its connection (a refusal reads the rest of the
//! body, so the connection serves the next request). The tool bodies ran exactly as often as
//! calls were allowed, and the process's resident memory stays bounded.
//!
//! Three runs: whole requests in one write; the head and the body in two writes (as Python's
//! `http.client` sends them); and the same with 100 KiB bodies, past the bound a refusal reads,
//! whose refusals close the connection with `Connection: close` (the client opens a new one).
//!
//! Prints `requests=N wrong=0 5xx=0 …` per run (run with `--nocapture` to see it).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use mcp_rbac::testkit::{now, DevIssuer};
use mcp_rbac_tests::fixtures::{
    metadata_url, products_stateless, raw_post, vm_rss_kib, ProductsAccess, RawConnection,
};
use serde_json::{json, Value};

const CLIENTS: usize = 32;
/// One cycle: every caller kind × every tool slot.
const CYCLE: usize = KINDS.len() * TOOLS.len();
/// Multiples of the 60-request cycle (10 callers × 6 tool slots).
const REQUESTS: usize = 50_400;
const SPLIT_REQUESTS: usize = 20_160;
const WARM_UP: usize = 960;
/// The padding of the large-body run: past the 64 KiB a refusal reads before answering.
const LARGE_BODY: usize = 100 * 1024;
/// Growth of the resident set allowed between the warm-up and the end.
const RSS_BOUND_KIB: u64 = 64 * 1024;
/// Distinct tokens per caller kind (the verified-token cache holds the valid ones).
const TOKENS_PER_KIND: usize = 32;
/// `delete_product` of an id that was never created: allowed, deletes nothing.
const NO_SUCH_ID: u64 = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Admin,
    User,
    Guest,
    Direct,
    Expired,
    Forged,
    AlgNone,
    Truncated,
    OtherAudience,
    Missing,
}

const KINDS: [Kind; 10] = [
    Kind::Admin,
    Kind::User,
    Kind::Guest,
    Kind::Direct,
    Kind::Expired,
    Kind::Forged,
    Kind::AlgNone,
    Kind::Truncated,
    Kind::OtherAudience,
    Kind::Missing,
];

/// `delete_product` twice: deletes must outpace creates so the catalogue stays small.
const TOOLS: [&str; 6] = [
    "list_products",
    "get_product",
    "create_product",
    "delete_product",
    "delete_product",
    "whoami",
];

/// Who may call what, from the server's manifest and role policy.
static ACCESS: LazyLock<ProductsAccess> = LazyLock::new(ProductsAccess::new);

impl Kind {
    /// Effective permissions (the role policy's, or the token's own list), or `None` when the
    /// token is refused outright.
    fn permissions(self) -> Option<Vec<String>> {
        Some(match self {
            Kind::Admin => ACCESS.permissions_of("admin"),
            Kind::User => ACCESS.permissions_of("user"),
            Kind::Guest => ACCESS.permissions_of("guest"),
            Kind::Direct => vec!["Admin.Write".into(), "User.Read".into()],
            _ => return None,
        })
    }

    fn subject(self) -> &'static str {
        match self {
            Kind::Admin => "admin",
            Kind::User => "user",
            Kind::Guest => "guest",
            Kind::Direct => "svc",
            _ => "mallory",
        }
    }

    /// The `error_description` of a refused token; `None` for no token at all.
    fn refusal(self) -> Option<&'static str> {
        match self {
            Kind::Expired => Some("token has expired"),
            Kind::Forged => Some("token signature is invalid"),
            Kind::AlgNone => Some("token algorithm is not allowed"),
            Kind::Truncated => Some("token is malformed"),
            Kind::OtherAudience => Some("token audience is not this resource"),
            _ => None,
        }
    }
}

fn tokens(issuer: &DevIssuer, kind: Kind) -> Vec<Option<String>> {
    (0..TOKENS_PER_KIND)
        .map(|i| {
            let jti = format!("{kind:?}-{i}");
            let token = match kind {
                Kind::Admin => issuer.token(json!({"sub": "admin", "roles": ["admin"], "jti": jti})),
                Kind::User => issuer.token(json!({"sub": "user", "roles": ["user"], "jti": jti})),
                Kind::Guest => issuer.token(json!({"sub": "guest", "roles": ["guest"], "jti": jti})),
                Kind::Direct => issuer.token(
                    json!({"sub": "svc", "permissions": ["Admin.Write", "User.Read"], "jti": jti}),
                ),
                Kind::Expired => issuer.token(
                    json!({"sub": "admin", "roles": ["admin"], "jti": jti, "iat": now() - 7200, "exp": now() - 3600}),
                ),
                Kind::Forged => {
                    let token =
                        issuer.token(json!({"sub": "admin", "roles": ["admin"], "jti": jti}));
                    let (input, signature) = token.rsplit_once('.').unwrap();
                    let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
                    bytes[i % 64] ^= 0x01;
                    format!("{input}.{}", URL_SAFE_NO_PAD.encode(bytes))
                }
                Kind::AlgNone => {
                    let token =
                        issuer.token(json!({"sub": "admin", "roles": ["admin"], "jti": jti}));
                    let claims = token.split('.').nth(1).unwrap();
                    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
                    format!("{header}.{claims}.")
                }
                Kind::Truncated => {
                    let token =
                        issuer.token(json!({"sub": "admin", "roles": ["admin"], "jti": jti}));
                    token[..token.rfind('.').unwrap()].to_owned()
                }
                Kind::OtherAudience => issuer.token(
                    json!({"sub": "admin", "roles": ["admin"], "jti": jti, "aud": "http://127.0.0.1:1/other"}),
                ),
                Kind::Missing => return None,
            };
            Some(token)
        })
        .collect()
}

/// Shared by the clients.
struct Load {
    addr: std::net::SocketAddr,
    /// Head and body in two writes.
    split: bool,
    /// Padding for each request's `params._meta`.
    padding: Option<String>,
    /// Answers that closed their connection (`Connection: close`).
    closes: AtomicU64,
    /// The tokens of each kind.
    tokens: Vec<Vec<Option<String>>>,
    missing_challenge: String,
    invalid_challenge: String,
    /// Ids created by allowed `create_product` calls, for allowed deletes to remove.
    created: Mutex<Vec<u64>>,
    /// Allowed calls per tool, to compare with the server's body counters.
    allowed: Mutex<BTreeMap<&'static str, u64>>,
    wrong: AtomicU64,
    server_errors: AtomicU64,
    examples: Mutex<Vec<String>>,
}

impl Load {
    /// Request `i`: its caller and tool follow from `i`, so the mix is exact and repeatable.
    async fn one(&self, conn: &mut RawConnection, i: usize) {
        let kind = KINDS[i % KINDS.len()];
        let tool = TOOLS[(i / KINDS.len()) % TOOLS.len()];
        let permissions = kind.permissions();
        let allow = permissions
            .as_deref()
            .is_some_and(|p| ACCESS.allows(p, tool));
        let mut delete_id = NO_SUCH_ID;
        let arguments = match tool {
            "get_product" => json!({"id": 1}),
            "create_product" => json!({"name": format!("load-{i}"), "price_cents": i}),
            "delete_product" => {
                if allow {
                    if let Some(id) = self.created.lock().unwrap().pop() {
                        delete_id = id;
                    }
                }
                json!({"id": delete_id})
            }
            _ => json!({}),
        };
        let call = json!({"jsonrpc": "2.0", "id": i, "method": "tools/call",
            "params": {"name": tool, "arguments": arguments}});
        let body = match &self.padding {
            None => call.to_string(),
            // The padding spliced in as text: building 100 KiB of JSON per request would cost
            // the client more than the server.
            Some(padding) => {
                let call = call.to_string();
                let params_end = call.rfind("}}").expect("params close the object");
                format!(
                    "{},\"_meta\":{{\"padding\":\"{padding}\"}}{}",
                    &call[..params_end],
                    &call[params_end..]
                )
            }
        };
        let token = self.tokens[i % KINDS.len()][(i / CYCLE) % TOKENS_PER_KIND].as_deref();
        let request = raw_post(&self.addr.to_string(), token, &body);
        let answer = if self.split {
            let (head, body) = request.split_at(request.find("\r\n\r\n").unwrap() + 4);
            conn.exchange_split(head.as_bytes(), body.as_bytes()).await
        } else {
            conn.exchange(request.as_bytes()).await
        };
        let (status, challenge, raw) = match answer {
            Ok(answer) => {
                if answer.closes() {
                    self.closes.fetch_add(1, Ordering::Relaxed);
                    if !conn.closed_cleanly(Duration::from_secs(5)).await {
                        self.wrong(i, "no orderly close after `Connection: close`".into());
                    }
                    *conn = RawConnection::open(self.addr).await;
                }
                (
                    answer.status,
                    answer.header("www-authenticate").map(str::to_owned),
                    answer.body,
                )
            }
            Err(e) => return self.wrong(i, format!("transport error: {e}")),
        };
        if status >= 500 {
            self.server_errors.fetch_add(1, Ordering::Relaxed);
        }
        let json: Value = serde_json::from_str(&raw).unwrap_or(Value::Null);

        let verdict: Result<(), String> = match (permissions, kind.refusal()) {
            (None, None) => (status == 401
                && challenge.as_deref() == Some(self.missing_challenge.as_str())
                && raw.is_empty())
            .then_some(())
            .ok_or_else(|| "expected the bare 401".to_owned()),
            (None, Some(description)) => (status == 401
                && challenge.as_deref() == Some(self.invalid_challenge.as_str())
                && json == json!({"error": "invalid_token", "error_description": description}))
            .then_some(())
            .ok_or_else(|| format!("expected 401 {description}")),
            (Some(_), _) if !allow => {
                let required = ACCESS.requirement(tool);
                let expected = json!({"code": 403,
                    "message": format!("permission denied: tool `{tool}` requires {required}"),
                    "data": {"tool": tool, "required": required, "reason": "missing_permission"}});
                (status == 200 && json["error"] == expected && json.get("result").is_none())
                    .then_some(())
                    .ok_or_else(|| "expected the 403 denial".to_owned())
            }
            (Some(_), _) => self.check_allowed(status, &json, tool, kind, delete_id),
        };
        match verdict {
            Ok(()) => {
                if allow {
                    *self.allowed.lock().unwrap().entry(tool).or_default() += 1;
                }
            }
            Err(why) => self.wrong(
                i,
                format!("{kind:?} {tool}: {why}; got {status} {challenge:?} {raw}"),
            ),
        }
    }

    fn check_allowed(
        &self,
        status: u16,
        json: &Value,
        tool: &str,
        kind: Kind,
        delete_id: u64,
    ) -> Result<(), String> {
        if status != 200 || json["result"]["isError"] != false {
            return Err("expected a successful result".into());
        }
        let text = json["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default();
        let ok = match tool {
            "list_products" => json["result"]["structuredContent"]["products"]
                .as_array()
                .is_some_and(|p| p.iter().any(|p| p["name"] == "Widget")),
            "get_product" => json["result"]["structuredContent"]["name"] == "Widget",
            "create_product" => {
                match text
                    .strip_prefix("product ")
                    .and_then(|t| t.strip_suffix(" created"))
                    .and_then(|id| id.parse().ok())
                {
                    Some(id) => {
                        self.created.lock().unwrap().push(id);
                        true
                    }
                    None => false,
                }
            }
            "delete_product" => text == format!("product {delete_id} deleted"),
            "whoami" => {
                serde_json::from_str::<Value>(text).is_ok_and(|me| me["subject"] == kind.subject())
            }
            _ => false,
        };
        ok.then_some(())
            .ok_or_else(|| format!("unexpected result for {tool}"))
    }

    fn wrong(&self, i: usize, what: String) {
        self.wrong.fetch_add(1, Ordering::Relaxed);
        let mut examples = self.examples.lock().unwrap();
        if examples.len() < 10 {
            examples.push(format!("#{i}: {what}"));
        }
    }

    /// Requests `range`, spread over the clients.
    async fn run(self: &Arc<Self>, range: std::ops::Range<usize>) {
        let mut clients = Vec::new();
        for client in 0..CLIENTS {
            let load = self.clone();
            let range = range.clone();
            clients.push(tokio::spawn(async move {
                // One keep-alive connection per client for its whole share.
                let mut conn = RawConnection::open(load.addr).await;
                for i in range.skip(client).step_by(CLIENTS) {
                    load.one(&mut conn, i).await;
                }
            }));
        }
        for client in clients {
            client.await.expect("client task");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_thousand_mixed_requests_without_a_wrong_decision() {
    let closes = run(REQUESTS, false, 0).await;
    assert_eq!(closes, 0, "a refusal closed its connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_and_body_in_two_writes_keep_every_connection_usable() {
    let closes = run(SPLIT_REQUESTS, true, 0).await;
    assert_eq!(closes, 0, "a refusal closed its connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_past_the_drain_bound_close_only_the_refused_connections() {
    let closes = run(SPLIT_REQUESTS, true, LARGE_BODY).await;
    // Exactly the refusals of the bearer layer (6 of the 10 caller kinds); a JSON-RPC denial
    // comes after rmcp read the body, and keeps the connection.
    assert_eq!(closes, (SPLIT_REQUESTS / CYCLE * 6 * TOOLS.len()) as u64);
}

/// One run at a time: each measures the process's memory and load.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `requests` requests on [`CLIENTS`] connections; the answers that closed their connection.
async fn run(requests: usize, split: bool, padding: usize) -> u64 {
    let _alone = ONE_AT_A_TIME.lock().await;
    let server = products_stateless().await;
    let issuer = server.issuer.clone().expect("development issuer");
    let metadata = metadata_url(server.addr);
    let load = Arc::new(Load {
        addr: server.addr,
        split,
        padding: (padding > 0).then(|| "x".repeat(padding)),
        closes: AtomicU64::new(0),
        tokens: KINDS.iter().map(|k| tokens(&issuer, *k)).collect(),
        missing_challenge: format!("Bearer resource_metadata=\"{metadata}\""),
        invalid_challenge: format!(
            "Bearer error=\"invalid_token\", resource_metadata=\"{metadata}\""
        ),
        created: Mutex::default(),
        allowed: Mutex::default(),
        wrong: AtomicU64::new(0),
        server_errors: AtomicU64::new(0),
        examples: Mutex::default(),
    });

    let started = Instant::now();
    load.run(0..WARM_UP).await;
    let rss_before = vm_rss_kib();
    load.run(WARM_UP..requests).await;
    let elapsed = started.elapsed();
    let rss_after = vm_rss_kib();

    let wrong = load.wrong.load(Ordering::Relaxed);
    let server_errors = load.server_errors.load(Ordering::Relaxed);
    let closes = load.closes.load(Ordering::Relaxed);
    println!(
        "requests={requests} split={split} padding={padding} wrong={wrong} 5xx={server_errors} \
         closes={closes} elapsed={:.1}s rate={:.0}/s rss_before={rss_before}KiB \
         rss_after={rss_after}KiB",
        elapsed.as_secs_f64(),
        requests as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(
        (wrong, server_errors),
        (0, 0),
        "first wrong answers: {:#?}",
        load.examples.lock().unwrap()
    );

    // Every body ran exactly once per allowed call, and never for a refused or denied one.
    let allowed = load.allowed.lock().unwrap().clone();
    let total: u64 = allowed.values().sum();
    // Per cycle, of the 4 valid callers × 6 slots: admin 6, user 4 (not the deletes), guest 3
    // (list, get, whoami), direct 4 (no Guest.Read: create, 2× delete, whoami) = 17.
    assert_eq!(total, (requests / CYCLE * 17) as u64, "{allowed:?}");
    for tool in ACCESS.tools() {
        assert_eq!(
            server.counters.get(tool),
            allowed.get(tool).copied().unwrap_or(0),
            "runs of {tool}"
        );
    }
    assert_eq!(server.counters.get("product_brief"), 0);

    let growth = rss_after.saturating_sub(rss_before);
    assert!(
        growth < RSS_BOUND_KIB,
        "resident memory grew by {growth} KiB ({rss_before} → {rss_after})"
    );
    server.shutdown().await;
    closes
}
