//! Sign-in throttling. Per (user name, client address): after a few failures each attempt
//! is slowed, after more the pair is refused for a while; a success clears the pair. Per
//! user name alone, whatever the address, a softer limit, so guessing from ever new
//! addresses also ends.
//!
//! An attempt is counted when it is admitted, before its password is checked, and only a
//! success takes it back: attempts sent all at once are counted as they arrive, so the
//! ninth of them is refused exactly as the ninth of a sequence is.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures counted within this window; the lock-out lasts as long.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failures of a (name, address) pair before its attempts are slowed down.
pub const SLOW_AFTER: u32 = 3;
/// Failures of a (name, address) pair before it is refused for [`WINDOW`].
pub const LOCK_AFTER: u32 = 8;
/// Failures of one user name from all addresses together before it is refused for
/// [`WINDOW`]: high enough that one attacker's locked pairs do not lock the user out
/// of every other address at once, low enough that guessing stays hopeless.
pub const NAME_LOCK_AFTER: u32 = 50;
/// Extra delay per failure past [`SLOW_AFTER`], capped at [`MAX_DELAY`].
const DELAY_STEP: Duration = Duration::from_millis(250);
const MAX_DELAY: Duration = Duration::from_secs(2);
/// Entries each table keeps; a spray of names or addresses evicts the least telling ones
/// first, so the tables stay bounded.
const MAX_ENTRIES: usize = 10_000;

#[derive(Clone, Copy, Debug)]
struct Failures {
    /// Failures in the window, attempts in flight included.
    count: u32,
    first: Instant,
}

impl Failures {
    fn current(&mut self, now: Instant) -> &mut Failures {
        if now.duration_since(self.first) >= WINDOW {
            *self = Failures {
                count: 0,
                first: now,
            };
        }
        self
    }

    fn left(&self, now: Instant) -> Duration {
        WINDOW.saturating_sub(now.duration_since(self.first))
    }
}

/// Why an attempt is refused before its password is checked.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// This name from this address; the lock lifts after this long.
    Pair(Duration),
    /// This name from anywhere.
    Name(Duration),
}

type Table<K> = HashMap<K, Failures>;

#[derive(Default)]
struct Tables {
    pairs: Table<(String, IpAddr)>,
    names: Table<String>,
}

#[derive(Default)]
pub struct LoginThrottle {
    tables: Mutex<Tables>,
}

/// Keeps `table` within [`MAX_ENTRIES`] before an entry is added: expired entries go
/// first, then those below the lock, oldest first.
fn make_room<K: Clone + Eq + std::hash::Hash>(table: &mut Table<K>, lock: u32, now: Instant) {
    if table.len() < MAX_ENTRIES {
        return;
    }
    table.retain(|_, f| now.duration_since(f.first) < WINDOW);
    if table.len() < MAX_ENTRIES {
        return;
    }
    let mut evictable: Vec<(Instant, K)> = table
        .iter()
        .filter(|(_, f)| f.count < lock)
        .map(|(k, f)| (f.first, k.clone()))
        .collect();
    if evictable.len() < MAX_ENTRIES / 10 {
        // Nearly every entry is a lock: the oldest locks go, as they would soonest anyway.
        evictable = table.iter().map(|(k, f)| (f.first, k.clone())).collect();
    }
    evictable.sort_by_key(|(first, _)| *first);
    for (_, key) in evictable.into_iter().take(MAX_ENTRIES / 10) {
        table.remove(&key);
    }
}

impl LoginThrottle {
    fn name_key(name: &str) -> String {
        name.trim().to_lowercase()
    }

    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts an attempt of `name` from `client` as a failure until it is settled by
    /// [`LoginThrottle::succeeded`], and answers how long it must wait first; or refuses it.
    pub fn reserve(&self, name: &str, client: IpAddr) -> Result<Duration, Refusal> {
        self.reserve_at(name, client, Instant::now())
    }

