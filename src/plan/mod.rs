//! Takes the validated [`Project`], a system, a release and a stage, gives a [`Plan`]:
//! what will run, where, with which limits, gate and approvals. Refuses a plan that
//! breaks the environment's limits, before anything is sent.

use crate::config::environment::{Environment, Tier};
use crate::config::rollout::{AbortCriterion, ApprovalPolicy, GateSpec};
use crate::config::suite::{Suite, SuiteBody};
use crate::config::traffic::Traffic;
use crate::config::Project;
use crate::security::catalogue;
use crate::stage::StageId;
use serde::Serialize;
use std::fmt;

/// Everything one stage run needs, resolved.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// System id.
    pub system: String,
    /// System title.
    pub title: String,
    /// Release under test.
    pub release: String,
    /// Stage.
    pub stage: StageId,
    /// Environment, with its limits.
    pub environment: Environment,
    /// Suites in the order they run.
    #[serde(serialize_with = "suite_names")]
    pub suites: Vec<Suite>,
    /// Traffic shape after the environment's caps are applied.
    pub traffic: Traffic,
    /// The gate.
    pub gate: GateSpec,
    /// Who must approve.
    pub approval: ApprovalPolicy,
    /// Criteria that stop the load while it runs.
    pub abort: Vec<AbortCriterion>,
    /// SHA-256 of the files this plan came from.
    pub files_digest: String,
    /// The project folder the files are read from.
    #[serde(skip)]
    pub files_root: std::path::PathBuf,
    /// The files behind `files_digest`, relative to `files_root`; a run keeps a copy.
    #[serde(skip)]
    pub files: Vec<std::path::PathBuf>,
}

fn suite_names<S: serde::Serializer>(suites: &[Suite], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(suites.iter().map(|x| format!("{} ({})", x.name, x.kind())))
}

/// One reason a plan is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanViolation {
    /// The system has no rollout.
    #[error("unknown system `{0}` (hint: `stagegate status` lists the systems)")]
    UnknownSystem(String),
    /// A suite carries a tag the environment forbids.
    #[error("suite `{suite}` is tagged `{tag}`, which environment `{environment}` forbids")]
    ForbiddenTag {
        /// Suite name.
        suite: String,
        /// The tag.
        tag: String,
        /// Environment name.
        environment: String,
    },
    /// A built-in check or probe that is not production-safe on a production environment.
    #[error("security check `{check}` of suite `{suite}` is not production-safe and environment `{environment}` is production")]
    UnsafeCheck {
        /// Suite name.
        suite: String,
        /// Check id.
        check: String,
        /// Environment name.
        environment: String,
    },
    /// More users than the environment allows.
    #[error("{users} virtual users exceed `max-users = {limit}` of environment `{environment}`")]
    TooManyUsers {
        /// Requested users.
        users: u32,
        /// The limit.
        limit: u32,
        /// Environment name.
        environment: String,
    },
    /// A higher rate than the environment allows.
    #[error("{rps} requests/s exceed `max-rps = {limit}` of environment `{environment}`")]
    RateAboveLimit {
        /// Requested rate.
        rps: f64,
        /// The limit.
        limit: f64,
        /// Environment name.
        environment: String,
    },
}

/// Every reason a plan was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRefused(pub Vec<PlanViolation>);

