//! Attacks on the running products server over HTTP, one class of RFC 8725 ("JWT Best Current
//! Practices") and of the OWASP JWT cheat sheet at a time: `alg: none`, tampered signatures,
//! algorithm confusion, attacker keys named by the header, `kid` injection, algorithms outside the
//! allow-list, the time claims and their leeway, audience and issuer, permission look-alikes,
//! oversized and non-base64 tokens, and the shapes of the `Authorization` header.
//!
//! Every case asserts the exact outcome of the README's "On the wire" table (status,
//! `WWW-Authenticate`, the JSON body or the JSON-RPC error) and that no tool body ran (the server's counters). Forged tokens are built by
//! hand, three base64url segments, so headers jsonwebtoken would refuse to write can be sent too.
//!
//! Every `tracing` event of the binary is captured (README, "On the wire": decisions on
//! `mcp_rbac::audit` and `mcp_rbac::auth`, never a token, a signature or a key): at the end of
//! each case the log holds none of the tokens, signatures and keys used so far, and holds the
//! events the case's outcomes call for.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{crypto, Algorithm, EncodingKey};
use mcp_rbac::testkit::{now, DevIssuer};
use mcp_rbac::verify::{JwtVerifier, VerificationKey};
use mcp_rbac_examples::products::{Counters, Running};
use mcp_rbac_tests::fixtures::logs::{self, Capture};
use mcp_rbac_tests::fixtures::{metadata_url, products_claims, products_stateless, serve_products};
use mcp_rbac_tests::{Mcp, Reply, ServeOptions, Served};
use serde_json::{json, Value};

const EXPIRED: &str = "token has expired";
const NOT_YET: &str = "token is not valid yet";
const ALG: &str = "token algorithm is not allowed";
const MALFORMED: &str = "token is malformed";
const BAD_SIG: &str = "token signature is invalid";
const UNKNOWN_KEY: &str = "no trusted key matches the token";
const WRONG_AUD: &str = "token audience is not this resource";
const WRONG_ISS: &str = "token issuer is not trusted";
const WRONG_TYP: &str = "token type is not accepted";
const TOO_LARGE: &str = "token is larger than 16384 bytes";
const HEADER_MALFORMED: &str = "Authorization header is not `Bearer <token>`";
const DUPLICATE: &str = "more than one Authorization header";
const EXP_TYPE: &str = "token claim `exp` must be a NumericDate (seconds since the epoch)";
const NBF_TYPE: &str = "token claim `nbf` must be a NumericDate (seconds since the epoch)";
const AUD_TYPE: &str = "token claim `aud` must be a string or an array of strings";
const PERMISSIONS_TYPE: &str = "token claim `permissions` must be an array of strings";
const ROLES_TYPE: &str = "token claim `roles` must be an array of strings";

/// What the server must answer.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    /// HTTP 401 `invalid_token` with this `error_description`.
    Invalid(&'static str),
    /// HTTP 401 with the bare challenge: no bearer credential was seen at all.
    Missing,
    /// HTTP 200 with the JSON-RPC 403 denial of `delete_product` (requires `Admin.Write`).
    Denied,
    /// `delete_product` ran.
    Allowed,
}

use Outcome::{Allowed, Denied, Invalid, Missing};

// ---------------------------------------------------------------------------------------------
// Forging tokens

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("base64url")
}

/// A key file of `mcp-rbac/testdata/keys`; its PEM body is remembered as a secret of the log.
fn keyfile(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../mcp-rbac/testdata/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let pem = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    log().pem(&String::from_utf8_lossy(&pem));
    pem
}

/// The log capture of this binary (installed on first use).
fn log() -> &'static Capture {
    logs::capture()
}

/// A compact JWS from a raw header text (so duplicate members and odd values go out as written),
/// the claims, and a signer over `header.payload`.
fn jws_raw(header: &str, claims: &Value, sign: impl FnOnce(&[u8]) -> String) -> String {
    let input = format!("{}.{}", b64(header), b64(claims.to_string()));
    let signature = sign(input.as_bytes());
    format!("{input}.{signature}")
}

/// [`jws_raw`] with a JSON header.
fn jws(header: &Value, claims: &Value, sign: impl FnOnce(&[u8]) -> String) -> String {
    jws_raw(&header.to_string(), claims, sign)
}

/// Signed by `key` with `alg`, whatever the header claims.
fn signed(header: &Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    jws(header, claims, |input| {
        crypto::sign(input, key, alg).expect("signing")
    })
}

fn attacker_es256() -> EncodingKey {
    EncodingKey::from_ec_pem(&keyfile("p256.pem")).expect("p256 key")
}

/// The attacker's P-256 public key as a JWK (the point is the last 65 bytes of the SPKI DER).
fn attacker_jwk(kid: &str) -> Value {
    let pem = String::from_utf8(keyfile("p256.pub.pem")).unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD.decode(body).unwrap();
    let point = &der[der.len() - 65..];
    assert_eq!(point[0], 4, "uncompressed point");
    json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
        "x": b64(&point[1..33]), "y": b64(&point[33..])})
}

/// Flips bit `bit` of the decoded third segment.
fn flip_signature_bit(token: &str, bit: usize) -> String {
    let (input, signature) = token.rsplit_once('.').unwrap();
    let mut bytes = unb64(signature);
    bytes[bit / 8] ^= 1 << (bit % 8);
    format!("{input}.{}", b64(bytes))
}

fn parts(token: &str) -> (String, String, String) {
    let mut it = token.split('.').map(str::to_owned);
    (it.next().unwrap(), it.next().unwrap(), it.next().unwrap())
}

// ---------------------------------------------------------------------------------------------
// A listener that counts connections: a `jku`/`x5u` fetch would show up here.

struct Trap {
    url: String,
    hits: Arc<AtomicUsize>,
}

impl Trap {
    /// Listens, and proves it counts by taking one connection itself (so `hits` starts at 1).
    async fn start() -> Trap {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                drop(socket);
            }
        });
        let probe = tokio::net::TcpStream::connect(addr).await.unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while hits.load(Ordering::SeqCst) == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "trap never saw its probe"
            );
            tokio::task::yield_now().await;
        }
        drop(probe);
        Trap {
            url: format!("http://{addr}"),
            hits,
        }
    }

    fn fetches(&self) -> usize {
        self.hits.load(Ordering::SeqCst) - 1
    }
}

// ---------------------------------------------------------------------------------------------
// The server under attack

