//! Takes a stage's `abort` list, gives [`AbortCriterion`]s: what is watched every
//! second while load runs (error rates, latency percentiles), the threshold that must
//! hold, and how long a breach must last before all traffic stops.

use super::diagnostic::{Diagnostics, SourceFile};
use super::gate_spec::MetricId;
use super::units::Threshold;
use serde::{Deserialize, Serialize};
use std::fmt;
use toml::Spanned;

/// A criterion that stops the load while it runs.
#[derive(Debug, Clone, Serialize)]
pub struct AbortCriterion {
    /// What is watched: error rate, check failure rate or a latency percentile.
    pub metric: MetricId,
    /// Must hold in every one-second window.
    pub pass: Threshold,
    /// How long the breach must last before traffic stops (as `for` in Prometheus
    /// alerts), so one slow second does not abort a production trial.
    #[serde(with = "duration_secs")]
    pub for_: std::time::Duration,
}

mod duration_secs {
    use serde::Serializer;
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}

impl fmt::Display for AbortCriterion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.metric, self.pass)?;
        if !self.for_.is_zero() {
            write!(f, " for {}s", self.for_.as_secs())?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawAbort {
    metric: Spanned<MetricId>,
    pass: Spanned<String>,
    #[serde(rename = "for")]
    for_: Option<Spanned<String>>,
}

pub(super) fn parse_abort(
    file: &SourceFile,
    raw: &[RawAbort],
    diagnostics: &mut Diagnostics,
) -> Vec<AbortCriterion> {
    let mut out = Vec::new();
    for a in raw {
        let metric = *a.metric.get_ref();
        let watchable = matches!(
            metric,
            MetricId::ErrorRate
                | MetricId::CheckFailureRate
                | MetricId::LatencyP50
                | MetricId::LatencyP90
                | MetricId::LatencyP95
                | MetricId::LatencyP99
                | MetricId::LatencyMax
        );
        if !watchable {
            diagnostics.push(file.diagnostic(
                a.metric.span(),
                format!("`{metric}` cannot be watched while load runs"),
                Some("`error-rate`, `check-failure-rate` or a latency percentile".into()),
            ));
            continue;
        }
        let pass = match Threshold::parse(a.pass.get_ref(), metric.unit()) {
            Ok(t) => t,
            Err(e) => {
                diagnostics.push(file.diagnostic(
                    a.pass.span(),
                    format!("bad threshold `{}` for `{metric}`: {e}", a.pass.get_ref()),
                    Some(format!("an operator and {}", metric.unit().example())),
                ));
                continue;
            }
        };
        let for_ = match &a.for_ {
            None => std::time::Duration::ZERO,
            Some(text) => match super::units::duration_field(file, text, "3s", diagnostics) {
                Some(d) => d,
                None => continue,
            },
        };
        out.push(AbortCriterion { metric, pass, for_ });
    }
    out
}
