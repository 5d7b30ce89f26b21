//! Verification keys from a shared secret, a PEM public key, or a JWK.

use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, KeyOperations,
};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};

use super::signature::SignatureKey;

/// A key the verifier trusts, with the `kid` and algorithm it is bound to (from its JWK).
#[derive(Clone)]
pub struct VerificationKey {
    pub(crate) kid: Option<String>,
    pub(crate) algorithm: Option<Algorithm>,
    pub(crate) family: AlgorithmFamily,
    /// Parsed once; checks signatures.
    pub(crate) signature: SignatureKey,
    /// The JWK it came from, serialized: the same key in a refreshed JWKS is the same key.
    #[cfg_attr(not(feature = "jwks"), allow(dead_code))]
    pub(crate) jwk: Option<Box<str>>,
}

impl std::fmt::Debug for VerificationKey {
    // Never prints key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerificationKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("family", &self.family)
            .finish_non_exhaustive()
    }
}

/// Why a key does not load. Carries no key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[allow(missing_docs)] // each field is named in its variant's message
pub enum KeyError {
    /// The PEM is not an RSA, EC (P-256/P-384) or Ed25519 public key.
    #[error("not an RSA, EC or Ed25519 public key in PEM form")]
    Pem,
    /// The JWK is not a usable public key.
    #[error("JWK `{kid}` is not a usable public verification key: {reason}")]
    Jwk { kid: String, reason: String },
    /// An HMAC secret shorter than 32 bytes, the least any HMAC algorithm accepts.
    #[error("HMAC secret must be at least 32 bytes (48 for HS384, 64 for HS512)")]
    ShortSecret,
}

impl VerificationKey {
    /// A shared HMAC secret, at least as long as the hash it is used with (RFC 7518 §3.2):
    /// 32 bytes for HS256, 48 for HS384, 64 for HS512. A secret serves only the algorithms it
    /// is long enough for; [`JwtVerifierBuilder::build`](super::JwtVerifierBuilder::build)
    /// refuses to pair it with a longer hash.
    pub fn hmac_secret(secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < 32 {
            return Err(KeyError::ShortSecret);
        }
        let key = DecodingKey::from_secret(secret);
        Ok(VerificationKey {
            kid: None,
            algorithm: None,
            family: AlgorithmFamily::Hmac,
            signature: SignatureKey::prepare(&key, None).ok_or(KeyError::ShortSecret)?,
            jwk: None,
        })
    }