struct Target {
    client: Mcp,
    url: String,
    metadata: String,
    counters: Arc<Counters>,
    /// Claims every valid token carries (merged under each case's claims).
    iss: String,
    aud: String,
    /// Runs of `delete_product` the cases so far allowed.
    deletes: u64,
    /// The outcomes the cases so far met: what the log must show.
    seen: BTreeSet<String>,
    running: Option<Running>,
    _served: Option<Served>,
}

const TWIN_ISS: &str = "https://twin-issuer.test";
const TWIN_AUD: &str = "https://twin.example/mcp";
const TWIN_KID: &str = "twin-key";

impl Target {
    /// The products server as its binary starts it (development issuer), stateless.
    async fn products() -> (Target, Arc<DevIssuer>) {
        log();
        let server = products_stateless().await;
        let issuer = server.issuer.clone().expect("development issuer");
        log().jwk(&serde_json::to_value(&issuer.jwks().keys[0]).unwrap());
        let tokens = server.tokens.clone().expect("development tokens");
        for token in [&tokens.admin, &tokens.user, &tokens.guest] {
            log().token(token);
        }
        let target = Target {
            client: Mcp::new(&server.url, None),
            url: server.url.clone(),
            metadata: metadata_url(server.addr),
            counters: server.counters.clone(),
            iss: issuer.issuer().to_owned(),
            aud: server.url.clone(),
            deletes: 0,
            seen: BTreeSet::new(),
            running: Some(server),
            _served: None,
        };
        (target, issuer)
    }

    /// The same products router and role policy behind a verifier whose key the test holds
    /// (testdata `p256.pem`, kid `twin-key`): tokens with crafted headers and a *valid* signature.
    async fn twin() -> (Target, EncodingKey) {
        log();
        let key = VerificationKey::from_pem(&keyfile("p256.pub.pem"))
            .unwrap()
            .with_kid(TWIN_KID)
            .with_algorithm(Algorithm::ES256);
        let verifier = JwtVerifier::builder()
            .issuer(TWIN_ISS)
            .audience(TWIN_AUD)
            .algorithms([Algorithm::ES256])
            .key(key)
            .claims(products_claims())
            .build()
            .unwrap();
        let (served, counters) =
            serve_products(ServeOptions::verified_by(Arc::new(verifier))).await;
        let target = Target {
            client: Mcp::new(&served.url, None),
            url: served.url.clone(),
            metadata: served.metadata_url.clone(),
            counters,
            iss: TWIN_ISS.into(),
            aud: TWIN_AUD.into(),
            deletes: 0,
            seen: BTreeSet::new(),
            running: None,
            _served: Some(served),
        };
        (target, attacker_es256())
    }

    /// Admin claims for this server, `extra` merged over them. A `null` stays a literal `null`
    /// in a hand-signed token; the development issuer's `token` removes the claim instead.
    fn claims(&self, extra: Value) -> Value {
        let mut claims = json!({"sub": "mallory", "roles": ["admin"], "iss": self.iss,
            "aud": self.aud, "iat": now(), "exp": now() + 600});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            claims[k] = v;
        }
        claims
    }

    fn delete_call() -> Value {
        json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": {"name": "delete_product", "arguments": {"id": 2}}})
    }

    /// `delete_product` with these raw `Authorization` header values (none, one, or several).
    async fn send(&self, authorization: &[&[u8]]) -> Reply {
        let headers: Vec<(&str, &[u8])> = authorization
            .iter()
            .map(|v| ("authorization", *v))
            .collect();
        self.client.post_with(&Self::delete_call(), &headers).await
    }

    /// Sends `token` as `Bearer <token>` and checks the outcome.
    async fn expect(&mut self, case: &str, token: &str, outcome: Outcome) {
        let reply = self.send(&[format!("Bearer {token}").as_bytes()]).await;
        self.check(case, &reply, outcome, &[token]);
    }

    /// Checks `reply` against `outcome`, and that no body ran beyond the allowed deletes.
    fn check(&mut self, case: &str, reply: &Reply, outcome: Outcome, secrets: &[&str]) {
        for secret in secrets {
            log().token(secret);
        }
        self.seen.insert(match outcome {
            Invalid(description) => format!("invalid:{description}"),
            other => format!("{other:?}"),
        });
        let challenge = reply.header("www-authenticate");
        match outcome {
            Invalid(description) => {
                assert_eq!(reply.status, 401, "{case}: {}", reply.raw);
                assert_eq!(
                    challenge,
                    Some(
                        format!(
                            "Bearer error=\"invalid_token\", resource_metadata=\"{}\"",
                            self.metadata
                        )
                        .as_str()
                    ),
                    "{case}"
                );
                assert_eq!(
                    reply.json,
                    json!({"error": "invalid_token", "error_description": description}),
                    "{case}: {}",
                    reply.raw
                );
            }
            Missing => {
                assert_eq!(reply.status, 401, "{case}: {}", reply.raw);
                assert_eq!(
                    challenge,
                    Some(format!("Bearer resource_metadata=\"{}\"", self.metadata).as_str()),
                    "{case}"
                );
                assert_eq!(reply.raw, "", "{case}");
            }
            Denied => {
                assert_eq!(reply.status, 200, "{case}: {}", reply.raw);
                assert_eq!(challenge, None, "{case}");
                assert_eq!(
                    reply.json["error"],
                    json!({"code": 403,
                        "message": "permission denied: tool `delete_product` requires Admin.Write",
                        "data": {"tool": "delete_product", "required": "Admin.Write", "reason": "missing_permission"}}),
                    "{case}: {}",
                    reply.raw
                );
                assert!(reply.result().is_none(), "{case}");
            }
            Allowed => {
                assert_eq!(reply.status, 200, "{case}: {}", reply.raw);
                assert_eq!(
                    reply.json["result"]["content"][0]["text"], "product 2 deleted",
                    "{case}: {}",
                    reply.raw
                );
                assert_eq!(reply.json["result"]["isError"], false, "{case}");
                self.deletes += 1;
            }
        }
        for secret in secrets.iter().filter(|s| s.len() >= 16) {
            assert!(!reply.raw.contains(*secret), "{case}: token echoed");
            let signature = secret.rsplit('.').next().unwrap_or_default();
            if signature.len() >= 16 {
                assert!(!reply.raw.contains(signature), "{case}: signature echoed");
            }
        }
        self.assert_runs(case);
    }

    /// No body ran but the deletes the cases allowed.
    fn assert_runs(&self, case: &str) {
        let deletes = self.counters.get("delete_product");
        assert_eq!(deletes, self.deletes, "{case}: runs of delete_product");
        let others = self.counters.ran_except(&["delete_product"]);
        assert!(others.is_empty(), "{case}: these ran: {others:?}");
    }

    /// Stops the server, then checks the log: no token, signature or key of any case so far,
    /// and an event for every kind of outcome this target met, at its documented target and
    /// level.
    async fn stop(self) {
        if let Some(server) = self.running {
            server.shutdown().await;
        }
        let text = log().assert_no_secret_logged();
        assert!(log().secrets() > 0 && !text.is_empty(), "nothing captured");
        for seen in &self.seen {
            let (level, target, fields) = match seen.split_once(':') {
                Some((_, description)) => (
                    "INFO",
                    "mcp_rbac::auth",
                    vec![
                        "decision=\"reject\"".to_owned(),
                        format!("reason={description:?}"),
                    ],
                ),
                None if seen == "Denied" => (
                    "INFO",
                    "mcp_rbac::audit",
                    vec![
                        "decision=\"deny\"".to_owned(),
                        "name=\"delete_product\"".to_owned(),
                        "required=\"Admin.Write\"".to_owned(),
                    ],
                ),
                None if seen == "Allowed" => (
                    "DEBUG",
                    "mcp_rbac::audit",
                    vec![
                        "decision=\"allow\"".to_owned(),
                        "name=\"delete_product\"".to_owned(),
                    ],
                ),
                // No credential: nothing to reject, nothing decided.
                None => continue,
            };
            let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
            assert!(
                !logs::lines(&text, level, target, &fields).is_empty(),
                "no {level} event on {target} with {fields:?} for the outcome {seen}"
            );
        }
    }
}

