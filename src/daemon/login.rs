//! The defences of `POST /v0/auth/login`, the one route where anyone may
//! make the daemon check a password.
//!
//! Lockouts: after [`LockoutConfig::threshold`] failed attempts for one
//! username, or from one source address (IPv6 by its /64), every further
//! attempt is refused with 429 `login_locked` until the lock ends, the
//! right password included (else the lock would only hold up the guesses
//! that are wrong anyway). Each failure after that locks again, for twice as
//! long each time, up to [`LockoutConfig::cap`]. A success clears the
//! username's count; a username or address with no failure for
//! [`LockoutConfig::forget_after`] starts over. Refused attempts are neither
//! counted nor logged one by one: the log says once when a lockout starts.
//! A locked-out administrator can still use an API key.
//!
//! Usernames are kept as SHA-256 hashes (people type passwords into the
//! user field), and both tables are bounded: when one is full, entries that
//! are not locked make room; while it holds only locked entries, new
//! usernames or addresses share one counter, so that spraying random
//! usernames costs a fixed amount of memory and is still limited.
//!
//! Password hashing: an argon2 check takes about 19 MiB. At most
//! [`HASH_SLOTS`] run at once, each in a buffer allocated once and reused;
//! an attempt that finds them busy waits up to [`SLOT_WAIT`] and is then
//! refused with 429 `login_busy`.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::clock::SharedClock;
use super::error::ApiError;
use super::limits::{retry_after_secs, SourceKey};
use crate::secret::{self, TokenHash};

/// Password checks that may run at once.
pub(crate) const HASH_SLOTS: usize = 2;
/// How long an attempt waits for a free slot before it is refused.
pub(crate) const SLOT_WAIT: Duration = Duration::from_secs(2);
/// Most usernames, and most addresses, tracked one by one.
const MAX_TRACKED: usize = 16_384;
/// The longest lockout.
pub(crate) const MAX_LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// What the log says instead of a username that does not exist.
pub(crate) const UNKNOWN_USER: &str = "unknown user";

#[derive(Debug, Clone, Copy)]
pub(crate) struct LockoutConfig {
    /// Failures after which attempts are refused for a while.
    pub threshold: u32,
    /// The first lock; each failure after it doubles the next.
    pub base: Duration,
    /// The longest lock.
    pub cap: Duration,
    /// A username or address without a failure for this long starts over.
    pub forget_after: Duration,
}

impl Default for LockoutConfig {
    fn default() -> LockoutConfig {
        LockoutConfig {
            threshold: 5,
            base: Duration::from_secs(5),
            cap: MAX_LOCKOUT,
            forget_after: Duration::from_secs(60 * 60),
        }
    }
}

impl LockoutConfig {
    /// The lock that the `failures`-th failure starts (none below the
    /// threshold).
    fn lock_for(&self, failures: u32) -> Option<Duration> {
        let doublings = failures.checked_sub(self.threshold)?.min(30);
        Some(self.base.saturating_mul(1 << doublings).min(self.cap))
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

impl Failures {
    fn locked_at(&self, now: Instant) -> Option<Duration> {
        self.locked_until
            .filter(|&until| until > now)
            .map(|until| until - now)
    }
}

/// What a failure did to its username's or address's lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Locking {
    None,
    /// A lock began, for this long.
    Started(Duration),
    /// It was locked already (the attempt was let in before the lock began).
    Extended,
}

/// Failures per key; the `None` key is the counter shared by everything
/// that found the table full.
struct Table<K> {
    map: HashMap<Option<K>, Failures>,
    pruned_at: Option<Instant>,
}

impl<K: Hash + Eq + Copy> Table<K> {
    fn new() -> Table<K> {
        Table {
            map: HashMap::new(),
            pruned_at: None,
        }
    }

    /// The key `k` is counted under: itself, or the shared counter while the
    /// table is full.
    fn slot(&mut self, k: K, now: Instant, cfg: &LockoutConfig) -> Option<K> {
        let key = Some(k);
        if self.map.contains_key(&key) || self.map.len() < MAX_TRACKED {
            return key;
        }
        self.make_room(now, cfg);
        if self.map.len() < MAX_TRACKED {
            key
        } else {
            None
        }
    }

    fn locked(&self, k: K, now: Instant) -> Option<Duration> {
        self.map
            .get(&Some(k))
            .or_else(|| {
                // Keys that are not tracked are counted on the shared
                // counter, so they are locked with it.
                (self.map.len() >= MAX_TRACKED)
                    .then(|| self.map.get(&None))
                    .flatten()
            })
            .and_then(|f| f.locked_at(now))
    }

