//! The prober's global packet budget (`ProbeRate`, packets per second): every packet any
//! built-in method sends first takes a slot here, so an admin can keep the checks polite
//! however many addresses are in flight (phpIPAM users know ping floods from their scans).

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Packets may go out this far ahead of their slot: bursts stay this short, and a sender
/// does not sleep for every packet at high rates (timers are coarser than one slot).
const BURST: Duration = Duration::from_millis(2);

/// A shared pacer: slot `k` opens at `start + k / rate`.
pub struct Pacer {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    pub fn new(packets_per_second: u32) -> Pacer {
        Pacer {
            interval: Duration::from_secs(1) / packets_per_second.max(1),
            next: Mutex::new(None),
        }
    }

    /// Waits for the next free slot; sends are spread evenly at the rate.
    pub async fn slot(&self) {
        let wait = self.reserve(Instant::now());
        if wait > BURST {
            tokio::time::sleep(wait - BURST).await;
        }
    }

    /// Takes the next slot as of `now`; answers how long until it opens.
    fn reserve(&self, now: Instant) -> Duration {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        // A slot left unused long ago is not saved up: after a quiet spell the budget
        // starts afresh instead of allowing a burst of everything it missed.
        let slot = match *next {
            Some(at) if at > now => at,
            _ => now,
        };
        *next = Some(slot + self.interval);
        slot.saturating_duration_since(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_spread_at_the_rate() {
        let pacer = Pacer::new(100);
        let t0 = Instant::now();
        let waits: Vec<Duration> = (0..5).map(|_| pacer.reserve(t0)).collect();
        let ms = |n| Duration::from_millis(n);
        assert_eq!(waits, vec![ms(0), ms(10), ms(20), ms(30), ms(40)]);
        // Later, the queue has drained by as much as time went on.
        assert_eq!(pacer.reserve(t0 + ms(25)), ms(25));
    }

    #[test]
    fn a_quiet_spell_saves_up_nothing() {
        let pacer = Pacer::new(1000);
        let t0 = Instant::now();
        pacer.reserve(t0);
        let later = t0 + Duration::from_secs(5);
        assert_eq!(pacer.reserve(later), Duration::ZERO);
        assert_eq!(pacer.reserve(later), Duration::from_millis(1));
    }
}
