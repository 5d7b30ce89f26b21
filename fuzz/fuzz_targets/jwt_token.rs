//! Any text as a bearer token: compact JWS parsing and verification by an HS256 verifier, an
//! RS256/ES256 verifier (PEM keys) and a multi-issuer verifier in front of both.
//!
//! Checks: nothing is accepted (no fuzz input holds a valid signature of these keys, which
//! never appear in the input); a refusal's message never contains the token's signature or
//! payload segment.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mcp_rbac::verify::{
    Algorithm, JwtVerifier, MultiIssuerVerifier, TokenVerifier, VerificationKey,
};
use mcp_rbac_fuzz::json::AUDIENCE;
use mcp_rbac_fuzz::{run, tokens};

/// The issuer of the asymmetric verifier (the HS256 one trusts `json::ISSUER`).
const OTHER_ISSUER: &str = "https://other-issuer.example";

struct Verifiers {
    hs256: JwtVerifier,
    asymmetric: JwtVerifier,
    multi: MultiIssuerVerifier,
}

fn asymmetric(issuer: &str) -> JwtVerifier {
    let pem = |bytes: &[u8]| VerificationKey::from_pem(bytes).expect("a test key");
    JwtVerifier::builder()
        .issuer(issuer)
        .audience(AUDIENCE)
        .algorithms([Algorithm::RS256, Algorithm::ES256, Algorithm::PS256])
        .key(
            pem(include_bytes!(
                "../../mcp-rbac/testdata/keys/rsa2048.pub.pem"
            ))
            .with_kid("rsa"),
        )
        .key(pem(include_bytes!(
            "../../mcp-rbac/testdata/keys/p256.pub.pem"
        )))
        .token_cache_bytes(0)
        .build()
        .expect("a valid configuration")
}

fn verifiers() -> &'static Verifiers {
    static VERIFIERS: OnceLock<Verifiers> = OnceLock::new();
    VERIFIERS.get_or_init(|| Verifiers {
        hs256: tokens::hs256_verifier(),
        asymmetric: asymmetric(OTHER_ISSUER),
        multi: MultiIssuerVerifier::new([tokens::hs256_verifier(), asymmetric(OTHER_ISSUER)])
            .expect("distinct issuers"),
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let v = verifiers();
    let checks: [&dyn TokenVerifier; 3] = [&v.hs256, &v.asymmetric, &v.multi];
    for verifier in checks {
        match run(verifier.verify(token)) {
            Ok(principal) => panic!("accepted a fuzzed token for {:?}", principal.subject()),
            Err(error) => {
                let message = error.to_string();
                // Only segments that could be token material (base64url text): libFuzzer's
                // comparison hooks copy the refusal's own words into the input (a segment
                // `token is malform` once), and the refusal naturally contains those.
                let base64url =
                    |s: &&str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_=".contains(&b));
                for segment in token
                    .split('.')
                    .skip(1)
                    .filter(|s| s.len() >= 12)
                    .filter(base64url)
                {
                    assert!(
                        !message.contains(segment),
                        "the refusal `{message}` repeats part of the token"
                    );
                }
            }
        }
    }
});
