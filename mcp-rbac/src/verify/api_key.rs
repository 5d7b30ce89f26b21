//! Static API keys for simple servers: each key names one [`Principal`]. Keys are held only as
//! SHA-256 digests, and a presented key is hashed before anything is looked up.

use std::collections::HashMap;

use aws_lc_rs::{constant_time, digest, rand};
use futures::future::BoxFuture;

use super::{AuthError, TokenVerifier, DEFAULT_MAX_TOKEN_BYTES};
use crate::policy::RolePolicy;
use crate::principal::Principal;

type Digest = [u8; 32];

/// Verifies static API keys presented as bearer tokens.
///
/// Each key maps to a [`Principal`]: give it permissions directly, or roles that the verifier's
/// [`RolePolicy`] expands. Only SHA-256 digests of the keys are kept (configure them with
/// [`key_hash`](ApiKeyVerifierBuilder::key_hash); [`ApiKeyVerifier::hash_key`] prints one), and
/// a presented key is hashed first, found by its digest's leading bytes and then compared in
/// constant time, so timing reveals nothing about how close a guess came to a real key.
///
/// ```
/// use mcp_rbac::verify::{ApiKeyVerifier, TokenVerifier};
/// use mcp_rbac::{Principal, Role, RolePolicy};
///
/// // Once, to configure: store the hash, hand out the key.
/// let key = ApiKeyVerifier::generate_key();
/// let hash = ApiKeyVerifier::hash_key(&key);
///
/// let verifier = ApiKeyVerifier::builder()
///     .role_policy(RolePolicy::new([Role::new("admin").grants(["Admin.*"])]).unwrap())
///     .key_hash(&hash, Principal::builder("ci-bot").roles(["admin"]).build())
///     .key("a-development-key-0123456789", Principal::builder("dev").permissions(["Guest.Read"]).build())
///     .build()
///     .unwrap();
///
/// # futures::executor::block_on(async {
/// let bot = verifier.verify(&key).await.unwrap();
/// assert_eq!(bot.subject(), "ci-bot");
/// assert!(bot.has_permission("Admin.Write"));
/// assert!(verifier.verify("a guess").await.is_err());
/// # });
/// ```
pub struct ApiKeyVerifier {
    /// Keyed by the digest's first eight bytes; the full digest is compared in constant time.
    keys: HashMap<u64, Vec<(Digest, Principal)>>,
    max_key_bytes: usize,
}

impl std::fmt::Debug for ApiKeyVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyVerifier")
            .field("keys", &self.keys.values().map(Vec::len).sum::<usize>())
            .finish_non_exhaustive()
    }
}

/// Why an [`ApiKeyVerifier`] cannot be built. Messages name the key's principal, never the
/// key or its hash.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiKeyConfigError {
    /// No key configured: the verifier would refuse everything.
    #[error("no API key configured")]
    NoKeys,
    /// A hash that is not 64 hexadecimal digits.
    #[error("the API key hash for `{0}` is not a SHA-256 digest in hex (64 hexadecimal digits)")]
    InvalidHash(String),
    /// An empty plaintext key.
    #[error("the API key for `{0}` is empty")]
    EmptyKey(String),
    /// The same key configured twice.
    #[error("the API key for `{0}` is configured more than once")]
    DuplicateKey(String),
    /// A TOML key file that does not parse, or has a field the format does not know. `line` and
    /// `column` count from 1.
    #[error("API key TOML{}: {message}", crate::policy::location(*.line, *.column))]
    Toml {
        /// What is wrong.
        message: String,
        /// Line of the error.
        line: Option<usize>,
        /// Column of the error, in characters.
        column: Option<usize>,
    },
    /// A key file that cannot be read.
    #[error("cannot read API key file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
}

/// Builds an [`ApiKeyVerifier`].
#[derive(Default)]
pub struct ApiKeyVerifierBuilder {
    keys: Vec<(Result<Digest, ApiKeyConfigError>, Principal)>,
    policy: Option<RolePolicy>,
    max_key_bytes: Option<usize>,
}

