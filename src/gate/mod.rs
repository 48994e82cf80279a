//! Takes a gate (typed criteria) and the run's [`Measurements`], gives a
//! [`GateVerdict`]: each criterion's value, thresholds, status and reason, and the
//! decision. Knows nothing of HTTP or files. No data is never a pass.

use crate::config::rollout::{Criterion, CriterionRule, GateSpec, MetricId};
use crate::config::suite::Severity;
use crate::config::units::Unit;
use crate::measure::{Measurements, NoData, Observed};
use serde::{Deserialize, Serialize};
use std::fmt;

pub mod coverage;
mod findings;
mod reason;
pub mod regression;
mod regression_criterion;
mod run_criteria;

pub use findings::{AcceptanceUse, IMPLIED};
pub use reason::Reason;
pub use run_criteria::{RunObservations, Stopped, ABORT_METRIC, RELEASE_METRIC};

/// The result of one criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CriterionStatus {
    /// Met the pass threshold (and the warning threshold, if any).
    Pass,
    /// Met the pass threshold but not the warning threshold.
    Warn,
    /// Missed the pass threshold, or had no (or too little) data.
    Fail,
}

impl fmt::Display for CriterionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CriterionStatus::Pass => "pass",
            CriterionStatus::Warn => "warn",
            CriterionStatus::Fail => "FAIL",
        })
    }
}

/// One line of the verdict table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionResult {
    /// The criterion as written, e.g. `latency-p95 < 800.0ms`.
    pub criterion: String,
    /// Metric id.
    pub metric: String,
    /// Measured value in canonical units, when there was one.
    pub value: Option<f64>,
    /// The value as shown, with its unit, or `no data`.
    pub shown: String,
    /// Pass threshold as written.
    pub pass: String,
    /// Warning threshold as written.
    pub warn: Option<String>,
    /// Result.
    pub status: CriterionStatus,
    /// Why, in English words a release manager can act on ([`Reason::english`]).
    pub reason: String,
    /// Why, as data: what every language renders from (absent in older records).
    #[serde(default)]
    pub cause: Reason,
}

/// The decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GateOutcome {
    /// Every criterion passed (warnings allowed unless they block).
    Passed,
    /// At least one criterion failed.
    Failed,
}

impl fmt::Display for GateOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GateOutcome::Passed => "passed",
            GateOutcome::Failed => "failed",
        })
    }
}

/// A gate's verdict over one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateVerdict {
    /// Passed or failed.
    pub outcome: GateOutcome,
    /// One result per criterion, in gate order.
    pub results: Vec<CriterionResult>,
    /// Criteria that warned.
    pub warnings: usize,
    /// Whether warnings failed the gate.
    pub warnings_block: bool,
    /// The gate's accepted risks and how each was used (expired ones no longer apply).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acceptances: Vec<AcceptanceUse>,
}

impl GateVerdict {
    /// The verdict of a run stopped before its gate could be evaluated: failed, with no
    /// criterion results (the run's abort reason says why).
    pub fn not_evaluated() -> GateVerdict {
        GateVerdict {
            outcome: GateOutcome::Failed,
            results: Vec::new(),
            warnings: 0,
            warnings_block: false,
            acceptances: Vec::new(),
        }
    }
}

/// The last release that passed the same stage, for regression criteria.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// That release.
    pub release: String,
    /// Its measurements.
    pub measurements: Measurements,
}

/// Evaluates every criterion of the gate over what was measured.
pub fn evaluate(
    gate: &GateSpec,
    measurements: &Measurements,
    baseline: Option<&Baseline>,
) -> GateVerdict {
    judge(gate, &RunObservations::default(), measurements, baseline)
}

