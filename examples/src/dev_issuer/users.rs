//! The users file: names, Argon2 password hashes (PHC strings) and roles, in TOML.
//!
//! ```toml
//! [users.alice]
//! password_hash = "$argon2id$v=19$m=19456,t=2,p=1$…"   # dev-issuer hash-password < file
//! roles = ["admin"]
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Argon2, Params};

/// The longest password accepted: Argon2 takes any length, but hashing megabytes per request
/// would let one client keep a core busy.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A user who may log in.
#[derive(Clone, Debug)]
pub struct User {
    /// The login name, and the tokens' `sub`.
    pub name: String,
    /// The tokens' `roles` claim.
    pub roles: Vec<String>,
}

/// Every user of the issuer, with their password hashes.
pub struct Users {
    by_name: BTreeMap<String, (User, String)>,
    /// A hash of no one's password, checked when the name is unknown, so an unknown user costs
    /// the same time as a wrong password and timing does not tell which names exist.
    decoy: String,
}

/// Why the users file is unusable.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    /// It cannot be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// It is not the expected TOML.
    #[error("invalid users file: {0}")]
    Toml(String),
    /// A user's hash is not an Argon2 PHC string.
    #[error("user `{user}`: password_hash is not an Argon2 PHC string ({reason}); make one with `dev-issuer hash-password`")]
    Hash {
        /// The user.
        user: String,
        /// What is wrong.
        reason: String,
    },
    /// No users.
    #[error("the users file defines no users")]
    Empty,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    users: BTreeMap<String, UserEntry>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct UserEntry {
    password_hash: String,
    #[serde(default)]
    roles: Vec<String>,
}

impl Users {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Self, UsersError> {
        let text = std::fs::read_to_string(path).map_err(|e| UsersError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::from_toml_str(&text)
    }

    /// Parses a users file; every hash must be an Argon2 PHC string.
    pub fn from_toml_str(text: &str) -> Result<Self, UsersError> {
        let file: UsersFile = toml::from_str(text).map_err(|e| UsersError::Toml(e.to_string()))?;
        if file.users.is_empty() {
            return Err(UsersError::Empty);
        }
        let mut by_name = BTreeMap::new();
        for (name, entry) in file.users {
            check_hash(&entry.password_hash).map_err(|reason| UsersError::Hash {
                user: name.clone(),
                reason,
            })?;
            let user = User {
                name: name.clone(),
                roles: entry.roles,
            };
            by_name.insert(name, (user, entry.password_hash));
        }
        let decoy =
            decoy_like(by_name.values().map(|(_, hash)| hash.as_str())).map_err(|reason| {
                UsersError::Hash {
                    user: "(decoy)".into(),
                    reason,
                }
            })?;
        Ok(Users { by_name, decoy })
    }

    /// The users, by name.
    pub fn iter(&self) -> impl Iterator<Item = &User> {
        self.by_name.values().map(|(user, _)| user)
    }

    /// The user `name`.
    pub fn get(&self, name: &str) -> Option<&User> {
        self.by_name.get(name).map(|(user, _)| user)
    }

    /// The user whose name and password these are. Slow on purpose (Argon2): call it off the
    /// async runtime. An unknown name costs as much as a wrong password.
    pub fn authenticate(&self, name: &str, password: &str) -> Option<&User> {
        match self.by_name.get(name) {
            Some((user, hash)) => verify(password, hash).then_some(user),
            None => {
                verify(password, &self.decoy);
                None
            }
        }
    }
}

/// A hash of a password no one has, with the cost parameters of the first user's hash, so
/// checking it takes as long as checking a real one.
fn decoy_like<'a>(mut hashes: impl Iterator<Item = &'a str>) -> Result<String, String> {
    let first = hashes.next().ok_or("no users")?;
    let parsed = PasswordHash::new(first).map_err(|e| e.to_string())?;
    let params = Params::try_from(&parsed).map_err(|e| e.to_string())?;
    Argon2::from(params)
        .hash_password(b"no user has this password")
        .map(|hash| hash.to_string())
        .map_err(|e| e.to_string())
}

fn check_hash(hash: &str) -> Result<(), String> {
    let parsed = PasswordHash::new(hash).map_err(|e| e.to_string())?;
    match parsed.algorithm.as_str() {
        "argon2id" | "argon2i" | "argon2d" => Params::try_from(&parsed)
            .map(drop)
            .map_err(|e| e.to_string()),
        other => Err(format!("algorithm `{other}`")),
    }
}

fn verify(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// An Argon2id PHC string for `password` with a random salt and the crate's default cost
/// (OWASP's minimum: 19 MiB, two passes).
///
/// ```
/// let hash = mcp_rbac_examples::dev_issuer::hash_password("correct horse").unwrap();
/// assert!(hash.starts_with("$argon2id$"));
/// ```
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with(hash: &str) -> String {
        format!("[users.alice]\npassword_hash = \"{hash}\"\nroles = [\"admin\"]\n")
    }

    #[test]
    fn a_user_logs_in_with_the_right_password_only() {
        let users = Users::from_toml_str(&file_with(&hash_password("s3cret").unwrap())).unwrap();
        let alice = users
            .authenticate("alice", "s3cret")
            .expect("right password");
        assert_eq!(alice.roles, ["admin"]);
        assert!(users.authenticate("alice", "s3cret ").is_none());
        assert!(users.authenticate("mallory", "s3cret").is_none());
    }

    #[test]
    fn hashes_that_are_not_argon2_phc_strings_are_refused_at_load() {
        for bad in ["plaintext", "$2b$12$abcdefghijklmnopqrstuv", ""] {
            let err = Users::from_toml_str(&file_with(bad)).err().expect(bad);
            assert!(err.to_string().contains("user `alice`"), "{err}");
        }
        let err = Users::from_toml_str("[users]\n").err().expect("empty");
        assert!(matches!(err, UsersError::Empty), "{err}");
        let err = Users::from_toml_str("[users.a]\npassword = \"x\"\n")
            .err()
            .expect("unknown key");
        assert!(matches!(err, UsersError::Toml(_)), "{err}");
    }
}
