//! Takes a plan and a ledger, runs one stage through the pipeline: rollout rules
//! (ledger) → release check → suites (load on goose, security on reqwest) → measure →
//! gate → ledger → `summary.json`. Emits [`RunEvent`]s; reporters decide what to show.

use crate::config::suite::SuiteBody;
use crate::gate::{self, Baseline, CriterionResult, CriterionStatus, GateOutcome, GateVerdict};
use crate::ledger::{Ledger, LedgerError, NewRun, RunResult, RunRow, RunState};
use crate::load::{self, Breach, LoadOptions, LoadTick};
use crate::measure::{ArrivalRate, Measurements, Recorder, RequestObserver};
use crate::plan::{Plan, Target, TargetError};
use crate::report::context::ReleaseContext;
use crate::report::{self, BaselineRecord, RunSummary, SecurityCheckResult, SUMMARY_FORMAT};
use crate::security::{self, Finding};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How long the release check waits for the version endpoint.
const VERSION_TIMEOUT: Duration = Duration::from_secs(10);

/// Something that happened during a stage run, for reporters.
#[derive(Debug, Clone)]
pub enum RunEvent<'a> {
    /// The ledger accepted the run.
    Started {
        /// The run.
        run: &'a RunRow,
    },
    /// The environment reported its release.
    VersionChecked {
        /// What it reported.
        seen: &'a str,
    },
    /// A suite starts.
    SuiteStarted {
        /// Suite name.
        suite: &'a str,
        /// `load` or `security`.
        kind: &'a str,
    },
    /// Live load progress, about once a second.
    LoadProgress {
        /// Suite name.
        suite: &'a str,
        /// The tick.
        tick: LoadTick,
    },
    /// A suite ended.
    SuiteFinished {
        /// Suite name.
        suite: &'a str,
        /// One line about it.
        summary: String,
    },
    /// The run is recorded with its verdict.
    Finished {
        /// The run as recorded.
        run: &'a RunRow,
        /// The verdict.
        verdict: &'a GateVerdict,
        /// What was measured.
        measurements: &'a Measurements,
    },
}