/// The development issuer's `kid`, read from one of its tokens.
fn dev_kid(issuer: &DevIssuer) -> String {
    let header: Value =
        serde_json::from_slice(&unb64(&parts(&issuer.token(json!({"sub": "x"}))).0)).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

// ---------------------------------------------------------------------------------------------
// The cases

#[tokio::test]
async fn alg_none_in_every_casing() {
    let (mut target, issuer) = Target::products().await;
    let claims = target.claims(json!({}));
    let real = issuer.token(claims.clone());
    let real_signature = parts(&real).2;
    for alg in ["none", "None", "NONE", "nOnE"] {
        for header in [
            json!({"alg": alg}),
            json!({"alg": alg, "typ": "JWT"}),
            json!({"alg": alg, "typ": "JWT", "kid": dev_kid(&issuer)}),
        ] {
            for signature in ["", "AAAA", real_signature.as_str()] {
                let token = jws(&header, &claims, |_| signature.to_owned());
                let case = format!("alg {header} with signature {signature:?}");
                target.expect(&case, &token, Invalid(ALG)).await;
            }
            // Without the third segment it is not a JWS at all.
            let unsigned = jws(&header, &claims, |_| String::new());
            let two_segments = unsigned.trim_end_matches('.');
            target
                .expect(
                    &format!("{header}, two segments"),
                    two_segments,
                    Invalid(MALFORMED),
                )
                .await;
        }
    }
    // The genuine token is fine: the refusals above were for `alg` alone.
    target.expect("the genuine token", &real, Allowed).await;
    target.stop().await;
}

#[tokio::test]
async fn stripped_truncated_and_bit_flipped_signatures() {
    let (mut target, issuer) = Target::products().await;
    let token = issuer.token(target.claims(json!({})));
    let (header, payload, signature) = parts(&token);
    assert_eq!(signature.len(), 86, "ES256: 64 bytes");
    let guest_signature = parts(&issuer.token(json!({"sub": "guest", "roles": ["guest"]}))).2;
    let cases: Vec<(String, String, &str)> = vec![
        ("stripped".into(), format!("{header}.{payload}."), BAD_SIG),
        (
            "stripped with its dot".into(),
            format!("{header}.{payload}"),
            MALFORMED,
        ),
        (
            "truncated by 2 chars".into(),
            format!("{header}.{payload}.{}", &signature[..84]),
            BAD_SIG,
        ),
        (
            "truncated to 40 chars".into(),
            format!("{header}.{payload}.{}", &signature[..40]),
            BAD_SIG,
        ),
        (
            "truncated by 1 char (not base64url)".into(),
            format!("{header}.{payload}.{}", &signature[..85]),
            MALFORMED,
        ),
        (
            "one char".into(),
            format!("{header}.{payload}.A"),
            MALFORMED,
        ),
        (
            "all-zero r and s (CVE-2022-21449)".into(),
            format!("{header}.{payload}.{}", b64([0u8; 64])),
            BAD_SIG,
        ),
        (
            "0xff r and s".into(),
            format!("{header}.{payload}.{}", b64([0xffu8; 64])),
            BAD_SIG,
        ),
        (
            "signature doubled".into(),
            format!("{header}.{payload}.{signature}{signature}"),
            BAD_SIG,
        ),
        (
            "another token's signature".into(),
            format!("{header}.{payload}.{guest_signature}"),
            BAD_SIG,
        ),
        ("padded signature".into(), format!("{token}=="), MALFORMED),
    ];
    for (case, forged, description) in cases {
        target.expect(&case, &forged, Invalid(description)).await;
    }
    for bit in [0, 1, 7, 100, 255, 256, 300, 511] {
        let forged = flip_signature_bit(&token, bit);
        target
            .expect(&format!("bit {bit} flipped"), &forged, Invalid(BAD_SIG))
            .await;
    }
    target.expect("the untouched token", &token, Allowed).await;
    // Once verified (and cached), a tampered twin still gets no free pass.
    target
        .expect(
            "bit flipped after the original was cached",
            &flip_signature_bit(&token, 42),
            Invalid(BAD_SIG),
        )
        .await;
    target.stop().await;
}

#[tokio::test]
async fn hmac_with_empty_secret_or_the_public_key_as_secret() {
    let (mut target, issuer) = Target::products().await;
    let kid = dev_kid(&issuer);
    let claims = target.claims(json!({}));
    // The public key in every form an attacker could fetch it: the served JWKS document, the
    // JWK, the raw point, x‖y, SPKI DER and PEM.
    let addr = target.running.as_ref().unwrap().addr;
    let jwks_doc = reqwest::get(format!("http://{addr}/.well-known/jwks.json"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let jwks: Value = serde_json::from_slice(&jwks_doc).unwrap();
    let jwk = &jwks["keys"][0];
    assert_eq!(jwk["kid"], kid.as_str());
    let (x, y) = (
        unb64(jwk["x"].as_str().unwrap()),
        unb64(jwk["y"].as_str().unwrap()),
    );
    let point = [&[4u8][..], &x, &y].concat();
    let spki = [
        &[
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ][..],
        &point,
    ]
    .concat();
    let b64_der = STANDARD.encode(&spki);
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n{}\n-----END PUBLIC KEY-----\n",
        &b64_der[..64],
        &b64_der[64..]
    );
    // The PEM is the server's key indeed.
    assert!(VerificationKey::from_pem(pem.as_bytes()).is_ok());
    log().pem(&pem);
    let secrets: Vec<(&str, Vec<u8>)> = vec![
        ("empty secret", Vec::new()),
        ("JWKS document", jwks_doc.clone()),
        ("JWK", jwk.to_string().into_bytes()),
        ("uncompressed point", point.clone()),
        ("x||y", [x.clone(), y.clone()].concat()),
        ("SPKI DER", spki.clone()),
        ("PEM", pem.clone().into_bytes()),
        ("PEM without newline", pem.trim_end().as_bytes().to_vec()),
    ];
    for (what, secret) in &secrets {
        let key = EncodingKey::from_secret(secret);
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let name = format!("{alg:?}");
            for header in [
                json!({"alg": name, "typ": "JWT", "kid": kid}),
                json!({"alg": name}),
            ] {
                let token = signed(&header, &claims, &key, alg);
                target
                    .expect(
                        &format!("{name} keyed with the {what}"),
                        &token,
                        Invalid(ALG),
                    )
                    .await;
            }
        }
    }
    target.stop().await;
}

#[tokio::test]
async fn attacker_keys_named_by_the_header_are_never_fetched_or_used() {
    let trap = Trap::start().await;
    let (mut target, issuer) = Target::products().await;
    let kid = dev_kid(&issuer);
    let claims = target.claims(json!({}));
    let attacker = attacker_es256();
    let jku = format!("{}/jwks.json", trap.url);
    let x5u = format!("{}/cert.pem", trap.url);
    let cases = vec![
        (
            "unknown kid",
            json!({"alg": "ES256", "kid": "attacker-1"}),
            UNKNOWN_KEY,
        ),
        ("no kid", json!({"alg": "ES256"}), BAD_SIG),
        (
            "the server's kid",
            json!({"alg": "ES256", "kid": kid}),
            BAD_SIG,
        ),
        (
            "embedded jwk, its kid",
            json!({"alg": "ES256", "kid": "attacker-1", "jwk": attacker_jwk("attacker-1")}),
            UNKNOWN_KEY,
        ),
        (
            "embedded jwk, the server's kid",
            json!({"alg": "ES256", "kid": kid, "jwk": attacker_jwk(&kid)}),
            BAD_SIG,
        ),
        (
            "embedded jwk, no kid",
            json!({"alg": "ES256", "jwk": attacker_jwk("attacker-1")}),
            BAD_SIG,
        ),
        (
            "jku, unknown kid",
            json!({"alg": "ES256", "kid": "attacker-1", "jku": jku}),
            UNKNOWN_KEY,
        ),
        (
            "jku, the server's kid",
            json!({"alg": "ES256", "kid": kid, "jku": jku}),
            BAD_SIG,
        ),
        (
            "x5u, unknown kid",
            json!({"alg": "ES256", "kid": "attacker-1", "x5u": x5u}),
            UNKNOWN_KEY,
        ),
        ("x5u, no kid", json!({"alg": "ES256", "x5u": x5u}), BAD_SIG),
        (
            "x5c chain",
            json!({"alg": "ES256", "kid": "attacker-1", "x5c": [STANDARD.encode(b"not a certificate")]}),
            UNKNOWN_KEY,
        ),
        (
            "kid is the trap's URL",
            json!({"alg": "ES256", "kid": jku}),
            UNKNOWN_KEY,
        ),
        (
            "every header key at once",
            json!({"alg": "ES256", "kid": kid, "jku": jku, "x5u": x5u,
                "jwk": attacker_jwk(&kid), "x5c": [STANDARD.encode(b"x")]}),
            BAD_SIG,
        ),
    ];
    for (case, header, description) in cases {
        let token = signed(&header, &claims, &attacker, Algorithm::ES256);
        target.expect(case, &token, Invalid(description)).await;
    }
    // A second issuer with the very same `iss` (and audience) but its own key.
    let impostor = DevIssuer::generate(issuer.issuer(), target.aud.clone()).unwrap();
    let token = impostor.token(json!({"sub": "mallory", "roles": ["admin"]}));
    target
        .expect("same iss, other key", &token, Invalid(UNKNOWN_KEY))
        .await;
    assert_eq!(trap.fetches(), 0, "the server fetched an attacker URL");
    target.stop().await;
}

#[tokio::test]
async fn kid_traversal_and_injection() {
    let (mut target, issuer) = Target::products().await;
    let claims = target.claims(json!({}));
    let attacker = attacker_es256();
    let real_kid = dev_kid(&issuer);
    let long = "k".repeat(8000);
    let too_long = "k".repeat(20_000);
    let kids: Vec<String> = vec![
        "../../dev/null".into(),
        "../../../../../../../../etc/passwd".into(),
        "/dev/null".into(),
        "' OR 1=1 --".into(),
        "x' UNION SELECT 'key' --".into(),
        "\" OR \"\"=\"".into(),
        "|| cat /etc/passwd".into(),
        "$(touch /tmp/pwned)".into(),
        "\0".into(),
        format!("{real_kid}\0"),
        format!("{real_kid}\0../../dev/null"),
        format!(" {real_kid}"),
        real_kid.to_uppercase(),
        "".into(),
        "*".into(),
        "%00".into(),
        long.clone(),
    ];
    for kid in &kids {
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": kid});
        let token = signed(&header, &claims, &attacker, Algorithm::ES256);
        let shown: String = kid.chars().take(40).collect();
        target
            .expect(&format!("kid {shown:?}"), &token, Invalid(UNKNOWN_KEY))
            .await;
        // The classic: a kid that points at an empty file, with HMAC over the empty key.
        let header = json!({"alg": "HS256", "typ": "JWT", "kid": kid});
        let token = signed(
            &header,
            &claims,
            &EncodingKey::from_secret(b""),
            Algorithm::HS256,
        );
        target
            .expect(&format!("HS256 kid {shown:?}"), &token, Invalid(ALG))
            .await;
    }
    for (case, header, description) in [
        ("kid a number", json!({"alg": "ES256", "kid": 1}), MALFORMED),
        (
            "kid an array",
            json!({"alg": "ES256", "kid": [real_kid]}),
            MALFORMED,
        ),
        (
            "kid an object",
            json!({"alg": "ES256", "kid": {"$ne": ""}}),
            MALFORMED,
        ),
        ("kid null", json!({"alg": "ES256", "kid": null}), BAD_SIG),
        (
            "kid beyond the size cap",
            json!({"alg": "ES256", "kid": too_long}),
            TOO_LARGE,
        ),
    ] {
        let token = signed(&header, &claims, &attacker, Algorithm::ES256);
        target.expect(case, &token, Invalid(description)).await;
    }
    target.stop().await;
}

#[tokio::test]
async fn algorithms_outside_the_allow_list() {
    let (mut target, issuer) = Target::products().await;
    let kid = dev_kid(&issuer);
    let claims = target.claims(json!({}));
    let rsa = EncodingKey::from_rsa_pem(&keyfile("rsa2048.pem")).unwrap();
    let ed = EncodingKey::from_ed_pem(&keyfile("ed25519.pem")).unwrap();
    let p384 = EncodingKey::from_ec_pem(&keyfile("p384.pem")).unwrap();
    let secret = "0123456789abcdef0123456789abcdef";
    log().secret(secret);
    let hmac = EncodingKey::from_secret(secret.as_bytes());
    let keyed = [
        (Algorithm::RS256, &rsa),
        (Algorithm::RS384, &rsa),
        (Algorithm::RS512, &rsa),
        (Algorithm::PS256, &rsa),
        (Algorithm::PS384, &rsa),
        (Algorithm::PS512, &rsa),
        (Algorithm::EdDSA, &ed),
        (Algorithm::ES384, &p384),
        (Algorithm::HS256, &hmac),
    ];
    for (alg, key) in keyed {
        for header in [
            json!({"alg": format!("{alg:?}"), "typ": "JWT", "kid": kid}),
            json!({"alg": format!("{alg:?}"), "typ": "JWT"}),
        ] {
            let token = signed(&header, &claims, key, alg);
            target
                .expect(&format!("{alg:?} {header}"), &token, Invalid(ALG))
                .await;
        }
    }
    // Names jsonwebtoken does not know, and near-misses of the pinned one.
    let attacker = attacker_es256();
    for alg in [
        "es256", "ES256 ", " ES256", "ES-256", "ES512", "ES256K", "Ed25519", "RSA-OAEP", "dir",
        "A128KW", "HS1", "",
    ] {
        let header = json!({"alg": alg, "typ": "JWT", "kid": kid});
        let token = signed(&header, &claims, &attacker, Algorithm::ES256);
        target
            .expect(&format!("alg {alg:?}"), &token, Invalid(ALG))
            .await;
    }
    for (case, header) in [
        ("alg missing", json!({"typ": "JWT", "kid": kid})),
        ("alg a number", json!({"alg": 256, "kid": kid})),
        ("alg an array", json!({"alg": ["ES256"], "kid": kid})),
        ("alg null", json!({"alg": null, "kid": kid})),
    ] {
        let token = signed(&header, &claims, &attacker, Algorithm::ES256);
        target.expect(case, &token, Invalid(MALFORMED)).await;
    }
    target.stop().await;
}

#[tokio::test]
async fn expiry_not_before_and_the_leeway() {
    let (mut target, issuer) = Target::products().await;
    let t = now();
    // Default leeway 30 s. The server's clock reads at or after `t`, so "just past" is certain;
    // "just inside" has 5 s of slack for a slow machine.
    let cases: Vec<(&str, Value, Outcome)> = vec![
        (
            "expired an hour ago",
            json!({"exp": t - 3600}),
            Invalid(EXPIRED),
        ),
        (
            "expired just past the leeway",
            json!({"exp": t - 31}),
            Invalid(EXPIRED),
        ),
        ("expired at the epoch", json!({"exp": 0}), Invalid(EXPIRED)),
        ("exp negative", json!({"exp": -1}), Invalid(EXPIRED)),
        ("expired inside the leeway", json!({"exp": t - 25}), Allowed),
        ("exp now", json!({"exp": t}), Allowed),
        (
            "exp a fraction",
            json!({"exp": (t + 600) as f64 + 0.5}),
            Allowed,
        ),
        (
            "exp missing",
            json!({"exp": null}),
            Invalid("token lacks the `exp` claim"),
        ),
        (
            "exp a string",
            json!({"exp": "tomorrow"}),
            Invalid(EXP_TYPE),
        ),
        (
            "exp a numeric string",
            json!({"exp": (t + 600).to_string()}),
            Invalid(EXP_TYPE),
        ),
        (
            "exp a float string",
            json!({"exp": format!("{}.5", t + 600)}),
            Invalid(EXP_TYPE),
        ),
        ("exp a boolean", json!({"exp": true}), Invalid(EXP_TYPE)),
        ("exp an array", json!({"exp": [t + 600]}), Invalid(EXP_TYPE)),
        (
            "exp an object",
            json!({"exp": {"$gt": 0}}),
            Invalid(EXP_TYPE),
        ),
        (
            "nbf an hour ahead",
            json!({"nbf": t + 3600}),
            Invalid(NOT_YET),
        ),
        (
            "nbf past the leeway",
            json!({"nbf": t + 45}),
            Invalid(NOT_YET),
        ),
        ("nbf inside the leeway", json!({"nbf": t + 20}), Allowed),
        ("nbf a string", json!({"nbf": "now"}), Invalid(NBF_TYPE)),
        (
            "expired and not yet valid",
            json!({"exp": t - 3600, "nbf": t + 3600}),
            Invalid(EXPIRED),
        ),
    ];
    for (case, extra, outcome) in cases {
        let token = issuer.token(target.claims(extra));
        target.expect(case, &token, outcome).await;
    }
    target.stop().await;
}

#[tokio::test]
async fn audience_and_issuer() {
    let (mut target, issuer) = Target::products().await;
    let url = target.url.clone();
    let iss = target.iss.clone();
    let other = "http://127.0.0.1:1/other";
    let cases: Vec<(&str, Value, Outcome)> = vec![
        (
            "aud another resource",
            json!({"aud": other}),
            Invalid(WRONG_AUD),
        ),
        (
            "aud with a trailing slash",
            json!({"aud": format!("{url}/")}),
            Invalid(WRONG_AUD),
        ),
        (
            "aud in upper case",
            json!({"aud": url.to_uppercase()}),
            Invalid(WRONG_AUD),
        ),
        (
            "aud the origin only",
            json!({"aud": url.trim_end_matches("/mcp")}),
            Invalid(WRONG_AUD),
        ),
        ("aud the issuer", json!({"aud": iss}), Invalid(WRONG_AUD)),
        (
            "aud missing",
            json!({"aud": null}),
            Invalid("token lacks the `aud` claim"),
        ),
        ("aud empty", json!({"aud": ""}), Invalid(WRONG_AUD)),
        ("aud an empty array", json!({"aud": []}), Invalid(WRONG_AUD)),
        (
            "aud an array without us",
            json!({"aud": [other, iss]}),
            Invalid(WRONG_AUD),
        ),
        (
            "aud an array naming us",
            json!({"aud": [other, url]}),
            Allowed,
        ),
        (
            "aud an array with a number",
            json!({"aud": [url, 5]}),
            Invalid(AUD_TYPE),
        ),
        (
            "aud nested arrays",
            json!({"aud": [[url]]}),
            Invalid(AUD_TYPE),
        ),
        ("aud a number", json!({"aud": 5}), Invalid(AUD_TYPE)),
        (
            "aud an object",
            json!({"aud": {url.as_str(): true}}),
            Invalid(AUD_TYPE),
        ),
        (
            "iss another issuer",
            json!({"iss": "https://evil.example"}),
            Invalid(WRONG_ISS),
        ),
        (
            "iss with a trailing slash",
            json!({"iss": format!("{iss}/")}),
            Invalid(WRONG_ISS),
        ),
        (
            "iss in upper case",
            json!({"iss": iss.to_uppercase()}),
            Invalid(WRONG_ISS),
        ),
        ("iss empty", json!({"iss": ""}), Invalid(WRONG_ISS)),
        (
            "iss missing",
            json!({"iss": null}),
            Invalid("token lacks the `iss` claim"),
        ),
        (
            "iss an array",
            json!({"iss": [iss]}),
            Invalid("token claim `iss` must be a string"),
        ),
        (
            "iss a number",
            json!({"iss": 1}),
            Invalid("token claim `iss` must be a string"),
        ),
    ];
    for (case, extra, outcome) in cases {
        let token = issuer.token(target.claims(extra));
        target.expect(case, &token, outcome).await;
    }
    target.stop().await;
}

#[tokio::test]
async fn edited_payload_or_header_with_the_original_signature() {
    let (mut target, issuer) = Target::products().await;
    let guest = issuer.token(json!({"sub": "guest", "roles": ["guest"]}));
    let (header, payload, signature) = parts(&guest);
    let original: Value = serde_json::from_slice(&unb64(&payload)).unwrap();
    let mut as_admin = original.clone();
    as_admin["roles"] = json!(["admin"]);
    let mut with_permission = original.clone();
    with_permission["permissions"] = json!(["Admin.Write"]);
    let mut later = original.clone();
    later["exp"] = json!(original["exp"].as_u64().unwrap() + 86_400);
    let pretty = serde_json::to_string_pretty(&original).unwrap();
    let header_json: Value = serde_json::from_slice(&unb64(&header)).unwrap();
    let mut with_jku = header_json.clone();
    with_jku["jku"] = json!("http://127.0.0.1:1/jwks.json");
    let mut no_kid = header_json.clone();
    no_kid.as_object_mut().unwrap().remove("kid");
    let mut other_kid = header_json.clone();
    other_kid["kid"] = json!("attacker");
    let cases = [
        (
            "roles edited to admin",
            header.clone(),
            b64(as_admin.to_string()),
            BAD_SIG,
        ),
        (
            "permission added",
            header.clone(),
            b64(with_permission.to_string()),
            BAD_SIG,
        ),
        (
            "exp extended",
            header.clone(),
            b64(later.to_string()),
            BAD_SIG,
        ),
        (
            "same claims, other JSON spacing",
            header.clone(),
            b64(pretty),
            BAD_SIG,
        ),
        (
            "header gains jku",
            b64(with_jku.to_string()),
            payload.clone(),
            BAD_SIG,
        ),
        (
            "header loses kid",
            b64(no_kid.to_string()),
            payload.clone(),
            BAD_SIG,
        ),
        (
            "header names another kid",
            b64(other_kid.to_string()),
            payload.clone(),
            UNKNOWN_KEY,
        ),
    ];
    for (case, header, payload, description) in cases {
        let token = format!("{header}.{payload}.{signature}");
        target.expect(case, &token, Invalid(description)).await;
    }
    // The genuine guest token is a guest: denied, not refused.
    target
        .expect("the genuine guest token", &guest, Denied)
        .await;
    target.stop().await;
}

#[tokio::test]
async fn permission_look_alikes_grant_nothing() {
    let (mut target, issuer) = Target::products().await;
    let cases: Vec<(&str, Value, Outcome)> = vec![
        (
            "the exact permission",
            json!({"permissions": ["Admin.Write"]}),
            Allowed,
        ),
        (
            "lower case",
            json!({"permissions": ["admin.write"]}),
            Denied,
        ),
        (
            "upper case",
            json!({"permissions": ["ADMIN.WRITE"]}),
            Denied,
        ),
        ("suffix", json!({"permissions": ["Admin.WriteX"]}), Denied),
        ("prefix", json!({"permissions": ["Admin.Writ"]}), Denied),
        (
            "child name",
            json!({"permissions": ["Admin.Write.All"]}),
            Denied,
        ),
        (
            "trailing space",
            json!({"permissions": ["Admin.Write "]}),
            Denied,
        ),
        (
            "leading space",
            json!({"permissions": [" Admin.Write"]}),
            Denied,
        ),
        (
            "trailing NUL",
            json!({"permissions": ["Admin.Write\u{0}"]}),
            Denied,
        ),
        (
            "Cyrillic A",
            json!({"permissions": ["\u{0410}dmin.Write"]}),
            Denied,
        ),
        (
            "wildcard claimed directly",
            json!({"permissions": ["Admin.*"]}),
            Denied,
        ),
        ("star", json!({"permissions": ["*"]}), Denied),
        ("bare prefix", json!({"permissions": ["Admin."]}), Denied),
        ("bare namespace", json!({"permissions": ["Admin"]}), Denied),
        (
            "a string, not an array",
            json!({"permissions": "Admin.Write"}),
            Invalid(PERMISSIONS_TYPE),
        ),
        (
            "nested array",
            json!({"permissions": [["Admin.Write"]]}),
            Invalid(PERMISSIONS_TYPE),
        ),
        (
            "an object",
            json!({"permissions": {"Admin.Write": true}}),
            Invalid(PERMISSIONS_TYPE),
        ),
        (
            "only in roles, which the policy does not define",
            json!({"roles": ["Admin.Write"]}),
            Denied,
        ),
        ("role in upper case", json!({"roles": ["ADMIN"]}), Denied),
        ("role capitalised", json!({"roles": ["Admin"]}), Denied),
        ("role with a space", json!({"roles": ["admin "]}), Denied),
        (
            "role superstring",
            json!({"roles": ["administrator"]}),
            Denied,
        ),
        (
            "user and guest",
            json!({"roles": ["user", "guest"]}),
            Denied,
        ),
        (
            "roles a string",
            json!({"roles": "admin"}),
            Invalid(ROLES_TYPE),
        ),
        (
            "look-alike scopes",
            json!({"roles": [], "scope": "admin.write Admin.Writ Admin.*"}),
            Denied,
        ),
        (
            "the exact scope",
            json!({"roles": [], "scope": "Guest.Read Admin.Write"}),
            Allowed,
        ),
        (
            "claim names the mapping does not read",
            json!({"roles": [], "perms": ["Admin.Write"], "Permissions": ["Admin.Write"],
                "groups": ["admin"], "realm_access": {"roles": ["admin"]}}),
            Denied,
        ),
    ];
    for (case, extra, outcome) in cases {
        let mut extra = extra;
        // Without a `roles` override the case is about the other claim alone.
        if extra.get("roles").is_none() {
            extra["roles"] = json!([]);
        }
        let token = issuer.token(target.claims(extra));
        target.expect(case, &token, outcome).await;
    }
    target.stop().await;
}

#[tokio::test]
async fn oversized_and_non_base64_tokens() {
    let (mut target, issuer) = Target::products().await;
    let real = issuer.token(target.claims(json!({})));
    let (header, payload, signature) = parts(&real);
    let huge_claim = issuer.token(target.claims(json!({"padding": "p".repeat(20_000)})));
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "one byte over the cap",
            "a".repeat(16 * 1024 + 1),
            TOO_LARGE,
        ),
        ("100 KB", "a".repeat(100 * 1024), TOO_LARGE),
        ("validly signed but huge", huge_claim, TOO_LARGE),
        (
            "at the cap, garbage",
            format!("{}.e.e", "e".repeat(16 * 1024 - 4)),
            MALFORMED,
        ),
        ("standard base64 alphabet", "a+b.c/d.e".into(), MALFORMED),
        (
            "padding inside the token",
            format!("{header}.{payload}.{signature}=="),
            MALFORMED,
        ),
        ("five segments", format!("{real}.a.b"), MALFORMED),
        ("four segments", format!("{real}.a"), MALFORMED),
        ("empty segments", "..".into(), MALFORMED),
        (
            "header not JSON",
            format!("{}.{payload}.{signature}", b64("not json")),
            MALFORMED,
        ),
        (
            "header a JSON array",
            format!("{}.{payload}.{signature}", b64("[\"ES256\"]")),
            MALFORMED,
        ),
        (
            "header with crit",
            format!(
                "{}.{payload}.{signature}",
                b64(r#"{"alg":"ES256","crit":["exp"],"exp":1}"#)
            ),
            MALFORMED,
        ),
        ("not a JWT", "abcdef".into(), MALFORMED),
    ];
    for (case, token, description) in cases {
        target.expect(case, &token, Invalid(description)).await;
    }
    // Bytes no bearer token may hold are refused at the header, before any decoding.
    let header_cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "percent-encoded dots",
            real.replace('.', "%2E").into_bytes(),
        ),
        (
            "a space inside",
            format!("{header}. {payload}.{signature}").into_bytes(),
        ),
        ("a tab inside", format!("{header}.\t{payload}").into_bytes()),
        ("non-ASCII", format!("{header}.{payload}é").into_bytes()),
        ("a quote", format!("{header}\".{payload}").into_bytes()),
        ("only padding", b"===".to_vec()),
        ("JSON", br#"{"alg":"none"}"#.to_vec()),
    ];
    for (case, token) in header_cases {
        let value = [&b"Bearer "[..], &token].concat();
        let reply = target.send(&[&value]).await;
        target.check(case, &reply, Invalid(HEADER_MALFORMED), &[]);
    }
    target.expect("the genuine token", &real, Allowed).await;
    target.stop().await;
}

