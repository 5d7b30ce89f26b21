//! JWKS documents as an identity provider serves them: parsed as the fetcher parses them
//! (`serde_json` into jsonwebtoken's `JwkSet`), loaded with `VerificationKey::from_jwk_set`,
//! then used by a verifier allowing every asymmetric algorithm.
//!
//! Checks: every JWK is either loaded or skipped with a reason; no symmetric (`oct`) JWK and
//! no JWK whose `use` is not `sig` is ever loaded; a key bound to an `alg` is of that
//! algorithm's family; a skip reason never quotes key material (`n`, `x`, `y`, `k`, `d`); the
//! verifier built from the keys refuses tokens signed by keys generated in this process
//! (ES256, EdDSA) or never seen by the fuzzer (RS256, PS256, ES384), whatever the keys are.
#![no_main]

use std::sync::OnceLock;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey};
use libfuzzer_sys::fuzz_target;
use mcp_rbac::verify::{JwtVerifier, TokenVerifier, VerificationKey};
use mcp_rbac_fuzz::json::{AUDIENCE, ISSUER};
use mcp_rbac_fuzz::{run, tokens};

const ASYMMETRIC: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Valid tokens from keys the fuzzer cannot know, with and without a `kid` the seeds use.
fn foreign_tokens() -> &'static Vec<String> {
    static TOKENS: OnceLock<Vec<String>> = OnceLock::new();
    TOKENS.get_or_init(|| {
        mcp_rbac::verify::install_crypto_provider();
        let rng = SystemRandom::new();
        let es256 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("a P-256 key");
        let ed25519 = Ed25519KeyPair::generate_pkcs8(&rng).expect("an Ed25519 key");
        let keys = [
            (Algorithm::ES256, EncodingKey::from_ec_der(es256.as_ref())),
            (Algorithm::EdDSA, EncodingKey::from_ed_der(ed25519.as_ref())),
            (
                Algorithm::RS256,
                EncodingKey::from_rsa_pem(include_bytes!(
                    "../../mcp-rbac/testdata/keys/rsa2048-other.pem"
                ))
                .expect("a test key"),
            ),
            (
                Algorithm::PS256,
                EncodingKey::from_rsa_pem(include_bytes!(
                    "../../mcp-rbac/testdata/keys/rsa2048-other.pem"
                ))
                .expect("a test key"),
            ),
            (
                Algorithm::ES384,
                EncodingKey::from_ec_pem(include_bytes!("../../mcp-rbac/testdata/keys/p384.pem"))
                    .expect("a test key"),
            ),
        ];
        let claims = serde_json::json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": "mallory", "exp": 4_102_444_800_i64,
        })
        .to_string();
        let mut out = Vec::new();
        for (alg, key) in &keys {
            for kid in [None, Some("k1")] {
                let mut header = serde_json::json!({"alg": format!("{alg:?}"), "typ": "JWT"});
                if let Some(kid) = kid {
                    header["kid"] = kid.into();
                }
                out.push(tokens::compact(&header.to_string(), &claims, |input| {
                    tokens::sign(input, key, *alg)
                }));
            }
        }
        out
    })
}

/// Key material of a JWK that an error message must not repeat. A reason names the `kid`, so
/// material the document also wrote into a `kid` (the fuzzer copies it there) is left out.
fn material(json: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(keys) = json.get("keys").and_then(|k| k.as_array()) {
        let kids: Vec<&str> = keys.iter().filter_map(|k| k.get("kid")?.as_str()).collect();
        for key in keys {
            for member in ["n", "x", "y", "k", "d"] {
                if let Some(s) = key.get(member).and_then(|v| v.as_str()) {
                    if s.len() >= 16 && !kids.iter().any(|kid| kid.contains(s)) {
                        out.push(s.to_owned());
                    }
                }
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(set) = serde_json::from_slice::<JwkSet>(data) else {
        return;
    };
    let (keys, skipped) = VerificationKey::from_jwk_set(&set);
    assert_eq!(keys.len() + skipped.len(), set.keys.len());

    let secrets = material(&serde_json::from_slice(data).unwrap_or_default());
    for reason in &skipped {
        let message = reason.to_string();
        for secret in &secrets {
            assert!(
                !message.contains(secret.as_str()),
                "`{message}` quotes key material"
            );
        }
    }
    for jwk in &set.keys {
        if let Ok(key) = VerificationKey::from_jwk(jwk) {
            assert!(!matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)));
            assert!(matches!(
                jwk.common.public_key_use,
                None | Some(PublicKeyUse::Signature)
            ));
            if let Some(alg) = key.usual_algorithm() {
                assert!(ASYMMETRIC.contains(&alg), "{alg:?} from a JWK");
            }
        }
    }
    if keys.is_empty() {
        return;
    }
    let verifier = match JwtVerifier::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .algorithms(ASYMMETRIC)
        .keys(keys)
        .token_cache_bytes(0)
        .build()
    {
        Ok(verifier) => verifier,
        Err(e) => panic!("public keys must make a verifier: {e}"),
    };
    for token in foreign_tokens() {
        assert!(
            run(verifier.verify(token)).is_err(),
            "a token of a foreign key was accepted"
        );
    }
});
