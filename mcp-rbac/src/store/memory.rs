//! [`MemoryState`]: the shared state of one process, bounded and time-windowed.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use futures::future::BoxFuture;
use quick_cache::sync::Cache;

use super::{
    ReplayKey, RequestFacts, SessionOwner, SharedState, StoreError, Verdicts,
    DEFAULT_SUBJECT_REVOCATION_TTL,
};

/// How many DPoP proof `jti`s [`MemoryState::default`] remembers at once.
pub const DEFAULT_REPLAY_CAPACITY: usize = 100_000;
/// How many revocations (of `jti`s and of subjects, each) [`MemoryState::default`] holds.
pub const DEFAULT_REVOCATION_CAPACITY: usize = 100_000;
/// How many session owners [`MemoryState::default`] remembers.
const DEFAULT_SESSIONS: usize = 100_000;

/// The shared state in this process's memory. Proof `jti`s are bounded (past the capacity of
/// unexpired entries new proofs are refused, never old ones forgotten early) and time-windowed
/// (an entry leaves when its proof's `iat` is out of the window); revocations are bounded the
/// same way and leave when they expire; session owners are bounded, the least used forgotten
/// first (such a session is bound again to the next principal it serves).
pub struct MemoryState {
    replay_capacity: usize,
    replay: Mutex<Expiring<[u8; 32], ()>>,
    revocation_capacity: usize,
    subject_ttl: i64,
    any_revoked: AtomicBool,
    revoked: RwLock<Revoked>,
    sessions: Cache<Vec<u8>, Arc<SessionOwner>>,
}

impl std::fmt::Debug for MemoryState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryState")
            .field("replay_capacity", &self.replay_capacity)
            .field("remembered_proofs", &self.remembered_proofs())
            .field("revocation_capacity", &self.revocation_capacity)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Revoked {
    jtis: Expiring<String, ()>,
    subjects: Expiring<(Option<String>, String), i64>,
}

/// Keys with an expiry and a value, the soonest to expire first.
struct Expiring<K, V> {
    entries: HashMap<K, (i64, V)>,
    by_expiry: BTreeSet<(i64, K)>,
}

impl<K, V> Default for Expiring<K, V> {
    fn default() -> Self {
        Expiring {
            entries: HashMap::new(),
            by_expiry: BTreeSet::new(),
        }
    }
}

impl<K: Clone + Ord + std::hash::Hash, V> Expiring<K, V> {
    /// Drops what expired at or before `now`.
    fn expire(&mut self, now: i64) {
        while let Some((expiry, _)) = self.by_expiry.first() {
            if *expiry > now {
                break;
            }
            if let Some((_, key)) = self.by_expiry.pop_first() {
                self.entries.remove(&key);
            }
        }
    }

    fn get(&self, key: &K, now: i64) -> Option<&V> {
        self.entries
            .get(key)
            .filter(|(expiry, _)| *expiry > now)
            .map(|(_, value)| value)
    }

