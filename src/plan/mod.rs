//! Takes the validated [`Project`], a system, a release and a stage, gives a [`Plan`]:
//! what will run, where, with which limits, gate and approvals. Refuses a plan that
//! breaks the environment's limits, before anything is sent.

use crate::config::environment::{Environment, Tier};
use crate::config::rollout::{AbortCriterion, ApprovalPolicy, GateSpec};
use crate::config::suite::{Suite, SuiteBody};
use crate::config::traffic::Traffic;
use crate::config::Project;
use crate::http_model::origin::Fence;
use crate::http_model::{HttpMethod, Origin, OriginError};
use crate::security::catalogue;
use crate::stage::StageId;
use serde::Serialize;
use std::fmt;

pub mod descriptors;

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
    /// Suites that may write to this (production) environment, with their written
    /// reasons; empty on a test tier.
    pub production_writes: Vec<ProductionWrite>,
    /// SHA-256 of the files this plan came from.
    pub files_digest: String,
    /// The project folder the files are read from.
    #[serde(skip)]
    pub files_root: std::path::PathBuf,
    /// The files behind `files_digest`, relative to `files_root`; a run keeps a copy.
    #[serde(skip)]
    pub files: Vec<std::path::PathBuf>,
}

/// A suite allowed to send unsafe methods to production, and why.
#[derive(Debug, Clone, Serialize)]
pub struct ProductionWrite {
    /// Suite name.
    pub suite: String,
    /// The reason written in the suite (`production-write-reason`).
    pub reason: String,
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
    /// A request of a method that changes state, on a production tier, in a suite not
    /// declared a production write.
    #[error("step `{step}` of suite `{suite}` sends {method}, and environment `{environment}` is production: only GET, HEAD and OPTIONS run there (hint: tag the suite `production-write` with a `production-write-reason`, or run it on a test stage)")]
    UnsafeMethod {
        /// Suite name.
        suite: String,
        /// `transaction/step`.
        step: String,
        /// The method.
        method: String,
        /// Environment name.
        environment: String,
    },
    /// More virtual users than this process may open connections for.
    #[error("{users} virtual users need more file descriptors than this process may open ({limit}, of which {usable} can be connections) (hint: raise `ulimit -n`, or run fewer users)")]
    DescriptorLimit {
        /// Requested users.
        users: u32,
        /// Users the limit allows.
        usable: u64,
        /// The process's open-file limit.
        limit: u64,
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
    let mut production_writes = Vec::new();
    if environment.tier == Tier::Production {
        for suite in &suites {
            if let Some(reason) = &suite.production_write {
                production_writes.push(ProductionWrite {
                    suite: suite.name.clone(),
                    reason: reason.clone(),
                });
                continue;
            }
            violations.extend(unsafe_steps(suite).map(|(step, method)| {
                PlanViolation::UnsafeMethod {
                    suite: suite.name.clone(),
                    step,
                    method: method.to_string(),
                    environment: environment.name.clone(),
                }
            }));
        }
    }
    let mut traffic = spec.traffic.clone();
    if let Some((usable, limit)) = descriptors::too_many(traffic.peak_users()) {
        violations.push(PlanViolation::DescriptorLimit {
            users: traffic.peak_users(),
            usable,
            limit,
        });
    }
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
        production_writes,
        files_digest: files.files_digest.clone(),
        files_root: project.root.clone(),
        files: files.files.clone(),
    })
}

/// The steps of a load suite that send a method other than GET, HEAD and OPTIONS, as
/// `transaction/step` with the method.
fn unsafe_steps(suite: &Suite) -> impl Iterator<Item = (String, HttpMethod)> + '_ {
    let steps = match &suite.body {
        SuiteBody::Load(load) => load.transactions.as_slice(),
        SuiteBody::Security(_) => &[],
    };
    steps.iter().flat_map(|t| {
        t.steps
            .iter()
            .filter(|s| !s.request.method.is_safe())
            .map(move |s| (format!("{}/{}", t.name, s.name), s.request.method))
    })
}

