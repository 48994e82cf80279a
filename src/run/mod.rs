//! The stage runner. Takes a plan, a target, the ledger and a cancellation token; runs
//! one stage: rollout rules (ledger) → files as run → release check → suites (load on
//! goose, security on reqwest) → server-side values (PromQL) → gate → ledger. It emits
//! typed [`RunEvent`]s to a [`RunConsumer`] and prints nothing: the terminal, the
//! reports, the metrics and the event log are consumers.
//!
//! [`execute`] wraps one run in its environment (a container started before, removed
//! after); [`preflight`] refuses what would be refused before anything starts.

mod cancel;
mod consumer;
mod environment;
mod event;
mod files_as_run;
pub mod promql;
mod record;
mod release_check;
pub mod signals;
mod suites;

pub use cancel::{Cancel, Signal};
pub use consumer::{ConsumerError, Consumers, NoConsumer, RunConsumer};
pub use event::{
    AbortReason, BaselineRun, EnvironmentEvent, RunEvent, RunRecord, SuiteKind, SuiteOutcome,
};
pub use files_as_run::FILES_DIR;

use crate::gate::{self, GateOutcome, RunObservations};
use crate::ledger::{Ledger, LedgerError, RunRow, RunState};
use crate::plan::{Plan, TargetError};
use crate::provision::ProvisionError;
use crate::shard::coordinator::ShardSetup;
use crate::vocabulary::Target;
use release_check::ReleaseSeen;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use suites::Collected;

/// Why a stage could not be run (as opposed to: it ran, and passed, failed or was
/// aborted).
#[derive(Debug, thiserror::Error)]
pub enum StageRunError {
    /// The environment's secret is not set, or its container was not started.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The ledger refused or failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The environment serves another release.
    #[error("environment `{environment}` serves release {seen}, not {expected}: deploy {expected} there first (run #{run} recorded as aborted)")]
    WrongRelease {
        /// Environment.
        environment: String,
        /// Asked for.
        expected: String,
        /// Served.
        seen: String,
        /// The run recorded.
        run: i64,
    },
    /// The files as run could not be kept (the run is recorded as aborted).
    #[error("cannot keep the files as run in `{}`: {source}", path.display())]
    FilesNotKept {
        /// The run's report folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The environment's container could not be started.
    #[error("environment `{environment}`: {source}")]
    Environment {
        /// Environment.
        environment: String,
        /// Why.
        source: ProvisionError,
    },
    /// A signal came while the container was starting.
    #[error(
        "interrupted by {signal} while the container was starting; it was removed and nothing ran"
    )]
    InterruptedBeforeRun {
        /// Which.
        signal: Signal,
    },
    /// A signal came while the container was starting, and the container could not be
    /// removed: the user must know one is left.
    #[error("interrupted by {signal} while the container was starting; nothing ran, but the container was not removed: {source}")]
    InterruptedContainerLeft {
        /// Which.
        signal: Signal,
        /// Why the removal failed.
        source: ProvisionError,
    },
}

/// One stage run to make.
#[derive(Debug, Clone, Copy)]
pub struct RunRequest<'a> {
    /// What to run.
    pub plan: &'a Plan,
    /// Who runs it (recorded in the ledger).
    pub actor: &'a str,
    /// Where report folders go (`<out>/<system>/<release>/<stage>/run-<id>`).
    pub out_dir: &'a Path,
    /// Run each load suite as shards on workers instead of in this process.
    pub shards: Option<&'a ShardSetup>,
}

/// Refuses, before anything starts (metrics server, container), a run whose secret is
/// missing or whose stage is out of order.
pub fn preflight(
    plan: &Plan,
    ledger: &Ledger,
    secrets: &dyn Fn(&str) -> Option<String>,
) -> Result<(), StageRunError> {
    if let Err(e @ TargetError::MissingSecret(_)) = Target::resolve(&plan.environment, secrets) {
        return Err(e.into());
    }
    Ok(ledger.may_begin(&plan.system, &plan.release, plan.stage)?)
}

/// Runs the stage in its environment: starts the container when the environment
/// provisions itself, runs the stage, keeps the container's logs and removes it.
pub async fn execute(
    root: &Path,
    request: &RunRequest<'_>,
    secrets: &dyn Fn(&str) -> Option<String>,
    ledger: &mut Ledger,
    cancel: &Cancel,
    out: &dyn RunConsumer,
) -> Result<RunRecord, StageRunError> {
    let container = environment::start(root, request.plan, cancel, out).await?;
    let plan = container
        .as_ref()
        .map_or_else(|| request.plan.clone(), |c| c.point(request.plan));
    let started = ReportDirOf::default();
    let both = Consumers::new().with(out).with(&started);
    let result = match Target::resolve(&plan.environment, secrets) {
        Ok(target) => {
            let request = RunRequest {
                plan: &plan,
                ..*request
            };
            run_stage(&request, &target, ledger, cancel, &both).await
        }
        Err(e) => Err(e.into()),
    };
    environment::finish(container, started.get().as_deref(), out).await;
    result
}

