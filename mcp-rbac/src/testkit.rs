//! A development token issuer: an ES256 key generated in memory, its JWKS, and tokens minted on
//! demand. The products example serves it so the server runs with no identity provider; tests use
//! it to mint valid, expired and foreign tokens. Not for production: the key dies with the process.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Map, Value};

use crate::verify::{JwtVerifier, JwtVerifierBuilder, VerificationKey};

/// The path the issuer's JWKS is served at by [`DevIssuer::router`].
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// The path of the issuer's OIDC discovery document.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// An in-memory ES256 issuer.
pub struct DevIssuer {
    issuer: String,
    audience: String,
    kid: String,
    encoding: EncodingKey,
    jwk: Jwk,
    key: VerificationKey,
}

/// Why the issuer could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevIssuerError {
    /// The key generator (or the system's random source) failed.
    #[error("development issuer: key generation failed")]
    Generate(#[source] aws_lc_rs::error::Unspecified),
    /// The generated key did not load: its cause is the crypto library's or the JWK parser's.
    #[error("development issuer: the generated key did not load")]
    Load(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl DevIssuer {
    /// A fresh key for `issuer`, minting tokens for `audience` by default.
    pub fn generate(
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Result<Self, DevIssuerError> {
        crate::verify::install_crypto_provider();
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(DevIssuerError::Generate)?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
            .map_err(|e| DevIssuerError::Load(e.into()))?;
        let point = pair.public_key().as_ref();
        if point.len() != 65 || point[0] != 4 {
            return Err(DevIssuerError::Load(
                "not an uncompressed P-256 point".into(),
            ));
        }
        let (x, y) = point[1..].split_at(32);
        let kid = format!("dev-{}", &URL_SAFE_NO_PAD.encode(&x[..9]));
        let jwk: Jwk = serde_json::from_value(json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
        }))
        .map_err(|e| DevIssuerError::Load(e.into()))?;
        let key = VerificationKey::from_jwk(&jwk).map_err(|e| DevIssuerError::Load(e.into()))?;
        Ok(DevIssuer {
            issuer: issuer.into(),
            audience: audience.into(),
            kid,
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk,
            key,
        })
    }

    /// The `iss` of its tokens.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The public JWKS.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: vec![self.jwk.clone()],
        }
    }

    /// The public key, for a verifier.
    pub fn verification_key(&self) -> VerificationKey {
        self.key.clone()
    }

    /// A verifier builder pre-set with this issuer, its default audience, ES256 and its key.
    pub fn verifier_builder(&self) -> JwtVerifierBuilder {
        JwtVerifier::builder()
            .issuer(&self.issuer)
            .audience(&self.audience)
            .algorithms([Algorithm::ES256])
            .key(self.verification_key())
    }

    /// A signed token. `claims` is merged over the defaults (`iss`, `aud`, `iat`, `exp` one hour
    /// ahead); a claim set to `null` is removed, so tests can drop a required claim.
    pub fn token(&self, claims: Value) -> String {
        let now = now();
        let mut all: Map<String, Value> = json!({
            "iss": self.issuer, "aud": self.audience, "iat": now, "exp": now + 3600,
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        if let Value::Object(given) = claims {
            for (k, v) in given {
                if v.is_null() {
                    all.remove(&k);
                } else {
                    all.insert(k, v);
                }
            }
        }
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &all, &self.encoding).unwrap_or_default()
    }

    /// Routes serving the JWKS at [`JWKS_PATH`] and a minimal OIDC discovery document (issuer and
    /// `jwks_uri`) at [`DISCOVERY_PATH`], so verifiers can find the keys from the issuer URL alone.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let jwks = serde_json::to_value(self.jwks()).unwrap_or(Value::Null);
        let discovery = json!({
            "issuer": self.issuer,
            "jwks_uri": format!("{}{JWKS_PATH}", self.issuer.trim_end_matches('/')),
            "id_token_signing_alg_values_supported": ["ES256"],
        });
        Router::new()
            .route(
                JWKS_PATH,
                get(move || std::future::ready(Json(jwks.clone()))),
            )
            .route(
                DISCOVERY_PATH,
                get(move || std::future::ready(Json(discovery.clone()))),
            )
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A client's DPoP key (ES256, in memory) making RFC 9449 proofs: for tests and examples of
/// servers that accept DPoP-bound tokens. Mint the token with `{"cnf": {"jkt": key.thumbprint()}}`.
pub struct DpopKey {
    pair: EcdsaKeyPair,
    jwk: Value,
}

impl std::fmt::Debug for DpopKey {
    // Never prints the private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopKey").field("jwk", &self.jwk).finish()
    }
}

impl DpopKey {
    /// A fresh P-256 key.
    pub fn generate() -> Result<Self, DevIssuerError> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(DevIssuerError::Generate)?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
            .map_err(|e| DevIssuerError::Load(e.into()))?;
        let point = pair.public_key().as_ref();
        if point.len() != 65 || point[0] != 4 {
            return Err(DevIssuerError::Load(
                "not an uncompressed P-256 point".into(),
            ));
        }
        let (x, y) = point[1..].split_at(32);
        let jwk = json!({
            "kty": "EC", "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
        });
        Ok(DpopKey { pair, jwk })
    }

    /// The public JWK a proof's header carries.
    pub fn jwk(&self) -> Value {
        self.jwk.clone()
    }

    /// Its RFC 7638 thumbprint: the `cnf.jkt` of tokens bound to it.
    pub fn thumbprint(&self) -> String {
        self.jwk
            .as_object()
            .and_then(crate::bearer::dpop::thumbprint)
            .unwrap_or_default()
    }

    /// A proof for a `method` request to `url` carrying `token`: `iat` now, a random `jti`.
    pub fn proof(&self, method: &str, url: &str, token: &str) -> String {
        let mut id = [0u8; 16];
        let _ = aws_lc_rs::rand::fill(&mut id);
        self.sign(
            json!({}),
            json!({
                "htm": method, "htu": url, "iat": now(), "jti": URL_SAFE_NO_PAD.encode(id),
                "ath": crate::bearer::dpop::token_hash(token),
            }),
        )
    }

    /// A proof of `claims`, its header `header` merged over `{"typ": "dpop+jwt", "alg": "ES256",
    /// "jwk": <this key>}` (a member set to `null` is removed), signed with ES256 whatever the
    /// header says: tests make wrong proofs with it.
    pub fn sign(&self, header: Value, claims: Value) -> String {
        let mut all = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk});
        if let (Some(all), Value::Object(given)) = (all.as_object_mut(), header) {
            for (k, v) in given {
                if v.is_null() {
                    all.remove(&k);
                } else {
                    all.insert(k, v);
                }
            }
        }
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(all.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .map(|s| URL_SAFE_NO_PAD.encode(s.as_ref()))
            .unwrap_or_default();
        format!("{input}.{signature}")
    }
}