/// Where traffic goes, with the secret headers resolved from the process environment,
/// and the origin fence that keeps each credential on its own origin.
#[derive(Clone)]
pub struct Target {
    /// Base URL without a trailing slash.
    pub base: String,
    /// Headers sent with every request to the base URL's origin (the environment's
    /// auth header) — and to no other origin.
    pub headers: Vec<(String, String)>,
    /// The other origins the environment lists, with their own headers (or none).
    other_origins: Vec<(Origin, Vec<(String, String)>)>,
    /// Where requests may go; an error when the base URL itself is not http(s).
    fence: Result<Fence, OriginError>,
    /// Secret values to scrub from anything written.
    secrets: Vec<String>,
    /// The most body bytes of one response kept for checks, matchers and evidence.
    body_limit: usize,
}

/// The most body bytes of one response kept for checks and evidence unless the
/// environment says otherwise (`limits.max-body-bytes`): a page of JSON is a few KiB;
/// a 50 MB download is read to its end but never held.
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

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
        let mut secrets = Vec::new();
        let mut header_of = |auth: &Option<crate::config::environment::AuthHeader>| {
            let Some(auth) = auth else {
                return Ok(Vec::new());
            };
            let value = lookup(&auth.token_env)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| MissingSecret {
                    environment: environment.name.clone(),
                    variable: auth.token_env.clone(),
                })?;
            secrets.push(value.clone());
            Ok::<_, MissingSecret>(vec![(auth.header.clone(), value)])
        };
        let headers = header_of(&environment.auth)?;
        let mut other_origins = Vec::new();
        for other in &environment.other_origins {
            other_origins.push((other.origin.clone(), header_of(&other.auth)?));
        }
        let base = base_url.as_str().trim_end_matches('/').to_string();
        let fence = Fence::new(
            &base,
            other_origins.iter().map(|(o, _)| o.clone()).collect(),
        );
        Ok(Target {
            base,
            headers,
            other_origins,
            fence,
            secrets,
            body_limit: environment
                .limits
                .max_body_bytes
                .map_or(DEFAULT_BODY_LIMIT, |b| b as usize),
        })
    }

    /// A target with no secrets, for ad-hoc runs against a URL.
    pub fn without_secrets(base: &str) -> Target {
        Target {
            base: base.trim_end_matches('/').to_string(),
            headers: Vec::new(),
            other_origins: Vec::new(),
            fence: Fence::new(base, Vec::new()),
            secrets: Vec::new(),
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }

    /// The most body bytes of one response kept for checks and evidence.
    pub fn body_limit(&self) -> usize {
        self.body_limit
    }

    /// The same target keeping at most `bytes` of each response body.
    pub fn with_body_limit(mut self, bytes: usize) -> Target {
        self.body_limit = bytes.max(1);
        self
    }

    /// The URL a rendered path (or full URL) goes to, refused when it would leave the
    /// environment's origin and the origins it lists.
    pub fn resolve_url(&self, rendered: &str) -> Result<url::Url, OriginError> {
        self.fence.as_ref().map_err(Clone::clone)?.resolve(rendered)
    }

    /// Whether a URL is on the environment's own origin.
    pub fn is_home(&self, url: &url::Url) -> bool {
        self.fence
            .as_ref()
            .is_ok_and(|f| Origin::of(url).as_ref() == Some(f.home()))
    }

    /// The headers that go with a request to `url`: the environment's own on its
    /// origin, a listed origin's own there, and none anywhere else.
    pub fn credentials_for(&self, url: &url::Url) -> &[(String, String)] {
        if self.is_home(url) {
            return &self.headers;
        }
        let origin = Origin::of(url);
        self.other_origins
            .iter()
            .find(|(o, _)| Some(o) == origin.as_ref())
            .map_or(&[], |(_, h)| h.as_slice())
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
