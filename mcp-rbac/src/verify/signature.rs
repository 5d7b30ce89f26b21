//! Signature checks on keys parsed once, when the key is loaded.
//!
//! jsonwebtoken parses the public key again at every `decode` (an RSA key costs more to parse
//! than the signature costs to check), so the verifier checks signatures here, with the same
//! aws-lc-rs algorithms jsonwebtoken's aws-lc backend uses, on keys prepared once. jsonwebtoken
//! still reads the keys (PEM, JWK) and the test suite checks both paths agree.

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self, ParsedPublicKey, RsaParameters, RsaPublicKeyComponents};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};

/// A key ready to check signatures, one prepared form per algorithm it can serve.
#[derive(Clone)]
pub(crate) enum SignatureKey {
    /// HS256, HS384, HS512 keys, each present when the secret is long enough for it.
    Hmac(Box<[Option<hmac::Key>; 3]>),
    Public(Vec<(Algorithm, ParsedPublicKey)>),
}

/// Each HMAC algorithm, its hash, and the shortest secret it accepts (the hash's size).
const HMAC: [(Algorithm, hmac::Algorithm, usize); 3] = [
    (Algorithm::HS256, hmac::HMAC_SHA256, 32),
    (Algorithm::HS384, hmac::HMAC_SHA384, 48),
    (Algorithm::HS512, hmac::HMAC_SHA512, 64),
];

/// The shortest secret `alg` accepts (`None` for a non-HMAC algorithm).
pub(crate) fn hmac_min_bytes(alg: Algorithm) -> Option<usize> {
    HMAC.iter()
        .find(|(a, _, _)| *a == alg)
        .map(|(_, _, min)| *min)
}

const RSA: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

fn rsa_parameters(alg: Algorithm) -> Option<&'static RsaParameters> {
    Some(match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

impl SignatureKey {
    /// Prepares `key` for every algorithm of its family (or only `only`). `None` when it serves
    /// none of them, i.e. the key material is not a valid key of its kind.
    pub(crate) fn prepare(key: &DecodingKey, only: Option<Algorithm>) -> Option<SignatureKey> {
        let wanted = |alg: &Algorithm| only.is_none_or(|o| o == *alg);
        let prepared = match key.family() {
            AlgorithmFamily::Hmac => {
                let secret = key.try_get_as_bytes().ok()?;
                // RFC 7518 §3.2: a key at least as long as the hash; shorter serves no HS*.
                let prepared = HMAC.map(|(alg, hash, min)| {
                    (wanted(&alg) && secret.len() >= min).then(|| hmac::Key::new(hash, secret))
                });
                return prepared
                    .iter()
                    .any(Option::is_some)
                    .then(|| SignatureKey::Hmac(Box::new(prepared)));
            }
            AlgorithmFamily::Rsa => RSA
                .into_iter()
                .filter(wanted)
                .filter_map(|alg| {
                    let params = rsa_parameters(alg)?;
                    let parsed = match key.kind() {
                        jsonwebtoken::DecodingKeyKind::SecretOrDer(der) => {
                            ParsedPublicKey::new(params, der).ok()?
                        }
                        jsonwebtoken::DecodingKeyKind::RsaModulusExponent { n, e } => {
                            RsaPublicKeyComponents { n, e }
                                .to_parsed_public_key(params)
                                .ok()?
                        }
                    };
                    Some((alg, parsed))
                })
                .collect::<Vec<_>>(),
            AlgorithmFamily::Ec => {
                let bytes = key.try_get_as_bytes().ok()?;
                [
                    (Algorithm::ES256, &signature::ECDSA_P256_SHA256_FIXED),
                    (Algorithm::ES384, &signature::ECDSA_P384_SHA384_FIXED),
                ]
                .into_iter()
                .filter(|(alg, _)| wanted(alg))
                .filter_map(|(alg, params)| Some((alg, ParsedPublicKey::new(params, bytes).ok()?)))
                .collect()
            }
            AlgorithmFamily::Ed => {
                let bytes = key.try_get_as_bytes().ok()?;
                let parsed = ParsedPublicKey::new(&signature::ED25519, bytes).ok()?;
                if wanted(&Algorithm::EdDSA) {
                    vec![(Algorithm::EdDSA, parsed)]
                } else {
                    Vec::new()
                }
            }
        };
        (!prepared.is_empty()).then_some(SignatureKey::Public(prepared))
    }

    /// The algorithms this key was prepared for.
    pub(crate) fn algorithms(&self) -> impl Iterator<Item = Algorithm> + '_ {
        let public = match self {
            SignatureKey::Hmac(_) => &[][..],
            SignatureKey::Public(prepared) => &prepared[..],
        };
        let hmac = match self {
            SignatureKey::Hmac(keys) => &keys[..],
            SignatureKey::Public(_) => &[][..],
        };
        hmac.iter()
            .zip(HMAC)
            .filter(|(key, _)| key.is_some())
            .map(|(_, (alg, _, _))| alg)
            .chain(public.iter().map(|(alg, _)| *alg))
    }

    /// Whether this key was prepared for `alg`.
    pub(crate) fn supports(&self, alg: Algorithm) -> bool {
        match self {
            SignatureKey::Hmac(keys) => HMAC
                .iter()
                .zip(keys.iter())
                .any(|((a, _, _), key)| *a == alg && key.is_some()),
            SignatureKey::Public(prepared) => prepared.iter().any(|(a, _)| *a == alg),
        }
    }

    /// Whether `signature` is `alg`'s signature of `message` under this key.
    pub(crate) fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        match self {
            SignatureKey::Hmac(keys) => {
                let key = match alg {
                    Algorithm::HS256 => &keys[0],
                    Algorithm::HS384 => &keys[1],
                    Algorithm::HS512 => &keys[2],
                    _ => return false,
                };
                key.as_ref()
                    .is_some_and(|key| hmac::verify(key, message, signature).is_ok())
            }
            SignatureKey::Public(prepared) => prepared
                .iter()
                .find(|(a, _)| *a == alg)
                .is_some_and(|(_, key)| key.verify_sig(message, signature).is_ok()),
        }
    }
}
