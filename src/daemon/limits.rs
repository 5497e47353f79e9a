//! Limits on what anyone who can reach the daemon may send: a token bucket
//! per source address for the routes that take no credentials
//! (registration, login).
//!
//! IPv6 sources are grouped by their /64, since one host usually holds a
//! whole /64 and could otherwise pick a fresh address for each request. The
//! table of buckets is bounded: past `MAX_SOURCES` addresses, buckets that
//! have filled up again are dropped, and new sources share one overflow
//! bucket until there is room, so a flood from many addresses costs a fixed
//! amount of memory and is still limited.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Most source addresses tracked one by one.
const MAX_SOURCES: usize = 65_536;

/// A source address as the limiter counts it: IPv4 whole (also when written
/// as `::ffff:a.b.c.d`), IPv6 by its /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum SourceKey {
    V4(u32),
    V6Prefix(u64),
    /// Everything that found the table full.
    Overflow,
}

impl SourceKey {
    pub(crate) fn of(ip: IpAddr) -> SourceKey {
        match ip {
            IpAddr::V4(v4) => SourceKey::V4(u32::from(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => SourceKey::V4(u32::from(v4)),
                None => SourceKey::V6Prefix((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// A token bucket per source: `per_sec` requests a second on average, up to
/// `burst` at once. A rate of 0 turns the limit off.
pub(crate) struct RateLimiter {
    per_sec: f64,
    burst: f64,
    buckets: Mutex<Table>,
}

struct Table {
    map: HashMap<SourceKey, Bucket>,
    /// When the table was last pruned because it was full.
    pruned_at: Option<Instant>,
}

impl RateLimiter {
    pub(crate) fn new(per_sec: f64, burst: u32) -> RateLimiter {
        RateLimiter {
            per_sec: per_sec.max(0.0),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(Table {
                map: HashMap::new(),
                pruned_at: None,
            }),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.per_sec > 0.0
    }

    /// Takes one token for `ip`, or says how long until one is there.
    pub(crate) fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        self.check_at(ip, Instant::now())
    }

    fn check_at(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        if !self.enabled() {
            return Ok(());
        }
        let mut table = self.buckets.lock();
        let mut key = SourceKey::of(ip);
        if !table.map.contains_key(&key) && table.map.len() >= MAX_SOURCES {
            self.prune(&mut table, now);
            if table.map.len() >= MAX_SOURCES {
                key = SourceKey::Overflow;
            }
        }
        let burst = self.burst;
        let bucket = table.map.entry(key).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_sec).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_sec,
            ))
        }
    }

    /// Drops the buckets that have filled up again (they behave like new
    /// ones); at most once a second, so a full table of busy sources is not
    /// scanned on every request.
    fn prune(&self, table: &mut Table, now: Instant) {
        if table
            .pruned_at
            .is_some_and(|t| now.saturating_duration_since(t) < Duration::from_secs(1))
        {
            return;
        }
        table.pruned_at = Some(now);
        let (per_sec, burst) = (self.per_sec, self.burst);
        table.map.retain(|k, b| {
            *k == SourceKey::Overflow
                || b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per_sec < burst
        });
    }

    /// Periodic upkeep: forgets sources whose bucket is full again.
    pub(crate) fn sweep(&self) {
        let now = Instant::now();
        let mut table = self.buckets.lock();
        table.pruned_at = None;
        self.prune(&mut table, now);
    }

    #[cfg(test)]
    fn sources(&self) -> usize {
        self.buckets.lock().map.len()
    }
}

/// Whole seconds for a `Retry-After` header (at least 1).
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_burst_then_the_rate() {
        let l = RateLimiter::new(10.0, 5);
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(l.check_at(ip("192.0.2.1"), t0).is_ok());
        }
        let wait = l.check_at(ip("192.0.2.1"), t0).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(100));
        // Another source has its own bucket.
        assert!(l.check_at(ip("192.0.2.2"), t0).is_ok());
        // A tenth of a second later one more token is there.
        let t1 = t0 + Duration::from_millis(100);
        assert!(l.check_at(ip("192.0.2.1"), t1).is_ok());
        assert!(l.check_at(ip("192.0.2.1"), t1).is_err());
    }

    #[test]
    fn ipv6_counts_by_prefix_and_mapped_v4_as_v4() {
        let l = RateLimiter::new(1.0, 2);
        let t0 = Instant::now();
        assert!(l.check_at(ip("2001:db8::1"), t0).is_ok());
        assert!(l.check_at(ip("2001:db8::ffff:2"), t0).is_ok());
        assert!(l.check_at(ip("2001:db8::3"), t0).is_err());
        assert!(l.check_at(ip("2001:db8:0:1::1"), t0).is_ok());
        assert!(l.check_at(ip("198.51.100.7"), t0).is_ok());
        assert!(l.check_at(ip("::ffff:198.51.100.7"), t0).is_ok());
        assert!(l.check_at(ip("198.51.100.7"), t0).is_err());
    }

    #[test]
    fn the_table_stays_bounded_and_still_limits() {
        let l = RateLimiter::new(1.0, 1);
        let t0 = Instant::now();
        for i in 0..(MAX_SOURCES as u32 + 1000) {
            let _ = l.check_at(IpAddr::V4(i.into()), t0);
        }
        assert!(l.sources() <= MAX_SOURCES + 1);
        // New sources now share the overflow bucket, which is used up.
        assert!(l.check_at(ip("203.0.113.9"), t0).is_err());
        // Once the buckets have refilled, pruning makes room again.
        let later = t0 + Duration::from_secs(5);
        assert!(l.check_at(ip("203.0.113.9"), later).is_ok());
        l.sweep();
        assert!(l.sources() < 10);
    }

    #[test]
    fn a_rate_of_zero_is_off() {
        let l = RateLimiter::new(0.0, 1);
        for _ in 0..100 {
            assert!(l.check(ip("192.0.2.1")).is_ok());
        }
    }
}
