//! Argument conditions (`authorize = Self::method`) over HTTP: the products server's
//! `update_product` (ownership and a price limit), and a server of this test's own that counts
//! how often its arguments are deserialized and its condition runs.

use std::sync::atomic::{AtomicUsize, Ordering};

use mcp_rbac::{Denied, Principal};
use mcp_rbac_tests::fixtures::products;
use mcp_rbac_tests::{issuer_for, serve, Mcp, Reply};
use rmcp::handler::server::wrapper::Parameters;
use serde_json::{json, Value};

/// The JSON-RPC error of a refused call, checked to be the 403 of a condition with `reason`.
fn assert_condition_refused(reply: &Reply, kind: &str, name: &str, reason: &str) {
    assert_eq!(reply.status, 200, "{}", reply.raw);
    let error = reply
        .rpc_error()
        .unwrap_or_else(|| panic!("expected a JSON-RPC error: {}", reply.raw));
    assert_eq!(error["code"], 403, "{}", reply.raw);
    assert_eq!(error["data"], json!({kind: name, "reason": reason}));
    assert!(
        error["message"].as_str().unwrap_or_default().contains(name),
        "{}",
        reply.raw
    );
}

/// rmcp's answer to arguments that do not deserialize: a tool execution error naming the
/// failure (rmcp reports input validation errors to the model), or a JSON-RPC invalid-params
/// error.
fn assert_invalid_params(reply: &Reply) {
    match reply.rpc_error() {
        Some(error) => assert_eq!(error["code"], -32602, "{}", reply.raw),
        None => {
            let result = reply.result().unwrap_or_else(|| panic!("{}", reply.raw));
            assert_eq!(result["isError"], true, "{}", reply.raw);
            let text = result["content"][0]["text"].as_str().unwrap_or_default();
            assert!(
                text.starts_with("failed to deserialize parameters"),
                "{}",
                reply.raw
            );
        }
    }
}

fn assert_succeeded(reply: &Reply) -> &Value {
    let result = reply
        .result()
        .unwrap_or_else(|| panic!("expected a result: {}", reply.raw));
    assert_eq!(result["isError"], false, "{}", reply.raw);
    result
}

