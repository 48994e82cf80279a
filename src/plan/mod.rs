//! Takes the validated [`Project`], a system, a release and a stage, gives a [`Plan`]:
//! what will run, where, with which limits, gate and approvals. Refuses a plan that
//! breaks the environment's limits, before anything is sent.

use crate::config::environment::{Environment, Tier};
use crate::config::rollout::{AbortCriterion, ApprovalPolicy, GateSpec};
use crate::config::suite::{Suite, SuiteBody};
use crate::config::traffic::Traffic;
use crate::config::Project;
use crate::http_model::HttpMethod;
use crate::security::catalogue;
use crate::stage::StageId;
use serde::Serialize;
use std::fmt;

pub mod descriptors;
mod target;
pub use descriptors::LoadProcesses;
pub use target::{MissingSecret, Target, TargetError, DEFAULT_BODY_LIMIT};

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
    /// What is worth saying before the run that refuses nothing (the command line
    /// prints them).
    #[serde(skip)]
    pub notes: Vec<PlanNote>,
}

/// Something about a plan worth saying before it runs, that does not refuse it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanNote {
    /// The local launcher's workers may together hold more connections to the target
    /// than this machine has local ports (see [`descriptors::PortPressure`]).
    #[error("the {} local workers of suite `{suite}` may together hold up to {} connections to the target (two per request in flight at worst), more than the {} local ports this machine has for one destination (`net.ipv4.ip_local_port_range`): past them a connection fails with `address not available` (hint: set the suite's `max-connections`, or run the shards on other hosts with `--launcher docker` or `kubernetes`)", .pressure.shards, .pressure.connections, .pressure.ports)]
    LocalPorts {
        /// The load suite.
        suite: String,
        /// Its workers' worst case and the machine's ports.
        pressure: descriptors::PortPressure,
    },
}

/// A suite allowed to send unsafe methods to production, and why.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
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
    /// More virtual users without think time than one process may open connections for
    /// (each such user always has a request in flight).
    #[error("{users} virtual users of suite `{suite}`{} need more file descriptors than {} may open ({limit}, of which {usable} can be connections): without a `think-time` each has a request in flight, holding a connection, and one more may wait idle (hint: raise `ulimit -n`, give the suite a `think-time` so users share a pool, spread them over more workers with `--shards N`, or run fewer users)", per_shard(*.shards), if *.shards > 1 { "each worker" } else { "this process" })]
    DescriptorLimit {
        /// The load suite.
        suite: String,
        /// Requested users of one process: the whole stage's, or one shard's share.
        users: u32,
        /// How many processes share the stage's users (1: this one alone).
        shards: u32,
        /// Connections the limit allows.
        usable: u64,
        /// The process's open-file limit.
        limit: u64,
    },
    /// A suite's `max-connections` above what this process may open.
    #[error("`max-connections = {connections}` of suite `{suite}` needs more file descriptors than this process may open ({limit}, of which {usable} can be connections): each request in flight holds a connection and one more may wait idle (hint: raise `ulimit -n`, or lower `max-connections`)")]
    ConnectionLimit {
        /// The load suite.
        suite: String,
        /// Its bound (never more than its users).
        connections: u64,
        /// Connections the limit allows.
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

/// `" (one shard's share, of 4)"` for a sharded load; nothing otherwise.
fn per_shard(shards: u32) -> String {
    if shards > 1 {
        format!(" (one shard's share, of {shards})")
    } else {
        String::new()
    }
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

/// Builds the plan for one stage of one release, whose load runs in `processes` (one,
/// or shards: the descriptor check counts the users of one process).
pub fn build(
    project: &Project,
    system: &str,
    release: &str,
    stage: StageId,
    processes: LoadProcesses,
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
    let (descriptor_violations, notes) = check_descriptors(&suites, &traffic, processes);
    violations.extend(descriptor_violations);
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
        notes,
    })
}

/// The descriptor rule (see [`descriptors`]) for each load suite, applied to the users
/// of one process: the stage's, or the largest shard's share as `shard` divides them;
/// and, for workers on this machine, whether they may run out of local ports together.
fn check_descriptors(
    suites: &[Suite],
    traffic: &Traffic,
    processes: LoadProcesses,
) -> (Vec<PlanViolation>, Vec<PlanNote>) {
    let mut violations = Vec::new();
    let mut notes = Vec::new();
    if !processes.checked_here() {
        return (violations, notes);
    }
    let Some(limit) = descriptors::open_file_limit() else {
        return (violations, notes);
    };
    let shards = processes.shards();
    // Shard 0 has the largest share (the remainder goes to the first shards).
    let users = crate::shard::ShardId::new(0, shards).map_or(traffic.peak_users(), |first| {
        first.traffic(traffic).peak_users()
    });
    for suite in suites {
        let SuiteBody::Load(load) = &suite.body else {
            continue;
        };
        let thinks = load.think_time.is_some_and(|t| !t.is_zero());
        match descriptors::shortfall_within(users, thinks, load.max_connections, limit) {
            Some(short) => violations.push(match load.max_connections {
                Some(_) => PlanViolation::ConnectionLimit {
                    suite: suite.name.clone(),
                    connections: short.connections,
                    usable: short.usable,
                    limit: short.limit,
                },
                None => PlanViolation::DescriptorLimit {
                    suite: suite.name.clone(),
                    users,
                    shards,
                    usable: short.usable,
                    limit: short.limit,
                },
            }),
            None if shards > 1 => {
                let usable = limit.saturating_sub(descriptors::RESERVED);
                let bound = descriptors::connection_bound(
                    users,
                    thinks,
                    load.max_connections,
                    Some(usable),
                );
                if let Some(pressure) = descriptors::local_ports()
                    .and_then(|ports| descriptors::port_pressure(bound, shards, ports))
                {
                    notes.push(PlanNote::LocalPorts {
                        suite: suite.name.clone(),
                        pressure,
                    });
                }
            }
            None => {}
        }
    }
    (violations, notes)
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
