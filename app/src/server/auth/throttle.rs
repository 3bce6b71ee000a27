//! Sign-in throttling per (user name, client address): after a few failures each attempt is
//! slowed, after more the pair is refused for a while. A success clears the pair.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures counted within this window; the lock-out lasts as long.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failures before attempts are slowed down.
pub const SLOW_AFTER: u32 = 3;
/// Failures before the pair is refused for [`WINDOW`].
pub const LOCK_AFTER: u32 = 8;
/// Extra delay per failure past [`SLOW_AFTER`], capped at [`MAX_DELAY`].
const DELAY_STEP: Duration = Duration::from_millis(250);
const MAX_DELAY: Duration = Duration::from_secs(2);
/// Entries kept before old ones are pruned, so the map stays bounded under a spray attack.
const MAX_ENTRIES: usize = 10_000;

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    first: Instant,
}

/// What to do with a sign-in attempt before checking its password.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission {
    Go,
    /// Go, but only after this delay.
    Slow(Duration),
    /// Refuse; the lock lifts after this long.
    Refuse(Duration),
}

#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<(String, IpAddr), Failures>>,
}

impl LoginThrottle {
    fn key(name: &str, client: IpAddr) -> (String, IpAddr) {
        (name.trim().to_lowercase(), client)
    }

    pub fn admit(&self, name: &str, client: IpAddr) -> Admission {
        self.admit_at(name, client, Instant::now())
    }

    fn admit_at(&self, name: &str, client: IpAddr, now: Instant) -> Admission {
        let map = self.failures.lock().expect("throttle lock");
        match map.get(&Self::key(name, client)) {
            Some(f) if now.duration_since(f.first) < WINDOW => {
                if f.count >= LOCK_AFTER {
                    Admission::Refuse(WINDOW - now.duration_since(f.first))
                } else if f.count >= SLOW_AFTER {
                    Admission::Slow((DELAY_STEP * (f.count - SLOW_AFTER + 1)).min(MAX_DELAY))
                } else {
                    Admission::Go
                }
            }
            _ => Admission::Go,
        }
    }

    pub fn failed(&self, name: &str, client: IpAddr) {
        self.failed_at(name, client, Instant::now())
    }

    fn failed_at(&self, name: &str, client: IpAddr, now: Instant) {
        let mut map = self.failures.lock().expect("throttle lock");
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, f| now.duration_since(f.first) < WINDOW);
        }
        let entry = map.entry(Self::key(name, client)).or_insert(Failures {
            count: 0,
            first: now,
        });
        if now.duration_since(entry.first) >= WINDOW {
            *entry = Failures {
                count: 0,
                first: now,
            };
        }
        entry.count += 1;
    }

    pub fn succeeded(&self, name: &str, client: IpAddr) {
        self.failures
            .lock()
            .expect("throttle lock")
            .remove(&Self::key(name, client));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));

    #[test]
    fn slows_then_refuses_then_forgets() {
        let t = LoginThrottle::default();
        let start = Instant::now();
        for _ in 0..SLOW_AFTER {
            assert_eq!(t.admit_at("Alice", A, start), Admission::Go);
            t.failed_at("alice", A, start);
        }
        assert_eq!(t.admit_at("alice", A, start), Admission::Slow(DELAY_STEP));
        for _ in SLOW_AFTER..LOCK_AFTER {
            t.failed_at("alice", A, start);
        }
        assert!(matches!(
            t.admit_at("alice", A, start),
            Admission::Refuse(_)
        ));
        // Another client address, or another name, is not affected.
        assert_eq!(t.admit_at("alice", B, start), Admission::Go);
        assert_eq!(t.admit_at("bob", A, start), Admission::Go);
        // The lock lifts when the window has passed.
        assert_eq!(t.admit_at("alice", A, start + WINDOW), Admission::Go);
    }

    #[test]
    fn success_clears() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        for _ in 0..LOCK_AFTER {
            t.failed_at("carol", A, now);
        }
        t.succeeded("carol", A);
        assert_eq!(t.admit_at("carol", A, now), Admission::Go);
    }
}
