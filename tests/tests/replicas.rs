//! Two products servers sharing one real `redis-server` (Debian's `redis-server` package,
//! installed on first use when it is not on `PATH`), as replicas behind a load balancer: a DPoP
//! proof used on one is refused on the other, a revocation made anywhere is enforced on both, a
//! session belongs to its opener on both, and while Redis is down both refuse every protected
//! request (503) and serve again once it is back, without a restart.
//!
//! Replica A runs the development issuer; replica B trusts it (discovery at A) and has A's
//! resource URL as its own, as replicas behind one load balancer do.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use clap::Parser;
use mcp_rbac::store::{
    unix_now, RedisState, ReplayKey, RequestFacts, SessionOwner, SharedState, StoreError,
};
use mcp_rbac::testkit::{now, DpopKey};
use mcp_rbac_examples::products::{self, Cli, Command as Admin, DpopFlag, Running};
use mcp_rbac_tests::fixtures::{eventually, products};
use mcp_rbac_tests::kits::debian_program;
use mcp_rbac_tests::Mcp;
use serde_json::{json, Value};

/// How long a restarted Redis and the replicas' reconnection may take.
const RECOVERS_WITHIN: Duration = Duration::from_secs(20);

/// A `redis-server` on a loopback port, without persistence; killed when dropped.
struct RedisServer {
    binary: PathBuf,
    port: u16,
    child: Mutex<Option<Child>>,
}

impl RedisServer {
    async fn start() -> RedisServer {
        let binary = debian_program("redis-server", "redis-server");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let server = RedisServer {
            binary,
            port,
            child: Mutex::new(None),
        };
        server.run().await;
        server
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the process on the port and waits until it answers `PING`.
    async fn run(&self) {
        let child = spawn(&self.binary, self.port);
        *self.child.lock().unwrap_or_else(PoisonError::into_inner) = Some(child);
        let probe = RedisState::builder(self.url())
            .key_prefix("probe:")
            .build()
            .expect("a Redis URL");
        eventually("redis-server answering PING", RECOVERS_WITHIN, || async {
            self.assert_running();
            probe.ping().await.ok()
        })
        .await;
    }

    fn assert_running(&self) {
        let mut child = self.child.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(Ok(Some(status))) = child.as_mut().map(Child::try_wait) {
            panic!("redis-server exited ({status})");
        }
    }

    /// Kills the process and waits for it to end.
    fn stop(&self) {
        let child = self
            .child
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(mut child) = child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn spawn(binary: &Path, port: u16) -> Child {
    Command::new(binary)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()))
}

/// Two replicas sharing `redis`, with DPoP accepted; stateless or with sessions.
struct Replicas {
    a: Running,
    b: Running,
    /// Where B is reached (its resource URL is A's).
    b_url: String,
}

impl Replicas {
    async fn start(redis: &RedisServer, stateless: bool) -> Replicas {
        let url = redis.url();
        let a = products(|cli| {
            cli.redis = Some(url.clone());
            cli.dpop = Some(DpopFlag::Accept);
            cli.stateless = stateless;
        })
        .await;
        let issuer = a.issuer.as_ref().expect("the development issuer").issuer();
        let b = products(|cli| {
            cli.redis = Some(url.clone());
            cli.dpop = Some(DpopFlag::Accept);
            cli.stateless = stateless;
            cli.issuer = Some(issuer.to_owned());
            cli.public_url = Some(a.url.clone());
        })
        .await;
        let b_url = format!("http://{}/mcp", b.addr);
        Replicas { a, b, b_url }
    }

    /// Both endpoints, A first.
    fn urls(&self) -> [&str; 2] {
        [&self.a.url, &self.b_url]
    }

    fn token(&self, claims: Value) -> String {
        self.a.issuer.as_ref().expect("issuer").token(claims)
    }

    fn issuer(&self) -> &str {
        self.a.issuer.as_ref().expect("issuer").issuer()
    }

    async fn shutdown(self) {
        self.a.shutdown().await;
        self.b.shutdown().await;
    }
}

/// A `tools/list` POST to `url` with `authorization` and an optional `DPoP` proof: the status,
/// the `WWW-Authenticate` challenges, `Retry-After`, and the body.
async fn list(url: &str, authorization: &str, proof: Option<&str>) -> Answer {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}});
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", mcp_rbac_tests::PROTOCOL)
        .header("authorization", authorization)
        .body(body.to_string());
    if let Some(proof) = proof {
        request = request.header("dpop", proof);
    }
    let response = request.send().await.expect("HTTP request");
    let status = response.status().as_u16();
    let challenges = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .collect();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = response.text().await.unwrap_or_default();
    Answer {
        status,
        challenges,
        retry_after,
        text,
    }
}

