//! The verifier checks signatures and registered claims itself (keys parsed once); jsonwebtoken's
//! `decode` with the same settings is the oracle. Across algorithms, claim sets, tampered and
//! randomly mutated tokens, both must accept exactly the same tokens, for the same reasons where
//! both name one.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{encode, DecodingKey, EncodingKey, Header, Validation};
use mcp_rbac::verify::{
    install_crypto_provider, Algorithm, AuthError, JwtVerifier, TokenVerifier, VerificationKey,
};
use serde_json::{json, Map, Value};

const ISS: &str = "https://issuer.test";
const AUD: &str = "https://mcp.test/mcp";
/// Long enough for HS512 (RFC 7518 §3.2: at least the hash's size).
const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const LEEWAY: u64 = 30;

fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/testdata/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("test key")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

struct Suite {
    alg: Algorithm,
    signing: EncodingKey,
    foreign: EncodingKey,
    decoding: DecodingKey,
    ours: JwtVerifier,
}

fn suite(alg: Algorithm) -> Suite {
    let (signing, foreign, decoding, key) = match alg {
        Algorithm::HS256 | Algorithm::HS512 => (
            EncodingKey::from_secret(SECRET),
            EncodingKey::from_secret(b"another-secret-another-secret-another"),
            DecodingKey::from_secret(SECRET),
            VerificationKey::hmac_secret(SECRET).unwrap(),
        ),
        Algorithm::ES256 => (
            EncodingKey::from_ec_pem(&read("p256.pem")).unwrap(),
            EncodingKey::from_ec_pem(&read("p384.pem")).unwrap(),
            DecodingKey::from_ec_pem(&read("p256.pub.pem")).unwrap(),
            VerificationKey::from_pem(&read("p256.pub.pem")).unwrap(),
        ),
        Algorithm::ES384 => (
            EncodingKey::from_ec_pem(&read("p384.pem")).unwrap(),
            EncodingKey::from_ec_pem(&read("p256.pem")).unwrap(),
            DecodingKey::from_ec_pem(&read("p384.pub.pem")).unwrap(),
            VerificationKey::from_pem(&read("p384.pub.pem")).unwrap(),
        ),
        Algorithm::EdDSA => (
            EncodingKey::from_ed_pem(&read("ed25519.pem")).unwrap(),
            EncodingKey::from_rsa_pem(&read("rsa2048.pem")).unwrap(),
            DecodingKey::from_ed_pem(&read("ed25519.pub.pem")).unwrap(),
            VerificationKey::from_pem(&read("ed25519.pub.pem")).unwrap(),
        ),
        _ => (
            EncodingKey::from_rsa_pem(&read("rsa2048.pem")).unwrap(),
            EncodingKey::from_rsa_pem(&read("rsa2048-other.pem")).unwrap(),
            DecodingKey::from_rsa_pem(&read("rsa2048.pub.pem")).unwrap(),
            VerificationKey::from_pem(&read("rsa2048.pub.pem")).unwrap(),
        ),
    };
    let ours = JwtVerifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .algorithms([alg])
        .key(key)
        .leeway(std::time::Duration::from_secs(LEEWAY))
        .token_cache_bytes(0)
        .build()
        .unwrap();
    Suite {
        alg,
        signing,
        foreign,
        decoding,
        ours,
    }
}

/// The outcome, normalised: the subject, or the refusal's kind (claim-type faults by claim).
#[derive(Debug, PartialEq, Eq, Clone)]
enum Outcome {
    Accepted(String),
    Refused(String),
}

fn refused(e: &AuthError) -> Outcome {
    Outcome::Refused(match e {
        AuthError::ClaimType { claim, .. } => format!("ClaimType({claim})"),
        other => format!("{other:?}"),
    })
}

impl Suite {
    fn sign(&self, claims: &Value) -> String {
        encode(&Header::new(self.alg), claims, &self.signing).unwrap()
    }

    async fn ours(&self, token: &str) -> Outcome {
        match self.ours.verify(token).await {
            Ok(p) => Outcome::Accepted(p.subject().to_owned()),
            Err(e) => refused(&e),
        }
    }

    fn oracle(&self, token: &str) -> Outcome {
        let mut v = Validation::new(self.alg);
        v.set_issuer(&[ISS]);
        v.set_audience(&[AUD]);
        v.set_required_spec_claims(&["exp", "iss", "aud"]);
        v.validate_nbf = true;
        v.leeway = LEEWAY;
        match jsonwebtoken::decode::<Map<String, Value>>(token, &self.decoding, &v) {
            Ok(data) => Outcome::Accepted(
                data.claims
                    .get("sub")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            ),
            Err(e) => refused(&match e.kind() {
                ErrorKind::InvalidSignature => AuthError::BadSignature,
                ErrorKind::ExpiredSignature => AuthError::Expired,
                ErrorKind::ImmatureSignature => AuthError::NotYetValid,
                ErrorKind::InvalidAudience => AuthError::WrongAudience,
                ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
                ErrorKind::MissingRequiredClaim(c) => AuthError::MissingClaim(c.clone()),
                ErrorKind::InvalidClaimFormat(c) => AuthError::ClaimType {
                    claim: c.clone(),
                    expected: "",
                },
                ErrorKind::InvalidAlgorithm => AuthError::AlgorithmNotAllowed,
                _ => AuthError::Malformed,
            }),
        }
    }
}

