//! Takes what a run observed (the load [`Recorder`] and the security outcomes), gives
//! [`Measurements`]: counts, rates, latency percentiles, a per-second series and
//! findings by severity. A value that was not observed is `None`, never zero.

pub mod distribution;
mod no_data;
pub mod omission;
pub mod recorder;

use crate::config::rollout::MetricId;
use crate::config::security_suite::RuleAction;
use crate::config::suite::Severity;
use crate::security::{CheckStatus, SecurityOutcome};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use distribution::LatencyDistribution;
pub use no_data::NoData;
pub use omission::Stall;
pub use recorder::{ErrorKind, Recorder, RequestObserver, RequestSample, SecondStats};

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest.
    pub max: f64,
}

/// One second of the run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SecondSample {
    /// Seconds since the start of the run.
    pub second: u64,
    /// Requests completed in that second.
    pub requests: u64,
    /// Of which failed.
    pub errors: u64,
    /// 95th percentile latency of that second, ms.
    pub p95_ms: Option<f64>,
}

/// Per-transaction numbers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TransactionMeasurements {
    /// Transaction name (`suite/transaction`).
    pub name: String,
    /// Requests sent by its steps.
    pub requests: u64,
    /// Failed requests.
    pub errors: u64,
    /// Latency percentiles, when any request completed.
    pub latency_ms: Option<Percentiles>,
}

/// Findings by severity, and whether every check could run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct SecurityCounts {
    /// Findings per severity.
    pub findings: BTreeMap<Severity, u64>,
    /// Checks and probes that ran.
    pub checks_ran: u64,
    /// Checks and probes that could not run, with reasons.
    pub checks_errored: Vec<String>,
    /// Checks skipped on purpose (ignored by rules, out of scope).
    #[serde(default)]
    pub checks_skipped: u64,
    /// Checks whose precondition was absent (TLS on `http://`, no cookie): neither ran
    /// nor failed to run.
    #[serde(default)]
    pub checks_not_applicable: u64,
    /// Findings of checks the suite's rules set to `warn`: shown, not counted.
    #[serde(default)]
    pub warnings: u64,
    /// Each counted finding of high or critical severity, so the gate can tell the
    /// accepted ones from the rest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub serious: Vec<SeriousFinding>,
}

/// A counted finding of high or critical severity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SeriousFinding {
    /// The check id.
    pub check: String,
    /// The URL that showed it.
    pub url: String,
    /// High or critical.
    pub severity: Severity,
}

/// Everything measured in one stage run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Measurements {
    /// Requests sent by load suites.
    pub requests: u64,
    /// Failed requests.
    pub errors: u64,
    /// Failed requests by kind.
    pub errors_by_kind: BTreeMap<ErrorKind, u64>,
    /// Checks evaluated.
    pub checks: u64,
    /// Checks that failed.
    pub check_failures: u64,
    /// Failed checks by `transaction/step: check`.
    pub failed_checks: BTreeMap<String, u64>,
    /// Seconds of load.
    pub duration_s: f64,
    /// Latency percentiles over every request, corrected for coordinated omission
    /// (`measure::omission`): what the gate judges.
    pub latency_ms: Option<Percentiles>,
    /// The same percentiles as measured, before the correction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms_uncorrected: Option<Percentiles>,
    /// The expected interval the correction used (a user's median start-to-start
    /// time), ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_interval_ms: Option<f64>,
    /// The distribution behind `latency_ms` (stored histogram and measured requests),
    /// which the regression judge compares with the baseline's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_distribution: Option<LatencyDistribution>,
    /// Periods in which requests were outstanding and nothing completed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stalls: Vec<Stall>,
    /// Per transaction.
    pub transactions: Vec<TransactionMeasurements>,
    /// Per second.
    pub series: Vec<SecondSample>,
    /// The first transport error seen, to explain a run that reached nothing.
    pub first_error: Option<String>,
    /// Security results; `None` when the stage ran no security suite.
    pub security: Option<SecurityCounts>,
    /// The target arrival rate and what was achieved, when the stage set one.
    pub arrival: Option<ArrivalRate>,
    /// Values of the gate's PromQL criteria, keyed by the query as written.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub promql: BTreeMap<String, PromqlObservation>,
}

/// What the environment's Prometheus answered for one query over the run's window.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PromqlObservation {
    /// The query as sent, variables substituted.
    pub query: String,
    /// The value and its number of points, or why there is none.
    pub observed: Observed,
}

/// A target arrival rate and how close the run came to it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct ArrivalRate {
    /// Requests per second asked for.
    pub target_rps: f64,
    /// Requests per second achieved while at full load.
    pub achieved_rps: f64,
    /// How far short, as a fraction of the target (0 when the target was met).
    pub shortfall: f64,
}

impl ArrivalRate {
    /// Computes the achieved rate over seconds `from..to` of the series.
    pub fn measure(
        target_rps: f64,
        series: &[SecondSample],
        from: u64,
        to: u64,
    ) -> Option<ArrivalRate> {
        let window: Vec<&SecondSample> = series
            .iter()
            .filter(|s| s.second >= from && s.second < to)
            .collect();
        if window.is_empty() {
            return None;
        }
        let achieved_rps =
            window.iter().map(|s| s.requests).sum::<u64>() as f64 / window.len() as f64;
        Some(ArrivalRate {
            target_rps,
            achieved_rps,
            shortfall: (1.0 - achieved_rps / target_rps).max(0.0),
        })
    }
}

