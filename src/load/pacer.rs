//! Holds a rate across all virtual users: each request takes the next free slot on a
//! shared timeline (`start + n / rate`) and waits for it. Slots missed by more than
//! [`CATCH_UP`] are given up — the timeline moves on — so a system that cannot keep up
//! shows as a shortfall, not as a catch-up spike; a hiccup shorter than that is made up.
//! A slot past the load's planned end is not waited for: the request is not sent (a cap
//! that queued users minutes ahead would otherwise keep them sending after the end).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How far behind the timeline may fall and still be made up: a scheduler hiccup of a
/// few tens of milliseconds should not cost the rate, a stalled system must.
const CATCH_UP: Duration = Duration::from_millis(100);

/// A shared request timeline.
pub(super) struct Pacer {
    start: Instant,
    interval_ns: u64,
    next_ns: AtomicU64,
    /// The planned end (ns since `start`) of a time-bound load; no slot is given after.
    end_ns: Option<u64>,
}

impl Pacer {
    /// Paces at `rate` requests per second, giving no slot after `end` (from now).
    pub(super) fn new(rate: f64, end: Option<Duration>) -> Pacer {
        Pacer {
            start: Instant::now(),
            interval_ns: (1e9 / rate).max(1.0) as u64,
            next_ns: AtomicU64::new(0),
            end_ns: end.map(|e| e.as_nanos() as u64),
        }
    }

    /// Waits for this request's slot; `false` at once when the slot would come after
    /// the load's end, and the request must not be sent.
    pub(super) async fn acquire(&self) -> bool {
        let now = self.start.elapsed().as_nanos() as u64;
        let oldest = now.saturating_sub(CATCH_UP.as_nanos() as u64);
        let mut current = self.next_ns.load(Ordering::Relaxed);
        let slot = loop {
            let slot = current.max(oldest);
            match self.next_ns.compare_exchange_weak(
                current,
                slot + self.interval_ns,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break slot,
                Err(actual) => current = actual,
            }
        };
        if self.end_ns.is_some_and(|end| slot >= end) {
            return false;
        }
        if slot > now {
            tokio::time::sleep_until((self.start + Duration::from_nanos(slot)).into()).await;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slots_are_spread_evenly_and_never_bunched() {
        let pacer = std::sync::Arc::new(Pacer::new(200.0, None));
        let started = Instant::now();
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let p = pacer.clone();
                tokio::spawn(async move {
                    for _ in 0..25 {
                        assert!(p.acquire().await);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        // 100 slots at 200/s: the last starts at 495 ms.
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(490), "{elapsed:?}");
    }

    #[tokio::test]
    async fn no_slot_is_given_after_the_end() {
        // 10/s until 1 s: slots at 0, 100, ..., 900 ms; the eleventh would be at 1 s.
        let pacer = std::sync::Arc::new(Pacer::new(10.0, Some(Duration::from_secs(1))));
        let tasks: Vec<_> = (0..15)
            .map(|_| {
                let p = pacer.clone();
                tokio::spawn(async move { p.acquire().await })
            })
            .collect();
        let mut given = 0;
        for t in tasks {
            given += usize::from(t.await.unwrap());
        }
        assert_eq!(given, 10);
    }
}
