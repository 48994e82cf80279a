//! Which of a stage's suites the gate reads. Takes a gate and the kinds of the suites
//! the stage runs; gives the suites whose results no criterion reads (a load suite with
//! no load criterion), and the metrics a security suite implies a criterion on, so
//! `validate` and `plan` show what will be judged before anything is sent.

use crate::config::rollout::{GateSpec, MetricId};
use crate::config::suite::{Suite, SuiteBody};

/// Whether a criterion on `metric` reads a load suite's results.
fn reads_load(metric: MetricId) -> bool {
    !matches!(
        metric,
        MetricId::SecurityInfo
            | MetricId::SecurityLow
            | MetricId::SecurityMedium
            | MetricId::SecurityHigh
            | MetricId::SecurityCritical
            | MetricId::Promql
    )
}

/// The load suites whose results no gate criterion reads (`validate` and `plan` warn of
/// each; the command line says it in words).
pub fn unread_suites<'a>(
    gate: &GateSpec,
    suites: impl IntoIterator<Item = &'a Suite>,
) -> Vec<&'a str> {
    suites
        .into_iter()
        .filter(|s| {
            matches!(s.body, SuiteBody::Load(_))
                && !gate.criteria.iter().any(|c| reads_load(c.metric))
        })
        .map(|s| s.name.as_str())
        .collect()
}

/// The criteria a stage's security suite implies, as shown in `plan`: `metric == 0` for
/// each severity (high, critical) the gate does not judge itself.
pub fn implied_by_security<'a>(
    gate: &GateSpec,
    suites: impl IntoIterator<Item = &'a Suite>,
) -> Vec<MetricId> {
    let runs_security = suites
        .into_iter()
        .any(|s| matches!(s.body, SuiteBody::Security(_)));
    if !runs_security {
        return Vec::new();
    }
    [MetricId::SecurityHigh, MetricId::SecurityCritical]
        .into_iter()
        .filter(|m| !gate.criteria.iter().any(|c| c.metric == *m))
        .collect()
}
