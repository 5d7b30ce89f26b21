//! Token verification per algorithm, beside the raw signature check of the same crypto library
//! (aws-lc-rs) on the same bytes — the floor an uncached verify cannot go below — and the
//! verified-token cache, hit and miss, for a 1 KB token.
//!
//! `cargo bench -p mcp-rbac --bench verification`
//!
//! The ratio uncached ÷ raw is what the target is about, and on a shared virtual machine two
//! benchmarks run a minute apart can see different machines. So after criterion's figures the
//! bench also prints an interleaved measurement: rounds of raw checks and verifications of the
//! same token, alternating, and the median of the per-round ratios.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::{hmac, signature};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use criterion::{criterion_group, BatchSize, Criterion};
use jsonwebtoken::{EncodingKey, Header};
use mcp_rbac::verify::{
    install_crypto_provider, Algorithm, JwtVerifier, TokenVerifier, VerificationKey,
};
use serde_json::json;

const ISS: &str = "https://issuer.bench";
const AUD: &str = "https://mcp.bench/mcp";
const SECRET: &[u8] = b"bench-secret-bench-secret-bench-secret!!";

fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/testdata/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("test key")
}

/// The DER inside a PEM file.
fn der(pem: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(pem).expect("pem is text");
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).expect("pem base64")
}

/// The verifier's future resolves at once here (no JWKS fetch); poll it without a runtime so
/// the figures carry no executor cost.
fn now_or_never<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("verification without a JWKS never waits"),
    }
}

fn claims(padding: usize) -> serde_json::Value {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + 3600;
    json!({
        "sub": "alice", "iss": ISS, "aud": AUD, "exp": exp, "iat": exp - 3600,
        "permissions": ["Admin.Write", "User.Write", "User.Read"],
        "scope": "openid profile mcp:tools", "roles": ["admin"],
        "padding": "x".repeat(padding),
    })
}

/// `(message, signature) -> valid`, straight on aws-lc-rs.
type RawVerify = Box<dyn Fn(&[u8], &[u8]) -> bool>;

struct Case {
    alg: Algorithm,
    token: String,
    verifier: JwtVerifier,
    raw: RawVerify,
    decoding_key: jsonwebtoken::DecodingKey,
}

fn verifier(alg: Algorithm, key: VerificationKey, cache_bytes: u64) -> JwtVerifier {
    JwtVerifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .algorithms([alg])
        .key(key)
        .token_cache_bytes(cache_bytes)
        .build()
        .expect("verifier")
}

fn public_key(alg: Algorithm) -> VerificationKey {
    match alg {
        Algorithm::HS256 => VerificationKey::hmac_secret(SECRET).expect("secret"),
        Algorithm::RS256 | Algorithm::PS256 => {
            VerificationKey::from_pem(&read("rsa2048.pub.pem")).expect("rsa")
        }
        Algorithm::ES256 => VerificationKey::from_pem(&read("p256.pub.pem")).expect("p256"),
        _ => VerificationKey::from_pem(&read("ed25519.pub.pem")).expect("ed25519"),
    }
}

fn token(alg: Algorithm, padding: usize) -> String {
    let key = match alg {
        Algorithm::HS256 => EncodingKey::from_secret(SECRET),
        Algorithm::RS256 | Algorithm::PS256 => {
            EncodingKey::from_rsa_pem(&read("rsa2048.pem")).expect("rsa")
        }
        Algorithm::ES256 => EncodingKey::from_ec_pem(&read("p256.pem")).expect("p256"),
        _ => EncodingKey::from_ed_pem(&read("ed25519.pem")).expect("ed25519"),
    };
    jsonwebtoken::encode(&Header::new(alg), &claims(padding), &key).expect("sign")
}

