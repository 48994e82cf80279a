//! Takes a stage's `gate` table, gives a [`GateSpec`]: typed criteria on measured
//! metrics (thresholds in the metric's unit, regressions against the last passed release,
//! PromQL queries with their `$variables` checked), each mistake at its text.

use super::acceptance::{parse_acceptances, Acceptance, RawAcceptance};
use super::diagnostic::{Diagnostics, SourceFile};
use super::promql::PromqlQuery;
use super::units::{Threshold, Unit};
use crate::vocabulary::Severity;
use serde::{Deserialize, Serialize};
use std::fmt;
use toml::Spanned;

/// A gate: typed criteria and whether warnings block.
#[derive(Debug, Clone, Serialize)]
pub struct GateSpec {
    /// Every criterion must pass.
    pub criteria: Vec<Criterion>,
    /// When true a warning fails the gate too.
    pub warnings_block: bool,
    /// Accepted security risks: findings they cover do not fail the gate until they
    /// expire.
    pub acceptances: Vec<Acceptance>,
    /// In `junit.xml`, findings of this severity and above (not accepted) are failures;
    /// those below are shown as output. Medium unless the gate says otherwise.
    pub junit_failures_from: Severity,
}

/// What a criterion measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MetricId {
    /// Median latency.
    LatencyP50,
    /// 90th percentile latency.
    LatencyP90,
    /// 95th percentile latency.
    LatencyP95,
    /// 99th percentile latency.
    LatencyP99,
    /// Slowest request.
    LatencyMax,
    /// Failed requests / all requests.
    ErrorRate,
    /// Failed checks / all checks.
    CheckFailureRate,
    /// Requests per second over the run.
    Throughput,
    /// Number of requests sent.
    Requests,
    /// How far the achieved arrival rate fell short of the target rate.
    RateShortfall,
    /// Security findings of severity info.
    SecurityInfo,
    /// Security findings of severity low.
    SecurityLow,
    /// Security findings of severity medium.
    SecurityMedium,
    /// Security findings of severity high.
    SecurityHigh,
    /// Security findings of severity critical.
    SecurityCritical,
    /// A PromQL query against the environment's Prometheus (server-side metrics).
    Promql,
}

impl MetricId {
    /// The identifier used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricId::LatencyP50 => "latency-p50",
            MetricId::LatencyP90 => "latency-p90",
            MetricId::LatencyP95 => "latency-p95",
            MetricId::LatencyP99 => "latency-p99",
            MetricId::LatencyMax => "latency-max",
            MetricId::ErrorRate => "error-rate",
            MetricId::CheckFailureRate => "check-failure-rate",
            MetricId::Throughput => "throughput",
            MetricId::Requests => "requests",
            MetricId::RateShortfall => "rate-shortfall",
            MetricId::SecurityInfo => "security-info",
            MetricId::SecurityLow => "security-low",
            MetricId::SecurityMedium => "security-medium",
            MetricId::SecurityHigh => "security-high",
            MetricId::SecurityCritical => "security-critical",
            MetricId::Promql => "promql",
        }
    }

    /// The unit its thresholds are written in.
    pub fn unit(self) -> Unit {
        match self {
            MetricId::LatencyP50
            | MetricId::LatencyP90
            | MetricId::LatencyP95
            | MetricId::LatencyP99
            | MetricId::LatencyMax => Unit::Milliseconds,
            MetricId::ErrorRate | MetricId::CheckFailureRate | MetricId::RateShortfall => {
                Unit::Ratio
            }
            MetricId::Throughput => Unit::PerSecond,
            MetricId::Requests
            | MetricId::SecurityInfo
            | MetricId::SecurityLow
            | MetricId::SecurityMedium
            | MetricId::SecurityHigh
            | MetricId::SecurityCritical => Unit::Count,
            MetricId::Promql => Unit::Number,
        }
    }

    /// For regressions: whether a larger value is an improvement.
    pub fn higher_is_better(self) -> bool {
        matches!(self, MetricId::Throughput | MetricId::Requests)
    }
}

impl fmt::Display for MetricId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of a gate.
#[derive(Debug, Clone, Serialize)]
pub struct Criterion {
    /// What is measured.
    pub metric: MetricId,
    /// How it is judged.
    pub rule: CriterionRule,
    /// Fewer samples than this is "insufficient data", never a pass.
    pub min_samples: Option<u64>,
    /// The query of a `promql` criterion; `None` for every other metric.
    pub query: Option<PromqlQuery>,
}