#[tokio::test]
async fn authorization_header_shapes_and_the_query_string() {
    let (mut target, _issuer) = Target::products().await;
    let tokens = target.running.as_ref().unwrap().tokens.clone().unwrap();
    let (admin, guest) = (tokens.admin.clone(), tokens.guest.clone());
    let bearer = |t: &str| format!("Bearer {t}").into_bytes();
    // Two Authorization headers are refused whatever they hold: never merged, never one picked.
    let duplicates: Vec<(&str, Vec<Vec<u8>>)> = vec![
        (
            "the same admin token twice",
            vec![bearer(&admin), bearer(&admin)],
        ),
        ("guest then admin", vec![bearer(&guest), bearer(&admin)]),
        ("admin then guest", vec![bearer(&admin), bearer(&guest)]),
        (
            "Basic then Bearer",
            vec![b"Basic dXNlcjpwYXNz".to_vec(), bearer(&admin)],
        ),
        (
            "admin then garbage",
            vec![bearer(&admin), b"Bearer x.y.z".to_vec()],
        ),
        (
            "three headers",
            vec![bearer(&admin), bearer(&admin), bearer(&admin)],
        ),
    ];
    for (case, values) in duplicates {
        let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
        let reply = target.send(&refs).await;
        target.check(case, &reply, Invalid(DUPLICATE), &[&admin, &guest]);
    }
    // One header holding two credentials is not a token.
    let joined = format!("Bearer {guest}, Bearer {admin}");
    let reply = target.send(&[joined.as_bytes()]).await;
    target.check(
        "two credentials in one header",
        &reply,
        Invalid(HEADER_MALFORMED),
        &[&admin],
    );
    // RFC 7235 §2.1: the scheme is case-insensitive.
    for scheme in ["bearer", "BEARER", "bEaReR"] {
        let value = format!("{scheme} {admin}");
        let reply = target.send(&[value.as_bytes()]).await;
        target.check(&format!("scheme {scheme}"), &reply, Allowed, &[]);
    }
    // Other schemes, and no space after the scheme, carry no bearer credential.
    for value in [
        format!("Token {admin}"),
        format!("JWT {admin}"),
        format!("Bearer{admin}"),
        format!("Basic {}", STANDARD.encode(format!("admin:{admin}"))),
    ] {
        let reply = target.send(&[value.as_bytes()]).await;
        target.check(&value[..10], &reply, Missing, &[&admin]);
    }
    // Tokens anywhere but the Authorization header authenticate nothing.
    let body = Target::delete_call();
    for (case, name, value) in [
        ("cookie", "cookie", format!("access_token={admin}")),
        (
            "Proxy-Authorization",
            "proxy-authorization",
            format!("Bearer {admin}"),
        ),
        ("X-Access-Token", "x-access-token", admin.clone()),
    ] {
        let reply = target
            .client
            .post_with(&body, &[(name, value.as_bytes())])
            .await;
        target.check(case, &reply, Missing, &[&admin]);
    }
    let in_query = Mcp::new(&format!("{}?access_token={admin}", target.url), None);
    let reply = in_query.post(&body).await;
    target.check("token only in the query string", &reply, Missing, &[&admin]);
    // With a guest header, the admin token in the query does not raise the caller.
    let reply = in_query
        .post_with(&body, &[("authorization", &bearer(&guest))])
        .await;
    target.check("guest header, admin query", &reply, Denied, &[]);
    let reply = in_query
        .post_with(&body, &[("authorization", b"Bearer x.y.z")])
        .await;
    target.check(
        "bad header, admin query",
        &reply,
        Invalid(MALFORMED),
        &[&admin],
    );
    // A form body with the token (RFC 6750 §2.2) is not read either.
    let form = reqwest::Client::new()
        .post(&target.url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json, text/event-stream")
        .body(format!("access_token={admin}"))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 401);
    assert_eq!(
        form.headers()["www-authenticate"],
        format!("Bearer resource_metadata=\"{}\"", target.metadata).as_str()
    );
    target.assert_runs("form body");
    target.stop().await;
}