impl fmt::Display for PlanRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "plan refused; nothing was sent:")?;
        for v in &self.0 {
            writeln!(f, "  - {v}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PlanRefused {}

/// Builds the plan for one stage of one release.
pub fn build(
    project: &Project,
    system: &str,
    release: &str,
    stage: StageId,
) -> Result<Plan, PlanRefused> {
    let files = project
        .system(system)
        .ok_or_else(|| PlanRefused(vec![PlanViolation::UnknownSystem(system.to_string())]))?;
    let spec = files
        .rollout
        .stages
        .get(&stage)
        .ok_or_else(|| PlanRefused(vec![PlanViolation::UnknownSystem(system.to_string())]))?;
    let environment = project
        .environments
        .get(&spec.environment)
        .ok_or_else(|| PlanRefused(vec![PlanViolation::UnknownSystem(system.to_string())]))?;
    let suites: Vec<Suite> = spec
        .suites
        .iter()
        .filter_map(|n| files.suites.get(n).cloned())
        .collect();

    let mut violations = Vec::new();
    let limits = &environment.limits;
    for suite in &suites {
        for tag in suite.tags.intersection(&limits.forbidden_tags) {
            violations.push(PlanViolation::ForbiddenTag {
                suite: suite.name.clone(),
                tag: tag.clone(),
                environment: environment.name.clone(),
            });
        }
        if environment.tier == Tier::Production {
            if let SuiteBody::Security(security) = &suite.body {
                let unsafe_checks = security
                    .checks
                    .iter()
                    .filter(|id| !catalogue::info(**id).production_safe)
                    .map(|id| id.to_string())
                    .chain(
                        security
                            .probes
                            .iter()
                            .filter(|p| !p.production_safe)
                            .map(|p| format!("probe.{}", p.name)),
                    );
                for check in unsafe_checks {
                    violations.push(PlanViolation::UnsafeCheck {
                        suite: suite.name.clone(),
                        check,
                        environment: environment.name.clone(),
                    });
                }
            }
        }
    }
    let mut traffic = spec.traffic.clone();
    if let Some(limit) = limits.max_users {
        if traffic.peak_users() > limit {
            violations.push(PlanViolation::TooManyUsers {
                users: traffic.peak_users(),
                limit,
                environment: environment.name.clone(),
            });
        }
    }
    if let Some(limit) = limits.max_rps {
        if let Some(rate) = traffic.rate.filter(|r| *r > limit) {
            violations.push(PlanViolation::RateAboveLimit {
                rps: rate,
                limit,
                environment: environment.name.clone(),
            });
        }
        match traffic.max_rps {
            Some(rps) if rps > limit => violations.push(PlanViolation::RateAboveLimit {
                rps,
                limit,
                environment: environment.name.clone(),
            }),
            Some(_) => {}
            // No rate in the profile: the environment's cap is enforced while running, as
            // a second line behind the plan.
            None => traffic.max_rps = Some(limit),
        }
    }
    if !violations.is_empty() {
        return Err(PlanRefused(violations));
    }
    Ok(Plan {
        system: system.to_string(),
        title: files.rollout.title.clone(),
        release: release.to_string(),
        stage,
        environment: environment.clone(),
        suites,
        traffic,
        gate: spec.gate.clone(),
        approval: spec.approval.clone(),
        abort: spec.abort.clone(),
        files_digest: files.files_digest.clone(),
        files_root: project.root.clone(),
        files: files.files.clone(),
    })
}

/// Where traffic goes, with the secret header resolved from the process environment.
#[derive(Clone)]
pub struct Target {
    /// Base URL without a trailing slash.
    pub base: String,
    /// Headers sent with every request (the environment's auth header).
    pub headers: Vec<(String, String)>,
    /// Secret values to scrub from anything written.
    secrets: Vec<String>,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print secrets, even in debug output.
        f.debug_struct("Target")
            .field("base", &self.base)
            .field("headers", &self.headers.len())
            .finish()
    }
}

/// The secret an environment needs is not set.
#[derive(Debug, thiserror::Error)]
#[error("environment `{environment}` needs the secret in `${variable}`, which is not set (hint: export {variable}=...)")]
pub struct MissingSecret {
    /// Environment name.
    pub environment: String,
    /// Variable name.
    pub variable: String,
}

/// Why a plan's target cannot be resolved.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The environment's secret is not set.
    #[error(transparent)]
    MissingSecret(#[from] MissingSecret),
    /// The environment starts itself in a container, and it has not been started.
    #[error("environment `{0}` starts itself in a container, which has not been started (hint: `stagegate run` starts it; a library caller uses `provision::start` and `provision::Provisioned::point`)")]
    NotStarted(String),
}

impl Target {
    /// Resolves the environment's address and secret; `lookup` reads a variable
    /// (the process environment in the CLI).
    pub fn resolve(
        environment: &Environment,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Target, TargetError> {
        let base_url = environment
            .reach
            .base_url()
            .ok_or_else(|| TargetError::NotStarted(environment.name.clone()))?;
        let mut headers = Vec::new();
        let mut secrets = Vec::new();
        if let Some(auth) = &environment.auth {
            let value = lookup(&auth.token_env)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| MissingSecret {
                    environment: environment.name.clone(),
                    variable: auth.token_env.clone(),
                })?;
            headers.push((auth.header.clone(), value.clone()));
            secrets.push(value);
        }
        Ok(Target {
            base: base_url.as_str().trim_end_matches('/').to_string(),
            headers,
            secrets,
        })
    }

    /// A target with no secrets, for ad-hoc runs against a URL.
    pub fn without_secrets(base: &str) -> Target {
        Target {
            base: base.trim_end_matches('/').to_string(),
            headers: Vec::new(),
            secrets: Vec::new(),
        }
    }

    /// Adds a header sent with every request whose value is a secret.
    pub fn with_secret_header(mut self, name: &str, value: &str) -> Target {
        self.headers.push((name.to_string(), value.to_string()));
        self.add_secret(value);
        self
    }

    /// Adds a value to scrub from anything written (a token learned during a run).
    pub fn add_secret(&mut self, secret: &str) {
        if !secret.is_empty() && !self.secrets.iter().any(|s| s == secret) {
            self.secrets.push(secret.to_string());
        }
    }

    /// A full URL for a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Replaces every secret in `text` with `***`.
    pub fn redact(&self, text: &str) -> String {
        self.secrets
            .iter()
            .fold(text.to_string(), |t, s| t.replace(s.as_str(), "***"))
    }
}
