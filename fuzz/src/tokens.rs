//! Keys and verifiers shared by the token targets. Tokens are assembled by hand (header text,
//! claims text, signature) so a target controls every byte the verifier reads.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey};
use mcp_rbac::verify::{JwtVerifier, VerificationKey};
use mcp_rbac::{ClaimsMapping, Role, RolePolicy};

use crate::json::{AUDIENCE, ISSUER};

/// The HMAC secret the HS256 verifier trusts.
pub const SECRET: &[u8] = b"mcp-rbac fuzzing secret, at least 32 bytes long";
/// A secret the verifier does not trust: whatever it signs must be refused.
pub const OTHER_SECRET: &[u8] = b"another secret of at least thirty-two bytes!!";

/// base64url without padding, as JWS segments are written.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `header.payload.signature` from the two JSON texts and a signer over `header.payload`.
pub fn compact(header: &str, claims: &str, sign: impl FnOnce(&[u8]) -> String) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let signature = sign(input.as_bytes());
    format!("{input}.{signature}")
}

/// The base64url signature of `input` with `key` and `alg`.
pub fn sign(input: &[u8], key: &EncodingKey, alg: Algorithm) -> String {
    mcp_rbac::verify::install_crypto_provider();
    jsonwebtoken::crypto::sign(input, key, alg).expect("the fuzz keys sign")
}

/// An HS256 signer with `secret`.
pub fn hs256(secret: &[u8]) -> impl FnOnce(&[u8]) -> String + '_ {
    move |input| sign(input, &EncodingKey::from_secret(secret), Algorithm::HS256)
}

/// The role policy of the products example: admin ⊃ user ⊃ guest.
pub fn products_policy() -> RolePolicy {
    RolePolicy::new([
        Role::new("guest").grants(["Guest.Read"]),
        Role::new("user")
            .inherits(["guest"])
            .grants(["User.Read", "User.Write"]),
        Role::new("admin").inherits(["user"]).grants(["Admin.*"]),
    ])
    .expect("the products policy is valid")
}

/// An HS256 verifier trusting [`SECRET`] for [`ISSUER`] and [`AUDIENCE`], default claims
/// mapping with the products policy, default leeway (30 s) and no token cache (so every run
/// checks the signature again and runs do not depend on each other).
pub fn hs256_verifier() -> JwtVerifier {
    JwtVerifier::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .algorithms([Algorithm::HS256])
        .key(VerificationKey::hmac_secret(SECRET).expect("long enough"))
        .claims(ClaimsMapping::default().with_role_policy(products_policy()))
        .token_cache_bytes(0)
        .build()
        .expect("a valid configuration")
}

/// Seconds since the epoch, as the verifier reads its clock.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
