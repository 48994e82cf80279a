//! Why a criterion ended as it did, as data: [`Reason`]. The gate sets it; every
//! language renders it from its variant and data ([`Reason::english`] here, the other
//! languages in `report::i18n`), so no report reads words back into meaning.

use super::regression::{ChangeInterval, Settle};
use super::CriterionResult;
use crate::measure::NoData;
use serde::{Deserialize, Serialize};

/// Why a criterion passed, warned or failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Reason {
    /// The value met the pass threshold and the warning threshold, if any.
    Met,
    /// The value met the pass threshold, not the warning threshold.
    Warned,
    /// The value missed the pass threshold.
    Missed,
    /// A regression criterion within its allowance: `change` is how much worse than the
    /// baseline (a ratio; negative is better).
    WithinBaseline {
        /// The release compared with.
        baseline: String,
        /// Its value, shown with its unit.
        before: String,
        /// Relative change, positive = worse.
        change: f64,
        /// The change's confidence interval, when both runs kept their latency
        /// distribution (statistical judge); absent for a comparison of values.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        interval: Option<ChangeInterval>,
    },
    /// Worse than the baseline by more than the warning allowance.
    RegressionWarned {
        /// The release compared with.
        baseline: String,
        /// Its value, shown with its unit.
        before: String,
        /// Relative change, positive = worse.
        change: f64,
        /// The warning allowance, a ratio.
        warn: f64,
        /// The change's confidence interval, when both runs kept their latency
        /// distribution (statistical judge); absent for a comparison of values.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        interval: Option<ChangeInterval>,
    },
    /// Worse than the baseline by more than allowed.
    Regression {
        /// The release compared with.
        baseline: String,
        /// Its value, shown with its unit.
        before: String,
        /// Relative change, positive = worse.
        change: f64,
        /// The allowance, a ratio.
        allowed: f64,
        /// The change's confidence interval, when both runs kept their latency
        /// distribution (statistical judge); absent for a comparison of values.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        interval: Option<ChangeInterval>,
    },
    /// The statistical judge could not tell whether the change exceeds the allowance:
    /// never a pass.
    RegressionInconclusive {
        /// The release compared with.
        baseline: String,
        /// Its value, shown with its unit.
        before: String,
        /// Relative change, positive = worse.
        change: f64,
        /// The allowance, a ratio.
        allowed: f64,
        /// The change's confidence interval, when the runs had enough requests for one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        interval: Option<ChangeInterval>,
        /// What would settle it.
        settle: Settle,
    },
    /// No earlier release passed this stage: nothing to compare with (a warning).
    NoBaseline,
    /// The baseline release has no value for the metric (a warning).
    BaselineLacksValue {
        /// The release compared with.
        baseline: String,
    },
    /// Fewer samples than the criterion asks for.
    InsufficientSamples {
        /// Samples behind the value.
        samples: u64,
        /// Samples the criterion needs.
        needed: u64,
    },
    /// No value to judge.
    NoData {
        /// Why.
        cause: NoData,
    },
    /// The release the environment serves could not be read: nothing was sent.
    ReleaseUnreadable {
        /// What went wrong reading it.
        detail: String,
    },
    /// Traffic was stopped before the stage's end.
    Aborted {
        /// Why, as recorded (an abort criterion's breach, or the signal).
        by: String,
    },
    /// A stage that ran a security suite has findings of this severity that no
    /// unexpired acceptance covers.
    UnacceptedFindings {
        /// How many.
        count: u64,
        /// High or critical.
        severity: crate::config::suite::Severity,
        /// The first, as `check at url`.
        first: String,
    },
    /// Recorded before reasons were kept as data (older ledgers).
    #[default]
    Unrecorded,
}

impl Reason {
    /// Whether the value is missing or too thin to judge (the "no data" family).
    pub fn is_no_data(&self) -> bool {
        matches!(
            self,
            Reason::NoData { .. }
                | Reason::InsufficientSamples { .. }
                | Reason::ReleaseUnreadable { .. }
                | Reason::RegressionInconclusive { .. }
        )
    }

    /// The reason in English, from the result's data. Kept as `reason` in every stored
    /// verdict, for readers that want one line of text.
    pub fn english(&self, r: &CriterionResult) -> String {
        let metric = &r.metric;
        let pct = |ratio: f64| format!("{:.0}%", ratio * 100.0);
        let compared =
            |baseline: &str, before: &str, change: f64, interval: &Option<ChangeInterval>| {
                format!(
                    "{metric} is {} vs {before} in {baseline} ({:+.0}%{})",
                    r.shown,
                    change * 100.0,
                    interval.as_ref().map(english_interval).unwrap_or_default()
                )
            };
        match self {
            Reason::Met => format!("{metric} is {}", r.shown),
            Reason::Warned => format!(
                "{metric} is {}, should be {}",
                r.shown,
                r.warn.as_deref().unwrap_or("-")
            ),
            Reason::Missed => format!("{metric} is {}, must be {}", r.shown, r.pass),
            Reason::WithinBaseline {
                baseline,
                before,
                change,
                interval,
            } => compared(baseline, before, *change, interval),
            Reason::RegressionWarned {
                baseline,
                before,
                change,
                warn,
                interval,
            } => format!(
                "{}, warning above {}",
                compared(baseline, before, *change, interval),
                pct(*warn)
            ),
            Reason::Regression {
                baseline,
                before,
                change,
                allowed,
                interval,
            } => format!(
                "regression: {}, allowed {}",
                compared(baseline, before, *change, interval),
                pct(*allowed)
            ),
            Reason::RegressionInconclusive {
                baseline,
                before,
                change,
                allowed,
                interval,
                settle,
            } => format!(
                "inconclusive: {}, allowed {}: {}",
                compared(baseline, before, *change, interval),
                pct(*allowed),
                english_settle(settle, baseline)
            ),
            Reason::NoBaseline => "no baseline: no earlier release passed this stage".into(),
            Reason::BaselineLacksValue { baseline } => {
                format!("no baseline: release {baseline} has no {metric} value")
            }
            Reason::InsufficientSamples { samples, needed } => {
                format!("insufficient data: {samples} samples, the criterion needs {needed}")
            }
            Reason::NoData { cause } => cause.to_string(),
            Reason::ReleaseUnreadable { detail } => {
                format!("no data: cannot read the release from the environment ({detail})")
            }
            Reason::Aborted { by } => format!("aborted: {by}"),
            Reason::UnacceptedFindings {
                count,
                severity,
                first,
            } => format!(
                "{count} unaccepted {severity} finding(s), first {first}: fix, or accept in the gate's `accept` list with a reason, who and an expiry date"
            ),
            Reason::Unrecorded => String::new(),
        }
    }
}

/// `; 95% CI +3% to +9%`.
fn english_interval(i: &ChangeInterval) -> String {
    format!(
        "; {:.0}% CI {:+.0}% to {:+.0}%",
        i.confidence * 100.0,
        i.low * 100.0,
        i.high * 100.0
    )
}

fn english_settle(settle: &Settle, baseline: &str) -> String {
    match settle {
        Settle::MoreSamples {
            needed,
            had,
            baseline_had,
        } => format!(
            "too few requests to measure it (this run {had}, {baseline} {baseline_had}; each needs at least {needed}): run longer or with more users"
        ),
        Settle::LongerRun { requests, factor } => format!(
            "the interval straddles the allowance; about {requests} requests (a run {factor:.1}× as long) would settle it"
        ),
        Settle::AtTheAllowance => {
            "the change sits at the allowance; no run of sensible length can settle it".into()
        }
    }
}
