//! API keys configured in a TOML file: one `[[keys]]` entry per key, holding its SHA-256 digest
//! and the principal it stands for. The plaintext keys never sit in the file.

use std::path::Path;

use serde::Deserialize;

use super::api_key::{ApiKeyConfigError, ApiKeyVerifierBuilder};
use crate::policy::line_column;
use crate::principal::Principal;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    #[serde(default)]
    keys: Vec<KeyEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    subject: String,
    sha256: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    permissions: Vec<String>,
    #[serde(default)]
    client: Option<String>,
}

impl ApiKeyVerifierBuilder {
    /// Adds the keys of a TOML key file:
    ///
    /// ```toml
    /// [[keys]]
    /// subject = "ci-bot"                   # the principal's subject
    /// sha256 = "ba7816bf…"                 # ApiKeyVerifier::hash_key of the key
    /// roles = ["admin"]                    # expanded by the builder's role policy
    /// permissions = ["Reports.Read"]       # granted directly
    /// client = "readonly-agent"            # optional: the client the key was issued to,
    ///                                      # whose ceiling a client policy applies
    /// ```
    ///
    /// Unknown fields (a `key = "…"` holding a plaintext key, say) are errors, as are hashes that
    /// are not 64 hexadecimal digits (reported by [`build`](Self::build), naming the subject).
    ///
    /// ```
    /// use mcp_rbac::verify::{ApiKeyVerifier, TokenVerifier};
    ///
    /// let file = format!(
    ///     "[[keys]]\nsubject = \"ci-bot\"\nsha256 = \"{}\"\npermissions = [\"Admin.Write\"]\n",
    ///     ApiKeyVerifier::hash_key("a-long-random-key"),
    /// );
    /// let verifier = ApiKeyVerifier::builder().keys_from_toml_str(&file)?.build()?;
    /// # futures::executor::block_on(async {
    /// let bot = verifier.verify("a-long-random-key").await.unwrap();
    /// assert!(bot.has_permission("Admin.Write"));
    /// # });
    ///
    /// let typo = ApiKeyVerifier::builder().keys_from_toml_str("[[keys]]\nsubject = \"x\"\nkey = \"secret\"\n");
    /// assert!(typo.unwrap_err().to_string().starts_with("API key TOML at line 3, column 1:"));
    /// # Ok::<(), mcp_rbac::verify::ApiKeyConfigError>(())
    /// ```
    pub fn keys_from_toml_str(mut self, toml: &str) -> Result<Self, ApiKeyConfigError> {
        let file: KeyFile = ::toml::from_str(toml).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|span| line_column(toml, span.start))
                .map_or((None, None), |(l, c)| (Some(l), Some(c)));
            ApiKeyConfigError::Toml {
                message: e.message().trim_end().to_owned(),
                line,
                column,
            }
        })?;
        for entry in file.keys {
            let mut principal = Principal::builder(entry.subject)
                .roles(entry.roles)
                .permissions(entry.permissions.iter().map(String::as_str));
            if let Some(client) = entry.client {
                principal = principal.client(client);
            }
            let principal = principal.build();
            self = self.key_hash(&entry.sha256, principal);
        }
        Ok(self)
    }

    /// Reads a TOML key file (see [`keys_from_toml_str`](Self::keys_from_toml_str)).
    pub fn keys_from_toml_file(self, path: impl AsRef<Path>) -> Result<Self, ApiKeyConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ApiKeyConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        self.keys_from_toml_str(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{ApiKeyVerifier, TokenVerifier};
    use crate::{Role, RolePolicy};

    fn entry(subject: &str, hash: &str, extra: &str) -> String {
        format!("[[keys]]\nsubject = \"{subject}\"\nsha256 = \"{hash}\"\n{extra}\n")
    }

    #[test]
    fn keys_map_to_their_principals_through_the_policy() {
        let file = entry(
            "ci-bot",
            &ApiKeyVerifier::hash_key("bot-key-0123456789"),
            "roles = [\"admin\"]",
        ) + &entry(
            "reader",
            &ApiKeyVerifier::hash_key("reader-key-0123456789").to_uppercase(),
            "permissions = [\"Guest.Read\"]",
        );
        let policy = RolePolicy::new([Role::new("admin").grants(["Admin.*"])]).unwrap();
        let verifier = ApiKeyVerifier::builder()
            .role_policy(policy)
            .keys_from_toml_str(&file)
            .unwrap()
            .build()
            .unwrap();
        futures::executor::block_on(async {
            let bot = verifier.verify("bot-key-0123456789").await.unwrap();
            assert_eq!(bot.subject(), "ci-bot");
            assert!(bot.has_permission("Admin.Write"));
            assert!(!bot.has_permission("Guest.Read"));
            let reader = verifier.verify("reader-key-0123456789").await.unwrap();
            assert_eq!(reader.subject(), "reader");
            assert!(reader.has_permission("Guest.Read"));
            assert!(!reader.has_permission("Admin.Write"));
            assert!(verifier.verify("bot-key-012345678").await.is_err());
        });
    }

    #[test]
    fn a_key_names_its_client_and_a_client_policy_caps_it() {
        let file = entry(
            "agent",
            &ApiKeyVerifier::hash_key("agent-key-0123456789"),
            "roles = [\"admin\"]\nclient = \"readonly-agent\"",
        );
        let policy =
            RolePolicy::new([Role::new("admin").grants(["Admin.*", "Guest.Read"])]).unwrap();
        let verifier = ApiKeyVerifier::builder()
            .role_policy(policy)
            .keys_from_toml_str(&file)
            .unwrap()
            .build()
            .unwrap();
        let clients = crate::ClientPolicy::new(
            crate::DefaultCeiling::Unlimited,
            [crate::Client::new("readonly-agent").ceiling(["Guest.Read"])],
        )
        .unwrap();
        futures::executor::block_on(async {
            let agent = verifier.verify("agent-key-0123456789").await.unwrap();
            assert_eq!(agent.client(), Some("readonly-agent"));
            assert!(agent.has_permission("Admin.Write"), "no policy yet");
            let capped = agent.with_client_policy(&clients);
            assert!(!capped.has_permission("Admin.Write"));
            assert!(capped.has_permission("Guest.Read"));
        });
    }

    #[test]
    fn a_bad_hash_names_the_subject_not_the_hash() {
        let err = ApiKeyVerifier::builder()
            .keys_from_toml_str(&entry("ci-bot", "not-a-digest", ""))
            .unwrap()
            .build()
            .unwrap_err();
        assert!(
            matches!(&err, ApiKeyConfigError::InvalidHash(who) if who == "ci-bot"),
            "{err}"
        );
    }

    #[test]
    fn plaintext_keys_and_typos_are_refused_with_their_position() {
        let err = ApiKeyVerifier::builder()
            .keys_from_toml_str("[[keys]]\nsubject = \"x\"\nkey = \"hunter2\"\n")
            .unwrap_err();
        let ApiKeyConfigError::Toml { line, message, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(*line, Some(3));
        assert!(message.contains("unknown field `key`"), "{message}");

        let err = ApiKeyVerifier::builder()
            .keys_from_toml_str("[[keys]]\nsubject = \"x\"\n")
            .unwrap_err();
        assert!(err.to_string().contains("missing field `sha256`"), "{err}");
    }

    #[test]
    fn an_empty_file_builds_nothing() {
        let err = ApiKeyVerifier::builder()
            .keys_from_toml_str("")
            .unwrap()
            .build()
            .unwrap_err();
        assert!(matches!(err, ApiKeyConfigError::NoKeys), "{err}");
    }

    #[test]
    fn an_unreadable_file_says_which() {
        let err = ApiKeyVerifier::builder()
            .keys_from_toml_file("/nonexistent/keys.toml")
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot read API key file /nonexistent/keys.toml:"),
            "{err}"
        );
    }
}
