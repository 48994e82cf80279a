//! A regression criterion (`max-regression`) judged: takes the criterion, this run's
//! value and measurements and the baseline's; gives its status and reason. Latency
//! percentiles go to the statistical judge ([`super::regression`]) when both runs kept
//! their latency distribution; everything else is compared by value.

use super::regression::{self, Judgement};
use super::{observe, Baseline, CriterionStatus, Reason};
use crate::config::rollout::{Criterion, MetricId};
use crate::measure::{Measurements, Observed};

/// The status and reason of `criterion` (allowance and warning allowance `(max, warn)`,
/// ratios) whose value in this run is `value`.
pub(super) fn judge(
    criterion: &Criterion,
    (max, warn): (f64, Option<f64>),
    value: f64,
    measurements: &Measurements,
    baseline: Option<&Baseline>,
) -> (CriterionStatus, Reason) {
    let Some(baseline) = baseline else {
        // The first release has nothing to compare with: shown as a warning, so it
        // is visible and counted, but it cannot block the first release forever.
        return (CriterionStatus::Warn, Reason::NoBaseline);
    };
    let before = match observe(criterion, &baseline.measurements) {
        Observed::Value { value, .. } if value.is_finite() => value,
        _ => {
            return (
                CriterionStatus::Warn,
                Reason::BaselineLacksValue {
                    baseline: baseline.release.clone(),
                },
            )
        }
    };
    let release = baseline.release.clone();
    let shown_before = criterion.metric.unit().format(before);
    if let Some(judged) = judge_statistically(criterion, measurements, baseline, max) {
        return regression_verdict(judged, release, shown_before, max, warn);
    }
    let change = relative_change(before, value, criterion.metric.higher_is_better());
    regression_verdict(
        Judgement::by_value(change, max),
        release,
        shown_before,
        max,
        warn,
    )
}

/// The statistical judgement of a latency-percentile regression criterion, when both
/// runs kept their latency distribution (runs recorded before they did, and metrics
/// that are not a percentile, are compared by value).
fn judge_statistically(
    criterion: &Criterion,
    measurements: &Measurements,
    baseline: &Baseline,
    allowed: f64,
) -> Option<Judgement> {
    let quantile = match (&criterion.query, criterion.metric) {
        (None, MetricId::LatencyP50) => 0.50,
        (None, MetricId::LatencyP90) => 0.90,
        (None, MetricId::LatencyP95) => 0.95,
        (None, MetricId::LatencyP99) => 0.99,
        _ => return None,
    };
    let now = measurements.latency_distribution.as_ref()?;
    let before = baseline.measurements.latency_distribution.as_ref()?;
    regression::judge(now, before, quantile, allowed).ok()
}

/// A regression criterion's status and reason from the judge's answer. Inconclusive is
/// never a pass.
fn regression_verdict(
    judged: Judgement,
    baseline: String,
    before: String,
    allowed: f64,
    warn: Option<f64>,
) -> (CriterionStatus, Reason) {
    match judged {
        Judgement::Regressed { change, interval } => (
            CriterionStatus::Fail,
            Reason::Regression {
                baseline,
                before,
                change,
                allowed,
                interval,
            },
        ),
        Judgement::Inconclusive {
            change,
            interval,
            settle,
        } => (
            CriterionStatus::Fail,
            Reason::RegressionInconclusive {
                baseline,
                before,
                change,
                allowed,
                interval,
                settle,
            },
        ),
        Judgement::NotRegressed { change, interval } => match warn.filter(|w| change > *w) {
            Some(w) => (
                CriterionStatus::Warn,
                Reason::RegressionWarned {
                    baseline,
                    before,
                    change,
                    warn: w,
                    interval,
                },
            ),
            None => (
                CriterionStatus::Pass,
                Reason::WithinBaseline {
                    baseline,
                    before,
                    change,
                    interval,
                },
            ),
        },
    }
}

/// How much worse `now` is than `before`, as a ratio (positive = worse).
fn relative_change(before: f64, now: f64, higher_is_better: bool) -> f64 {
    let worse_by = if higher_is_better {
        before - now
    } else {
        now - before
    };
    if before.abs() < f64::EPSILON {
        if worse_by > 0.0 {
            f64::INFINITY
        } else {
            0.0
        }
    } else {
        worse_by / before.abs()
    }
}
