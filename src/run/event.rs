//! What happens during a stage run, as typed events ([`RunEvent`]) and the data they
//! carry. The runner emits them; every output (terminal, reports, metrics, the event
//! log) is a consumer of them and nothing else.

use super::cancel::Signal;
use crate::gate::{Baseline, CriterionResult, GateVerdict, Stopped};
use crate::ledger::{ReleaseContext, RunRow};
use crate::load::{Breach, LoadTick};
use crate::measure::Measurements;
use crate::plan::Plan;
use crate::security::{CheckRun, Finding};
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// Something that happened during a stage run.
#[derive(Debug, Clone, Copy)]
pub enum RunEvent<'a> {
    /// The environment's container is being prepared (before the run starts).
    Environment(&'a EnvironmentEvent),
    /// The ledger accepted the run; its reports go to `report_dir`.
    StageStarted {
        /// The run as the ledger started it.
        run: &'a RunRow,
        /// What it runs.
        plan: &'a Plan,
        /// Its report folder.
        report_dir: &'a Path,
    },
    /// The environment reported the release under test.
    VersionSeen {
        /// What it reported (the release asked for).
        release: &'a str,
    },
    /// A suite starts.
    SuiteStarted {
        /// Suite name.
        suite: &'a str,
        /// Load or security.
        kind: SuiteKind,
    },
    /// Live load progress, about once a second.
    SuiteProgress {
        /// Suite name.
        suite: &'a str,
        /// Where the load stands.
        tick: &'a LoadTick,
    },
    /// A suite ended.
    SuiteFinished {
        /// Suite name.
        suite: &'a str,
        /// What it did.
        outcome: &'a SuiteOutcome,
    },
    /// A signal asked the run to stop.
    Interrupted {
        /// Which.
        signal: Signal,
        /// Whether a load was running and is being stopped (its measurements are kept).
        stopping_load: bool,
    },
    /// The gate judged one criterion.
    CriterionJudged {
        /// The result.
        result: &'a CriterionResult,
    },
    /// The run is recorded with its verdict (passed, failed, or aborted with what was
    /// measured until it stopped).
    RunFinished {
        /// What ran.
        plan: &'a Plan,
        /// Everything recorded.
        record: &'a RunRecord,
    },
    /// The run is recorded as aborted before anything could be judged.
    RunAborted {
        /// The run as recorded.
        run: &'a RunRow,
        /// Why.
        reason: &'a AbortReason,
    },
}

/// The two kinds of suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SuiteKind {
    /// Load on goose.
    Load,
    /// Security checks and probes.
    Security,
}

impl fmt::Display for SuiteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SuiteKind::Load => "load",
            SuiteKind::Security => "security",
        })
    }
}

/// What one suite did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SuiteOutcome {
    /// A load ran (to its end, or until something stopped it).
    Load {
        /// Requests sent.
        requests: u64,
        /// Requests that failed.
        failed: u64,
        /// What stopped it before its end.
        stopped: Option<AbortReason>,
    },
    /// The load engine failed; what it recorded before is kept.
    LoadEngineFailed {
        /// The engine's error.
        error: String,
    },
    /// A security suite ran.
    Security {
        /// Checks and probes.
        checks: usize,
        /// Findings.
        findings: usize,
        /// Checks that could not run.
        could_not_run: usize,
        /// Requests sent.
        requests: u64,
    },
    /// A security suite was cut short by a signal; its results are lost.
    SecurityInterrupted {
        /// The signal.
        signal: Signal,
    },
}

/// Why a run was stopped before its end.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum AbortReason {
    /// An abort criterion was breached while load ran.
    Breach(Breach),
    /// A signal asked the run to stop.
    Interrupted {
        /// Which.
        signal: Signal,
    },
    /// The environment serves another release: nothing was sent.
    WrongRelease {
        /// What it serves.
        seen: String,
        /// What the run is for.
        expected: String,
    },
    /// The files as run could not be kept before traffic.
    FilesNotKept {
        /// Why.
        error: String,
    },
    /// A shard of a sharded load died, never reported, reported for another run or
    /// failed: nothing is judged on part of the load.
    ShardFailed {
        /// What happened, naming the shard.
        reason: String,
    },
}

impl fmt::Display for AbortReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AbortReason::Breach(breach) => breach.fmt(f),
            AbortReason::Interrupted { signal } => write!(f, "interrupted by {signal}"),
            AbortReason::WrongRelease { seen, expected } => {
                write!(f, "environment serves release {seen}, not {expected}")
            }
            AbortReason::FilesNotKept { error } => {
                write!(f, "cannot keep the files as run: {error}")
            }
            AbortReason::ShardFailed { reason } => write!(f, "{reason}"),
        }
    }
}

impl AbortReason {
    /// The stop as the gate judges it, for stops that happen once traffic flows.
    pub fn as_stop(&self) -> Stopped {
        match self {
            AbortReason::Breach(b) => Stopped {
                criterion: b.criterion.clone(),
                shown: b.value.clone(),
                by: b.to_string(),
            },
            other => Stopped {
                criterion: "interrupted".into(),
                shown: match other {
                    AbortReason::Interrupted { signal } => signal.to_string(),
                    _ => "-".into(),
                },
                by: other.to_string(),
            },
        }
    }
}

/// A step of preparing a self-provisioning environment, or of removing it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
pub enum EnvironmentEvent {
    /// Containers left by runs whose process died were removed.
    OrphansRemoved {
        /// How many.
        count: usize,
    },
    /// Looking for such containers failed (the run goes on).
    OrphanSweepFailed {
        /// Why.
        error: String,
    },
    /// A container is starting.
    ContainerStarting {
        /// Its image.
        image: String,
        /// The environment.
        environment: String,
    },
    /// The container answers.
    ContainerReady {
        /// Its id.
        id: String,
        /// Where the suites reach it.
        base_url: String,
    },
    /// Its logs were kept with the run's reports.
    LogsKept {
        /// Where.
        path: PathBuf,
    },
    /// Its logs could not be kept (the run's own result stands).
    LogsLost {
        /// Why.
        error: String,
    },
    /// The container was removed.
    ContainerRemoved {
        /// Its id.
        id: String,
    },
    /// The container could not be removed.
    RemovalFailed {
        /// Why.
        error: String,
    },
}

/// The release that passed the same stage before, which regression criteria compared
/// with.
#[derive(Debug, Clone)]
pub struct BaselineRun {
    /// Its ledger run.
    pub run_id: i64,
    /// Its release and measurements.
    pub baseline: Baseline,
}

/// Everything a finished run recorded: what outputs are made of.
#[derive(Debug, Clone)]
pub struct RunRecord {
    /// The run as the ledger recorded it.
    pub run: RunRow,
    /// The verdict.
    pub verdict: GateVerdict,
    /// What was measured.
    pub measurements: Measurements,
    /// Security findings.
    pub findings: Vec<Finding>,
    /// Every security check and probe, and whether it ran.
    pub security_checks: Vec<CheckRun>,
    /// What stopped the run before its end.
    pub stopped: Option<AbortReason>,
    /// The baseline regression criteria compared with.
    pub baseline: Option<BaselineRun>,
    /// The run's report folder.
    pub report_dir: PathBuf,
    /// The release after this run, as the ledger holds it (stages and approvals).
    pub release: ReleaseContext,
}