/// The id in `create_product`'s "product N created".
fn created_id(reply: &Reply) -> u64 {
    let text = assert_succeeded(reply)["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    text.split_whitespace()
        .nth(1)
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no id in {text:?}"))
}

#[tokio::test]
async fn update_product_judges_ownership_and_the_price_limit() {
    let server = products(|cli| cli.stateless = true).await;
    let tokens = server.tokens.clone().expect("development tokens");
    let issuer = server.issuer.clone().expect("development issuer");
    let alice = Mcp::new(&server.url, Some(&tokens.user));
    let bob_token = issuer.token(json!({"sub": "bob", "roles": ["user"]}));
    let bob = Mcp::new(&server.url, Some(&bob_token));
    let admin = Mcp::new(&server.url, Some(&tokens.admin));
    let guest = Mcp::new(&server.url, Some(&tokens.guest));
    let runs = || server.counters.get("update_product");

    let id = created_id(
        &alice
            .call_tool(
                "create_product",
                json!({"name": "Sprocket", "price_cents": 900}),
            )
            .await,
    );

    // Her own product, at the limit: allowed, and the body ran.
    let reply = alice
        .call_tool("update_product", json!({"id": id, "price_cents": 100_000}))
        .await;
    assert_eq!(
        assert_succeeded(&reply)["structuredContent"]["price_cents"],
        100_000
    );
    assert_eq!(runs(), 1);

    // One cent over the limit: refused by the condition, the body did not run.
    let reply = alice
        .call_tool("update_product", json!({"id": id, "price_cents": 100_001}))
        .await;
    assert_condition_refused(&reply, "tool", "update_product", "price_above_limit");
    assert_eq!(runs(), 1);

    // Another user, the same product: refused; a seeded product (no owner): refused.
    let reply = bob
        .call_tool("update_product", json!({"id": id, "name": "Mine now"}))
        .await;
    assert_condition_refused(&reply, "tool", "update_product", "not_owner");
    let reply = alice
        .call_tool("update_product", json!({"id": 1, "name": "Mine now"}))
        .await;
    assert_condition_refused(&reply, "tool", "update_product", "not_owner");
    assert_eq!(runs(), 1);

    // An admin: any product, any price.
    let reply = admin
        .call_tool("update_product", json!({"id": id, "price_cents": 500_000}))
        .await;
    assert_eq!(
        assert_succeeded(&reply)["structuredContent"]["price_cents"],
        500_000
    );
    let reply = admin
        .call_tool("update_product", json!({"id": 1, "name": "Widget II"}))
        .await;
    assert_eq!(
        assert_succeeded(&reply)["structuredContent"]["name"],
        "Widget II"
    );
    assert_eq!(runs(), 3);

    // Malformed arguments: the requirement answers first (403 for a guest), then rmcp's
    // invalid-params error for a caller who passes it; the condition never judges them.
    let reply = guest
        .call_tool("update_product", json!({"id": "not a number"}))
        .await;
    let error = reply.rpc_error().expect("an error");
    assert_eq!(error["code"], 403, "{}", reply.raw);
    assert_eq!(error["data"]["reason"], "missing_permission");
    let reply = bob
        .call_tool("update_product", json!({"id": "not a number"}))
        .await;
    assert_invalid_params(&reply);
    assert_eq!(runs(), 3);
    server.shutdown().await;
}

// A server of this test's own: its arguments count their deserializations, its condition its
// runs, its body its calls.

static DESERIALIZED: AtomicUsize = AtomicUsize::new(0);
static JUDGED: AtomicUsize = AtomicUsize::new(0);
static RAN: AtomicUsize = AtomicUsize::new(0);

/// `{"amount": n}`, counting each time it is deserialized.
#[derive(schemars::JsonSchema)]
struct Transfer {
    amount: u64,
}

impl<'de> serde::Deserialize<'de> for Transfer {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Plain {
            amount: u64,
        }
        DESERIALIZED.fetch_add(1, Ordering::SeqCst);
        Plain::deserialize(deserializer).map(|p| Transfer { amount: p.amount })
    }
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Topic {
    topic: String,
}

#[derive(Clone)]
struct Bank;

impl Bank {
    async fn within_limit(&self, caller: &Principal, transfer: &Transfer) -> Result<(), Denied> {
        JUDGED.fetch_add(1, Ordering::SeqCst);
        if transfer.amount > 100 && !caller.has_permission("Bank.Large") {
            return Err(Denied::new(
                "amount_above_limit",
                "transfers above 100 need Bank.Large",
            ));
        }
        Ok(())
    }

    async fn allowed_topic(&self, _caller: &Principal, topic: &Topic) -> Result<(), Denied> {
        if topic.topic == "secrets" {
            return Err(Denied::new("topic_forbidden", "not this topic"));
        }
        Ok(())
    }
}

#[mcp_rbac::tool_router]
impl Bank {
    #[tool(requires = "Bank.Transfer", authorize = Self::within_limit)]
    async fn transfer(
        &self,
        Parameters(transfer): Parameters<Transfer>,
        caller: Principal,
    ) -> String {
        RAN.fetch_add(1, Ordering::SeqCst);
        format!("{} moved {}", caller.subject(), transfer.amount)
    }

    // A synchronous tool behind a condition.
    #[tool(requires = "Bank.Transfer", authorize = Self::within_limit)]
    fn quote(&self, Parameters(transfer): Parameters<Transfer>) -> String {
        format!("fee for {}: 1", transfer.amount)
    }
}

#[mcp_rbac::prompt_router]
impl Bank {
    #[prompt(public, authorize = Self::allowed_topic)]
    async fn advice(
        &self,
        Parameters(topic): Parameters<Topic>,
    ) -> Vec<rmcp::model::PromptMessage> {
        vec![rmcp::model::PromptMessage::new_text(
            rmcp::model::Role::User,
            format!("advice on {}", topic.topic),
        )]
    }
}

#[mcp_rbac::tool_handler]
#[mcp_rbac::prompt_handler]
impl rmcp::ServerHandler for Bank {}

fn counts() -> [usize; 3] {
    [
        DESERIALIZED.load(Ordering::SeqCst),
        JUDGED.load(Ordering::SeqCst),
        RAN.load(Ordering::SeqCst),
    ]
}

#[tokio::test]
async fn arguments_are_parsed_once_judged_then_handed_to_the_body() {
    let (issuer, verifier) = issuer_for("https://mcp.test/mcp");
    let served = serve(|| Bank, Some(verifier)).await;
    let teller = Mcp::new(
        &served.url,
        Some(&issuer.token(json!({"sub": "teller", "permissions": ["Bank.Transfer"]}))),
    );
    let manager = Mcp::new(
        &served.url,
        Some(
            &issuer
                .token(json!({"sub": "manager", "permissions": ["Bank.Transfer", "Bank.Large"]})),
        ),
    );
    let visitor = Mcp::new(&served.url, Some(&issuer.token(json!({"sub": "visitor"}))));
    assert_eq!(counts(), [0, 0, 0]);

    // Allowed: one deserialization, one judgement, one body run.
    let reply = teller.call_tool("transfer", json!({"amount": 100})).await;
    assert_eq!(
        assert_succeeded(&reply)["content"][0]["text"],
        "teller moved 100"
    );
    assert_eq!(counts(), [1, 1, 1]);

    // Refused by the condition: parsed and judged once, the body did not run.
    let reply = teller.call_tool("transfer", json!({"amount": 101})).await;
    assert_condition_refused(&reply, "tool", "transfer", "amount_above_limit");
    assert_eq!(counts(), [2, 2, 1]);
    let reply = manager.call_tool("transfer", json!({"amount": 101})).await;
    assert_eq!(
        assert_succeeded(&reply)["content"][0]["text"],
        "manager moved 101"
    );
    assert_eq!(counts(), [3, 3, 2]);

    // Refused by the requirement: the arguments were never read.
    let reply = visitor.call_tool("transfer", json!({"amount": 1})).await;
    assert_eq!(reply.rpc_error().expect("an error")["code"], 403);
    assert_eq!(counts(), [3, 3, 2]);

    // Malformed arguments past the requirement: rmcp's invalid-params error, no judgement.
    let reply = teller
        .call_tool("transfer", json!({"amount": "lots"}))
        .await;
    assert_invalid_params(&reply);
    assert_eq!(counts(), [4, 3, 2]);

    // A synchronous tool behind the same condition.
    let reply = teller.call_tool("quote", json!({"amount": 50})).await;
    assert_eq!(
        assert_succeeded(&reply)["content"][0]["text"],
        "fee for 50: 1"
    );
    let reply = teller.call_tool("quote", json!({"amount": 500})).await;
    assert_condition_refused(&reply, "tool", "quote", "amount_above_limit");

    // A prompt with a condition.
    let reply = visitor
        .get_prompt("advice", json!({"topic": "savings"}))
        .await;
    let messages = reply
        .result()
        .and_then(|r| r["messages"].as_array())
        .map(Vec::len);
    assert_eq!(messages, Some(1), "{}", reply.raw);
    let reply = visitor
        .get_prompt("advice", json!({"topic": "secrets"}))
        .await;
    assert_condition_refused(&reply, "prompt", "advice", "topic_forbidden");

    // The manifest names each condition.
    let manifest = Bank::tool_router_manifest().merge(Bank::prompt_router_manifest());
    assert_eq!(manifest.conditions.tools["transfer"], "Self::within_limit");
    assert_eq!(manifest.conditions.prompts["advice"], "Self::allowed_topic");
    assert!(
        manifest
            .to_string()
            .contains("tool transfer: Bank.Transfer if Self::within_limit"),
        "{manifest}"
    );
    served.stop().await.expect("server stops");
}
