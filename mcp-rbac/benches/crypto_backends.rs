//! jsonwebtoken's two crypto backends side by side: the verification of one RS256, ES256 and
//! EdDSA JWT signature, as `jsonwebtoken::decode` does it (make the verifier, verify). The
//! figures chose aws-lc-rs for mcp-rbac (docs/benchmarks.md).
//!
//! `cargo bench -p mcp-rbac --bench crypto_backends`

use criterion::{criterion_group, criterion_main, Criterion};
use jsonwebtoken::crypto::{aws_lc, rust_crypto, CryptoProvider};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

const MESSAGE: &[u8] =
    b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJiZW5jaCIsImF1ZCI6Imh0dHA6Ly8xMjcuMC4wLjE6ODAwMC9tY3AifQ";

struct Case {
    alg: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

fn cases() -> Vec<Case> {
    let read = |name: &str| {
        std::fs::read(format!(
            "{}/testdata/keys/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("bench key")
    };
    vec![
        Case {
            alg: Algorithm::RS256,
            encoding: EncodingKey::from_rsa_pem(&read("rsa2048.pem")).expect("rsa key"),
            decoding: DecodingKey::from_rsa_pem(&read("rsa2048.pub.pem")).expect("rsa pub"),
        },
        Case {
            alg: Algorithm::ES256,
            encoding: EncodingKey::from_ec_pem(&read("p256.pem")).expect("ec key"),
            decoding: DecodingKey::from_ec_pem(&read("p256.pub.pem")).expect("ec pub"),
        },
        Case {
            alg: Algorithm::EdDSA,
            encoding: EncodingKey::from_ed_pem(&read("ed25519.pem")).expect("ed key"),
            decoding: DecodingKey::from_ed_pem(&read("ed25519.pub.pem")).expect("ed pub"),
        },
    ]
}

fn backends(c: &mut Criterion) {
    let providers: [(&str, &CryptoProvider); 2] = [
        ("aws-lc-rs", &aws_lc::DEFAULT_PROVIDER),
        ("rust-crypto", &rust_crypto::DEFAULT_PROVIDER),
    ];
    for case in cases() {
        let signer =
            (aws_lc::DEFAULT_PROVIDER.signer_factory)(&case.alg, &case.encoding).expect("signer");
        let signature = signer.try_sign(MESSAGE).expect("sign");
        let mut group = c.benchmark_group(format!("verify/{:?}", case.alg));
        for (name, provider) in providers {
            // Both backends must accept the signature, or the comparison means nothing.
            let verifier =
                (provider.verifier_factory)(&case.alg, &case.decoding).expect("verifier");
            verifier
                .verify(MESSAGE, &signature)
                .expect("signature verifies");
            group.bench_function(name, |b| {
                b.iter(|| {
                    let verifier =
                        (provider.verifier_factory)(&case.alg, &case.decoding).expect("verifier");
                    verifier.verify(std::hint::black_box(MESSAGE), &signature)
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, backends);
criterion_main!(benches);