/// Receives run events.
pub trait EventSink: Sync {
    /// Handles one event.
    fn event(&self, event: RunEvent<'_>);

    /// Something that sees every request of load suite `suite` as it completes (live
    /// metrics); none by default.
    fn request_observer(&self, _suite: &str) -> Option<Arc<dyn RequestObserver>> {
        None
    }
}

/// A sink that ignores everything.
pub struct NoEvents;

impl EventSink for NoEvents {
    fn event(&self, _: RunEvent<'_>) {}
}

/// Why a stage could not be run (as opposed to: it ran and failed its gate).
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
    /// Reports could not be written.
    #[error("cannot write the run's reports to `{path}`: {source}")]
    Reports {
        /// Folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A completed run: it passed or failed its gate.
#[derive(Debug)]
pub struct StageRunOutcome {
    /// The run as recorded.
    pub run: RunRow,
    /// The verdict.
    pub verdict: GateVerdict,
    /// Where `summary.json` is.
    pub summary_path: PathBuf,
    /// What was measured.
    pub measurements: Measurements,
    /// Security findings.
    pub findings: Vec<Finding>,
}

/// Runs the stage of `plan` as `actor`, reports under `out_dir`.
pub async fn run_stage(
    plan: &Plan,
    ledger: &mut Ledger,
    actor: &str,
    out_dir: &Path,
    secrets: &dyn Fn(&str) -> Option<String>,
    sink: &dyn EventSink,
) -> Result<StageRunOutcome, StageRunError> {
    let target = Target::resolve(&plan.environment, secrets)?;
    let run = ledger.begin_run(&NewRun {
        system: &plan.system,
        release: &plan.release,
        stage: plan.stage,
        environment: &plan.environment.name,
        run_by: actor,
        files_digest: &plan.files_digest,
        approval: &plan.approval,
    })?;
    sink.event(RunEvent::Started { run: &run });
    let report_dir = report_dir(out_dir, plan, run.id);
    // The files as run are kept next to the reports, before any traffic, so evidence
    // shows exactly what was run even after the project changes.
    if let Err(source) = report::keep_files(&plan.files_root, &plan.files, &report_dir) {
        let reason = format!("cannot keep the files as run: {source}");
        let empty = GateVerdict::not_evaluated();
        finish(
            ledger,
            &run,
            RunState::Aborted,
            None,
            &empty,
            &Measurements::default(),
            &report_dir,
            Some(&reason),
        )?;
        return Err(StageRunError::Reports {
            path: report_dir,
            source,
        });
    }

    let mut measurements = Measurements::default();
    let mut findings = Vec::new();
    let mut security_checks: Vec<SecurityCheckResult> = Vec::new();
    let mut version_seen = None;
    let mut version_problem = None;
    if let Some(endpoint) = &plan.environment.version_endpoint {
        match read_version(&target, &endpoint.path, &endpoint.json_pointer).await {
            Ok(seen) if seen == plan.release => {
                sink.event(RunEvent::VersionChecked { seen: &seen });
                version_seen = Some(seen);
            }
            Ok(seen) => {
                let reason = format!("environment serves release {seen}, not {}", plan.release);
                let verdict = GateVerdict::not_evaluated();
                let aborted = finish(
                    ledger,
                    &run,
                    RunState::Aborted,
                    Some(&seen),
                    &verdict,
                    &measurements,
                    &report_dir,
                    Some(&reason),
                )?;
                sink.event(RunEvent::Finished {
                    run: &aborted,
                    verdict: &verdict,
                    measurements: &measurements,
                });
                return Err(StageRunError::WrongRelease {
                    environment: plan.environment.name.clone(),
                    expected: plan.release.clone(),
                    seen,
                    run: run.id,
                });
            }
            Err(reason) => version_problem = Some(reason),
        }
    }

    let mut aborted: Option<Breach> = None;
    let window_start = chrono::Utc::now();
    if version_problem.is_none() {
        for suite in &plan.suites {
            if aborted.is_some() {
                // Traffic was stopped for a reason: no further suite may send more.
                break;
            }
            sink.event(RunEvent::SuiteStarted {
                suite: &suite.name,
                kind: suite.kind(),
            });
            let summary = match &suite.body {
                SuiteBody::Load(load_suite) => {
                    let recorder = Arc::new(match sink.request_observer(&suite.name) {
                        Some(observer) => Recorder::with_observer(observer),
                        None => Recorder::new(),
                    });
                    let on_tick = |tick: LoadTick| {
                        sink.event(RunEvent::LoadProgress {
                            suite: &suite.name,
                            tick,
                        })
                    };
                    let options = LoadOptions {
                        traffic: &plan.traffic,
                        abort: &plan.abort,
                        shared_client: false,
                    };
                    match load::run(
                        &suite.name,
                        load_suite,
                        options,
                        &target,
                        recorder.clone(),
                        &on_tick,
                    )
                    .await
                    {
                        Ok(report) => {
                            recorder.finish_into(&mut measurements, report.elapsed);
                            if let Some(rate) = plan.traffic.rate {
                                // Judge the rate at full load, not during the ramp.
                                let from = plan.traffic.ramp_up.as_secs_f64().ceil() as u64;
                                let to = from + plan.traffic.duration.as_secs_f64().ceil() as u64;
                                measurements.arrival =
                                    ArrivalRate::measure(rate, &measurements.series, from, to);
                            }
                            let snap = recorder.snapshot();
                            let mut line =
                                format!("{} requests, {} failed", snap.requests, snap.errors);
                            if let Some(breach) = report.aborted {
                                line = format!("{line}; ABORTED: {breach}");
                                aborted = Some(breach);
                            }
                            line
                        }
                        Err(e) => {
                            // What was recorded before the engine failed is still evidence,
                            // and the missing rest shows up as failed criteria.
                            recorder.finish_into(&mut measurements, recorder.elapsed());
                            measurements
                                .first_error
                                .get_or_insert_with(|| e.to_string());
                            format!("load engine error: {e}")
                        }
                    }
                }
                SuiteBody::Security(security_suite) => {
                    // Production runs send only GET/HEAD/OPTIONS, a second line behind the plan.
                    let options = security::ScanOptions {
                        production_safe_only: plan.environment.tier
                            == crate::config::environment::Tier::Production,
                        ..security::ScanOptions::default()
                    };
                    let outcome = security::run_suite_with(security_suite, &target, options).await;
                    measurements.add_security(&outcome);
                    let errored = outcome
                        .checks
                        .iter()
                        .filter(|c| matches!(c.status, security::CheckStatus::Error(_)))
                        .count();
                    let line = format!(
                        "{} checks, {} findings, {} could not run, {} requests",
                        outcome.checks.len(),
                        outcome.findings.len(),
                        errored,
                        outcome.requests
                    );
                    security_checks.extend(outcome.checks.iter().map(SecurityCheckResult::from));
                    findings.extend(outcome.findings);
                    line
                }
            };
            sink.event(RunEvent::SuiteFinished {
                suite: &suite.name,
                summary,
            });
        }
    }

    if version_problem.is_none() && plan.gate.criteria.iter().any(|c| c.query.is_some()) {
        let window = crate::metrics::promql::RunWindow {
            start: window_start,
            end: chrono::Utc::now(),
        };
        measurements.promql = crate::metrics::promql::observe_gate(plan, &window).await;
    }

    let baseline_row = ledger.baseline(&plan.system, plan.stage, &plan.release)?;
    let baseline = match &baseline_row {
        Some(row) => row
            .measurements
            .as_deref()
            .and_then(|m| serde_json::from_str::<Measurements>(m).ok())
            .map(|measurements| Baseline {
                release: row.release.clone(),
                measurements,
            }),
        None => None,
    };
    let mut verdict = gate::evaluate(&plan.gate, &measurements, baseline.as_ref());
    if let Some(reason) = version_problem {
        // No traffic was sent: the release under test could not be confirmed.
        verdict.results.insert(
            0,
            CriterionResult {
                criterion: format!("environment serves release {}", plan.release),
                metric: "release".into(),
                value: None,
                shown: "no data".into(),
                pass: format!("== {}", plan.release),
                warn: None,
                status: CriterionStatus::Fail,
                reason: format!("no data: cannot read the release from the environment ({reason})"),
            },
        );
        verdict.outcome = GateOutcome::Failed;
    }
    if let Some(breach) = &aborted {
        verdict.results.insert(
            0,
            CriterionResult {
                criterion: breach.criterion.clone(),
                metric: "abort".into(),
                value: None,
                shown: breach.value.clone(),
                pass: breach.criterion.clone(),
                warn: None,
                status: CriterionStatus::Fail,
                reason: format!("aborted: {breach}"),
            },
        );
        verdict.outcome = GateOutcome::Failed;
    }
    let state = match (verdict.outcome, &aborted) {
        (_, Some(_)) => RunState::Aborted,
        (GateOutcome::Passed, None) => RunState::Passed,
        (GateOutcome::Failed, None) => RunState::Failed,
    };
    let abort_reason = aborted.as_ref().map(|b| b.to_string());
    let run = finish(
        ledger,
        &run,
        state,
        version_seen.as_deref(),
        &verdict,
        &measurements,
        &report_dir,
        abort_reason.as_deref(),
    )?;
    sink.event(RunEvent::Finished {
        run: &run,
        verdict: &verdict,
        measurements: &measurements,
    });
    let summary = RunSummary {
        format: SUMMARY_FORMAT.into(),
        system: plan.system.clone(),
        release: plan.release.clone(),
        stage: plan.stage.as_str().into(),
        stage_number: plan.stage.number(),
        environment: plan.environment.name.clone(),
        tier: plan.environment.tier.as_str().into(),
        run_id: run.id,
        run_by: run.run_by.clone(),
        started_at: run.started_at.clone(),
        finished_at: run.finished_at.clone(),
        state: run.state,
        version_seen: run.version_seen.clone(),
        files_digest: run.files_digest.clone(),
        suites: plan.suites.iter().map(|s| s.name.clone()).collect(),
        verdict: verdict.clone(),
        measurements: measurements.clone(),
        findings: findings.clone(),
        abort_reason,
        security_checks,
        baseline: match (&baseline_row, &baseline) {
            (Some(row), Some(b)) => Some(BaselineRecord {
                release: b.release.clone(),
                run_id: row.id,
                measurements: b.measurements.clone(),
            }),
            _ => None,
        },
    };
    let context = ReleaseContext::from_ledger(ledger, &plan.system, &plan.release)?;
    let summary_path =
        report::write_run_reports(&report_dir, &summary, &context, report::i18n::Lang::En)
            .map_err(|source| StageRunError::Reports {
                path: report_dir.clone(),
                source,
            })?;
    Ok(StageRunOutcome {
        run,
        verdict,
        summary_path,
        measurements,
        findings,
    })
}

/// The folder of one run's reports under `out_dir`.
pub fn report_dir(out_dir: &Path, plan: &Plan, run_id: i64) -> PathBuf {
    out_dir
        .join(&plan.system)
        .join(&plan.release)
        .join(plan.stage.as_str())
        .join(format!("run-{run_id}"))
}

#[allow(clippy::too_many_arguments)]
fn finish(
    ledger: &mut Ledger,
    run: &RunRow,
    state: RunState,
    version_seen: Option<&str>,
    verdict: &GateVerdict,
    measurements: &Measurements,
    report_dir: &Path,
    abort_reason: Option<&str>,
) -> Result<RunRow, StageRunError> {
    let verdict_json =
        serde_json::to_string(verdict).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
    let measurements_json =
        serde_json::to_string(measurements).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
    Ok(ledger.finish_run(
        run.id,
        &RunResult {
            state,
            version_seen,
            verdict_json: &verdict_json,
            measurements_json: &measurements_json,
            report_dir: &report_dir.display().to_string(),
            abort_reason,
        },
    )?)
}

async fn read_version(target: &Target, path: &str, pointer: &str) -> Result<String, String> {
    let client = reqwest::Client::builder()
        .timeout(VERSION_TIMEOUT)
        .build()
        .map_err(|e| e.to_string())?;
    let mut request = client.get(target.url(path));
    for (name, value) in &target.headers {
        request = request.header(name, value);
    }
    let response = request.send().await.map_err(|e| {
        if e.is_connect() {
            format!("connection refused at {}", target.url(path))
        } else if e.is_timeout() {
            format!(
                "timed out after {VERSION_TIMEOUT:?} at {}",
                target.url(path)
            )
        } else {
            e.to_string()
        }
    })?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!(
            "HTTP {} from {}",
            status.as_u16(),
            target.url(path)
        ));
    }
    let body: serde_json::Value = response
        .json()
        .await
        .map_err(|_| format!("{} did not answer JSON", target.url(path)))?;
    match body.pointer(pointer) {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(other) => Ok(other.to_string()),
        None => Err(format!("{} has no `{pointer}`", target.url(path))),
    }
}
