//! Verified tokens, remembered so a repeated token skips its signature check.
//!
//! Safe to share because it remembers only what the verifier proved: an entry is made from a
//! token that passed every check, keyed by the *whole* token (a different byte anywhere is a
//! different key, so nothing can be planted for another token), and at every hit the time
//! claims are checked again and the key that verified it must still be trusted. Refusals are
//! never cached. The cache is bounded by bytes, not entries, since tokens vary in size.

use std::sync::{Arc, Weak};
use std::time::Duration;

use quick_cache::sync::Cache;
use quick_cache::Weighter;

use super::registered::TimeWindow;
use super::{AuthError, VerificationKey};
use crate::principal::Principal;

/// Default memory budget of the cache.
pub const DEFAULT_CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// What a verified token proved, and what must still hold at each use.
#[derive(Clone)]
struct Verified {
    principal: Principal,
    expires: i64,
    not_before: Option<i64>,
    /// The key that verified the signature; gone from the trusted set means gone from here.
    key: Weak<VerificationKey>,
}

/// The weight of an entry: the token it is keyed by, and the claims its principal holds (their
/// JSON is, within a small factor, the token's payload).
#[derive(Clone)]
struct TokenBytes;

impl Weighter<Box<str>, Verified> for TokenBytes {
    fn weight(&self, token: &Box<str>, _: &Verified) -> u64 {
        2 * token.len() as u64 + 256
    }
}

/// A bounded cache of verified tokens.
pub(crate) struct TokenCache {
    entries: Cache<Box<str>, Verified, TokenBytes>,
    leeway: i64,
}

/// The answer of the cache for one token.
pub(crate) enum Lookup {
    /// Verified before and still valid.
    Hit(Principal),
    /// Verified before, but a time claim now refuses it.
    Refused(AuthError),
    /// Not known (or its key is no longer trusted): verify it.
    Miss,
}

impl TokenCache {
    pub(crate) fn new(max_bytes: u64, leeway: Duration) -> Self {
        let estimated_items = (max_bytes / 2048).max(16) as usize;
        TokenCache {
            entries: Cache::with_weighter(estimated_items, max_bytes, TokenBytes),
            leeway: i64::try_from(leeway.as_secs()).unwrap_or(i64::MAX),
        }
    }

    /// The answer for `token` at `now` (seconds since the epoch).
    pub(crate) fn get(&self, token: &str, now: i64) -> Lookup {
        let Some(entry) = self.entries.get(token) else {
            return Lookup::Miss;
        };
        if entry.key.strong_count() == 0 {
            self.entries.remove(token);
            return Lookup::Miss;
        }
        if now > entry.expires.saturating_add(self.leeway) {
            self.entries.remove(token);
            return Lookup::Refused(AuthError::Expired);
        }
        if entry
            .not_before
            .is_some_and(|nbf| nbf > now.saturating_add(self.leeway))
        {
            return Lookup::Refused(AuthError::NotYetValid);
        }
        Lookup::Hit(entry.principal)
    }

    /// Remembers `principal` for `token`, verified by `key`, usable within `window` (the
    /// token's checked `exp` and `nbf`).
    pub(crate) fn insert(
        &self,
        token: &str,
        principal: &Principal,
        key: &Arc<VerificationKey>,
        window: TimeWindow,
    ) {
        self.entries.insert(
            token.into(),
            Verified {
                principal: principal.clone(),
                expires: window.expires,
                not_before: window.not_before,
                key: Arc::downgrade(key),
            },
        );
    }

    /// Drops every entry whose key is no longer trusted (after a key set changes).
    #[cfg(any(feature = "jwks", test))]
    pub(crate) fn forget_untrusted(&self) {
        self.entries.retain(|_, v| v.key.strong_count() > 0);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::unix_now;

    impl TokenCache {
        fn get_now(&self, token: &str) -> Lookup {
            self.get(token, unix_now())
        }
    }

    fn key() -> Arc<VerificationKey> {
        Arc::new(VerificationKey::hmac_secret(&[7; 32]).expect("key"))
    }

    fn principal() -> Principal {
        Principal::builder("alice").build()
    }

    fn window(expires: i64, not_before: Option<i64>) -> TimeWindow {
        TimeWindow {
            expires,
            not_before,
        }
    }

    #[test]
    fn a_hit_needs_the_exact_token_and_a_live_key() {
        let cache = TokenCache::new(1 << 20, Duration::ZERO);
        let k = key();
        cache.insert("a.b.c", &principal(), &k, window(unix_now() + 60, None));
        assert!(matches!(cache.get_now("a.b.c"), Lookup::Hit(p) if p.subject() == "alice"));
        assert!(matches!(cache.get_now("a.b.c "), Lookup::Miss));
        assert!(matches!(cache.get_now("a.b."), Lookup::Miss));
        drop(k);
        assert!(matches!(cache.get_now("a.b.c"), Lookup::Miss));
        assert_eq!(cache.len(), 0, "an entry of a dropped key is removed");
    }

    #[test]
    fn time_claims_are_checked_at_every_hit() {
        let cache = TokenCache::new(1 << 20, Duration::from_secs(5));
        let k = key();
        let now = unix_now();
        cache.insert("expired", &principal(), &k, window(now - 10, None));
        cache.insert("in-leeway", &principal(), &k, window(now - 2, None));
        cache.insert("early", &principal(), &k, window(now + 60, Some(now + 30)));
        assert!(matches!(
            cache.get_now("expired"),
            Lookup::Refused(AuthError::Expired)
        ));
        assert!(matches!(cache.get_now("in-leeway"), Lookup::Hit(_)));
        assert!(matches!(
            cache.get_now("early"),
            Lookup::Refused(AuthError::NotYetValid)
        ));
    }

    #[test]
    fn the_budget_holds() {
        let cache = TokenCache::new(64 * 1024, Duration::ZERO);
        let k = key();
        let p = principal();
        for i in 0..1000 {
            cache.insert(&format!("{i:01000}"), &p, &k, window(unix_now() + 60, None));
        }
        assert!(cache.entries.weight() <= 64 * 1024);
        assert!(cache.len() < 1000);
    }

    #[test]
    fn forget_untrusted_sweeps_dead_keys() {
        let cache = TokenCache::new(1 << 20, Duration::ZERO);
        let (live, dead) = (key(), key());
        let p = principal();
        let w = window(unix_now() + 60, None);
        cache.insert("live", &p, &live, w);
        cache.insert("dead", &p, &dead, w);
        drop(dead);
        cache.forget_untrusted();
        assert_eq!(cache.len(), 1);
        assert!(matches!(cache.get_now("live"), Lookup::Hit(_)));
    }
}