fn case(alg: Algorithm) -> Case {
    let raw: RawVerify = match alg {
        Algorithm::HS256 => {
            let key = hmac::Key::new(hmac::HMAC_SHA256, SECRET);
            Box::new(move |m, s| hmac::verify(&key, m, s).is_ok())
        }
        _ => {
            let (params, file): (&'static dyn signature::VerificationAlgorithm, _) = match alg {
                Algorithm::RS256 => (&signature::RSA_PKCS1_2048_8192_SHA256, "rsa2048.pub.pem"),
                Algorithm::PS256 => (&signature::RSA_PSS_2048_8192_SHA256, "rsa2048.pub.pem"),
                Algorithm::ES256 => (&signature::ECDSA_P256_SHA256_FIXED, "p256.pub.pem"),
                _ => (&signature::ED25519, "ed25519.pub.pem"),
            };
            let key = signature::ParsedPublicKey::new(params, der(&read(file))).expect("key");
            Box::new(move |m, s| key.verify_sig(m, s).is_ok())
        }
    };
    let decoding_key = match alg {
        Algorithm::HS256 => jsonwebtoken::DecodingKey::from_secret(SECRET),
        Algorithm::RS256 | Algorithm::PS256 => {
            jsonwebtoken::DecodingKey::from_rsa_pem(&read("rsa2048.pub.pem")).expect("rsa")
        }
        Algorithm::ES256 => {
            jsonwebtoken::DecodingKey::from_ec_pem(&read("p256.pub.pem")).expect("p256")
        }
        _ => jsonwebtoken::DecodingKey::from_ed_pem(&read("ed25519.pub.pem")).expect("ed25519"),
    };
    let case = Case {
        alg,
        token: token(alg, 0),
        verifier: verifier(alg, public_key(alg), 0),
        raw,
        decoding_key,
    };
    assert!(decode_floor(&case.token), "{alg:?} decodes");
    assert!(
        jsonwebtoken_decode(&case, &case.token),
        "{alg:?} jsonwebtoken decode"
    );
    case
}

/// The algorithms measured, each next to its raw signature check.
const ALGORITHMS: [Algorithm; 5] = [
    Algorithm::HS256,
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
];

impl Case {
    /// The signing input and the decoded signature of the token: what the raw check checks.
    fn signed(&self) -> (&str, Vec<u8>) {
        let (message, sig) = self.token.rsplit_once('.').expect("three parts");
        (message, URL_SAFE_NO_PAD.decode(sig).expect("signature"))
    }
}

fn verification(c: &mut Criterion) {
    install_crypto_provider();
    let mut group = c.benchmark_group("verify");
    for alg in ALGORITHMS {
        let case = case(alg);
        let (message, sig) = case.signed();
        assert!((case.raw)(message.as_bytes(), &sig), "{alg:?} raw verify");
        assert!(now_or_never(case.verifier.verify(&case.token)).is_ok());
        group.bench_function(format!("{:?}/raw_signature", case.alg), |b| {
            b.iter(|| (case.raw)(black_box(message.as_bytes()), black_box(&sig)))
        });
        group.bench_function(format!("{:?}/uncached", case.alg), |b| {
            b.iter(|| now_or_never(case.verifier.verify(black_box(&case.token))).is_ok())
        });
    }
    group.finish();
}