/// Evaluates the run's own criteria ([`RunObservations`]: the release check, a stop
/// before the end) and every criterion of the gate.
pub fn judge(
    gate: &GateSpec,
    run: &RunObservations,
    measurements: &Measurements,
    baseline: Option<&Baseline>,
) -> GateVerdict {
    let today = run.today.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let (judged, acceptances) = findings::accept(gate, measurements, today);
    let implied = findings::implied_criteria(gate, &judged)
        .into_iter()
        .map(|c| implied_result(&c, &judged));
    let results: Vec<CriterionResult> = run
        .results()
        .into_iter()
        .chain(
            gate.criteria
                .iter()
                .map(|c| evaluate_one(c, &judged, baseline)),
        )
        .chain(implied)
        .collect();
    let warnings = results
        .iter()
        .filter(|r| r.status == CriterionStatus::Warn)
        .count();
    let failed = results.iter().any(|r| r.status == CriterionStatus::Fail)
        || (gate.warnings_block && warnings > 0);
    // An empty gate cannot pass: validation refuses it, and this keeps the rule if a
    // gate ever arrives by another road.
    let outcome = if failed || results.is_empty() {
        GateOutcome::Failed
    } else {
        GateOutcome::Passed
    };
    GateVerdict {
        outcome,
        results,
        warnings,
        warnings_block: gate.warnings_block,
        acceptances,
    }
}

/// A criterion the stage's security suite implies, judged like any other; its failure
/// names the first unaccepted finding and how to accept one.
fn implied_result(criterion: &Criterion, judged: &Measurements) -> CriterionResult {
    let mut result = evaluate_one(criterion, judged, None);
    result.criterion = format!("{} {IMPLIED}", result.criterion);
    if result.status == CriterionStatus::Fail && result.cause == Reason::Missed {
        let severity = match criterion.metric {
            MetricId::SecurityCritical => Severity::Critical,
            _ => Severity::High,
        };
        result.cause = Reason::UnacceptedFindings {
            count: result.value.unwrap_or(0.0) as u64,
            severity,
            first: findings::first_unaccepted(judged, severity).unwrap_or_default(),
        };
        result.reason = result.cause.english(&result);
    }
    result
}

fn evaluate_one(
    criterion: &Criterion,
    measurements: &Measurements,
    baseline: Option<&Baseline>,
) -> CriterionResult {
    let unit = criterion.metric.unit();
    let mut result = CriterionResult {
        criterion: criterion.to_string(),
        metric: criterion.label(),
        value: None,
        shown: "no data".into(),
        pass: String::new(),
        warn: None,
        status: CriterionStatus::Fail,
        reason: String::new(),
        cause: Reason::Unrecorded,
    };
    fill_thresholds(&mut result, criterion);
    let (status, cause) = match observe(criterion, measurements) {
        Observed::Value { value, samples } if value.is_finite() => {
            result.value = Some(value);
            result.shown = unit.format(value);
            judge_value(criterion, value, samples, measurements, baseline)
        }
        Observed::Value { .. } => (
            CriterionStatus::Fail,
            Reason::NoData {
                cause: NoData::NotANumber,
            },
        ),
        Observed::NoData { cause, .. } => (CriterionStatus::Fail, Reason::NoData { cause }),
    };
    result.status = status;
    result.reason = cause.english(&result);
    result.cause = cause;
    result
}

/// The status and reason of a criterion whose value is `value`.
fn judge_value(
    criterion: &Criterion,
    value: f64,
    samples: u64,
    measurements: &Measurements,
    baseline: Option<&Baseline>,
) -> (CriterionStatus, Reason) {
    if let Some(needed) = criterion.min_samples.filter(|min| samples < *min) {
        return (
            CriterionStatus::Fail,
            Reason::InsufficientSamples { samples, needed },
        );
    }
    match &criterion.rule {
        CriterionRule::Threshold { pass, warn } => {
            if !pass.holds(value) {
                (CriterionStatus::Fail, Reason::Missed)
            } else if warn.is_some_and(|w| !w.holds(value)) {
                (CriterionStatus::Warn, Reason::Warned)
            } else {
                (CriterionStatus::Pass, Reason::Met)
            }
        }
        CriterionRule::Regression { max, warn } => {
            regression_criterion::judge(criterion, (*max, *warn), value, measurements, baseline)
        }
    }
}

