//! Refresh tokens: opaque, single-use, rotated on every refresh, with reuse detection.
//!
//! Each login starts a *family*; each refresh spends the presented token and hands out the next
//! one of the same family. Presenting a spent token means two parties hold the family (a thief
//! and the user), and the issuer cannot tell which is which, so it revokes the whole family, as
//! OAuth 2.1 (§4.3.1) and the OAuth security BCP recommend for public clients. Only SHA-256
//! digests are kept, so the table itself holds no usable token.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use aws_lc_rs::digest::{digest, SHA256};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// The most logins (families) alive at once; a login beyond it is refused until some expire.
pub const MAX_FAMILIES: usize = 100_000;
/// The spent tokens remembered per family for reuse detection; an older spent token is then
/// merely unknown (still refused, without revoking the family).
pub const MAX_SPENT_PER_FAMILY: usize = 16;

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
    /// [`MAX_FAMILIES`] logins are alive.
    #[error("too many active logins; try again later")]
    Full,
}

/// The issuer's refresh tokens.
pub struct RefreshTokens {
    ttl_secs: u64,
    max_families: usize,
    state: Mutex<State>,
    random: SystemRandom,
}

/// Tokens by digest, families by id, and families by expiry: every operation is a few hash
/// lookups plus the removal of what has expired, each entry removed once.
#[derive(Default)]
struct State {
    tokens: HashMap<[u8; 32], Token>,
    families: HashMap<u64, Family>,
    /// `(expires_at, family)` of each family's live token.
    by_expiry: BTreeSet<(u64, u64)>,
    next_family: u64,
}

struct Token {
    family: u64,
    expires_at: u64,
    spent: bool,
}

struct Family {
    subject: String,
    /// The live (unspent) token and when it expires; the family expires with it.
    live: [u8; 32],
    expires_at: u64,
    /// Spent tokens still remembered, oldest first.
    spent: VecDeque<[u8; 32]>,
}

impl RefreshTokens {
    /// Tokens that live `ttl_secs` seconds each (a refresh starts the next one's clock).
    pub fn new(ttl_secs: u64) -> Self {
        Self::with_capacity(ttl_secs, MAX_FAMILIES)
    }

    /// As [`new`](Self::new), with at most `max_families` logins alive at once.
    pub fn with_capacity(ttl_secs: u64, max_families: usize) -> Self {
        RefreshTokens {
            ttl_secs,
            max_families,
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
        if state.families.len() >= self.max_families {
            return Err(RefreshError::Full);
        }
        let family = state.next_family;
        state.next_family += 1;
        let live = digest_of(&token);
        let expires_at = now.saturating_add(self.ttl_secs);
        state.tokens.insert(
            live,
            Token {
                family,
                expires_at,
                spent: false,
            },
        );
        state.families.insert(
            family,
            Family {
                subject: subject.to_owned(),
                live,
                expires_at,
                spent: VecDeque::new(),
            },
        );
        state.by_expiry.insert((expires_at, family));
        Ok(token)
    }

    /// Spends `presented` and returns its successor and the subject it belongs to.
    pub fn rotate(&self, presented: &str, now: u64) -> Result<(String, String), RefreshError> {
        let next = self.fresh_token()?;
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.forget_expired(now);
        let key = digest_of(presented);
        let token = state.tokens.get(&key).ok_or(RefreshError::Invalid)?;
        if token.expires_at <= now {
            return Err(RefreshError::Invalid);
        }
        let family_id = token.family;
        if token.spent {
            state.revoke_family(family_id);
            tracing::warn!(
                family = family_id,
                "refresh token reuse detected; family revoked"
            );
            return Err(RefreshError::Reused);
        }
        let State {
            tokens,
            families,
            by_expiry,
            ..
        } = &mut *state;
        let family = families.get_mut(&family_id).ok_or(RefreshError::Invalid)?;
        if let Some(spent) = tokens.get_mut(&key) {
            spent.spent = true;
        }
        family.spent.push_back(key);
        while family.spent.len() > MAX_SPENT_PER_FAMILY {
            if let Some(oldest) = family.spent.pop_front() {
                tokens.remove(&oldest);
            }
        }
        let live = digest_of(&next);
        let expires_at = now.saturating_add(self.ttl_secs);
        by_expiry.remove(&(family.expires_at, family_id));
        by_expiry.insert((expires_at, family_id));
        family.live = live;
        family.expires_at = expires_at;
        tokens.insert(
            live,
            Token {
                family: family_id,
                expires_at,
                spent: false,
            },
        );
        Ok((next, family.subject.clone()))
    }

    /// Entries held: remembered tokens and live families.
    pub fn len(&self) -> (usize, usize) {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        (state.tokens.len(), state.families.len())
    }

    /// Whether no token is held.
    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0)
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
    /// Forgets the family and every token of it it remembers: they are then unknown.
    fn revoke_family(&mut self, id: u64) {
        if let Some(family) = self.families.remove(&id) {
            self.by_expiry.remove(&(family.expires_at, id));
            self.tokens.remove(&family.live);
            for spent in family.spent {
                self.tokens.remove(&spent);
            }
        }
    }

    /// Drops the families whose live token has expired (their spent tokens expired before it),
    /// so the table holds only tokens that could still be presented. A spent token is kept
    /// while its family lives: that is how its reuse is recognised.
    fn forget_expired(&mut self, now: u64) {
        while let Some(&(expires_at, id)) = self.by_expiry.first() {
            if expires_at > now {
                break;
            }
            self.revoke_family(id);
        }
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
    fn a_long_refresh_chain_holds_a_bounded_table() {
        let tokens = RefreshTokens::new(1_000_000);
        let mut token = tokens.start("alice", 0).unwrap();
        for now in 1..=1_000 {
            token = tokens.rotate(&token, now).unwrap().0;
        }
        // The live token and the last spent ones, not one entry per refresh.
        assert_eq!(tokens.len(), (1 + MAX_SPENT_PER_FAMILY, 1));
        // A recently spent token is still recognised as reuse.
        let spent = token.clone();
        let (_next, _) = tokens.rotate(&spent, 1_001).unwrap();
        assert_eq!(tokens.rotate(&spent, 1_002), Err(RefreshError::Reused));
        assert!(tokens.is_empty(), "the revoked family is forgotten whole");
    }

    #[test]
    fn expired_families_are_pruned_and_logins_are_capped() {
        let tokens = RefreshTokens::with_capacity(10, 3);
        for _ in 0..3 {
            tokens.start("bob", 0).unwrap();
        }
        assert_eq!(tokens.start("bob", 5), Err(RefreshError::Full));
        // Once they expire they make room.
        let fresh = tokens.start("bob", 10).unwrap();
        assert_eq!(tokens.len(), (1, 1));
        assert!(tokens.rotate(&fresh, 11).is_ok());
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