    fn fail(&mut self, k: K, now: Instant, cfg: &LockoutConfig) -> (Locking, u32) {
        let key = self.slot(k, now, cfg);
        let f = self.map.entry(key).or_insert(Failures {
            count: 0,
            last: now,
            locked_until: None,
        });
        if f.locked_at(now).is_none() && now.saturating_duration_since(f.last) >= cfg.forget_after {
            f.count = 0;
        }
        f.count = f.count.saturating_add(1);
        f.last = now;
        let Some(lock) = cfg.lock_for(f.count) else {
            return (Locking::None, f.count);
        };
        let was_locked = f.locked_at(now).is_some();
        let until = now + lock;
        f.locked_until = Some(f.locked_until.map_or(until, |u| u.max(until)));
        if was_locked {
            (Locking::Extended, f.count)
        } else {
            (Locking::Started(lock), f.count)
        }
    }

    fn clear(&mut self, k: K) {
        self.map.remove(&Some(k));
    }

    /// Drops what has been forgotten; when that is not enough, also what is
    /// not locked now. At most once a second, so that a full table of locked
    /// entries is not scanned on every attempt.
    fn make_room(&mut self, now: Instant, cfg: &LockoutConfig) {
        if self
            .pruned_at
            .is_some_and(|t| now.saturating_duration_since(t) < Duration::from_secs(1))
        {
            return;
        }
        self.pruned_at = Some(now);
        self.forget(now, cfg);
        if self.map.len() >= MAX_TRACKED {
            self.map
                .retain(|k, f| k.is_none() || f.locked_at(now).is_some());
        }
        if self.map.len() >= MAX_TRACKED {
            tracing::warn!(
                tracked = self.map.len(),
                "the login lockout table is full of locked entries; new usernames or addresses \
                 share one counter until some of them expire"
            );
        }
    }