/// Runs one stage against `target`.
pub async fn run_stage(
    request: &RunRequest<'_>,
    target: &Target,
    ledger: &mut Ledger,
    cancel: &Cancel,
    out: &dyn RunConsumer,
) -> Result<RunRecord, StageRunError> {
    let plan = request.plan;
    let run = record::begin(ledger, plan, request.actor)?;
    let report_dir = report_dir(request.out_dir, plan, run.id);
    let _ = out.event(RunEvent::StageStarted {
        run: &run,
        plan,
        report_dir: &report_dir,
    });
    if let Err(source) = files_as_run::keep(plan, &report_dir) {
        let reason = AbortReason::FilesNotKept {
            error: source.to_string(),
        };
        abandon(ledger, &run, &report_dir, &reason, None, out)?;
        return Err(StageRunError::FilesNotKept {
            path: report_dir,
            source,
        });
    }
    let seen = tokio::select! {
        seen = release_check::check(plan, target) => seen,
        // Not read: the suites see the signal and record the run as interrupted.
        _ = cancel.requested(1) => ReleaseSeen::NotChecked,
    };
    if let ReleaseSeen::Serves(served) = &seen {
        if *served != plan.release {
            let reason = AbortReason::WrongRelease {
                seen: served.clone(),
                expected: plan.release.clone(),
            };
            abandon(ledger, &run, &report_dir, &reason, Some(served), out)?;
            return Err(StageRunError::WrongRelease {
                environment: plan.environment.name.clone(),
                expected: plan.release.clone(),
                seen: served.clone(),
                run: run.id,
            });
        }
        let _ = out.event(RunEvent::VersionSeen { release: served });
    }
    let mut collected = Collected::default();
    if !matches!(seen, ReleaseSeen::Unreadable(_)) {
        let window_start = chrono::Utc::now();
        suites::run_all(plan, request.shards, target, cancel, out, &mut collected).await;
        if cancel.signal().is_none() && plan.gate.criteria.iter().any(|c| c.query.is_some()) {
            let window = promql::RunWindow {
                start: window_start,
                end: chrono::Utc::now(),
            };
            collected.measurements.promql = promql::observe_gate(plan, &window).await;
        }
    }
    judge_and_record(plan, ledger, run, report_dir, seen, collected, out)
}

/// Judges the run (its own criteria and the gate), records it, emits the result.
fn judge_and_record(
    plan: &Plan,
    ledger: &mut Ledger,
    run: RunRow,
    report_dir: PathBuf,
    seen: ReleaseSeen,
    collected: Collected,
    out: &dyn RunConsumer,
) -> Result<RunRecord, StageRunError> {
    let baseline = record::baseline(ledger, plan)?;
    let (version_seen, release_unreadable) = match seen {
        ReleaseSeen::Serves(s) => (Some(s), None),
        ReleaseSeen::Unreadable(why) => (None, Some((plan.release.clone(), why))),
        ReleaseSeen::NotChecked => (None, None),
    };
    let observations = RunObservations {
        release_unreadable,
        stopped: collected.stopped.as_ref().map(AbortReason::as_stop),
        today: None,
    };
    let verdict = gate::judge(
        &plan.gate,
        &observations,
        &collected.measurements,
        baseline.as_ref().map(|b| &b.baseline),
    );
    for result in &verdict.results {
        let _ = out.event(RunEvent::CriterionJudged { result });
    }
    let state = match (&collected.stopped, verdict.outcome) {
        (Some(_), _) => RunState::Aborted,
        (None, GateOutcome::Passed) => RunState::Passed,
        (None, GateOutcome::Failed) => RunState::Failed,
    };
    let run = record::finish(
        ledger,
        &run,
        &record::Ending {
            state,
            version_seen: version_seen.as_deref(),
            verdict: &verdict,
            measurements: &collected.measurements,
            report_dir: &report_dir,
            stopped: collected.stopped.as_ref(),
        },
    )?;
    let record = RunRecord {
        release: record::release(ledger, plan)?,
        run,
        verdict,
        measurements: collected.measurements,
        findings: collected.findings,
        security_checks: collected.security_checks,
        stopped: collected.stopped,
        baseline,
        report_dir,
    };
    let _ = out.event(RunEvent::RunFinished {
        plan,
        record: &record,
    });
    Ok(record)
}

/// Records a run stopped before anything could be judged.
fn abandon(
    ledger: &mut Ledger,
    run: &RunRow,
    report_dir: &Path,
    reason: &AbortReason,
    version_seen: Option<&str>,
    out: &dyn RunConsumer,
) -> Result<(), StageRunError> {
    let recorded = record::finish(
        ledger,
        run,
        &record::Ending {
            state: RunState::Aborted,
            version_seen,
            verdict: &gate::GateVerdict::not_evaluated(),
            measurements: &Default::default(),
            report_dir,
            stopped: Some(reason),
        },
    )?;
    let _ = out.event(RunEvent::RunAborted {
        run: &recorded,
        reason,
    });
    Ok(())
}

/// The folder of one run's reports under `out_dir`.
pub fn report_dir(out_dir: &Path, plan: &Plan, run_id: i64) -> PathBuf {
    out_dir
        .join(&plan.system)
        .join(&plan.release)
        .join(plan.stage.as_str())
        .join(format!("run-{run_id}"))
}

/// Remembers the report folder of the run once it started (for the container's logs).
#[derive(Default)]
struct ReportDirOf(Mutex<Option<PathBuf>>);

impl ReportDirOf {
    fn get(&self) -> Option<PathBuf> {
        match self.0.lock() {
            Ok(d) => d.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

impl RunConsumer for ReportDirOf {
    fn event(&self, event: RunEvent<'_>) -> Result<(), ConsumerError> {
        if let RunEvent::StageStarted { report_dir, .. } = event {
            match self.0.lock() {
                Ok(mut d) => *d = Some(report_dir.to_path_buf()),
                Err(poisoned) => *poisoned.into_inner() = Some(report_dir.to_path_buf()),
            }
        }
        Ok(())
    }
}