impl std::fmt::Debug for ApiKeyVerifierBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyVerifierBuilder")
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl ApiKeyVerifier {
    /// Starts a verifier.
    pub fn builder() -> ApiKeyVerifierBuilder {
        ApiKeyVerifierBuilder::default()
    }

    /// The lowercase hex SHA-256 of `key`: what [`key_hash`](ApiKeyVerifierBuilder::key_hash)
    /// takes, for configuration files.
    ///
    /// ```
    /// assert_eq!(
    ///     mcp_rbac::verify::ApiKeyVerifier::hash_key("abc"),
    ///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    /// );
    /// ```
    pub fn hash_key(key: &str) -> String {
        digest_of(key).iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A new random key: 32 bytes from the system's secure generator, base64url without padding
    /// (43 characters).
    ///
    /// # Panics
    ///
    /// If the operating system's random number generator fails (never on supported platforms).
    pub fn generate_key() -> String {
        use base64::Engine;
        let mut bytes = [0u8; 32];
        // The system generator does not fail on supported platforms; if it ever did, an
        // all-zero key must not come out of here.
        if rand::fill(&mut bytes).is_err() {
            panic!("the system random number generator failed");
        }
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    fn verify_key(&self, key: &str) -> Result<Principal, AuthError> {
        if key.len() > self.max_key_bytes {
            return Err(AuthError::TooLarge(self.max_key_bytes));
        }
        let presented = digest_of(key);
        let mut found = None;
        if let Some(candidates) = self.keys.get(&bucket(&presented)) {
            for (stored, principal) in candidates {
                if constant_time::verify_slices_are_equal(stored, &presented).is_ok() {
                    found = Some(principal.clone());
                }
            }
        }
        found.ok_or_else(|| AuthError::Rejected("API key is not recognised".into()))
    }
}

impl TokenVerifier for ApiKeyVerifier {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Principal, AuthError>> {
        Box::pin(std::future::ready(self.verify_key(token)))
    }
}

impl ApiKeyVerifierBuilder {
    /// A key given as its SHA-256 digest in hex (upper or lower case), and who holds it.
    pub fn key_hash(mut self, sha256_hex: &str, principal: Principal) -> Self {
        let digest = parse_hex_digest(sha256_hex)
            .ok_or_else(|| ApiKeyConfigError::InvalidHash(principal.subject().to_owned()));
        self.keys.push((digest, principal));
        self
    }

    /// A key given in plaintext (hashed at once; only the digest is kept), and who holds it.
    /// Prefer [`key_hash`](Self::key_hash) in configuration files.
    pub fn key(mut self, key: &str, principal: Principal) -> Self {
        let digest = if key.is_empty() {
            Err(ApiKeyConfigError::EmptyKey(principal.subject().to_owned()))
        } else {
            Ok(digest_of(key))
        };
        self.keys.push((digest, principal));
        self
    }

    /// Roles of the keys' principals grant permissions through `policy` (their direct
    /// permissions are kept).
    pub fn role_policy(mut self, policy: RolePolicy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// Cap on a presented key's length ([`DEFAULT_MAX_TOKEN_BYTES`] unless set).
    pub fn max_key_bytes(mut self, bytes: usize) -> Self {
        self.max_key_bytes = Some(bytes);
        self
    }

    /// The verifier, or why the configuration is unusable.
    pub fn build(self) -> Result<ApiKeyVerifier, ApiKeyConfigError> {
        if self.keys.is_empty() {
            return Err(ApiKeyConfigError::NoKeys);
        }
        let mut keys: HashMap<u64, Vec<(Digest, Principal)>> = HashMap::new();
        for (digest, principal) in self.keys {
            let digest = digest?;
            let principal = match &self.policy {
                Some(policy) => expand_roles(&principal, policy),
                None => principal,
            };
            let bucket = keys.entry(bucket(&digest)).or_default();
            if bucket.iter().any(|(d, _)| *d == digest) {
                return Err(ApiKeyConfigError::DuplicateKey(
                    principal.subject().to_owned(),
                ));
            }
            bucket.push((digest, principal));
        }
        Ok(ApiKeyVerifier {
            keys,
            max_key_bytes: self.max_key_bytes.unwrap_or(DEFAULT_MAX_TOKEN_BYTES),
        })
    }
}

/// `principal` with what its roles grant through `policy` added to its permissions.
fn expand_roles(principal: &Principal, policy: &RolePolicy) -> Principal {
    let granted = policy.permissions_of(principal.roles().iter().map(String::as_str));
    let mut builder = Principal::builder(principal.subject())
        .permission_set(principal.permissions())
        .permission_set(&granted)
        .roles(principal.roles().iter().cloned())
        .claims(principal.claims().clone());
    if let Some(issuer) = principal.issuer() {
        builder = builder.issuer(issuer);
    }
    if let Some(client) = principal.client() {
        builder = builder.client(client);
    }
    builder = builder.actors(principal.actors().iter().cloned());
    // Scopes are already among the permissions; record them without granting twice.
    builder.scopes(principal.scopes().iter().cloned()).build()
}

fn digest_of(key: &str) -> Digest {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, key.as_bytes()).as_ref());
    out
}

fn bucket(digest: &Digest) -> u64 {
    let mut prefix = [0u8; 8];
    prefix.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(prefix)
}

fn parse_hex_digest(hex: &str) -> Option<Digest> {
    let hex = hex.trim().as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let nibble = |c: u8| (c as char).to_digit(16);
        *byte = u8::try_from(nibble(pair[0])? * 16 + nibble(pair[1])?).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Role;

    fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
        futures::executor::block_on(f)
    }

    fn policy() -> RolePolicy {
        RolePolicy::new([
            Role::new("guest").grants(["Guest.Read"]),
            Role::new("admin").inherits(["guest"]).grants(["Admin.*"]),
        ])
        .unwrap()
    }

    const ALICE_KEY: &str = "alice-key-8c1f0e2d7b6a5948";
    const BOT_KEY: &str = "bot-key-3e5a7c9b1d2f4e6a";

    fn verifier() -> ApiKeyVerifier {
        ApiKeyVerifier::builder()
            .role_policy(policy())
            .key(
                ALICE_KEY,
                Principal::builder("alice")
                    .permissions(["Reports.Read"])
                    .build(),
            )
            .key_hash(
                &ApiKeyVerifier::hash_key(BOT_KEY).to_uppercase(),
                Principal::builder("ci-bot").roles(["admin"]).build(),
            )
            .build()
            .unwrap()
    }

    #[test]
    fn each_key_is_its_principal() {
        let v = verifier();
        let alice = block_on(v.verify(ALICE_KEY)).unwrap();
        assert_eq!(alice.subject(), "alice");
        assert_eq!(alice.permissions().names(), ["Reports.Read"]);
        let bot = block_on(v.verify(BOT_KEY)).unwrap();
        assert_eq!(bot.subject(), "ci-bot");
        assert_eq!(bot.roles(), ["admin"]);
        assert_eq!(bot.permissions().names(), ["Guest.Read", "Admin.*"]);
        assert!(bot.has_permission("Admin.Write"));
    }

    #[test]
    fn unknown_near_and_oversized_keys_are_refused_without_echo() {
        let v = verifier();
        for guess in [
            "",
            "alice-key-8c1f0e2d7b6a594",
            "alice-key-8c1f0e2d7b6a59480",
            " alice-key-8c1f0e2d7b6a5948",
        ] {
            let err = block_on(v.verify(guess)).unwrap_err();
            assert_eq!(err, AuthError::Rejected("API key is not recognised".into()));
        }
        let hash = ApiKeyVerifier::hash_key(ALICE_KEY);
        assert!(
            block_on(v.verify(&hash)).is_err(),
            "the hash is not the key"
        );
        let huge = "k".repeat(DEFAULT_MAX_TOKEN_BYTES + 1);
        assert_eq!(
            block_on(v.verify(&huge)).unwrap_err(),
            AuthError::TooLarge(DEFAULT_MAX_TOKEN_BYTES)
        );
    }

    #[test]
    fn hashes_are_sha256_hex() {
        assert_eq!(
            ApiKeyVerifier::hash_key(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let digest = parse_hex_digest(&ApiKeyVerifier::hash_key("abc")).unwrap();
        assert_eq!(digest, digest_of("abc"));
        assert_eq!(parse_hex_digest("zz"), None);
        assert_eq!(parse_hex_digest(&"g".repeat(64)), None);
        assert_eq!(parse_hex_digest(&"é".repeat(32)), None);
    }

    #[test]
    fn generated_keys_are_random_and_long() {
        let (a, b) = (
            ApiKeyVerifier::generate_key(),
            ApiKeyVerifier::generate_key(),
        );
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }

    #[test]
    fn bad_configurations_are_named() {
        let p = || Principal::builder("svc").build();
        assert_eq!(
            (ApiKeyVerifier::builder().build().unwrap_err()).to_string(),
            ApiKeyConfigError::NoKeys.to_string()
        );
        let err = ApiKeyVerifier::builder()
            .key_hash("abc123", p())
            .build()
            .unwrap_err();
        assert!(
            matches!(&err, ApiKeyConfigError::InvalidHash(who) if who == "svc"),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "the API key hash for `svc` is not a SHA-256 digest in hex (64 hexadecimal digits)"
        );
        assert_eq!(
            (ApiKeyVerifier::builder().key("", p()).build().unwrap_err()).to_string(),
            ApiKeyConfigError::EmptyKey("svc".into()).to_string()
        );
        assert_eq!(
            (ApiKeyVerifier::builder()
                .key("k1-0123456789", p())
                .key_hash(&ApiKeyVerifier::hash_key("k1-0123456789"), p())
                .build()
                .unwrap_err())
            .to_string(),
            ApiKeyConfigError::DuplicateKey("svc".into()).to_string()
        );
    }
}
