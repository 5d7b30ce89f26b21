//! MCP sessions belong to the principal that opened them: over real HTTP against the products
//! server (stateful), another principal with a valid token of their own who names the session
//! gets 404 on `POST`, `GET` (the server-to-client stream) and `DELETE`, exactly as for a
//! session that does not exist, no tool body runs, and the session stays usable by its owner.

use mcp_rbac_examples::products::{self, Cli, Running};
use mcp_rbac_tests::Mcp;
use reqwest::Method;
use serde_json::json;

async fn start() -> Running {
    let mut cli = Cli::defaults();
    cli.port = 0;
    cli.stateless = false;
    products::start(cli).await.expect("products server starts")
}

#[tokio::test]
async fn another_principal_cannot_use_a_session() {
    let server = start().await;
    let issuer = server.issuer.clone().expect("development issuer");
    let alice_token = issuer.token(json!({"sub": "alice", "roles": ["admin"]}));
    // Bob is an admin too: he may call everything, only not in Alice's session.
    let bob_token = issuer.token(json!({"sub": "bob", "roles": ["admin"]}));

    let mut alice = Mcp::new(&server.url, Some(&alice_token));
    let opened = alice.initialize().await;
    assert_eq!(opened.status, 200);
    assert!(
        alice.session().is_some(),
        "the stateful server opens a session"
    );
    let bob = alice.with_token(&bob_token);

    let call = bob.call_tool("delete_product", json!({"id": 1})).await;
    assert_eq!(call.status, 404, "{}", call.raw);
    assert_eq!(call.raw, "Not Found: Session not found");
    assert_eq!(bob.list_tools().await.status, 404);
    assert_eq!(bob.session_request(Method::GET).await, 404);
    assert_eq!(bob.session_request(Method::DELETE).await, 404);
    assert_eq!(server.counters.get("delete_product"), 0, "no body ran");

    // Alice's session is intact, also with a fresh token of hers.
    let listed = alice.list_tools().await;
    assert_eq!(listed.status, 200, "{}", listed.raw);
    assert!(listed.result().is_some());
    let again = alice.with_token(&issuer.token(json!({"sub": "alice", "roles": ["admin"]})));
    let called = again.call_tool("delete_product", json!({"id": 1})).await;
    assert_eq!(called.status, 200, "{}", called.raw);
    assert_eq!(server.counters.get("delete_product"), 1);

    // Bob's own session is his.
    let mut own = Mcp::new(&server.url, Some(&bob_token));
    assert_eq!(own.initialize().await.status, 200);
    assert_ne!(own.session(), alice.session());
    assert_eq!(own.list_tools().await.status, 200);

    // Alice ends her session; then it is gone for everyone, her included.
    let ended = alice.session_request(Method::DELETE).await;
    assert!((200..300).contains(&ended), "DELETE by the owner: {ended}");
    assert_eq!(alice.list_tools().await.status, 404);
    server.shutdown().await;
}