/// Tokens a trusted key signed, with headers an attacker would like to slip past: the header's
/// key references are ignored (and never fetched), `crit`, `typ` and the `alg` spelling are
/// enforced, and claims of the wrong type are refused even under a valid signature.
#[tokio::test]
async fn crafted_headers_under_a_trusted_signature() {
    let trap = Trap::start().await;
    let (mut target, key) = Target::twin().await;
    let claims = target.claims(json!({}));
    let jku = format!("{}/jwks.json", trap.url);
    let sign = |header: &Value, claims: &Value| signed(header, claims, &key, Algorithm::ES256);
    let cases: Vec<(&str, Value, Value, Outcome)> = vec![
        (
            "plain",
            json!({"alg": "ES256", "typ": "JWT", "kid": TWIN_KID}),
            claims.clone(),
            Allowed,
        ),
        (
            "jku, x5u, jwk and x5c are ignored",
            json!({"alg": "ES256", "kid": TWIN_KID, "jku": jku, "x5u": format!("{}/c.pem", trap.url),
                "jwk": attacker_jwk("attacker"), "x5c": [STANDARD.encode(b"x")]}),
            claims.clone(),
            Allowed,
        ),
        (
            "typ at+jwt",
            json!({"alg": "ES256", "typ": "at+jwt", "kid": TWIN_KID}),
            claims.clone(),
            Allowed,
        ),
        (
            "typ of an ID token",
            json!({"alg": "ES256", "typ": "id+jwt", "kid": TWIN_KID}),
            claims.clone(),
            Invalid(WRONG_TYP),
        ),
        (
            "typ JWE",
            json!({"alg": "ES256", "typ": "JOSE+JSON", "kid": TWIN_KID}),
            claims.clone(),
            Invalid(WRONG_TYP),
        ),
        (
            "crit extension",
            json!({"alg": "ES256", "kid": TWIN_KID, "crit": ["b64"], "b64": false}),
            claims.clone(),
            Invalid(MALFORMED),
        ),
        (
            "alg in lower case",
            json!({"alg": "es256", "kid": TWIN_KID}),
            claims.clone(),
            Invalid(ALG),
        ),
        (
            "wrong kid",
            json!({"alg": "ES256", "kid": "twin-key-2"}),
            claims.clone(),
            Invalid(UNKNOWN_KEY),
        ),
        (
            "exp null",
            json!({"alg": "ES256", "kid": TWIN_KID}),
            target.claims(json!({"exp": null})),
            Invalid(EXP_TYPE),
        ),
        (
            "exp a float string",
            json!({"alg": "ES256", "kid": TWIN_KID}),
            target.claims(json!({"exp": format!("{}.0", now() + 600)})),
            Invalid(EXP_TYPE),
        ),
        (
            "permissions a string",
            json!({"alg": "ES256", "kid": TWIN_KID}),
            target.claims(json!({"roles": [], "permissions": "Admin.Write"})),
            Invalid(PERMISSIONS_TYPE),
        ),
        (
            "permissions null",
            json!({"alg": "ES256", "kid": TWIN_KID}),
            target.claims(json!({"roles": [], "permissions": null})),
            Denied,
        ),
    ];
    for (case, header, claims, outcome) in cases {
        let token = sign(&header, &claims);
        target.expect(case, &token, outcome).await;
    }
    // Duplicate header members: refused, whichever comes first.
    for raw in [
        format!(r#"{{"alg":"none","alg":"ES256","kid":"{TWIN_KID}"}}"#),
        format!(r#"{{"alg":"ES256","alg":"none","kid":"{TWIN_KID}"}}"#),
        format!(r#"{{"alg":"ES256","kid":"other","kid":"{TWIN_KID}"}}"#),
    ] {
        let token = jws_raw(&raw, &claims, |input| {
            crypto::sign(input, &key, Algorithm::ES256).unwrap()
        });
        target.expect(&raw, &token, Invalid(MALFORMED)).await;
    }
    // A signed payload that is not a JSON object.
    for payload in ["hello", "[1,2]", "null", "\"admin\""] {
        let header = b64(json!({"alg": "ES256", "kid": TWIN_KID}).to_string());
        let input = format!("{header}.{}", b64(payload));
        let signature = crypto::sign(input.as_bytes(), &key, Algorithm::ES256).unwrap();
        target
            .expect(
                &format!("payload {payload}"),
                &format!("{input}.{signature}"),
                Invalid(MALFORMED),
            )
            .await;
    }
    assert_eq!(trap.fetches(), 0, "the server fetched an attacker URL");
    target.stop().await;
}