fn claims(edit: Value) -> Value {
    let mut base =
        json!({"sub": "alice", "iss": ISS, "aud": AUD, "exp": now() + 300, "permissions": ["A"]});
    for (k, v) in edit.as_object().cloned().unwrap_or_default() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(&k);
        } else {
            base[k] = v;
        }
    }
    base
}

const ALGORITHMS: [Algorithm; 7] = [
    Algorithm::HS256,
    Algorithm::HS512,
    Algorithm::RS256,
    Algorithm::PS384,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

#[tokio::test]
async fn claim_sets_agree_with_jsonwebtoken() {
    install_crypto_provider();
    let t = now();
    // (claims edit, whether the reason must match too)
    let cases = [
        (json!({}), true),
        (json!({"exp": t - LEEWAY - 5}), true),
        (json!({"exp": t - LEEWAY + 5}), true),
        (json!({"nbf": t + LEEWAY + 5}), true),
        (json!({"nbf": t + LEEWAY - 5}), true),
        (json!({"nbf": t - 100}), true),
        (json!({"iss": "https://evil.test"}), true),
        (json!({"aud": "https://other.test/mcp"}), true),
        (json!({"aud": ["https://other.test", AUD]}), true),
        (json!({"aud": ["https://other.test"]}), true),
        (json!({"exp": null}), true),
        (json!({"iss": null}), true),
        (json!({"aud": null}), true),
        // Stricter than the oracle on purpose: a principal needs a subject.
        (json!({"sub": null}), false),
        (json!({"exp": "tomorrow"}), false),
        (json!({"nbf": "yesterday"}), false),
        (json!({"aud": 7}), false),
        (json!({"permissions": "x"}), false),
    ];
    for alg in ALGORITHMS {
        let s = suite(alg);
        for (edit, same_reason) in &cases {
            let token = s.sign(&claims(edit.clone()));
            let (ours, oracle) = (s.ours(&token).await, s.oracle(&token));
            if *same_reason {
                assert_eq!(ours, oracle, "{alg:?} {edit}");
            } else {
                assert!(
                    matches!(
                        (&ours, &oracle),
                        (Outcome::Refused(_), _) | (Outcome::Accepted(_), Outcome::Accepted(_))
                    ),
                    "{alg:?} {edit}: ours {ours:?}, oracle {oracle:?}"
                );
                assert!(matches!(ours, Outcome::Refused(_)), "{alg:?} {edit}");
            }
        }
    }
}

#[tokio::test]
async fn tampered_and_mutated_tokens_agree_with_jsonwebtoken() {
    install_crypto_provider();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=";
    for alg in ALGORITHMS {
        let s = suite(alg);
        let good = s.sign(&claims(json!({})));
        assert_eq!(s.ours(&good).await, Outcome::Accepted("alice".into()));
        let (head, sig) = good.rsplit_once('.').unwrap();
        let other = s.sign(&claims(json!({"sub": "mallory"})));
        let foreign = encode(&Header::new(alg), &claims(json!({})), &s.foreign).ok();
        let mut tokens = vec![
            format!("{head}.{}", other.rsplit_once('.').unwrap().1), // spliced signature
            format!("{head}."),
            format!("{head}.{}", &sig[..sig.len() / 2]),
            format!(
                "{}.{}",
                other.rsplit_once('.').unwrap().0,
                good.rsplit_once('.').unwrap().1
            ),
        ];
        tokens.extend(foreign);
        for _ in 0..150 {
            let mut bytes = good.clone().into_bytes();
            let at = (next() % bytes.len() as u64) as usize;
            let with = B64[(next() % B64.len() as u64) as usize];
            if bytes[at] == with {
                continue;
            }
            bytes[at] = with;
            tokens.push(String::from_utf8(bytes).unwrap());
        }
        for token in &tokens {
            let (ours, oracle) = (s.ours(token).await, s.oracle(token));
            let both_accept = matches!(
                (&ours, &oracle),
                (Outcome::Accepted(a), Outcome::Accepted(b)) if a == b
            );
            let both_refuse =
                matches!((&ours, &oracle), (Outcome::Refused(_), Outcome::Refused(_)));
            assert!(
                both_accept || both_refuse,
                "{alg:?}: ours {ours:?}, oracle {oracle:?} for a mutation of the token"
            );
            assert!(
                !matches!(ours, Outcome::Accepted(_)),
                "{alg:?}: a tampered token was accepted"
            );
        }
    }
}
