//! Takes a stage's abort criteria and the live [`Recorder`], gives a [`Breach`] as soon
//! as a criterion has failed in every completed second of its `for` window. The load
//! engine checks it several times a second and stops all traffic on a breach.

use crate::config::rollout::{AbortCriterion, MetricId};
use crate::measure::recorder::{Recorder, SecondStats};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A criterion that was breached long enough to stop the load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breach {
    /// The criterion as written.
    pub criterion: String,
    /// The value in the last breaching second, with its unit.
    pub value: String,
    /// Seconds since the load started when the breach was confirmed.
    pub at_second: u64,
    /// Consecutive breaching seconds.
    pub seconds: u64,
}

impl fmt::Display for Breach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.seconds == 0 {
            return write!(
                f,
                "{}: {} {}s into the load",
                self.criterion, self.value, self.at_second
            );
        }
        write!(
            f,
            "abort criterion `{}` breached: {} for {}s (confirmed {}s into the load)",
            self.criterion, self.value, self.seconds, self.at_second
        )
    }
}

/// Watches abort criteria second by second.
pub struct AbortMonitor {
    criteria: Vec<AbortCriterion>,
    /// Per criterion, the first second of the current run of breaching seconds.
    breaching_since: Vec<Option<u64>>,
    next_second: u64,
}

impl AbortMonitor {
    /// Watches `criteria`.
    pub fn new(criteria: &[AbortCriterion]) -> AbortMonitor {
        AbortMonitor {
            criteria: criteria.to_vec(),
            breaching_since: vec![None; criteria.len()],
            next_second: 0,
        }
    }

    /// Evaluates every second completed since the last call.
    pub fn check(&mut self, recorder: &Recorder) -> Option<Breach> {
        if self.criteria.is_empty() {
            return None;
        }
        while let Some(stats) = recorder.completed_second(self.next_second) {
            let second = self.next_second;
            self.next_second += 1;
            if let Some(breach) = self.evaluate(second, &stats) {
                return Some(breach);
            }
        }
        None
    }

    /// Judges one second's figures gathered elsewhere (the merged seconds of a sharded
    /// load); seconds must come in order, each once.
    pub fn judge(&mut self, second: u64, stats: &SecondStats) -> Option<Breach> {
        if self.criteria.is_empty() {
            return None;
        }
        self.next_second = second + 1;
        self.evaluate(second, stats)
    }

    fn evaluate(&mut self, second: u64, stats: &SecondStats) -> Option<Breach> {
        for (i, criterion) in self.criteria.iter().enumerate() {
            // A second with nothing to judge neither breaches nor clears a breach: a
            // stalled system shows up in the gate's "no data", not as a false abort.
            let Some(value) = value_of(criterion.metric, stats) else {
                continue;
            };
            if criterion.pass.holds(value) {
                self.breaching_since[i] = None;
                continue;
            }
            let since = *self.breaching_since[i].get_or_insert(second);
            let seconds = second - since + 1;
            let needed = criterion.for_.as_secs().max(1);
            if seconds >= needed {
                return Some(Breach {
                    criterion: criterion.to_string(),
                    value: criterion.metric.unit().format(value),
                    at_second: second + 1,
                    seconds,
                });
            }
        }
        None
    }
}

fn value_of(metric: MetricId, stats: &SecondStats) -> Option<f64> {
    let latency =
        |pick: fn(&crate::measure::Percentiles) -> f64| stats.latency_ms.as_ref().map(pick);
    match metric {
        MetricId::ErrorRate => {
            (stats.requests > 0).then(|| stats.errors as f64 / stats.requests as f64)
        }
        MetricId::CheckFailureRate => {
            (stats.checks > 0).then(|| stats.check_failures as f64 / stats.checks as f64)
        }
        MetricId::LatencyP50 => latency(|p| p.p50),
        MetricId::LatencyP90 => latency(|p| p.p90),
        MetricId::LatencyP95 => latency(|p| p.p95),
        MetricId::LatencyP99 => latency(|p| p.p99),
        MetricId::LatencyMax => latency(|p| p.max),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::units::{Threshold, Unit};
    use std::time::Duration;

    fn criterion(for_secs: u64) -> AbortCriterion {
        AbortCriterion {
            metric: MetricId::ErrorRate,
            pass: Threshold::parse("< 5%", Unit::Ratio).unwrap(),
            for_: Duration::from_secs(for_secs),
        }
    }

    fn second(requests: u64, errors: u64) -> SecondStats {
        SecondStats {
            requests,
            errors,
            ..SecondStats::default()
        }
    }

    #[test]
    fn a_breach_must_last_its_for_window() {
        let mut m = AbortMonitor::new(&[criterion(3)]);
        assert!(m.evaluate(0, &second(100, 30)).is_none());
        assert!(m.evaluate(1, &second(100, 30)).is_none());
        // A good second resets the window: one flaky second never aborts.
        assert!(m.evaluate(2, &second(100, 0)).is_none());
        assert!(m.evaluate(3, &second(100, 30)).is_none());
        assert!(
            m.evaluate(4, &second(0, 0)).is_none(),
            "an empty second judges nothing"
        );
        // ...nor clears the breach: seconds 3 to 5 are three seconds of breach.
        let breach = m
            .evaluate(5, &second(100, 30))
            .expect("three breaching seconds");
        assert_eq!(
            (breach.value.as_str(), breach.seconds, breach.at_second),
            ("30.00%", 3, 6)
        );
        assert!(breach.to_string().contains("error-rate < 5.00% for 3s"));
    }

    #[test]
    fn without_for_one_bad_second_is_enough() {
        let mut m = AbortMonitor::new(&[criterion(0)]);
        assert!(m.evaluate(0, &second(10, 0)).is_none());
        assert!(m.evaluate(1, &second(10, 1)).is_some());
    }
}
