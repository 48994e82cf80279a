//! Coordinated omission, seen and corrected. A closed-model virtual user sends its next
//! request only when the last one answered, so a server that freezes is asked little
//! while frozen and its stall hides in a few slow samples. Takes every completed
//! request's start and end (and its user's previous start); gives the stalls (periods
//! in which requests were outstanding and none completed: when, how long, how many
//! requests waited) and corrected latency percentiles.
//!
//! Correction method (HdrHistogram's `recordValueWithExpectedInterval`, as wrk2 does):
//! the expected interval is the median time between one virtual user's consecutive
//! request starts over the run; every recorded latency `v` longer than it adds the
//! samples `v - i`, `v - 2i`, ... that the requests the user would have sent meanwhile
//! would have seen. The uncorrected percentiles are kept next to the corrected ones.

use super::Percentiles;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// A period in which requests were outstanding and nothing completed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stall {
    /// When it began, seconds since the load started.
    pub at_s: f64,
    /// How long nothing completed, ms.
    pub duration_ms: f64,
    /// Requests that were outstanding through it.
    pub waiting: u64,
}

/// Candidates shorter than this are never kept (the final threshold is higher).
const CANDIDATE_US: u64 = 100_000;
/// A stall is at least this long ...
const MIN_STALL_US: u64 = 200_000;
/// ... and at least this many median latencies.
const STALL_MEDIANS: u64 = 10;
/// Bound on the candidates kept in one run.
const MAX_CANDIDATES: usize = 10_000;

/// Completion order across every virtual user, for stall detection.
#[derive(Debug, Default)]
pub(super) struct Pacing {
    last_end_us: u64,
    candidates: Vec<(u64, u64, u64)>,
}

impl Pacing {
    /// One request that started at `start_us` completed at `end_us` (µs since the
    /// recorder started).
    pub(super) fn completed(&mut self, start_us: u64, end_us: u64) {
        if end_us > self.last_end_us {
            // Nothing completed from `from` to now while this request was outstanding.
            let from = self.last_end_us.max(start_us);
            self.last_end_us = end_us;
            if end_us - from >= CANDIDATE_US && self.candidates.len() < MAX_CANDIDATES {
                self.candidates.push((from, end_us, 1));
                return;
            }
        }
        // A request outstanding in the latest stall waited in it: one sent before it
        // began, or during it (a paced or capped load sends on while nothing answers).
        // Completions are recorded from several threads, so when a freeze lifts its
        // requests may arrive out of order: one that ended inside the stall ended it,
        // and the stall was shorter than the first recorded completion said.
        if let Some((from, to, waiting)) = self.candidates.last_mut() {
            if start_us < *to && end_us > *from {
                *to = (*to).min(end_us);
                *waiting += 1;
            }
        }
    }

    /// The stalls, given the run's median latency (µs).
    pub(super) fn stalls(&self, median_us: u64) -> Vec<Stall> {
        let threshold = MIN_STALL_US.max(median_us.saturating_mul(STALL_MEDIANS));
        self.candidates
            .iter()
            .filter(|(from, to, _)| to - from >= threshold)
            .map(|&(from, to, waiting)| Stall {
                at_s: from as f64 / 1e6,
                duration_ms: (to - from) as f64 / 1000.0,
                waiting,
            })
            .collect()
    }
}

/// The expected interval (µs) of a virtual user: the median of its start-to-start gaps.
pub(super) fn expected_interval(gaps: Option<&Histogram<u64>>) -> Option<u64> {
    gaps.filter(|g| !g.is_empty())
        .map(|g| g.value_at_quantile(0.5).max(1))
}

/// `latencies` corrected for the expected interval.
pub(super) fn corrected(latencies: &Histogram<u64>, interval_us: u64) -> Histogram<u64> {
    latencies.clone_correct(interval_us)
}

/// Percentiles of a histogram in µs, in ms.
pub(super) fn percentiles(h: &Histogram<u64>) -> Percentiles {
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    Percentiles {
        p50: ms(0.50),
        p90: ms(0.90),
        p95: ms(0.95),
        p99: ms(0.99),
        max: h.max() as f64 / 1000.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_freeze_is_a_stall_with_its_waiters_and_lifts_the_corrected_tail() {
        let mut pacing = Pacing::default();
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        // Ten users, 1 ms requests back to back for 4 s, then a 1 s freeze.
        let mut t = 0;
        while t < 4_000_000 {
            for _ in 0..10 {
                pacing.completed(t, t + 1000);
                h.record(1000).unwrap();
            }
            t += 1000;
        }
        for _ in 0..10 {
            pacing.completed(t, t + 1_000_000);
            h.record(1_000_000).unwrap();
        }
        let stalls = pacing.stalls(1000);
        assert_eq!(stalls.len(), 1, "{stalls:?}");
        assert!((stalls[0].duration_ms - 999.0).abs() < 2.0, "{stalls:?}");
        assert_eq!(stalls[0].waiting, 10);
        let raw = percentiles(&h);
        assert!(raw.p99 < 2.0, "{raw:?}");
        let fixed = percentiles(&corrected(&h, 1000));
        assert!(fixed.p99 > 500.0, "{fixed:?}");
    }

    #[test]
    fn requests_released_by_a_freeze_count_as_waiting_in_any_recording_order() {
        let mut pacing = Pacing::default();
        for t in (0..1_000_000).step_by(1000) {
            pacing.completed(t, t + 1000);
        }
        // Ten requests started at 1.0 s, released together at 2.0 s, recorded latest
        // first: the first one recorded is not the first that ended.
        for i in (0..10).rev() {
            pacing.completed(1_001_000, 2_001_000 + i * 10);
        }
        let stalls = pacing.stalls(1000);
        assert_eq!(stalls.len(), 1, "{stalls:?}");
        assert_eq!(stalls[0].waiting, 10, "{stalls:?}");
        assert!((stalls[0].duration_ms - 1000.0).abs() < 0.01, "{stalls:?}");
    }

    #[test]
    fn requests_sent_during_a_freeze_count_as_waiting_too() {
        // A paced load: one request in flight at a time, every 2 ms, for 1 s; then the
        // server freezes for a second while the pacer sends nine more.
        let mut pacing = Pacing::default();
        for t in (0..1_000_000).step_by(2000) {
            pacing.completed(t, t + 100);
        }
        for i in 0..10 {
            pacing.completed(1_000_000 + i * 2000, 2_000_000 + i * 10);
        }
        // After the freeze: requests as before, none of them waited.
        for t in (2_002_000..2_100_000).step_by(2000) {
            pacing.completed(t, t + 100);
        }
        let stalls = pacing.stalls(100);
        assert_eq!(stalls.len(), 1, "{stalls:?}");
        assert_eq!(stalls[0].waiting, 10, "{stalls:?}");
        assert!((stalls[0].duration_ms - 1000.0).abs() < 0.2, "{stalls:?}");
    }
}
