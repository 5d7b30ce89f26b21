//! Refresh tokens: opaque, single-use, rotated on every refresh, with reuse detection.
//!
//! Each login starts a *family*; each refresh spends the presented token and hands out the next
//! one of the same family. Presenting a spent token means two parties hold the family (a thief
//! and the user), and the issuer cannot tell which is which, so it revokes the whole family, as
//! OAuth 2.1 (§4.3.1) and the OAuth security BCP recommend for public clients. Only SHA-256
//! digests are kept, so the table itself holds no usable token.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use aws_lc_rs::digest::{digest, SHA256};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Why a refresh token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefreshError {
    /// Never issued, expired, or of a revoked family.
    #[error("refresh token is unknown, expired or revoked")]
    Invalid,
    /// Already spent: its family is now revoked.
    #[error("refresh token was already used; every token of its login is revoked")]
    Reused,
    /// No randomness for a new token.
    #[error("no random source for a new refresh token")]
    Random,
}

/// The issuer's refresh tokens.
pub struct RefreshTokens {
    ttl_secs: u64,
    state: Mutex<State>,
    random: SystemRandom,
}

#[derive(Default)]
struct State {
    by_digest: HashMap<[u8; 32], Entry>,
    next_family: u64,
}

struct Entry {
    family: u64,
    subject: String,
    expires_at: u64,
    spent: bool,
    revoked: bool,
}

impl RefreshTokens {
    /// Tokens that live `ttl_secs` seconds each (a refresh starts the next one's clock).
    pub fn new(ttl_secs: u64) -> Self {
        RefreshTokens {
            ttl_secs,
            state: Mutex::new(State::default()),
            random: SystemRandom::new(),
        }
    }

    /// How long each token lives.
    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    /// The first token of a new family for `subject`.
    pub fn start(&self, subject: &str, now: u64) -> Result<String, RefreshError> {
        let token = self.fresh_token()?;
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.forget_expired(now);
        let family = state.next_family;
        state.next_family += 1;
        state.insert(&token, family, subject, now + self.ttl_secs);
        Ok(token)
    }

    /// Spends `presented` and returns its successor and the subject it belongs to.
    pub fn rotate(&self, presented: &str, now: u64) -> Result<(String, String), RefreshError> {
        let next = self.fresh_token()?;
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.forget_expired(now);
        let key = digest_of(presented);
        let entry = state.by_digest.get_mut(&key).ok_or(RefreshError::Invalid)?;
        if entry.revoked {
            return Err(RefreshError::Invalid);
        }
        if entry.spent {
            let family = entry.family;
            state.revoke_family(family);
            tracing::warn!(family, "refresh token reuse detected; family revoked");
            return Err(RefreshError::Reused);
        }
        entry.spent = true;
        let (family, subject) = (entry.family, entry.subject.clone());
        state.insert(&next, family, &subject, now + self.ttl_secs);
        Ok((next, subject))
    }

    fn fresh_token(&self) -> Result<String, RefreshError> {
        let mut bytes = [0u8; 32];
        self.random
            .fill(&mut bytes)
            .map_err(|_| RefreshError::Random)?;
        Ok(URL_SAFE_NO_PAD.encode(bytes))
    }
}

impl State {
    fn insert(&mut self, token: &str, family: u64, subject: &str, expires_at: u64) {
        self.by_digest.insert(
            digest_of(token),
            Entry {
                family,
                subject: subject.to_owned(),
                expires_at,
                spent: false,
                revoked: false,
            },
        );
    }

    fn revoke_family(&mut self, family: u64) {
        self.by_digest
            .values_mut()
            .filter(|e| e.family == family)
            .for_each(|e| e.revoked = true);
    }

    /// Drops expired entries, so the table holds only tokens that could still be presented.
    /// A spent token is kept until it expires: that is how its reuse is recognised.
    fn forget_expired(&mut self, now: u64) {
        self.by_digest.retain(|_, e| e.expires_at > now);
    }
}

fn digest_of(token: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_spends_the_old_token_and_reuse_revokes_the_family() {
        let tokens = RefreshTokens::new(100);
        let first = tokens.start("alice", 0).unwrap();
        let (second, subject) = tokens.rotate(&first, 1).unwrap();
        assert_eq!(subject, "alice");
        assert_ne!(first, second);
        assert_eq!(tokens.rotate(&first, 2), Err(RefreshError::Reused));
        // The successor was revoked with its family, though it was never spent.
        assert_eq!(tokens.rotate(&second, 3), Err(RefreshError::Invalid));
    }

    #[test]
    fn families_are_independent() {
        let tokens = RefreshTokens::new(100);
        let a = tokens.start("alice", 0).unwrap();
        let b = tokens.start("alice", 0).unwrap();
        tokens.rotate(&a, 1).unwrap();
        assert_eq!(tokens.rotate(&a, 2), Err(RefreshError::Reused));
        assert!(tokens.rotate(&b, 3).is_ok(), "another login is unaffected");
    }

    #[test]
    fn expired_and_unknown_tokens_are_refused() {
        let tokens = RefreshTokens::new(10);
        let t = tokens.start("bob", 0).unwrap();
        assert_eq!(tokens.rotate(&t, 10), Err(RefreshError::Invalid));
        assert_eq!(tokens.rotate("not-a-token", 0), Err(RefreshError::Invalid));
        assert_eq!(tokens.rotate("", 0), Err(RefreshError::Invalid));
    }
}
