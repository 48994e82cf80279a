//! Which of a stage's suites the gate reads. Takes a gate and the kinds of the suites
//! the stage runs; gives a note per suite whose results no criterion reads (a load
//! suite with no load criterion), and the criteria a security suite implies, so
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

/// One line per suite the gate does not read, e.g. `suite `x` (load): no gate
/// criterion reads its results`.
pub fn unread_suites<'a>(
    gate: &GateSpec,
    suites: impl IntoIterator<Item = &'a Suite>,
) -> Vec<String> {
    suites
        .into_iter()
        .filter_map(|s| match &s.body {
            SuiteBody::Load(_) if !gate.criteria.iter().any(|c| reads_load(c.metric)) => Some(format!(
                "suite `{}` (load): no gate criterion reads its results (add e.g. `error-rate` or `latency-p95`)",
                s.name
            )),
            _ => None,
        })
        .collect()
}

/// The criteria a stage's security suite implies, as shown in `plan`: one line per
/// severity (high, critical) the gate does not judge itself.
pub fn implied_by_security<'a>(
    gate: &GateSpec,
    suites: impl IntoIterator<Item = &'a Suite>,
) -> Vec<String> {
    let runs_security = suites
        .into_iter()
        .any(|s| matches!(s.body, SuiteBody::Security(_)));
    if !runs_security {
        return Vec::new();
    }
    [MetricId::SecurityHigh, MetricId::SecurityCritical]
        .into_iter()
        .filter(|m| !gate.criteria.iter().any(|c| c.metric == *m))
        .map(|m| format!("{m} == 0 {}", super::IMPLIED))
        .collect()
}