/// A measured value, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Observed {
    /// The value, and how many samples it rests on.
    Value {
        /// The value in canonical units.
        value: f64,
        /// Number of samples behind it.
        samples: u64,
    },
    /// Nothing to judge.
    NoData {
        /// Why, in English (kept as written in stored measurements).
        reason: String,
        /// Why, as data: what every language renders from (absent in older records).
        #[serde(default)]
        cause: NoData,
    },
}

impl Observed {
    /// No value, for `cause`.
    pub fn no_data(cause: NoData) -> Observed {
        Observed::NoData {
            reason: cause.to_string(),
            cause,
        }
    }
}

impl Measurements {
    /// Adds the result of one security suite.
    pub fn add_security(&mut self, outcome: &SecurityOutcome) {
        let counts = self.security.get_or_insert_with(SecurityCounts::default);
        for finding in &outcome.findings {
            match finding.rule {
                // Only `fail` findings count in the gate; `warn` ones are shown, not counted.
                RuleAction::Fail => {
                    *counts.findings.entry(finding.severity).or_default() += 1;
                    if finding.severity >= Severity::High {
                        counts.serious.push(SeriousFinding {
                            check: finding.check.clone(),
                            url: finding.url.clone(),
                            severity: finding.severity,
                        });
                    }
                }
                RuleAction::Warn | RuleAction::Ignore => counts.warnings += 1,
            }
        }
        for check in &outcome.checks {
            match &check.status {
                CheckStatus::Ran => counts.checks_ran += 1,
                CheckStatus::Error(reason) => counts
                    .checks_errored
                    .push(format!("{}: {reason}", check.check)),
                CheckStatus::Skipped(_) => counts.checks_skipped += 1,
                CheckStatus::NotApplicable(_) => counts.checks_not_applicable += 1,
            }
        }
    }

    /// Rate of errors, when requests were sent.
    pub fn error_rate(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.errors as f64 / self.requests as f64)
    }

    /// Requests per second over the load's duration.
    pub fn throughput(&self) -> Option<f64> {
        (self.requests > 0 && self.duration_s > 0.0).then(|| self.requests as f64 / self.duration_s)
    }

    /// The value of a gate metric, or why there is none.
    pub fn observe(&self, metric: MetricId) -> Observed {
        let no_requests = || {
            Observed::no_data(match &self.first_error {
                Some(e) if self.requests == 0 || self.errors == self.requests => {
                    NoData::NoneSucceeded {
                        first_error: e.clone(),
                    }
                }
                _ => NoData::NoRequests,
            })
        };
        let latency =
            |pick: fn(&Percentiles) -> f64| match (&self.latency_ms, self.requests - self.errors) {
                // Latency of failed requests (refused connections) says nothing about the
                // system: with no successful request there is no latency to judge.
                (Some(p), ok) if ok > 0 => Observed::Value {
                    value: pick(p),
                    samples: ok,
                },
                _ => no_requests(),
            };
        match metric {
            MetricId::LatencyP50 => latency(|p| p.p50),
            MetricId::LatencyP90 => latency(|p| p.p90),
            MetricId::LatencyP95 => latency(|p| p.p95),
            MetricId::LatencyP99 => latency(|p| p.p99),
            MetricId::LatencyMax => latency(|p| p.max),
            MetricId::ErrorRate => match self.error_rate() {
                Some(rate) => Observed::Value {
                    value: rate,
                    samples: self.requests,
                },
                None => no_requests(),
            },
            MetricId::CheckFailureRate => {
                if self.checks == 0 {
                    Observed::no_data(NoData::NoChecks)
                } else {
                    Observed::Value {
                        value: self.check_failures as f64 / self.checks as f64,
                        samples: self.checks,
                    }
                }
            }
            MetricId::Throughput => match self.throughput() {
                Some(rps) => Observed::Value {
                    value: rps,
                    samples: self.requests,
                },
                None => no_requests(),
            },
            MetricId::Requests => Observed::Value {
                value: self.requests as f64,
                samples: self.requests,
            },
            MetricId::RateShortfall => match &self.arrival {
                Some(a) if self.requests > 0 => Observed::Value {
                    value: a.shortfall,
                    samples: self.requests,
                },
                Some(_) => no_requests(),
                None => Observed::no_data(NoData::NoTargetRate),
            },
            MetricId::SecurityInfo => self.findings(Severity::Info),
            MetricId::SecurityLow => self.findings(Severity::Low),
            MetricId::SecurityMedium => self.findings(Severity::Medium),
            MetricId::SecurityHigh => self.findings(Severity::High),
            MetricId::SecurityCritical => self.findings(Severity::Critical),
            MetricId::Promql => Observed::no_data(NoData::ObservedByQuery),
        }
    }

    /// The value of a PromQL criterion's query (as written), or why there is none.
    pub fn observe_promql(&self, query: &str) -> Observed {
        match self.promql.get(query) {
            Some(o) => o.observed.clone(),
            None => Observed::no_data(NoData::QueryNotRun),
        }
    }

    fn findings(&self, severity: Severity) -> Observed {
        match &self.security {
            None => Observed::no_data(NoData::NoSecuritySuite),
            // ZAP's rule: a scan in which a check could not run has not shown the target
            // clean.
            Some(s) if !s.checks_errored.is_empty() => Observed::no_data(NoData::ChecksErrored {
                count: s.checks_errored.len(),
                first: s.checks_errored[0].clone(),
            }),
            Some(s) if s.checks_ran == 0 => Observed::no_data(NoData::NoSecurityCheckRan),
            Some(s) => Observed::Value {
                value: s.findings.get(&severity).copied().unwrap_or(0) as f64,
                samples: s.checks_ran,
            },
        }
    }
}
