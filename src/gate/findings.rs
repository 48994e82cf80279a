//! Security findings the gate judges whatever its criteria say. Takes the gate (its
//! criteria and accepted risks), what was measured and today's date; gives the
//! measurements with accepted findings taken out of the counts, how each acceptance
//! was used (or that it expired), and the criteria a security suite implies: a stage
//! that ran a security suite fails on an unaccepted high or critical finding even when
//! its gate has no `security-*` criterion.

use crate::config::acceptance::Acceptance;
use crate::config::rollout::{Criterion, CriterionRule, GateSpec, MetricId};
use crate::config::suite::Severity;
use crate::config::units::{Threshold, Unit};
use crate::measure::Measurements;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// How one acceptance was used in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcceptanceUse {
    /// The acceptance as written.
    pub acceptance: Acceptance,
    /// Findings it covered in this run (counted again when it has expired).
    pub findings: u64,
    /// Whether it had expired on the day of the run (it then no longer applies).
    pub expired: bool,
}

/// Takes accepted findings out of the counts; gives the judged measurements and how
/// each acceptance was used.
pub(super) fn accept(
    gate: &GateSpec,
    measurements: &Measurements,
    today: NaiveDate,
) -> (Measurements, Vec<AcceptanceUse>) {
    let mut judged = measurements.clone();
    let mut uses: Vec<AcceptanceUse> = gate
        .acceptances
        .iter()
        .map(|a| AcceptanceUse {
            acceptance: a.clone(),
            findings: 0,
            expired: !a.applies_on(today),
        })
        .collect();
    if let Some(security) = judged.security.as_mut() {
        let mut kept = Vec::new();
        for finding in std::mem::take(&mut security.serious) {
            let by = uses
                .iter_mut()
                .filter(|u| u.acceptance.covers(&finding.check, &finding.url))
                .min_by_key(|u| u.expired);
            match by {
                Some(u) => {
                    u.findings += 1;
                    if u.expired {
                        kept.push(finding);
                    } else if let Some(n) = security.findings.get_mut(&finding.severity) {
                        *n = n.saturating_sub(1);
                    }
                }
                None => kept.push(finding),
            }
        }
        security.serious = kept;
    }
    (judged, uses)
}

/// `security-high == 0` and `security-critical == 0` for each severity the gate does
/// not judge itself, when the stage ran a security suite.
pub(super) fn implied_criteria(gate: &GateSpec, measurements: &Measurements) -> Vec<Criterion> {
    if measurements.security.is_none() {
        return Vec::new();
    }
    [MetricId::SecurityHigh, MetricId::SecurityCritical]
        .into_iter()
        .filter(|m| !gate.criteria.iter().any(|c| c.metric == *m))
        .filter_map(|metric| {
            Threshold::parse("== 0", Unit::Count)
                .ok()
                .map(|pass| Criterion {
                    metric,
                    rule: CriterionRule::Threshold { pass, warn: None },
                    min_samples: None,
                    query: None,
                })
        })
        .collect()
}

/// The first unaccepted finding of `severity`, as `check at url`, to name in a reason.
pub(super) fn first_unaccepted(measurements: &Measurements, severity: Severity) -> Option<String> {
    measurements
        .security
        .as_ref()?
        .serious
        .iter()
        .find(|f| f.severity == severity)
        .map(|f| format!("{} at {}", f.check, f.url))
}

/// The words after an implied criterion, so a reader knows where it came from.
pub const IMPLIED: &str = "(implied: the stage ran a security suite)";
