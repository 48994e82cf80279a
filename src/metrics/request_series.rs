//! Takes every request of one load suite, gives the request series of the live metrics
//! (requests by outcome, durations, checks, check failures).

use crate::measure::{ErrorKind, RequestObserver, RequestSample};
use prometheus::{HistogramVec, IntCounterVec};
use std::sync::Mutex;

/// Every request outcome: `ok` or the kind of failure.
pub(super) const OUTCOMES: [&str; 6] =
    ["ok", "connection", "timeout", "status", "check", "not-sent"];

/// Feeds the request metrics of one load suite.
pub(super) struct SuiteObserver {
    pub(super) labels: [String; 5],
    /// Transactions whose outcome series exist: every outcome is created at 0 on the
    /// first request, so an error-rate panel shows 0 rather than nothing.
    pub(super) seen: Mutex<std::collections::HashSet<String>>,
    pub(super) requests: IntCounterVec,
    pub(super) duration: HistogramVec,
    pub(super) checks: IntCounterVec,
    pub(super) check_failures: IntCounterVec,
}

impl RequestObserver for SuiteObserver {
    fn observe(&self, sample: &RequestSample<'_>) {
        let [s, r, st, e, suite] = &self.labels;
        // The recorder names transactions `suite/transaction`; the suite is its own label.
        let tx = sample
            .transaction
            .strip_prefix(suite.as_str())
            .and_then(|t| t.strip_prefix('/'))
            .unwrap_or(sample.transaction);
        let outcome = match sample.error {
            None => "ok",
            Some(ErrorKind::Connection) => "connection",
            Some(ErrorKind::Timeout) => "timeout",
            Some(ErrorKind::Status) => "status",
            Some(ErrorKind::Check) => "check",
            Some(ErrorKind::NotSent) => "not-sent",
        };
        let first = match self.seen.lock() {
            Ok(mut seen) => seen.insert(tx.to_string()),
            Err(poisoned) => poisoned.into_inner().insert(tx.to_string()),
        };
        if first {
            for other in OUTCOMES {
                self.requests
                    .with_label_values(&[s, r, st, e, suite, tx, other])
                    .inc_by(0);
            }
            self.check_failures
                .with_label_values(&[s, r, st, e, suite, tx])
                .inc_by(0);
        }
        self.requests
            .with_label_values(&[s, r, st, e, suite, tx, outcome])
            .inc();
        self.duration
            .with_label_values(&[s, r, st, e, suite, tx])
            .observe(sample.latency.as_secs_f64());
        if sample.checks > 0 {
            self.checks
                .with_label_values(&[s, r, st, e, suite, tx])
                .inc_by(u64::from(sample.checks));
        }
        if !sample.failed_checks.is_empty() {
            self.check_failures
                .with_label_values(&[s, r, st, e, suite, tx])
                .inc_by(sample.failed_checks.len() as u64);
        }
    }
}