impl Criterion {
    /// A short label for tables and metrics: the metric id, or `promql:<name>`.
    pub fn label(&self) -> String {
        match &self.query {
            Some(q) => format!("promql:{}", q.name()),
            None => self.metric.to_string(),
        }
    }
}

/// How a criterion is judged.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum CriterionRule {
    /// The value must meet `pass`; missing `warn` makes a warning.
    Threshold {
        /// Must hold, or the criterion fails.
        pass: Threshold,
        /// Should hold, or the criterion warns.
        warn: Option<Threshold>,
    },
    /// The value may be at most this much worse than the last release that passed the
    /// same stage (as a ratio: 0.25 = 25% worse).
    Regression {
        /// Worse than this fails.
        max: f64,
        /// Worse than this warns.
        warn: Option<f64>,
    },
}

impl fmt::Display for Criterion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = self.label();
        match &self.rule {
            CriterionRule::Threshold { pass, .. } => write!(f, "{what} {pass}"),
            CriterionRule::Regression { max, .. } => {
                write!(
                    f,
                    "{what} regression <= {:.0}% vs last passed release",
                    max * 100.0
                )
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawGate {
    #[serde(default)]
    warnings_block: bool,
    pub(super) criteria: Spanned<Vec<RawCriterion>>,
    #[serde(default)]
    accept: Vec<RawAcceptance>,
    junit_failures_from: Option<Severity>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawCriterion {
    pub(super) metric: Spanned<MetricId>,
    pass: Option<Spanned<String>>,
    warn: Option<Spanned<String>>,
    max_regression: Option<Spanned<String>>,
    warn_regression: Option<Spanned<String>>,
    min_samples: Option<u64>,
    query: Option<Spanned<String>>,
    name: Option<Spanned<String>>,
}

pub(super) fn parse_gate(
    file: &SourceFile,
    raw: &RawGate,
    diagnostics: &mut Diagnostics,
) -> Option<GateSpec> {
    let before = diagnostics.0.len();
    if raw.criteria.get_ref().is_empty() {
        // Keptn passes a gate with no objectives; we refuse to: no evidence, no promotion.
        diagnostics.push(file.diagnostic(
            raw.criteria.span(),
            "a gate needs at least one criterion",
            Some("e.g. `[{ metric = \"error-rate\", pass = \"< 1%\" }]`".into()),
        ));
    }
    let mut criteria = Vec::new();
    for c in raw.criteria.get_ref() {
        let metric = *c.metric.get_ref();
        let unit = metric.unit();
        let threshold =
            |text: &Spanned<String>, diagnostics: &mut Diagnostics| match Threshold::parse(
                text.get_ref(),
                unit,
            ) {
                Ok(t) => Some(t),
                Err(e) => {
                    diagnostics.push(file.diagnostic(
                        text.span(),
                        format!("bad threshold `{}` for `{metric}`: {e}", text.get_ref()),
                        Some(format!(
                            "an operator and {}, e.g. `{}`",
                            unit.example(),
                            example_threshold(unit)
                        )),
                    ));
                    None
                }
            };
        let regression = |text: &Spanned<String>, diagnostics: &mut Diagnostics| match Unit::Ratio
            .parse_quantity(text.get_ref())
        {
            Ok(r) => Some(r),
            Err(e) => {
                diagnostics.push(file.diagnostic(
                    text.span(),
                    format!("bad regression `{}`: {e}", text.get_ref()),
                    Some("a percentage such as `20%`".into()),
                ));
                None
            }
        };
        let rule = match (&c.pass, &c.max_regression) {
            (Some(pass), None) => {
                if let Some(w) = &c.warn_regression {
                    diagnostics.push(file.diagnostic(
                        w.span(),
                        "`warn-regression` goes with `max-regression`",
                        Some("`warn` for a `pass` threshold".into()),
                    ));
                }
                let pass = threshold(pass, diagnostics);
                let warn = c.warn.as_ref().map(|w| threshold(w, diagnostics));
                match (pass, warn) {
                    (Some(pass), None) => Some(CriterionRule::Threshold { pass, warn: None }),
                    (Some(pass), Some(Some(warn))) => Some(CriterionRule::Threshold {
                        pass,
                        warn: Some(warn),
                    }),
                    _ => None,
                }
            }
            (None, Some(max)) => {
                if let Some(w) = &c.warn {
                    diagnostics.push(file.diagnostic(
                        w.span(),
                        "`warn` goes with `pass`",
                        Some("`warn-regression` for a `max-regression`".into()),
                    ));
                }
                let max = regression(max, diagnostics);
                let warn = c
                    .warn_regression
                    .as_ref()
                    .map(|w| regression(w, diagnostics));
                match (max, warn) {
                    (Some(max), None) => Some(CriterionRule::Regression { max, warn: None }),
                    (Some(max), Some(Some(warn))) => Some(CriterionRule::Regression {
                        max,
                        warn: Some(warn),
                    }),
                    _ => None,
                }
            }
            (Some(pass), Some(_)) => {
                diagnostics.push(file.diagnostic(
                    pass.span(),
                    "a criterion has either `pass` or `max-regression`, not both",
                    Some("two separate criteria".into()),
                ));
                None
            }
            (None, None) => {
                diagnostics.push(file.diagnostic(
                    c.metric.span(),
                    format!("criterion `{metric}` has no threshold"),
                    Some(format!(
                        "`pass = \"{}\"` or `max-regression = \"20%\"`",
                        example_threshold(unit)
                    )),
                ));
                None
            }
        };
        let query = promql_query(file, c, diagnostics);
        if let Some(rule) = rule {
            criteria.push(Criterion {
                metric,
                rule,
                min_samples: c.min_samples,
                query,
            });
        }
    }
    let acceptances = parse_acceptances(file, &raw.accept, diagnostics);
    (diagnostics.0.len() == before).then_some(GateSpec {
        criteria,
        warnings_block: raw.warnings_block,
        acceptances,
        junit_failures_from: raw.junit_failures_from.unwrap_or(Severity::Medium),
    })
}

fn example_threshold(unit: Unit) -> &'static str {
    match unit {
        Unit::Milliseconds => "< 800ms",
        Unit::Ratio => "< 1%",
        Unit::PerSecond => ">= 20/s",
        Unit::Count => "== 0",
        Unit::Number => "< 0.5",
    }
}

/// The `query` (and `name`) of a `promql` criterion, checked: present exactly when the
/// metric is `promql`, not blank, and using only known `$variables`.
fn promql_query(
    file: &SourceFile,
    c: &RawCriterion,
    diagnostics: &mut Diagnostics,
) -> Option<PromqlQuery> {
    let is_promql = *c.metric.get_ref() == MetricId::Promql;
    if !is_promql {
        if let Some(q) = &c.query {
            diagnostics.push(file.diagnostic(
                q.span(),
                "`query` goes with `metric = \"promql\"`",
                Some("`metric = \"promql\"`, or remove `query`".into()),
            ));
        }
        if let Some(n) = &c.name {
            diagnostics.push(file.diagnostic(
                n.span(),
                "`name` goes with `metric = \"promql\"`",
                Some("remove `name`".into()),
            ));
        }
        return None;
    }
    let Some(query) = &c.query else {
        diagnostics.push(file.diagnostic(
            c.metric.span(),
            "a `promql` criterion needs a `query`",
            Some(
                "e.g. `query = \"sum(rate(http_requests_total{status=~'5..'}[$__range]))\"`".into(),
            ),
        ));
        return None;
    };
    let before = diagnostics.0.len();
    if query.get_ref().trim().is_empty() {
        diagnostics.push(file.diagnostic(
            query.span(),
            "the query is empty",
            Some("a PromQL expression".into()),
        ));
    }
    for name in super::promql::unknown_variables(query.get_ref()) {
        diagnostics.push(file.diagnostic(
            query.span(),
            format!("unknown variable `${name}` in the query"),
            Some(format!(
                    "one of {}",
                    super::promql::VARIABLES
                        .map(|v| format!("`${v}`"))
                        .join(", ")
                )),
        ));
    }
    if let Some(n) = &c.name {
        if n.get_ref().trim().is_empty() || n.get_ref().chars().any(char::is_control) {
            diagnostics.push(file.diagnostic(
                n.span(),
                "the name is empty",
                Some("a short name such as `server-p95`".into()),
            ));
        }
    }
    (diagnostics.0.len() == before).then(|| PromqlQuery {
        text: query.get_ref().clone(),
        name: c.name.as_ref().map(|n| n.get_ref().clone()),
    })
}