/// A criterion's value: by its query for `promql`, by its metric id otherwise.
pub(super) fn observe(criterion: &Criterion, measurements: &Measurements) -> Observed {
    match &criterion.query {
        Some(query) => measurements.observe_promql(&query.text),
        None => measurements.observe(criterion.metric),
    }
}

fn fill_thresholds(result: &mut CriterionResult, criterion: &Criterion) {
    match &criterion.rule {
        CriterionRule::Threshold { pass, warn } => {
            result.pass = pass.to_string();
            result.warn = warn.map(|w| w.to_string());
        }
        CriterionRule::Regression { max, warn } => {
            result.pass = format!("regression <= {}", Unit::Ratio.format(*max));
            result.warn = warn.map(|w| format!("regression <= {}", Unit::Ratio.format(w)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::units::Threshold;
    use crate::measure::Percentiles;

    fn gate(criteria: Vec<Criterion>) -> GateSpec {
        GateSpec {
            criteria,
            warnings_block: false,
            acceptances: Vec::new(),
            junit_failures_from: Severity::Medium,
        }
    }

    fn threshold(metric: MetricId, pass: &str, warn: Option<&str>) -> Criterion {
        let unit = metric.unit();
        Criterion {
            metric,
            rule: CriterionRule::Threshold {
                pass: Threshold::parse(pass, unit).unwrap(),
                warn: warn.map(|w| Threshold::parse(w, unit).unwrap()),
            },
            min_samples: None,
            query: None,
        }
    }

    fn measured(p95: f64, requests: u64, errors: u64) -> Measurements {
        Measurements {
            requests,
            errors,
            duration_s: 10.0,
            latency_ms: Some(Percentiles {
                p50: p95 / 2.0,
                p90: p95,
                p95,
                p99: p95,
                max: p95,
            }),
            ..Measurements::default()
        }
    }

    #[test]
    fn a_run_with_no_requests_never_passes() {
        let g = gate(vec![
            threshold(MetricId::ErrorRate, "< 1%", None),
            threshold(MetricId::LatencyP95, "< 1s", None),
        ]);
        let v = evaluate(&g, &Measurements::default(), None);
        assert_eq!(v.outcome, GateOutcome::Failed);
        assert!(v
            .results
            .iter()
            .all(|r| r.status == CriterionStatus::Fail && r.reason.starts_with("no data")));
    }

    #[test]
    fn all_failed_requests_leave_no_latency_to_judge() {
        let g = gate(vec![threshold(MetricId::LatencyP95, "< 1s", None)]);
        let v = evaluate(&g, &measured(1.0, 10, 10), None);
        assert_eq!(v.outcome, GateOutcome::Failed);
        assert!(v.results[0].reason.starts_with("no data"));
    }

    #[test]
    fn warnings_pass_unless_they_block() {
        let mut g = gate(vec![threshold(
            MetricId::LatencyP95,
            "< 800ms",
            Some("< 200ms"),
        )]);
        let m = measured(300.0, 100, 0);
        let v = evaluate(&g, &m, None);
        assert_eq!((v.outcome, v.warnings), (GateOutcome::Passed, 1));
        assert_eq!(v.results[0].status, CriterionStatus::Warn);
        g.warnings_block = true;
        assert_eq!(evaluate(&g, &m, None).outcome, GateOutcome::Failed);
    }

    #[test]
    fn threshold_failure_names_value_and_limit() {
        let g = gate(vec![threshold(MetricId::LatencyP95, "< 200ms", None)]);
        let v = evaluate(&g, &measured(350.0, 100, 0), None);
        assert_eq!(v.outcome, GateOutcome::Failed);
        assert_eq!(
            v.results[0].reason,
            "latency-p95 is 350.0ms, must be < 200.0ms"
        );
    }

    #[test]
    fn insufficient_samples_fail() {
        let mut c = threshold(MetricId::ErrorRate, "< 5%", None);
        c.min_samples = Some(1000);
        let v = evaluate(&gate(vec![c]), &measured(10.0, 100, 0), None);
        assert_eq!(v.outcome, GateOutcome::Failed);
        assert!(v.results[0].reason.starts_with("insufficient data"));
    }

    #[test]
    fn regression_compares_with_the_baseline() {
        let c = Criterion {
            metric: MetricId::LatencyP95,
            rule: CriterionRule::Regression {
                max: 0.25,
                warn: None,
            },
            min_samples: None,
            query: None,
        };
        let g = gate(vec![c]);
        let base = Baseline {
            release: "1.0.0".into(),
            measurements: measured(100.0, 100, 0),
        };
        assert_eq!(
            evaluate(&g, &measured(120.0, 100, 0), Some(&base)).outcome,
            GateOutcome::Passed
        );
        let v = evaluate(&g, &measured(300.0, 100, 0), Some(&base));
        assert_eq!(v.outcome, GateOutcome::Failed);
        assert!(
            v.results[0].reason.contains("regression") && v.results[0].reason.contains("+200%"),
            "{}",
            v.results[0].reason
        );
        let first = evaluate(&g, &measured(300.0, 100, 0), None);
        assert_eq!(
            (first.outcome, first.results[0].status),
            (GateOutcome::Passed, CriterionStatus::Warn)
        );
    }

    fn promql(pass: &str) -> Criterion {
        Criterion {
            metric: MetricId::Promql,
            rule: CriterionRule::Threshold {
                pass: Threshold::parse(pass, crate::config::units::Unit::Number).unwrap(),
                warn: None,
            },
            min_samples: Some(5),
            query: Some(crate::config::rollout::PromqlQuery {
                text: "up".into(),
                name: Some("server".into()),
            }),
        }
    }

    fn with_promql(observed: Observed) -> Measurements {
        let mut m = measured(10.0, 100, 0);
        m.promql.insert(
            "up".into(),
            crate::measure::PromqlObservation {
                query: "up".into(),
                observed,
            },
        );
        m
    }

    #[test]
    fn a_promql_criterion_reads_its_query_and_fails_closed() {
        let g = gate(vec![promql("< 0.5")]);
        let ok = evaluate(
            &g,
            &with_promql(Observed::Value {
                value: 0.2,
                samples: 10,
            }),
            None,
        );
        assert_eq!(
            (ok.outcome, ok.results[0].metric.as_str()),
            (GateOutcome::Passed, "promql:server")
        );
        let high = evaluate(
            &g,
            &with_promql(Observed::Value {
                value: 0.7,
                samples: 10,
            }),
            None,
        );
        assert_eq!(
            high.results[0].reason,
            "promql:server is 0.7000, must be < 0.5000"
        );
        let few = evaluate(
            &g,
            &with_promql(Observed::Value {
                value: 0.2,
                samples: 2,
            }),
            None,
        );
        assert!(
            few.results[0]
                .reason
                .starts_with("insufficient data: 2 samples"),
            "{}",
            few.results[0].reason
        );
        let unreachable = evaluate(
            &g,
            &with_promql(Observed::no_data(NoData::Promql {
                detail: "prometheus unreachable at x".into(),
            })),
            None,
        );
        assert_eq!(
            (unreachable.outcome, unreachable.results[0].reason.as_str()),
            (GateOutcome::Failed, "no data: prometheus unreachable at x")
        );
        // Never queried (no entry at all) is no data too, never a pass.
        let missing = evaluate(&g, &measured(10.0, 100, 0), None);
        assert_eq!(
            (missing.outcome, missing.results[0].reason.as_str()),
            (GateOutcome::Failed, "no data: the query was not run")
        );
    }
}