    fn reserve_at(&self, name: &str, client: IpAddr, now: Instant) -> Result<Duration, Refusal> {
        let key = Self::name_key(name);
        let mut tables = self.tables();
        let Tables { pairs, names } = &mut *tables;
        if let Some(pair) = pairs.get_mut(&(key.clone(), client)) {
            let pair = pair.current(now);
            if pair.count >= LOCK_AFTER {
                return Err(Refusal::Pair(pair.left(now)));
            }
        }
        if let Some(by_name) = names.get_mut(&key) {
            let by_name = by_name.current(now);
            if by_name.count >= NAME_LOCK_AFTER {
                return Err(Refusal::Name(by_name.left(now)));
            }
        }
        make_room(pairs, LOCK_AFTER, now);
        make_room(names, NAME_LOCK_AFTER, now);
        let fresh = Failures {
            count: 0,
            first: now,
        };
        let pair = pairs.entry((key.clone(), client)).or_insert(fresh);
        let delay = if pair.count >= SLOW_AFTER {
            (DELAY_STEP * (pair.count - SLOW_AFTER + 1)).min(MAX_DELAY)
        } else {
            Duration::ZERO
        };
        pair.count += 1;
        names.entry(key).or_insert(fresh).count += 1;
        Ok(delay)
    }

    /// The attempt reserved for `name` from `client` succeeded: the pair starts afresh,
    /// and the name's count loses this attempt (not the failures before it, which may
    /// have come from someone else).
    pub fn succeeded(&self, name: &str, client: IpAddr) {
        let key = Self::name_key(name);
        let mut tables = self.tables();
        if let Some(by_name) = tables.names.get_mut(&key) {
            by_name.count = by_name.count.saturating_sub(1);
        }
        tables.pairs.remove(&(key, client));
    }

    #[cfg(test)]
    fn sizes(&self) -> (usize, usize) {
        let tables = self.tables();
        (tables.pairs.len(), tables.names.len())
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
            assert_eq!(t.reserve_at("Alice", A, start), Ok(Duration::ZERO));
        }
        assert_eq!(t.reserve_at("alice", A, start), Ok(DELAY_STEP));
        for _ in SLOW_AFTER + 1..LOCK_AFTER {
            assert!(t.reserve_at("alice", A, start).is_ok());
        }
        assert!(matches!(
            t.reserve_at("alice", A, start),
            Err(Refusal::Pair(_))
        ));
        // Another client address, or another name, is not affected.
        assert_eq!(t.reserve_at("alice", B, start), Ok(Duration::ZERO));
        assert_eq!(t.reserve_at("bob", A, start), Ok(Duration::ZERO));
        // The lock lifts when the window has passed.
        assert_eq!(t.reserve_at("alice", A, start + WINDOW), Ok(Duration::ZERO));
    }

    #[test]
    fn attempts_in_flight_count_before_they_are_settled() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        // Forty at once, none settled yet: the ninth is refused.
        let admitted = (0..40)
            .filter(|_| t.reserve_at("dave", A, now).is_ok())
            .count();
        assert_eq!(admitted, LOCK_AFTER as usize);
    }

    #[test]
    fn success_clears_the_pair_but_not_the_name() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        for _ in 0..LOCK_AFTER - 1 {
            t.reserve_at("carol", A, now).unwrap();
        }
        t.reserve_at("carol", A, now).unwrap();
        t.succeeded("carol", A);
        assert_eq!(t.reserve_at("carol", A, now), Ok(Duration::ZERO));
        let tables = t.tables();
        assert_eq!(tables.names["carol"].count, LOCK_AFTER);
    }

    #[test]
    fn a_name_guessed_from_many_addresses_is_refused_everywhere() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        for i in 0..NAME_LOCK_AFTER {
            let from = IpAddr::V4(std::net::Ipv4Addr::from(0xC612_0000 + i));
            t.reserve_at("erin", from, now).unwrap();
        }
        assert!(matches!(
            t.reserve_at("erin", B, now),
            Err(Refusal::Name(_))
        ));
        assert_eq!(t.reserve_at("erin", B, now + WINDOW), Ok(Duration::ZERO));
    }

    #[test]
    fn a_spray_of_names_keeps_the_tables_bounded_and_the_locks() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        for _ in 0..LOCK_AFTER {
            t.reserve_at("frank", A, now).unwrap();
        }
        for i in 0..3 * MAX_ENTRIES {
            let _ = t.reserve_at(&format!("spray{i}"), A, now);
        }
        let (pairs, names) = t.sizes();
        assert!(
            pairs <= MAX_ENTRIES && names <= MAX_ENTRIES,
            "{pairs} {names}"
        );
        assert!(matches!(
            t.reserve_at("frank", A, now),
            Err(Refusal::Pair(_))
        ));
    }
}
