//! Takes `scenarios/<system>/rollout.toml`, gives a [`Rollout`]: for each of the four
//! stages, the environment, the suites, the traffic profile, the gate and the approval
//! policy. Names of environments and suites are checked against the project here.

pub use super::abort_spec::AbortCriterion;
use super::abort_spec::{parse_abort, RawAbort};
use super::diagnostic::{Diagnostics, SourceFile};
use super::gate_spec::{parse_gate, RawGate};
pub use super::gate_spec::{Criterion, CriterionRule, GateSpec, MetricId};
pub use super::promql::PromqlQuery;
use super::traffic::{self, RawTraffic, Traffic};
use crate::stage::StageId;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use toml::Spanned;

/// One system's validated rollout plan.
#[derive(Debug, Clone)]
pub struct Rollout {
    /// System identifier, e.g. `dichvucong`.
    pub system: String,
    /// Human title.
    pub title: String,
    /// The four stages.
    pub stages: BTreeMap<StageId, StageSpec>,
}

/// What one stage runs and how it is judged.
#[derive(Debug, Clone, Serialize)]
pub struct StageSpec {
    /// Environment name.
    pub environment: String,
    /// Suite names, run in order.
    pub suites: Vec<String>,
    /// Load shape.
    pub traffic: Traffic,
    /// The gate.
    pub gate: GateSpec,
    /// Who must approve promotion.
    pub approval: ApprovalPolicy,
    /// Criteria checked every second while load runs; a breach stops all traffic.
    pub abort: Vec<AbortCriterion>,
}