    /// Puts `key` with `value` until `expires_at`, replacing what it held; `false` when it is
    /// new and `capacity` entries are held already.
    fn put(&mut self, key: K, value: V, expires_at: i64, capacity: usize) -> bool {
        if let Some((old, _)) = self.entries.get(&key) {
            self.by_expiry.remove(&(*old, key.clone()));
        } else if self.entries.len() >= capacity {
            return false;
        }
        self.by_expiry.insert((expires_at, key.clone()));
        self.entries.insert(key, (expires_at, value));
        true
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

impl MemoryState {
    /// A state remembering at most `replay_capacity` unexpired DPoP proofs, and the defaults
    /// for the rest.
    pub fn new(replay_capacity: usize) -> Self {
        MemoryState {
            replay_capacity,
            replay: Mutex::new(Expiring::default()),
            revocation_capacity: DEFAULT_REVOCATION_CAPACITY,
            subject_ttl: DEFAULT_SUBJECT_REVOCATION_TTL.as_secs() as i64,
            any_revoked: AtomicBool::new(false),
            revoked: RwLock::new(Revoked::default()),
            sessions: Cache::new(DEFAULT_SESSIONS),
        }
    }

    /// How many session owners it remembers (at least one); past it the least used are
    /// forgotten.
    pub fn max_sessions(mut self, max: usize) -> Self {
        self.sessions = Cache::new(max.max(1));
        self
    }

    /// How many revoked `jti`s, and how many revoked subjects, it holds at once; past it a new
    /// revocation is refused ([`StoreError::Full`]).
    pub fn revocation_capacity(mut self, capacity: usize) -> Self {
        self.revocation_capacity = capacity;
        self
    }

    /// How long a subject revocation is kept after its time
    /// ([`DEFAULT_SUBJECT_REVOCATION_TTL`](super::DEFAULT_SUBJECT_REVOCATION_TTL)): at least
    /// the longest lifetime of the issuer's tokens.
    pub fn subject_revocation_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.subject_ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        self
    }

    /// How many DPoP proofs it remembers now.
    pub fn remembered_proofs(&self) -> usize {
        self.replay
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Records a DPoP proof: `Ok(true)` when it was not recorded yet, `Ok(false)` for a replay.
    pub fn first_use(&self, key: &ReplayKey, now: i64) -> Result<bool, StoreError> {
        let mut seen = self.replay.lock().unwrap_or_else(PoisonError::into_inner);
        seen.expire(now);
        if seen.entries.contains_key(&key.digest) {
            return Ok(false);
        }
        if seen.put(key.digest, (), key.expires_at, self.replay_capacity) {
            Ok(true)
        } else {
            Err(StoreError::Full)
        }
    }

    fn is_revoked(&self, facts: &RequestFacts<'_>) -> bool {
        if !self.any_revoked.load(Ordering::Acquire) {
            return false;
        }
        let revoked = self.revoked.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(jti) = facts.token_id {
            if revoked.jtis.get(&jti.to_owned(), facts.now).is_some() {
                return true;
            }
        }
        let key = (facts.issuer.map(str::to_owned), facts.subject.to_owned());
        match revoked.subjects.get(&key, facts.now) {
            Some(before) => facts.issued_at.is_none_or(|iat| iat <= *before),
            None => false,
        }
    }

    fn answer(&self, facts: &RequestFacts<'_>) -> Result<Verdicts, StoreError> {
        let replayed = match &facts.replay {
            Some(key) => !self.first_use(key, facts.now)?,
            None => false,
        };
        Ok(Verdicts {
            replayed,
            revoked: self.is_revoked(facts),
            session_owner: facts
                .session
                .and_then(|id| self.sessions.get(id))
                .map(|owner| (*owner).clone()),
        })
    }

    fn revoke(&self, change: impl FnOnce(&mut Revoked, i64) -> bool) -> Result<(), StoreError> {
        let now = super::unix_now();
        let mut revoked = self.revoked.write().unwrap_or_else(PoisonError::into_inner);
        revoked.jtis.expire(now);
        revoked.subjects.expire(now);
        if !change(&mut revoked, now) {
            return Err(StoreError::Full);
        }
        self.any_revoked.store(true, Ordering::Release);
        Ok(())
    }
}

impl Default for MemoryState {
    fn default() -> Self {
        MemoryState::new(DEFAULT_REPLAY_CAPACITY)
    }
}

fn ready<'a, T: Send + 'a>(value: T) -> BoxFuture<'a, T> {
    Box::pin(std::future::ready(value))
}

impl SharedState for MemoryState {
    fn check<'a>(
        &'a self,
        facts: &'a RequestFacts<'a>,
    ) -> BoxFuture<'a, Result<Verdicts, StoreError>> {
        ready(self.answer(facts))
    }

    fn revoke_jti<'a>(&'a self, jti: &'a str, until: i64) -> BoxFuture<'a, Result<(), StoreError>> {
        let capacity = self.revocation_capacity;
        ready(self.revoke(|revoked, now| {
            until <= now || revoked.jtis.put(jti.to_owned(), (), until, capacity)
        }))
    }

    fn revoke_subject<'a>(
        &'a self,
        issuer: Option<&'a str>,
        subject: &'a str,
        before: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let (capacity, ttl) = (self.revocation_capacity, self.subject_ttl);
        ready(self.revoke(|revoked, now| {
            let key = (issuer.map(str::to_owned), subject.to_owned());
            let before = match revoked.subjects.get(&key, now) {
                Some(earlier) => before.max(*earlier),
                None => before,
            };
            let until = before.saturating_add(ttl).max(now.saturating_add(1));
            revoked.subjects.put(key, before, until, capacity)
        }))
    }

    fn bind_session<'a>(
        &'a self,
        session: &'a [u8],
        owner: &'a SessionOwner,
        if_absent: bool,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let owner = Arc::new(owner.clone());
        if if_absent {
            let _ = self
                .sessions
                .get_or_insert_with(session, || Ok::<_, ()>(owner));
        } else {
            self.sessions.insert(session.to_vec(), owner);
        }
        ready(Ok(()))
    }

    fn session_owner<'a>(
        &'a self,
        session: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<SessionOwner>, StoreError>> {
        ready(Ok(self.sessions.get(session).map(|o| (*o).clone())))
    }

    fn remove_session<'a>(&'a self, session: &'a [u8]) -> BoxFuture<'a, Result<(), StoreError>> {
        self.sessions.remove(session);
        ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proof(n: u8, expires_at: i64) -> ReplayKey {
        ReplayKey {
            digest: [n; 32],
            expires_at,
        }
    }

    fn facts(now: i64) -> RequestFacts<'static> {
        RequestFacts {
            now,
            replay: None,
            token_id: Some("t-1"),
            issuer: Some("https://issuer"),
            subject: "alice",
            issued_at: Some(now - 10),
            session: None,
        }
    }

    #[test]
    fn proofs_are_bounded_and_windowed() {
        let store = MemoryState::new(2);
        assert_eq!(store.first_use(&proof(1, 110), 100), Ok(true));
        assert_eq!(store.first_use(&proof(1, 110), 100), Ok(false));
        assert_eq!(store.first_use(&proof(2, 120), 100), Ok(true));
        assert_eq!(store.first_use(&proof(3, 120), 100), Err(StoreError::Full));
        // At 110 the first entry expires: room for another, and the first may come again.
        assert_eq!(store.first_use(&proof(3, 130), 110), Ok(true));
        assert_eq!(store.remembered_proofs(), 2);
        assert_eq!(store.first_use(&proof(2, 130), 110), Ok(false));
        assert_eq!(store.first_use(&proof(2, 130), 120), Ok(true));
    }

    #[tokio::test]
    async fn one_check_answers_replay_revocation_and_owner() {
        let store = MemoryState::new(10);
        let now = super::super::unix_now();
        let mut asked = facts(now);
        asked.replay = Some(proof(9, now + 60));
        asked.session = Some(b"s-1");
        let first = store.check(&asked).await.unwrap();
        assert_eq!(first, Verdicts::default());
        let alice = SessionOwner {
            issuer: Some("https://issuer".into()),
            subject: "alice".into(),
        };
        store.bind_session(b"s-1", &alice, false).await.unwrap();
        let again = store.check(&asked).await.unwrap();
        assert!(again.replayed);
        assert!(!again.revoked);
        assert_eq!(again.session_owner.as_ref(), Some(&alice));
        // if_absent keeps the first owner; remove forgets it.
        let bob = SessionOwner {
            issuer: None,
            subject: "bob".into(),
        };
        store.bind_session(b"s-1", &bob, true).await.unwrap();
        assert_eq!(store.session_owner(b"s-1").await.unwrap(), Some(alice));
        store.remove_session(b"s-1").await.unwrap();
        assert_eq!(store.session_owner(b"s-1").await.unwrap(), None);
    }

    #[tokio::test]
    async fn revocations_by_jti_and_by_subject() {
        let store = MemoryState::new(10).revocation_capacity(1);
        let now = super::super::unix_now();
        assert!(!store.check(&facts(now)).await.unwrap().revoked);
        store.revoke_jti("t-1", now + 60).await.unwrap();
        assert!(store.check(&facts(now)).await.unwrap().revoked);
        // Past its time the jti revocation is gone.
        assert!(!store.check(&facts(now + 61)).await.unwrap().revoked);
        assert_eq!(
            store.revoke_jti("t-2", now + 60).await,
            Err(StoreError::Full)
        );

        let mut other = facts(now);
        other.token_id = Some("t-9");
        store
            .revoke_subject(Some("https://issuer"), "alice", now - 5)
            .await
            .unwrap();
        // Issued at now - 10, before the revocation: refused; a later token passes.
        assert!(store.check(&other).await.unwrap().revoked);
        other.issued_at = Some(now - 5);
        assert!(store.check(&other).await.unwrap().revoked, "iat = T");
        other.issued_at = Some(now - 4);
        assert!(!store.check(&other).await.unwrap().revoked);
        other.issued_at = None;
        assert!(store.check(&other).await.unwrap().revoked, "no iat");
        // Another issuer's alice is someone else.
        other.issued_at = Some(now - 10);
        other.issuer = Some("https://elsewhere");
        assert!(!store.check(&other).await.unwrap().revoked);
        // An earlier time does not undo a later one.
        other.issuer = Some("https://issuer");
        store
            .revoke_subject(Some("https://issuer"), "alice", now - 100)
            .await
            .unwrap();
        assert!(store.check(&other).await.unwrap().revoked);
    }

    #[tokio::test]
    async fn owners_are_bounded() {
        let store = MemoryState::new(1).max_sessions(1);
        let owner = |s: &str| SessionOwner {
            issuer: None,
            subject: s.into(),
        };
        store.bind_session(b"a", &owner("a"), false).await.unwrap();
        store.bind_session(b"b", &owner("b"), false).await.unwrap();
        let held = [b"a", b"b"];
        let mut known = 0;
        for id in held {
            known += usize::from(store.session_owner(id).await.unwrap().is_some());
        }
        assert_eq!(known, 1);
    }
}