#[derive(Debug)]
struct Answer {
    status: u16,
    challenges: Vec<String>,
    retry_after: Option<String>,
    text: String,
}

impl Answer {
    fn challenge(&self) -> String {
        self.challenges.join(" | ")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dpop_proof_used_on_one_replica_is_refused_on_the_other() {
    let redis = RedisServer::start().await;
    let replicas = Replicas::start(&redis, true).await;
    let key = DpopKey::generate().expect("a key");
    let token = replicas.token(json!({
        "sub": "alice", "roles": ["guest"], "cnf": {"jkt": key.thumbprint()},
    }));
    let auth = format!("DPoP {token}");
    // Proofs name the shared resource URL, A's.
    let proof = key.proof("POST", &replicas.a.url, &token);
    let first = list(&replicas.a.url, &auth, Some(&proof)).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let again = list(&replicas.b_url, &auth, Some(&proof)).await;
    assert_eq!(again.status, 401, "{}", again.text);
    assert!(
        again
            .challenge()
            .contains("DPoP error=\"invalid_dpop_proof\"")
            && again.challenge().contains("already used"),
        "{}",
        again.challenge()
    );
    // B serves a fresh proof: it refused the replay, not the token.
    let fresh = key.proof("POST", &replicas.a.url, &token);
    let served = list(&replicas.b_url, &auth, Some(&fresh)).await;
    assert_eq!(served.status, 200, "{}", served.text);
    // And the other way round.
    let back = list(&replicas.a.url, &auth, Some(&fresh)).await;
    assert_eq!(back.status, 401, "{}", back.text);
    replicas.shutdown().await;
}

/// `token` is refused on `url` as revoked within a second (the replicas cache verified tokens,
/// so this is the per-request check).
async fn refused_as_revoked_within_a_second(url: &str, token: &str) {
    let auth = format!("Bearer {token}");
    let refused = eventually(
        "the revocation enforced",
        Duration::from_secs(1),
        || async {
            let answer = list(url, &auth, None).await;
            (answer.status != 200).then_some(answer)
        },
    )
    .await;
    assert_eq!(refused.status, 401, "{}", refused.text);
    let challenge = refused.challenge();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    let body: Value = serde_json::from_str(&refused.text).expect("a JSON body");
    assert_eq!(body["error_description"], "token revoked", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_made_anywhere_is_enforced_on_both_replicas() {
    let redis = RedisServer::start().await;
    let replicas = Replicas::start(&redis, true).await;
    let alice = replicas.token(json!({"sub": "alice", "roles": ["guest"]}));
    let bob = replicas.token(json!({"sub": "bob", "roles": ["guest"], "jti": "bob-1"}));
    for url in replicas.urls() {
        for token in [&alice, &bob] {
            let served = list(url, &format!("Bearer {token}"), None).await;
            assert_eq!(served.status, 200, "{url}: {}", served.text);
        }
    }

    // Alice's tokens, through A's state; enforced on B.
    let before = unix_now();
    replicas
        .a
        .state
        .revoke_subject(Some(replicas.issuer()), "alice", before)
        .await
        .expect("revoked");
    refused_as_revoked_within_a_second(&replicas.b_url, &alice).await;
    refused_as_revoked_within_a_second(&replicas.a.url, &alice).await;
    // Bob is not touched; a token alice gets after the revocation is served.
    let later = replicas.token(json!({"sub": "alice", "roles": ["guest"], "iat": before + 1}));
    for url in replicas.urls() {
        assert_eq!(list(url, &format!("Bearer {bob}"), None).await.status, 200);
        let served = list(url, &format!("Bearer {later}"), None).await;
        assert_eq!(served.status, 200, "{url}: {}", served.text);
    }

    // Bob's one token, through the admin command (`products revoke`); enforced on both.
    let until = (now() + 3600).to_string();
    let cli = Cli::try_parse_from([
        "products",
        "revoke",
        "--redis",
        &redis.url(),
        "--jti",
        "bob-1",
        "--until",
        &until,
    ])
    .expect("the revoke command line");
    let Some(Admin::Revoke(revoke)) = &cli.command else {
        panic!("not the revoke command: {cli:?}");
    };
    let done = products::revoke(revoke).await.expect("revoked");
    assert!(done.contains("bob-1"), "{done}");
    for url in replicas.urls() {
        refused_as_revoked_within_a_second(url, &bob).await;
    }
    let other = replicas.token(json!({"sub": "bob", "roles": ["guest"], "jti": "bob-2"}));
    assert_eq!(
        list(&replicas.b_url, &format!("Bearer {other}"), None)
            .await
            .status,
        200
    );
    replicas.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_belongs_to_its_opener_on_both_replicas() {
    let redis = RedisServer::start().await;
    let replicas = Replicas::start(&redis, false).await;
    let alice = replicas.token(json!({"sub": "alice", "roles": ["admin"]}));
    let bob = replicas.token(json!({"sub": "bob", "roles": ["admin"]}));
    let mut on_a = Mcp::new(&replicas.a.url, Some(&alice));
    let opened = on_a.initialize().await;
    assert_eq!(opened.status, 200, "{}", opened.raw);
    let session = on_a.session().expect("a session").to_owned();

    // Bob names alice's session on B first. B never saw the session: were the owner not in
    // Redis, B would bind it to bob, its first user, and (with rmcp's session state in Redis)
    // serve him.
    let on_b = Mcp::new(&replicas.b_url, Some(&alice)).in_session(&session);
    let bob_on_b = on_b.with_token(&bob);
    let refused = bob_on_b.call_tool("delete_product", json!({"id": 1})).await;
    assert_eq!(refused.status, 404, "{}", refused.raw);
    assert_eq!(refused.raw, "Not Found: Session not found");
    assert_eq!(replicas.b.counters.get("delete_product"), 0, "no body ran");

    // Alice's own session serves her on B: the owner check passed and B took up the session.
    let served = on_b.call_tool("list_products", json!({})).await;
    assert_eq!(served.status, 200, "{}", served.raw);
    assert!(served.result().is_some(), "{}", served.raw);
    assert_eq!(replicas.b.counters.get("list_products"), 1);

    // Bob on A: refused there too.
    let bob_on_a = on_a.with_token(&bob);
    assert_eq!(bob_on_a.list_tools().await.status, 404);
    replicas.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_redis_is_down_both_replicas_refuse_and_then_serve_again() {
    let redis = RedisServer::start().await;
    let replicas = Replicas::start(&redis, true).await;
    let token = replicas.token(json!({"sub": "alice", "roles": ["admin"]}));
    let key = DpopKey::generate().expect("a key");
    let bound = replicas.token(json!({
        "sub": "carol", "roles": ["guest"], "cnf": {"jkt": key.thumbprint()},
    }));
    let bearer = format!("Bearer {token}");
    let dpop = format!("DPoP {bound}");
    for url in replicas.urls() {
        assert_eq!(list(url, &bearer, None).await.status, 200, "{url}");
    }

    redis.stop();
    for round in 0..3 {
        for url in replicas.urls() {
            let refused = list(url, &bearer, None).await;
            assert_eq!(refused.status, 503, "{url} #{round}: {}", refused.text);
            assert_eq!(refused.retry_after.as_deref(), Some("1"), "{url}");
            assert!(refused.challenges.is_empty(), "{:?}", refused.challenges);
            let proof = key.proof("POST", &replicas.a.url, &bound);
            let refused = list(url, &dpop, Some(&proof)).await;
            assert_eq!(refused.status, 503, "{url} #{round}: {}", refused.text);
        }
    }
    // An invalid token is still the client's problem.
    let unsigned = list(&replicas.b_url, "Bearer not.a.token", None).await;
    assert_eq!(unsigned.status, 401);

    redis.run().await;
    let started = Instant::now();
    for url in replicas.urls() {
        eventually(
            "served again once Redis is back",
            RECOVERS_WITHIN,
            || async {
                let answer = list(url, &bearer, None).await;
                // Until then nothing is allowed: every answer is the 503.
                assert!(
                    matches!(answer.status, 200 | 503),
                    "{url}: {} {}",
                    answer.status,
                    answer.text
                );
                (answer.status == 200).then_some(())
            },
        )
        .await;
        let proof = key.proof("POST", &replicas.a.url, &bound);
        let served = list(url, &dpop, Some(&proof)).await;
        assert_eq!(served.status, 200, "{url}: {}", served.text);
    }
    assert!(started.elapsed() < RECOVERS_WITHIN);
    replicas.shutdown().await;
}

/// The Redis state on its own: what the bearer layer asks of it, against a real server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_state_answers_replay_revocation_and_owners() {
    let redis = RedisServer::start().await;
    let state = RedisState::builder(redis.url())
        .key_prefix("unit:")
        .build()
        .expect("a Redis URL");
    let now = unix_now();
    let mut facts = RequestFacts {
        now,
        replay: Some(ReplayKey {
            digest: [7; 32],
            expires_at: now + 61,
        }),
        token_id: Some("t-1"),
        issuer: Some("https://issuer.test"),
        subject: "alice",
        issued_at: Some(now - 10),
        session: Some(b"s-1"),
    };
    let first = state.check(&facts).await.expect("an answer");
    assert!(!first.replayed && !first.revoked && first.session_owner.is_none());
    assert!(state.check(&facts).await.expect("an answer").replayed);

    // Revoked by jti, until a time.
    facts.replay = None;
    state.revoke_jti("t-1", now + 60).await.expect("revoked");
    assert!(state.check(&facts).await.expect("an answer").revoked);
    facts.token_id = Some("t-2");
    assert!(!state.check(&facts).await.expect("an answer").revoked);
    state.revoke_jti("t-2", now - 1).await.expect("in the past");
    assert!(!state.check(&facts).await.expect("an answer").revoked);

    // Revoked by subject: tokens issued at or before the time.
    state
        .revoke_subject(Some("https://issuer.test"), "alice", now - 10)
        .await
        .expect("revoked");
    assert!(state.check(&facts).await.expect("an answer").revoked);
    facts.issued_at = Some(now - 9);
    assert!(!state.check(&facts).await.expect("an answer").revoked);
    facts.issued_at = None;
    assert!(state.check(&facts).await.expect("an answer").revoked);
    facts.issued_at = Some(now - 20);
    facts.issuer = None;
    assert!(
        !state.check(&facts).await.expect("an answer").revoked,
        "no iss: another subject"
    );
    facts.issuer = Some("https://issuer.test");
    // An earlier time leaves the later one in force.
    state
        .revoke_subject(Some("https://issuer.test"), "alice", now - 100)
        .await
        .expect("revoked");
    facts.issued_at = Some(now - 50);
    assert!(state.check(&facts).await.expect("an answer").revoked);

    // Session owners.
    let alice = SessionOwner {
        issuer: Some("https://issuer.test".into()),
        subject: "alice".into(),
    };
    let bob = SessionOwner {
        issuer: None,
        subject: "bob".into(),
    };
    state
        .bind_session(b"s-1", &alice, false)
        .await
        .expect("bound");
    let owner = state.check(&facts).await.expect("an answer").session_owner;
    assert_eq!(owner.as_ref(), Some(&alice));
    state.bind_session(b"s-1", &bob, true).await.expect("kept");
    assert_eq!(
        state.session_owner(b"s-1").await.expect("an answer"),
        Some(alice)
    );
    state.remove_session(b"s-1").await.expect("removed");
    assert_eq!(state.session_owner(b"s-1").await.expect("an answer"), None);
    state.bind_session(b"s-1", &bob, true).await.expect("bound");
    assert_eq!(
        state.session_owner(b"s-1").await.expect("an answer"),
        Some(bob)
    );

    // Another prefix is another state.
    let other = RedisState::builder(redis.url())
        .key_prefix("other:")
        .build()
        .expect("a Redis URL");
    assert_eq!(other.session_owner(b"s-1").await.expect("an answer"), None);

    // Down: an error within the command timeout, never an answer.
    redis.stop();
    let asked = Instant::now();
    let down = state.check(&facts).await;
    assert!(matches!(down, Err(StoreError::Unavailable(_))), "{down:?}");
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );
}

/// Made outside a Tokio runtime, or with a malformed URL: an error, not a panic.
#[test]
fn a_redis_state_needs_a_runtime_and_a_url() {
    let outside = RedisState::open("redis://127.0.0.1:6379");
    assert!(
        matches!(outside, Err(StoreError::Unavailable(_))),
        "{outside:?}"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let _entered = runtime.enter();
    let malformed = RedisState::open("http://not-redis");
    assert!(
        matches!(malformed, Err(StoreError::Unavailable(_))),
        "{malformed:?}"
    );
    assert!(RedisState::open("redis://127.0.0.1:6379").is_ok());
}