fn cache(c: &mut Criterion) {
    install_crypto_provider();
    // A 1 KB RS256 token, the common case from an identity provider.
    let token = token(Algorithm::RS256, 240);
    assert!(
        (1000..1100).contains(&token.len()),
        "token is {} bytes",
        token.len()
    );
    let mut group = c.benchmark_group("token_cache");
    let cached = verifier(
        Algorithm::RS256,
        public_key(Algorithm::RS256),
        mcp_rbac::verify::DEFAULT_CACHE_BYTES,
    );
    assert!(now_or_never(cached.verify(&token)).is_ok());
    group.bench_function("hit/RS256_1KB", |b| {
        b.iter(|| now_or_never(cached.verify(black_box(&token))).is_ok())
    });
    group.bench_function("miss/RS256_1KB", |b| {
        b.iter_batched(
            || {
                verifier(
                    Algorithm::RS256,
                    public_key(Algorithm::RS256),
                    mcp_rbac::verify::DEFAULT_CACHE_BYTES,
                )
            },
            |fresh| now_or_never(fresh.verify(black_box(&token))).is_ok(),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// What any verifier must do besides the signature: base64-decode the three parts and read the
/// header and the claims as JSON (here only skimmed, no claim looked at, nothing allocated for
/// them). Added to the raw check, it bounds from below what reading a token can cost.
fn decode_floor(token: &str) -> bool {
    let mut parts = token.split('.');
    let json_ok = |part: Option<&str>| {
        let bytes = URL_SAFE_NO_PAD.decode(part.unwrap_or_default());
        bytes.is_ok_and(|b| serde_json::from_slice::<serde::de::IgnoredAny>(&b).is_ok())
    };
    let header = json_ok(parts.next());
    let claims = json_ok(parts.next());
    header
        && claims
        && URL_SAFE_NO_PAD
            .decode(parts.next().unwrap_or_default())
            .is_ok()
}

/// The same checks (signature, `iss`, `aud`, `exp`) with jsonwebtoken's own `decode`, as an
/// application would write them without this crate: the reference point, not a floor.
fn jsonwebtoken_decode(case: &Case, token: &str) -> bool {
    let mut validation = jsonwebtoken::Validation::new(case.alg);
    validation.set_issuer(&[ISS]);
    validation.set_audience(&[AUD]);
    jsonwebtoken::decode::<serde_json::Value>(token, &case.decoding_key, &validation).is_ok()
}

/// Alternating rounds of raw signature checks and uncached verifications; the median of the
/// per-round ratios is robust against the machine changing speed between rounds.
fn interleaved_ratios() {
    install_crypto_provider();
    println!("\ninterleaved uncached ÷ raw (median of 41 alternating rounds):");
    for alg in ALGORITHMS {
        let case = case(alg);
        let (message, sig) = case.signed();
        // About 20 ms per half-round whatever the algorithm.
        let per_round = match alg {
            Algorithm::HS256 => 20_000,
            _ => 400,
        };
        let time = |f: &dyn Fn() -> bool| {
            let start = std::time::Instant::now();
            for _ in 0..per_round {
                black_box(f());
            }
            start.elapsed().as_nanos() as f64 / f64::from(per_round)
        };
        let raw = || (case.raw)(black_box(message.as_bytes()), black_box(&sig));
        let uncached = || now_or_never(case.verifier.verify(black_box(&case.token))).is_ok();
        let floor = || decode_floor(black_box(&case.token));
        let reference = || jsonwebtoken_decode(&case, black_box(&case.token));
        let mut rounds: Vec<[f64; 4]> = (0..41)
            .map(|_| [time(&raw), time(&uncached), time(&floor), time(&reference)])
            .collect();
        rounds.sort_by(|a, b| (a[1] / a[0]).total_cmp(&(b[1] / b[0])));
        let [raw_ns, uncached_ns, _, _] = rounds[rounds.len() / 2];
        let median_ratio = |i: usize| {
            let mut ratios: Vec<f64> = rounds.iter().map(|r| r[i] / r[0]).collect();
            ratios.sort_by(f64::total_cmp);
            ratios[ratios.len() / 2]
        };
        println!(
            "  {:<6} raw {:>9.0} ns  uncached {:>9.0} ns  ratio {:.2}  \
             (raw + decode floor) ÷ raw {:.2}  jsonwebtoken::decode ÷ raw {:.2}",
            format!("{alg:?}"),
            raw_ns,
            uncached_ns,
            uncached_ns / raw_ns,
            1.0 + median_ratio(2),
            median_ratio(3),
        );
    }
}

criterion_group!(benches, verification, cache);

fn main() {
    benches();
    // Only under `cargo bench` (which passes `--bench`), not when listing benchmarks.
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--list") {
        interleaved_ratios();
    }
    Criterion::default().configure_from_args().final_summary();
}
