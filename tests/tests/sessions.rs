//! MCP sessions belong to the principal that opened them: over real HTTP against the products
//! server (stateful), another principal with a valid token of their own who names the session
//! gets 404 on `POST`, `GET` (the server-to-client stream) and `DELETE`, exactly as for a
//! session that does not exist, no tool body runs, and the session stays usable by its owner.

use std::sync::Arc;

use mcp_rbac::testkit::DevIssuer;
use mcp_rbac_examples::products::Counters;
use mcp_rbac_tests::fixtures::{products_claims, products_with_sessions, serve_products};
use mcp_rbac_tests::{Mcp, ServeOptions, Served};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn another_principal_cannot_use_a_session() {
    let server = products_with_sessions().await;
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

/// The products handler with sessions behind a bearer layer remembering at most `max_sessions`
/// session owners (`None`: the default), and an issuer its verifier trusts.
async fn bounded(max_sessions: Option<usize>) -> (Served, DevIssuer, Arc<Counters>) {
    let issuer = DevIssuer::generate("https://issuer.test", "https://sessions.test/mcp").unwrap();
    let verifier = issuer
        .verifier_builder()
        .claims(products_claims())
        .build()
        .unwrap();
    let (served, counters) = serve_products(ServeOptions {
        sessions: true,
        max_sessions,
        ..ServeOptions::verified_by(Arc::new(verifier))
    })
    .await;
    (served, issuer, counters)
}

/// A client of `served` as `subject` (a guest) that has opened a session.
async fn opened(served: &Served, issuer: &DevIssuer, subject: &str) -> Mcp {
    let mut client = Mcp::new(&served.url, Some(&guest(issuer, subject)));
    let init = client.initialize().await;
    assert_eq!(init.status, 200, "{subject}: {}", init.raw);
    assert!(client.session().is_some(), "{subject}: a session");
    client
}

fn guest(issuer: &DevIssuer, subject: &str) -> String {
    issuer.token(json!({"sub": subject, "roles": ["guest"]}))
}

/// The status of a `tools/call` of `list_products` in `client`'s session.
async fn list_status(client: &Mcp) -> u16 {
    client.call_tool("list_products", json!({})).await.status
}

/// README, "On the wire": the owner table is bounded by `BearerAuthLayer::max_sessions(n)`; past
/// it the least used owners are forgotten, and a forgotten session is bound to the next principal
/// it serves. With room for two owners, the session used least (bob's, opened and never used
/// again) is forgotten when a third opens; the busy one (alice's) stays hers.
#[tokio::test]
async fn a_small_owner_table_forgets_the_least_used_session() {
    let (served, issuer, counters) = bounded(Some(2)).await;
    let alice = opened(&served, &issuer, "alice").await;
    for _ in 0..5 {
        assert_eq!(list_status(&alice).await, 200);
    }
    let bob = opened(&served, &issuer, "bob").await;
    let _carol = opened(&served, &issuer, "carol").await;

    // Alice's busy session is remembered: mallory gets what any stranger gets (and a refusal
    // records nothing).
    let mallory_in_alices = alice.with_token(&guest(&issuer, "mallory"));
    let refused = mallory_in_alices
        .call_tool("list_products", json!({}))
        .await;
    assert_eq!(refused.status, 404, "{}", refused.raw);
    assert_eq!(refused.raw, "Not Found: Session not found");
    // Bob's was forgotten: it serves mallory, and is hers from now on.
    let mallory_in_bobs = bob.with_token(&guest(&issuer, "mallory"));
    assert_eq!(list_status(&mallory_in_bobs).await, 200);
    assert_eq!(
        list_status(&bob).await,
        404,
        "bob's session is mallory's now"
    );
    assert_eq!(list_status(&alice).await, 200);
    assert_eq!(counters.get("list_products"), 7);
}

/// The same sequence with the default table: nothing is forgotten, bob's session stays his.
#[tokio::test]
async fn the_default_owner_table_forgets_nothing() {
    let (served, issuer, _) = bounded(None).await;
    let alice = opened(&served, &issuer, "alice").await;
    let bob = opened(&served, &issuer, "bob").await;
    let _carol = opened(&served, &issuer, "carol").await;
    for client in [&alice, &bob] {
        let mallory = client.with_token(&guest(&issuer, "mallory"));
        assert_eq!(list_status(&mallory).await, 404);
        assert_eq!(list_status(client).await, 200);
    }
}

/// `max_sessions(0)` turns binding off: another principal may use a session, and its opener too.
#[tokio::test]
async fn max_sessions_zero_binds_no_session() {
    let (served, issuer, counters) = bounded(Some(0)).await;
    let alice = opened(&served, &issuer, "alice").await;
    let bob = alice.with_token(&guest(&issuer, "bob"));
    let reply = bob.call_tool("list_products", json!({})).await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    assert!(reply.result().is_some(), "{}", reply.raw);
    assert_eq!(bob.session_request(Method::DELETE).await, 202);
    assert_eq!(list_status(&alice).await, 404, "bob ended the session");
    assert_eq!(counters.get("list_products"), 1);
}