    /// Drops entries that are not locked and had no failure for
    /// `forget_after`.
    fn forget(&mut self, now: Instant, cfg: &LockoutConfig) {
        self.map.retain(|_, f| {
            f.locked_at(now).is_some() || now.saturating_duration_since(f.last) < cfg.forget_after
        });
    }
}

/// Lockouts and the password-hashing slots of `POST /v0/auth/login`.
pub(crate) struct LoginGuard {
    cfg: LockoutConfig,
    /// The daemon's clock: a lock lasts its duration on it.
    clock: SharedClock,
    users: Mutex<Table<[u8; 32]>>,
    sources: Mutex<Table<SourceKey>>,
    permits: Arc<Semaphore>,
    buffers: Arc<Mutex<Vec<Vec<argon2::Block>>>>,
}

fn user_key(username: &str) -> [u8; 32] {
    TokenHash::of(username).0
}

impl LoginGuard {
    pub(crate) fn new(cfg: LockoutConfig, clock: SharedClock) -> LoginGuard {
        LoginGuard {
            cfg,
            clock,
            users: Mutex::new(Table::new()),
            sources: Mutex::new(Table::new()),
            permits: Arc::new(Semaphore::new(HASH_SLOTS)),
            buffers: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Refuses an attempt for `username` from `source` while either is
    /// locked: 429 `login_locked` with the time left.
    pub(crate) fn check(&self, username: &str, source: IpAddr) -> Result<(), ApiError> {
        let now = self.clock.now_instant();
        let user = self.users.lock().locked(user_key(username), now);
        let addr = self.sources.lock().locked(SourceKey::of(source), now);
        let (left, whom) = match (user, addr) {
            (None, None) => return Ok(()),
            (Some(u), Some(a)) if a > u => (a, "from this address"),
            (Some(u), _) => (u, "for this username"),
            (None, Some(a)) => (a, "from this address"),
        };
        let secs = retry_after_secs(left);
        Err(ApiError::too_many(
            "login_locked",
            format!(
                "too many failed logins {whom}; try again in {secs} s (an administrator can \
                 still use an API key meanwhile)"
            ),
            secs,
        ))
    }

    /// Waits up to [`SLOT_WAIT`] for a password-hashing slot, else 429
    /// `login_busy`.
    pub(crate) async fn slot(&self) -> Result<PasswordSlot, ApiError> {
        let busy = || {
            ApiError::too_many(
                "login_busy",
                "the daemon is checking too many passwords at once; try again in 1 s",
                1,
            )
        };
        let permit = tokio::time::timeout(SLOT_WAIT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| busy())?
            .map_err(|_| busy())?;
        let memory = self.buffers.lock().pop().unwrap_or_default();
        Ok(PasswordSlot {
            memory,
            buffers: self.buffers.clone(),
            _permit: permit,
        })
    }

    /// Counts a failed attempt and logs it. `shown` is how the log names the
    /// user: the username when it exists, else [`UNKNOWN_USER`].
    pub(crate) fn failed(&self, username: &str, shown: &str, source: IpAddr) {
        let now = self.clock.now_instant();
        let (user, user_failures) = self.users.lock().fail(user_key(username), now, &self.cfg);
        let (addr, addr_failures) = self
            .sources
            .lock()
            .fail(SourceKey::of(source), now, &self.cfg);
        tracing::warn!(user = shown, %source, "failed login");
        let secs = |l: Locking| match l {
            Locking::Started(d) => Some(retry_after_secs(d)),
            _ => None,
        };
        let (user_secs, addr_secs) = (secs(user), secs(addr));
        if user_secs.is_some() || addr_secs.is_some() {
            tracing::warn!(
                user = shown,
                %source,
                user_failures,
                address_failures = addr_failures,
                user_locked_secs = user_secs,
                address_locked_secs = addr_secs,
                "login locked: further attempts are refused with 429 until the lock ends"
            );
        }
    }

    /// A successful login: the username starts over.
    pub(crate) fn succeeded(&self, username: &str) {
        self.users.lock().clear(user_key(username));
    }

    /// Periodic upkeep: forgets usernames and addresses that are quiet.
    pub(crate) fn sweep(&self) {
        let now = self.clock.now_instant();
        self.users.lock().forget(now, &self.cfg);
        self.sources.lock().forget(now, &self.cfg);
    }
}

/// A held password-hashing slot with its working memory; dropping it gives
/// both back.
pub(crate) struct PasswordSlot {
    memory: Vec<argon2::Block>,
    buffers: Arc<Mutex<Vec<Vec<argon2::Block>>>>,
    _permit: OwnedSemaphorePermit,
}

impl PasswordSlot {
    /// Checks `password` against a PHC string.
    pub(crate) fn verify(&mut self, password: &str, phc: &str) -> bool {
        secret::verify_password_in(password, phc, &mut self.memory)
    }
}

impl Drop for PasswordSlot {
    fn drop(&mut self) {
        // Back before the permit is released (fields drop after this), so
        // there are never more buffers than slots.
        self.buffers.lock().push(std::mem::take(&mut self.memory));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> LockoutConfig {
        LockoutConfig {
            threshold: 3,
            base: Duration::from_secs(10),
            cap: Duration::from_secs(35),
            forget_after: Duration::from_secs(100),
        }
    }

    #[test]
    fn locks_at_the_threshold_and_doubles_up_to_the_cap() {
        let c = cfg();
        assert_eq!(c.lock_for(2), None);
        assert_eq!(c.lock_for(3), Some(Duration::from_secs(10)));
        assert_eq!(c.lock_for(4), Some(Duration::from_secs(20)));
        assert_eq!(c.lock_for(5), Some(Duration::from_secs(35)));
        assert_eq!(c.lock_for(u32::MAX), Some(Duration::from_secs(35)));

        let mut t = Table::new();
        let t0 = Instant::now();
        assert_eq!(t.fail(1u8, t0, &c).0, Locking::None);
        assert_eq!(t.fail(1u8, t0, &c).0, Locking::None);
        assert_eq!(t.locked(1, t0), None);
        assert_eq!(
            t.fail(1u8, t0, &c),
            (Locking::Started(Duration::from_secs(10)), 3)
        );
        assert_eq!(t.locked(1, t0), Some(Duration::from_secs(10)));
        assert_eq!(t.locked(2, t0), None, "another key is not locked");
        // A failure let in just before the lock began extends it quietly.
        assert_eq!(t.fail(1u8, t0, &c).0, Locking::Extended);
        assert_eq!(t.locked(1, t0), Some(Duration::from_secs(20)));
        // Once it is over, the next failure locks again, for longer.
        let t1 = t0 + Duration::from_secs(21);
        assert_eq!(t.locked(1, t1), None);
        assert_eq!(
            t.fail(1u8, t1, &c).0,
            Locking::Started(Duration::from_secs(35))
        );
    }

    #[test]
    fn quiet_keys_start_over_and_clear_resets() {
        let c = cfg();
        let mut t = Table::new();
        let t0 = Instant::now();
        t.fail(1u8, t0, &c);
        t.fail(1u8, t0, &c);
        let later = t0 + c.forget_after;
        assert_eq!(t.fail(1u8, later, &c), (Locking::None, 1));
        t.fail(1u8, later, &c);
        t.clear(1);
        assert_eq!(t.fail(1u8, later, &c), (Locking::None, 1));
        t.forget(later + c.forget_after, &c);
        assert!(t.map.is_empty());
    }

    #[test]
    fn a_full_table_stays_bounded_and_still_locks() {
        let c = cfg();
        let mut t = Table::new();
        let t0 = Instant::now();
        // Sprayed keys, one failure each: they make room for new ones.
        for k in 0..(MAX_TRACKED as u32 + 10) {
            t.fail(k, t0, &c);
        }
        assert!(t.map.len() <= MAX_TRACKED);
        // A full table of locked keys: new keys share one counter, which
        // locks like any other.
        let mut t = Table::new();
        for k in 0..MAX_TRACKED as u32 {
            for _ in 0..3 {
                t.fail(k, t0, &c);
            }
        }
        let t1 = t0 + Duration::from_secs(2);
        for k in 0..3u32 {
            t.fail(u32::MAX - k, t1, &c);
        }
        assert!(t.map.len() <= MAX_TRACKED + 1);
        assert!(t.locked(u32::MAX - 100, t1).is_some());
        // When the locks are over, there is room again.
        let t2 = t0 + Duration::from_secs(50);
        assert_eq!(t.fail(u32::MAX - 200, t2, &c), (Locking::None, 1));
        assert!(t.locked(u32::MAX - 200, t2).is_none());
    }
}