/// Who must approve the promotion of a stage.
#[derive(Debug, Clone, Serialize)]
pub struct ApprovalPolicy {
    /// How many distinct people must approve.
    pub approvers: u32,
    /// Whether the person who ran the stage may be one of them.
    pub allow_self_approval: bool,
    /// Roles (from `people.toml`) that may approve or reject; empty: anyone in the roster.
    pub roles: Vec<String>,
    /// How many of the approvers must hold each role (`require = { release-manager = 2 }`).
    pub require: BTreeMap<String, u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRollout {
    version: Spanned<u32>,
    system: Spanned<String>,
    title: Option<String>,
    stages: RawStages,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawStages {
    trial_test: RawStage,
    real_test: RawStage,
    trial_production: RawStage,
    real_production: RawStage,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawStage {
    environment: Spanned<String>,
    suites: Spanned<Vec<Spanned<String>>>,
    traffic: RawTraffic,
    gate: RawGate,
    #[serde(default)]
    approval: RawApproval,
    #[serde(default)]
    abort: Vec<RawAbort>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawApproval {
    approvers: Spanned<u32>,
    #[serde(default)]
    allow_self_approval: bool,
    #[serde(default)]
    roles: Vec<Spanned<String>>,
    #[serde(default)]
    require: BTreeMap<String, Spanned<u32>>,
}

impl Default for RawApproval {
    fn default() -> Self {
        // No approval table: one approver who did not run the stage (four-eyes principle).
        toml::from_str("approvers = 1").unwrap_or_else(|_| unreachable!("literal parses"))
    }
}

/// Approval roles must be role names that someone in `people.toml` holds, and a
/// required count can be met by the stage's approvers.
fn check_approval_roles(
    file: &SourceFile,
    raw: &RawApproval,
    known: &KnownNames<'_>,
    diagnostics: &mut Diagnostics,
) {
    let held = |role: &str| known.roles.is_none_or(|roles| roles.contains(role));
    let expected = || match known.roles {
        Some(roles) if !roles.is_empty() => Some(format!(
            "a role someone in people.toml holds: {}",
            roles
                .iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        _ => Some("a role from people.toml, such as `release-manager`".into()),
    };
    for role in &raw.roles {
        if !held(role.get_ref()) {
            diagnostics.push(file.diagnostic(
                role.span(),
                format!("nobody in people.toml holds the role `{}`", role.get_ref()),
                expected(),
            ));
        }
    }
    for (role, count) in &raw.require {
        let allowed = raw.roles.is_empty() || raw.roles.iter().any(|r| r.get_ref() == role);
        if !held(role) || !allowed {
            diagnostics.push(file.diagnostic(
                count.span(),
                format!("the stage requires approvals by `{role}`, a role that cannot approve it"),
                expected(),
            ));
        } else if count.get_ref() > raw.approvers.get_ref() {
            diagnostics.push(file.diagnostic(
                count.span(),
                format!(
                    "the stage requires {} `{role}` approvals but only {} approvers",
                    count.get_ref(),
                    raw.approvers.get_ref()
                ),
                Some(format!(
                    "at most {}, or raise `approvers`",
                    raw.approvers.get_ref()
                )),
            ));
        }
    }
}

/// Names a rollout may refer to.
pub struct KnownNames<'a> {
    /// Environment names.
    pub environments: &'a BTreeSet<String>,
    /// Suite names of this system.
    pub suites: &'a BTreeSet<String>,
    /// Names of the environments whose tier is production.
    pub production: &'a BTreeSet<String>,
    /// Roles someone in `people.toml` holds (`None` when the project has no roster).
    pub roles: Option<&'a BTreeSet<String>>,
    /// Names of the (valid) environments whose tier is test.
    pub test: &'a BTreeSet<String>,
    /// Names of the environments that have a `prometheus-url`.
    pub with_prometheus: &'a BTreeSet<String>,
}

/// Parses and validates a rollout file; `folder` is the system folder's name.
pub fn parse(
    file: &SourceFile,
    folder: &str,
    known: &KnownNames<'_>,
    diagnostics: &mut Diagnostics,
) -> Option<Rollout> {
    let raw: RawRollout = file.parse_toml(diagnostics)?;
    let before = diagnostics.0.len();
    super::check_version(file, &raw.version, diagnostics);
    if raw.system.get_ref() != folder {
        diagnostics.push(file.diagnostic(
            raw.system.span(),
            format!(
                "system `{}` does not match its folder `{folder}`",
                raw.system.get_ref()
            ),
            Some(format!("`system = \"{folder}\"`")),
        ));
    }
    let RawStages {
        trial_test,
        real_test,
        trial_production,
        real_production,
    } = raw.stages;
    let mut stages = BTreeMap::new();
    for (id, raw_stage) in [
        (StageId::TrialTest, trial_test),
        (StageId::RealTest, real_test),
        (StageId::TrialProduction, trial_production),
        (StageId::RealProduction, real_production),
    ] {
        if let Some(stage) = parse_stage(file, id, raw_stage, known, diagnostics) {
            stages.insert(id, stage);
        }
    }
    if diagnostics.0.len() > before {
        return None;
    }
    Some(Rollout {
        system: raw.system.into_inner(),
        title: raw.title.unwrap_or_else(|| folder.to_string()),
        stages,
    })
}

fn parse_stage(
    file: &SourceFile,
    id: StageId,
    raw: RawStage,
    known: &KnownNames<'_>,
    diagnostics: &mut Diagnostics,
) -> Option<StageSpec> {
    let before = diagnostics.0.len();
    if !known.environments.contains(raw.environment.get_ref()) {
        diagnostics.push(file.diagnostic(
            raw.environment.span(),
            format!("unknown environment `{}`", raw.environment.get_ref()),
            Some(one_of(known.environments, "environments/<name>.toml")),
        ));
    }
    let on_production = known.production.contains(raw.environment.get_ref());
    let on_test = known.test.contains(raw.environment.get_ref());
    let wants_production = matches!(id, StageId::TrialProduction | StageId::RealProduction);
    // An environment whose file is invalid is in neither set: its own error says why.
    if (on_production || on_test) && on_production != wants_production {
        // A stage's tier is what makes its rules: trials on test may be intrusive, and
        // production stages are capped and judged on production itself.
        let (tier, want) = if on_production {
            ("production", "test")
        } else {
            ("test", "production")
        };
        diagnostics.push(
            file.diagnostic(
                raw.environment.span(),
                format!(
                    "stage `{id}` must run on a {want}-tier environment; `{}` is {tier} tier",
                    raw.environment.get_ref()
                ),
                Some(one_of(
                    &known
                        .environments
                        .iter()
                        .filter(|e| {
                            if wants_production {
                                known.production.contains(*e)
                            } else {
                                known.test.contains(*e)
                            }
                        })
                        .cloned()
                        .collect(),
                    &format!("an environment with `tier = \"{want}\"`"),
                )),
            ),
        );
    }
    if raw.suites.get_ref().is_empty() {
        diagnostics.push(file.diagnostic(
            raw.suites.span(),
            "a stage needs at least one suite",
            Some("suite names such as `[\"tra-cuu\"]`".into()),
        ));
    }
    for suite in raw.suites.get_ref() {
        if !known.suites.contains(suite.get_ref()) {
            diagnostics.push(file.diagnostic(
                suite.span(),
                format!("unknown suite `{}`", suite.get_ref()),
                Some(one_of(known.suites, "a suite file beside rollout.toml")),
            ));
        }
    }
    let traffic = traffic::parse(file, &raw.traffic, diagnostics);
    let gate = parse_gate(file, &raw.gate, diagnostics);
    if known.environments.contains(raw.environment.get_ref())
        && !known.with_prometheus.contains(raw.environment.get_ref())
    {
        // Caught here rather than at run time, where it could only fail the gate after
        // the whole load had been sent.
        for c in raw
            .gate
            .criteria
            .get_ref()
            .iter()
            .filter(|c| *c.metric.get_ref() == MetricId::Promql)
        {
            diagnostics.push(file.diagnostic(
                c.metric.span(),
                format!("a `promql` criterion needs a Prometheus, and environment `{}` has no `prometheus-url`", raw.environment.get_ref()),
                Some(format!("`prometheus-url = \"http://127.0.0.1:9090\"` in environments/{}.toml", raw.environment.get_ref())),
            ));
        }
    }
    let abort = parse_abort(file, &raw.abort, diagnostics);
    if raw.abort.is_empty() && on_production {
        // Production load without a brake is how a trial becomes an outage.
        diagnostics.push(file.diagnostic(
            raw.environment.span(),
            format!("stage on production environment `{}` declares no abort criteria", raw.environment.get_ref()),
            Some("`abort = [{ metric = \"error-rate\", pass = \"< 5%\", for = \"3s\" }]` in this stage".into()),
        ));
    }
    if *raw.approval.approvers.get_ref() == 0 {
        // Zero approvers would let a release promote itself.
        diagnostics.push(file.diagnostic(
            raw.approval.approvers.span(),
            "a stage needs at least one approver",
            Some("a whole number of 1 or more".into()),
        ));
    }
    check_approval_roles(file, &raw.approval, known, diagnostics);
    if diagnostics.0.len() > before {
        return None;
    }
    Some(StageSpec {
        environment: raw.environment.into_inner(),
        suites: raw
            .suites
            .into_inner()
            .into_iter()
            .map(Spanned::into_inner)
            .collect(),
        traffic: traffic?,
        gate: gate?,
        approval: ApprovalPolicy {
            approvers: raw.approval.approvers.into_inner(),
            allow_self_approval: raw.approval.allow_self_approval,
            roles: raw
                .approval
                .roles
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            require: raw
                .approval
                .require
                .into_iter()
                .map(|(role, n)| (role, n.into_inner()))
                .collect(),
        },
        abort,
    })
}

fn one_of(names: &BTreeSet<String>, fallback: &str) -> String {
    if names.is_empty() {
        fallback.to_string()
    } else {
        format!(
            "one of {}",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

#[cfg(test)]
mod promql_tests {
    use super::*;
    use std::path::PathBuf;

    const SAMPLE: &str = include_str!("../../scenarios/dichvucong/rollout.toml");
    const LINE: &str = r#"{ metric = "requests", pass = ">= 10" },"#;

    fn parse_with(criterion: &str) -> (Option<Rollout>, Diagnostics) {
        assert!(SAMPLE.contains(LINE), "the sample plan changed");
        let file = SourceFile {
            path: PathBuf::from("rollout.toml"),
            text: SAMPLE.replace(LINE, criterion),
        };
        let environments: BTreeSet<String> = ["test", "production"].map(String::from).into();
        let suites: BTreeSet<String> = [
            "tra-cuu-va-nop-ho-so",
            "giam-sat-tong-hop",
            "bao-mat-co-ban",
            "bao-mat-xam-nhap",
        ]
        .map(String::from)
        .into();
        let mut diagnostics = Diagnostics::default();
        let rollout = parse(
            &file,
            "dichvucong",
            &KnownNames {
                environments: &environments,
                suites: &suites,
                production: &["production".to_string()].into(),
                test: &["test".to_string()].into(),
                with_prometheus: &["production".to_string()].into(),
                roles: None,
            },
            &mut diagnostics,
        );
        (rollout, diagnostics)
    }

    fn position(criterion: &str, needle: &str) -> (usize, usize) {
        let text = SAMPLE.replace(LINE, criterion);
        let at = text.find(needle).unwrap();
        let line = text[..at].matches('\n').count() + 1;
        let column = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
        (line, column)
    }

    #[test]
    fn a_promql_criterion_keeps_its_query_and_number_threshold() {
        let c = r#"{ metric = "promql", name = "server-p95", query = "histogram_quantile(0.95, sum by (le) (rate(x_bucket[$__range])))", pass = "< 0.25", min-samples = 3 },"#;
        let (rollout, diagnostics) = parse_with(c);
        assert!(diagnostics.0.is_empty(), "{diagnostics:?}");
        let gate = &rollout.unwrap().stages[&StageId::RealProduction].gate;
        let promql = gate
            .criteria
            .iter()
            .find(|c| c.metric == MetricId::Promql)
            .unwrap();
        assert_eq!(promql.query.as_ref().unwrap().name(), "server-p95");
        assert_eq!(promql.to_string(), "promql:server-p95 < 0.2500");
        assert_eq!(promql.min_samples, Some(3));
    }

    #[test]
    fn a_promql_criterion_without_query_points_at_its_metric() {
        let c = r#"{ metric = "promql", pass = "< 0.5" },"#;
        let (rollout, diagnostics) = parse_with(c);
        assert!(rollout.is_none());
        assert_eq!(diagnostics.0.len(), 1, "{diagnostics:?}");
        let d = &diagnostics.0[0];
        assert_eq!(d.message, "a `promql` criterion needs a `query`");
        assert_eq!((d.line, d.column), position(c, "\"promql\""));
    }

    #[test]
    fn an_unknown_variable_and_a_stray_query_are_refused_where_written() {
        let c = r#"{ metric = "promql", query = "rate(x[$__interval])", pass = "< 0.5" }, { metric = "error-rate", query = "up", pass = "< 1%" },"#;
        let (_, diagnostics) = parse_with(c);
        let messages: Vec<(&str, usize, usize)> = diagnostics
            .0
            .iter()
            .map(|d| (d.message.as_str(), d.line, d.column))
            .collect();
        let (l1, c1) = position(c, "\"rate(");
        let (l2, c2) = position(c, "\"up\"");
        assert_eq!(
            messages,
            vec![
                ("unknown variable `$__interval` in the query", l1, c1),
                ("`query` goes with `metric = \"promql\"`", l2, c2)
            ]
        );
    }

    #[test]
    fn a_promql_criterion_on_an_environment_without_prometheus_is_refused() {
        let text = SAMPLE.replacen(
            r#"{ metric = "error-rate", pass = "< 1%" },"#,
            r#"{ metric = "promql", query = "up", pass = "> 0" },"#,
            1,
        );
        let file = SourceFile {
            path: PathBuf::from("rollout.toml"),
            text: text.clone(),
        };
        let environments: BTreeSet<String> = ["test", "production"].map(String::from).into();
        let suites: BTreeSet<String> = [
            "tra-cuu-va-nop-ho-so",
            "giam-sat-tong-hop",
            "bao-mat-co-ban",
            "bao-mat-xam-nhap",
        ]
        .map(String::from)
        .into();
        let production: BTreeSet<String> = ["production".to_string()].into();
        let mut diagnostics = Diagnostics::default();
        let known = KnownNames {
            environments: &environments,
            suites: &suites,
            production: &production,
            test: &["test".to_string()].into(),
            with_prometheus: &production,
            roles: None,
        };
        assert!(parse(&file, "dichvucong", &known, &mut diagnostics).is_none());
        assert_eq!(diagnostics.0.len(), 1, "{diagnostics:?}");
        let d = &diagnostics.0[0];
        let at = text.find(r#""promql""#).unwrap();
        assert_eq!(
            (d.line, d.column),
            (
                text[..at].matches('\n').count() + 1,
                at - text[..at].rfind('\n').unwrap()
            )
        );
        assert_eq!(d.message, "a `promql` criterion needs a Prometheus, and environment `test` has no `prometheus-url`");
    }
}