    /// A public key in PEM (SPKI `PUBLIC KEY`, or PKCS#1 `RSA PUBLIC KEY`): RSA, EC or Ed25519.
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let key = DecodingKey::from_rsa_pem(pem)
            .or_else(|_| DecodingKey::from_ec_pem(pem))
            .or_else(|_| DecodingKey::from_ed_pem(pem))
            .map_err(|_| KeyError::Pem)?;
        let family = key.family();
        Ok(VerificationKey {
            kid: None,
            algorithm: None,
            family,
            signature: SignatureKey::prepare(&key, None).ok_or(KeyError::Pem)?,
            jwk: None,
        })
    }

    /// A public JWK. Private or symmetric (`oct`) JWKs are refused: a JWKS is public.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        let kid = jwk.common.key_id.clone().unwrap_or_default();
        let fail = |reason: &str| KeyError::Jwk {
            kid: kid.clone(),
            reason: reason.to_owned(),
        };
        if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
            return Err(fail("symmetric keys are not accepted from a JWK"));
        }
        if let Some(usage) = &jwk.common.public_key_use {
            if !matches!(usage, jsonwebtoken::jwk::PublicKeyUse::Signature) {
                return Err(fail("key is not for signatures (`use` is not `sig`)"));
            }
        }
        if let Some(ops) = &jwk.common.key_operations {
            if !ops.contains(&KeyOperations::Verify) {
                return Err(fail(
                    "key is not for verification (`key_ops` lacks `verify`)",
                ));
            }
        }
        // The curve decides the algorithm of an EC key; an OKP key must be Ed25519 (X25519 is
        // for key agreement).
        let curve_algorithm = match &jwk.algorithm {
            AlgorithmParameters::EllipticCurve(params) => Some(match params.curve {
                EllipticCurve::P256 => Algorithm::ES256,
                EllipticCurve::P384 => Algorithm::ES384,
                _ => return Err(fail("`crv` is not P-256 or P-384")),
            }),
            AlgorithmParameters::OctetKeyPair(params) => {
                if params.curve != EllipticCurve::Ed25519 {
                    return Err(fail("`crv` is not Ed25519"));
                }
                None
            }
            _ => None,
        };
        let key = DecodingKey::from_jwk(jwk).map_err(|e| fail(&e.to_string()))?;
        let algorithm = match jwk.common.key_algorithm {
            None => None,
            Some(alg) => Some(
                signing_algorithm(alg).ok_or_else(|| fail("`alg` is not a signature algorithm"))?,
            ),
        };
        let family = key.family();
        if let Some(alg) = algorithm {
            if alg.family() != family {
                return Err(fail("`alg` does not match the key type"));
            }
            if curve_algorithm.is_some_and(|c| c != alg) {
                return Err(fail("`alg` does not match the curve `crv`"));
            }
        }
        let algorithm = algorithm.or(curve_algorithm);
        let signature = SignatureKey::prepare(&key, algorithm).ok_or_else(|| {
            fail(if curve_algorithm.is_some() {
                "the point is not on the curve `crv` names"
            } else {
                "the key does not load for its algorithm"
            })
        })?;
        Ok(VerificationKey {
            kid: jwk.common.key_id.clone(),
            algorithm,
            family,
            signature,
            jwk: serde_json::to_string(jwk).ok().map(String::into_boxed_str),
        })
    }

    /// Every usable key of a JWKS, and the reasons the others were skipped.
    pub fn from_jwk_set(set: &JwkSet) -> (Vec<Self>, Vec<KeyError>) {
        let mut keys = Vec::new();
        let mut skipped = Vec::new();
        for jwk in &set.keys {
            match Self::from_jwk(jwk) {
                Ok(k) => keys.push(k),
                Err(e) => skipped.push(e),
            }
        }
        (keys, skipped)
    }

    /// Binds the key to a `kid`.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Binds the key to one algorithm.
    pub fn with_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = Some(algorithm);
        self
    }

    /// The algorithm this key is for: its own `alg`, else the usual one for its type (RS256 for
    /// RSA, ES256/ES384 by curve, EdDSA). `None` for an HMAC secret (its hash is a choice).
    pub fn usual_algorithm(&self) -> Option<Algorithm> {
        self.algorithm.or(match self.family {
            AlgorithmFamily::Rsa => Some(Algorithm::RS256),
            AlgorithmFamily::Ec => self.signature.algorithms().next(),
            AlgorithmFamily::Ed => Some(Algorithm::EdDSA),
            AlgorithmFamily::Hmac => None,
        })
    }

    /// Whether `other` is the same JWK (same `kid`, same parameters).
    #[cfg(feature = "jwks")]
    pub(crate) fn same_jwk(&self, other: &VerificationKey) -> bool {
        self.jwk.is_some() && self.jwk == other.jwk
    }

    /// Whether this key may verify a token of `alg` with `kid`.
    pub(crate) fn matches(&self, alg: Algorithm, kid: Option<&str>) -> bool {
        self.family == alg.family()
            && self.algorithm.is_none_or(|a| a == alg)
            && self.signature.supports(alg)
            && match (kid, &self.kid) {
                (Some(wanted), Some(have)) => wanted == have,
                // A key configured without a `kid` (PEM, secret) has no name to mismatch.
                (Some(_), None) | (None, _) => true,
            }
    }
}

fn signing_algorithm(alg: KeyAlgorithm) -> Option<Algorithm> {
    Some(match alg {
        KeyAlgorithm::HS256 => Algorithm::HS256,
        KeyAlgorithm::HS384 => Algorithm::HS384,
        KeyAlgorithm::HS512 => Algorithm::HS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}
