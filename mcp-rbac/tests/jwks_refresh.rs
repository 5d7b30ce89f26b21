//! `Jwks` against a real HTTP JWKS endpoint whose answers the test controls: rotation on an
//! unknown `kid`, the refresh rate limit, `Cache-Control: max-age`, outages and garbage, header
//! URLs that must never be fetched, and the verified-token cache following the key set. Time
//! moves on a manual clock; background fetches are awaited by polling what they change.
#![cfg(feature = "jwks")]

use std::hash::BuildHasher as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{encode, EncodingKey, Header};
use mcp_rbac::verify::{
    install_crypto_provider, Algorithm, AuthError, Clock, Jwks, JwtVerifier, ManualClock,
    TokenVerifier,
};
use serde_json::json;

const ISS: &str = "https://issuer.test";
const AUD: &str = "https://mcp.test/mcp";

/// What the JWKS endpoint answers next.
#[derive(Clone)]
enum Answer {
    Keys(Vec<Jwk>, Option<&'static str>),
    Status(u16),
    Body(String),
}

struct Idp {
    answer: Mutex<Answer>,
    jwks_hits: AtomicUsize,
    evil_hits: AtomicUsize,
}

struct Server {
    idp: Arc<Idp>,
    base: String,
}

impl Server {
    async fn start(keys: Vec<Jwk>, cache_control: Option<&'static str>) -> Server {
        let idp = Arc::new(Idp {
            answer: Mutex::new(Answer::Keys(keys, cache_control)),
            jwks_hits: AtomicUsize::new(0),
            evil_hits: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/jwks", get(jwks))
            .route("/evil", get(evil))
            .with_state(idp.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Server { idp, base }
    }

    fn answer(&self, answer: Answer) {
        *self.idp.answer.lock().unwrap() = answer;
    }

    fn hits(&self) -> usize {
        self.idp.jwks_hits.load(Ordering::SeqCst)
    }

    fn url(&self) -> String {
        format!("{}/jwks", self.base)
    }

    /// Waits (up to 5 s) for the endpoint to have been fetched `n` times.
    async fn wait_for_hits(&self, n: usize) -> usize {
        for _ in 0..500 {
            if self.hits() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.hits()
    }
}

/// Waits (up to 5 s) for a background fetch to have installed `kids`.
async fn wait_for_kids(jwks: &Jwks, kids: &[&str]) -> Vec<String> {
    for _ in 0..500 {
        if jwks.kids() == kids {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    jwks.kids()
}

async fn jwks(State(idp): State<Arc<Idp>>) -> Response {
    idp.jwks_hits.fetch_add(1, Ordering::SeqCst);
    let answer = idp.answer.lock().unwrap().clone();
    match answer {
        Answer::Keys(keys, cache_control) => {
            let body = serde_json::to_string(&JwkSet { keys }).unwrap();
            let mut response = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
            if let Some(value) = cache_control {
                response
                    .headers_mut()
                    .insert(header::CACHE_CONTROL, value.parse().unwrap());
            }
            response
        }
        Answer::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
        Answer::Body(body) => body.into_response(),
    }
}

async fn evil(State(idp): State<Arc<Idp>>) -> Response {
    idp.evil_hits.fetch_add(1, Ordering::SeqCst);
    "{}".into_response()
}

struct Signer {
    kid: String,
    key: EncodingKey,
    jwk: Jwk,
}

fn signer(file: &str, kid: &str) -> Signer {
    install_crypto_provider();
    let pem = std::fs::read(format!(
        "{}/testdata/keys/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let key = EncodingKey::from_rsa_pem(&pem).unwrap();
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    Signer {
        kid: kid.to_owned(),
        key,
        jwk,
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

impl Signer {
    fn token_with(&self, exp: u64, tweak: impl FnOnce(&mut Header)) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        tweak(&mut header);
        let claims =
            json!({"sub": self.kid, "iss": ISS, "aud": AUD, "exp": exp, "permissions": ["A"]});
        encode(&header, &claims, &self.key).unwrap()
    }

    fn token(&self) -> String {
        self.token_with(now() + 300, |_| {})
    }

    /// Signed by this key but naming another `kid`.
    fn token_as(&self, kid: &str) -> String {
        self.token_with(now() + 300, |h| h.kid = Some(kid.to_owned()))
    }
}

fn verifier(jwks: Jwks, cache_bytes: u64) -> JwtVerifier {
    verifier_on(jwks, cache_bytes, Clock::system())
}

fn verifier_on(jwks: Jwks, cache_bytes: u64, clock: Clock) -> JwtVerifier {
    JwtVerifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .algorithms([Algorithm::RS256])
        .jwks(jwks)
        .leeway(Duration::ZERO)
        .token_cache_bytes(cache_bytes)
        .clock(clock)
        .build()
        .unwrap()
}

async fn subject(v: &JwtVerifier, token: &str) -> Result<String, AuthError> {
    v.verify(token).await.map(|p| p.subject().to_owned())
}

#[tokio::test]
async fn unknown_kid_refreshes_at_most_once_per_interval() {
    const INTERVAL: Duration = Duration::from_secs(2);
    let clock = ManualClock::new(now());
    let (k1, k2) = (
        signer("rsa2048.pem", "k1"),
        signer("rsa2048-other.pem", "k2"),
    );
    // Signed up front: signing a thousand tokens may take longer than the interval.
    let random = std::collections::hash_map::RandomState::new();
    let spray: Vec<_> = (0..1000)
        .map(|i| k1.token_as(&format!("{:016x}", random.hash_one(i))))
        .collect();
    let idp = Server::start(vec![k1.jwk.clone()], None).await;
    let jwks = Jwks::builder(idp.url())
        .min_refresh_interval(INTERVAL)
        .clock(clock.clock())
        .load()
        .await
        .unwrap();
    assert_eq!(idp.hits(), 1);
    let v = verifier_on(jwks.clone(), 0, clock.clock());
    assert_eq!(subject(&v, &k1.token()).await.as_deref(), Ok("k1"));

    // The issuer rotates in k2; within the interval the new kid is refused without a fetch.
    idp.answer(Answer::Keys(vec![k1.jwk.clone(), k2.jwk.clone()], None));
    assert_eq!(subject(&v, &k2.token()).await, Err(AuthError::UnknownKey));
    assert_eq!(idp.hits(), 1);

    clock.advance(INTERVAL - Duration::from_millis(1));
    assert_eq!(subject(&v, &k2.token()).await, Err(AuthError::UnknownKey));
    assert_eq!(idp.hits(), 1, "not before the interval has passed");
    clock.advance(Duration::from_millis(1));
    assert_eq!(subject(&v, &k2.token()).await.as_deref(), Ok("k2"));
    assert_eq!(idp.hits(), 2);
    assert_eq!(jwks.kids(), ["k1", "k2"]);

    // An attacker spraying 1,000 random kids gets one refusal each and no fetch.
    let refused = futures::future::join_all(spray.iter().map(|t| subject(&v, t))).await;
    assert!(refused.iter().all(|r| r == &Err(AuthError::UnknownKey)));
    assert_eq!(idp.hits(), 2, "no fetch inside the interval");

    clock.advance(INTERVAL);
    let refused = futures::future::join_all(spray.iter().map(|t| subject(&v, t))).await;
    assert!(refused.iter().all(|r| r == &Err(AuthError::UnknownKey)));
    assert_eq!(idp.hits(), 3, "one fetch for the whole burst");
}

#[tokio::test]
async fn an_outage_or_garbage_keeps_the_last_good_keys() {
    let k1 = signer("rsa2048.pem", "k1");
    let idp = Server::start(vec![k1.jwk.clone()], None).await;
    let jwks = Jwks::builder(idp.url())
        .min_refresh_interval(Duration::from_secs(60)) // only the explicit refreshes below fetch
        .load()
        .await
        .unwrap();
    let v = verifier(jwks.clone(), 0);
    let huge = format!(r#"{{"keys":[],"padding":"{}"}}"#, "x".repeat(600 * 1024));
    let bad = [
        Answer::Status(500),
        Answer::Status(404),
        Answer::Body("<html>maintenance</html>".into()),
        Answer::Body(r#"{"keys":[]}"#.into()),
        Answer::Body(r#"{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"k9"}]}"#.into()),
        Answer::Body(huge),
    ];
    for (i, answer) in bad.into_iter().enumerate() {
        idp.answer(answer);
        assert!(jwks.refresh().await.is_err(), "answer {i} must fail");
        assert_eq!(idp.hits(), i + 2);
        assert_eq!(subject(&v, &k1.token()).await.as_deref(), Ok("k1"));
        assert_eq!(jwks.kids(), ["k1"]);
    }
}

#[tokio::test]
async fn max_age_schedules_a_background_refresh() {
    let k1 = signer("rsa2048.pem", "k1");
    let clock = ManualClock::new(now());
    let idp = Server::start(vec![k1.jwk.clone()], Some("public, max-age=1")).await;
    let jwks = Jwks::builder(idp.url())
        .min_refresh_interval(Duration::from_millis(100))
        .max_age_bounds(Duration::from_secs(1), Duration::from_secs(3600))
        .clock(clock.clock())
        .load()
        .await
        .unwrap();
    let v = verifier_on(jwks, 0, clock.clock());
    assert!(subject(&v, &k1.token()).await.is_ok());
    assert_eq!(idp.hits(), 1, "fresh keys are not fetched again");
    clock.advance(Duration::from_secs(1));
    assert!(
        subject(&v, &k1.token()).await.is_ok(),
        "stale keys still serve"
    );
    assert_eq!(idp.wait_for_hits(2).await, 2);

    // A long max-age keeps the keys without fetching.
    let idp = Server::start(vec![k1.jwk.clone()], Some("max-age=3600")).await;
    let jwks = Jwks::builder(idp.url())
        .min_refresh_interval(Duration::from_millis(100))
        .max_age_bounds(Duration::from_secs(1), Duration::from_secs(3600))
        .clock(clock.clock())
        .load()
        .await
        .unwrap();
    let v = verifier_on(jwks, 0, clock.clock());
    clock.advance(Duration::from_millis(3_599_900));
    assert!(subject(&v, &k1.token_with(now() + 7200, |_| {}))
        .await
        .is_ok());
    // Nothing observable happens when no fetch starts: give one that did time to arrive.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(idp.hits(), 1);
}

/// With only cached tokens arriving, a key removed from the JWKS stops being accepted within
/// one refresh interval (the `max-age` of the set).
#[tokio::test]
async fn a_removed_key_stops_cached_tokens_within_one_refresh_interval() {
    let (k1, k2) = (
        signer("rsa2048.pem", "k1"),
        signer("rsa2048-other.pem", "k2"),
    );
    let clock = ManualClock::new(now());
    let idp = Server::start(vec![k1.jwk.clone(), k2.jwk.clone()], Some("max-age=60")).await;
    let jwks = Jwks::builder(idp.url())
        .max_age_bounds(Duration::from_secs(60), Duration::from_secs(3600))
        .clock(clock.clock())
        .load()
        .await
        .unwrap();
    let v = verifier_on(jwks.clone(), DEFAULT_BYTES, clock.clock());
    let t1 = k1.token_with(now() + 3600, |_| {});
    assert_eq!(subject(&v, &t1).await.as_deref(), Ok("k1"));
    idp.answer(Answer::Keys(vec![k2.jwk.clone()], Some("max-age=60")));
    clock.advance(Duration::from_secs(59));
    assert_eq!(subject(&v, &t1).await.as_deref(), Ok("k1"), "cached");
    assert_eq!(idp.hits(), 1, "fresh keys are not fetched");
    clock.advance(Duration::from_secs(1));
    // The set is stale: the cache hit starts a refresh in the background.
    assert_eq!(subject(&v, &t1).await.as_deref(), Ok("k1"));
    assert_eq!(wait_for_kids(&jwks, &["k2"]).await, ["k2"]);
    assert_eq!(subject(&v, &t1).await, Err(AuthError::UnknownKey));
    assert_eq!(idp.hits(), 2);
}

#[tokio::test]
async fn urls_in_the_token_header_are_never_fetched() {
    let k1 = signer("rsa2048.pem", "k1");
    let attacker = signer("rsa2048-other.pem", "evil");
    let idp = Server::start(vec![k1.jwk.clone()], None).await;
    let jwks = Jwks::builder(idp.url())
        .min_refresh_interval(Duration::ZERO)
        .load()
        .await
        .unwrap();
    let v = verifier(jwks, DEFAULT_BYTES);
    let evil = format!("{}/evil", idp.base);
    for kid in ["evil", "k1"] {
        let token = attacker.token_with(now() + 300, |h| {
            h.kid = Some(kid.to_owned());
            h.jku = Some(evil.clone());
            h.x5u = Some(evil.clone());
            h.jwk = Some(attacker.jwk.clone());
        });
        let refused = subject(&v, &token).await.unwrap_err();
        assert!(
            matches!(refused, AuthError::UnknownKey | AuthError::BadSignature),
            "{refused:?}"
        );
    }
    assert_eq!(idp.idp.evil_hits.load(Ordering::SeqCst), 0);
}

const DEFAULT_BYTES: u64 = mcp_rbac::verify::DEFAULT_CACHE_BYTES;

#[tokio::test]
async fn a_cached_token_is_refused_once_its_key_leaves_the_jwks() {
    let (k1, k2) = (
        signer("rsa2048.pem", "k1"),
        signer("rsa2048-other.pem", "k2"),
    );
    // Through an unknown-kid refresh.
    let clock = ManualClock::new(now());
    let idp = Server::start(vec![k1.jwk.clone(), k2.jwk.clone()], None).await;
    let jwks = Jwks::builder(idp.url())
        .min_refresh_interval(Duration::from_millis(200))
        .clock(clock.clock())
        .load()
        .await
        .unwrap();
    let v = verifier_on(jwks, DEFAULT_BYTES, clock.clock());
    let (t1, t2) = (k1.token(), k2.token());
    assert_eq!(subject(&v, &t1).await.as_deref(), Ok("k1"));
    assert_eq!(subject(&v, &t1).await.as_deref(), Ok("k1"), "cached");
    idp.answer(Answer::Keys(vec![k2.jwk.clone()], None));
    clock.advance(Duration::from_millis(200));
    assert_eq!(
        subject(&v, &k2.token_as("k3")).await,
        Err(AuthError::UnknownKey)
    );
    assert_eq!(idp.hits(), 2);
    assert_eq!(subject(&v, &t1).await, Err(AuthError::UnknownKey));
    assert_eq!(subject(&v, &t2).await.as_deref(), Ok("k2"));

    // Through a scheduled (max-age) refresh in the background.
    let idp = Server::start(vec![k1.jwk.clone(), k2.jwk.clone()], Some("max-age=1")).await;
    let jwks = Jwks::builder(idp.url())
        .min_refresh_interval(Duration::from_millis(100))
        .max_age_bounds(Duration::from_secs(1), Duration::from_secs(60))
        .clock(clock.clock())
        .load()
        .await
        .unwrap();
    let v = verifier_on(jwks.clone(), DEFAULT_BYTES, clock.clock());
    assert_eq!(subject(&v, &t1).await.as_deref(), Ok("k1"));
    idp.answer(Answer::Keys(vec![k2.jwk.clone()], Some("max-age=1")));
    clock.advance(Duration::from_secs(1));
    assert_eq!(subject(&v, &t2).await.as_deref(), Ok("k2"));
    assert_eq!(wait_for_kids(&jwks, &["k2"]).await, ["k2"]);
    assert_eq!(idp.hits(), 2);
    assert_eq!(subject(&v, &t1).await, Err(AuthError::UnknownKey));
}

#[tokio::test]
async fn a_cached_token_still_expires() {
    let k1 = signer("rsa2048.pem", "k1");
    let idp = Server::start(vec![k1.jwk.clone()], None).await;
    let jwks = Jwks::load(idp.url()).await.unwrap();
    let clock = ManualClock::new(now());
    let v = verifier_on(jwks, DEFAULT_BYTES, clock.clock());
    let exp = now() + 1;
    let token = k1.token_with(exp, |_| {});
    assert_eq!(subject(&v, &token).await.as_deref(), Ok("k1"));
    assert_eq!(subject(&v, &token).await.as_deref(), Ok("k1"));
    // Leeway zero: the last second it serves is `exp` itself.
    clock.advance(Duration::from_secs(
        exp - clock.clock().unix_seconds() as u64,
    ));
    assert_eq!(
        subject(&v, &token).await.as_deref(),
        Ok("k1"),
        "cached at exp"
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(subject(&v, &token).await, Err(AuthError::Expired));
    assert_eq!(subject(&v, &token).await, Err(AuthError::Expired));
}

#[tokio::test]
async fn a_jwks_that_does_not_load_is_an_error() {
    let idp = Server::start(vec![], None).await;
    let err = Jwks::load(idp.url()).await.unwrap_err().to_string();
    assert!(err.contains("no usable signature key"), "{err}");
    idp.answer(Answer::Status(503));
    let err = Jwks::load(idp.url()).await.unwrap_err().to_string();
    assert!(err.contains("503"), "{err}");
}

/// A remotely fetched set with a key not meant for verification: that key is skipped (with a
/// warning naming its kid), the others load.
#[tokio::test]
async fn keys_not_for_verification_are_skipped_from_a_fetched_set() {
    let k1 = signer("rsa2048.pem", "k1");
    let mut enc = signer("rsa2048-other.pem", "enc-1").jwk;
    enc.common.key_operations = Some(vec![jsonwebtoken::jwk::KeyOperations::Encrypt]);
    let idp = Server::start(vec![enc, k1.jwk.clone()], None).await;
    let jwks = Jwks::load(idp.url()).await.unwrap();
    assert_eq!(jwks.kids(), ["k1"]);
}

/// `refresh()` fetches now, even when the clock has not moved since the last fetch.
#[tokio::test]
async fn an_explicit_refresh_fetches_on_a_standing_clock() {
    let (k1, k2) = (
        signer("rsa2048.pem", "k1"),
        signer("rsa2048-other.pem", "k2"),
    );
    let clock = ManualClock::new(now());
    let idp = Server::start(vec![k1.jwk.clone()], None).await;
    let jwks = Jwks::builder(idp.url())
        .clock(clock.clock())
        .load()
        .await
        .unwrap();
    idp.answer(Answer::Keys(vec![k1.jwk.clone(), k2.jwk.clone()], None));
    assert_eq!(jwks.refresh().await.ok(), Some(true));
    assert_eq!(idp.hits(), 2);
    assert_eq!(jwks.kids(), ["k1", "k2"]);
}
