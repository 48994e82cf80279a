//! Takes the plan's suites, a target and the cancellation token, gives what they
//! measured and found ([`Collected`]), emitting suite events. A load is stopped by an
//! abort criterion or a signal and keeps what it measured; a second signal, or a load
//! that does not stop in time, stops waiting for it.

use super::cancel::{Cancel, Signal};
use super::consumer::RunConsumer;
use super::event::{AbortReason, RunEvent, SuiteKind, SuiteOutcome};
use crate::config::environment::Tier;
use crate::config::suite::SecuritySuite;
use crate::config::suite::{LoadSuite, Suite, SuiteBody};
use crate::load::{self, LoadOptions, LoadTick};
use crate::measure::{ArrivalRate, Measurements, Recorder};
use crate::plan::Plan;
use crate::security::{self, CheckRun, CheckStatus, Finding};
use crate::shard::coordinator::{self, ShardSetup};
use crate::vocabulary::Target;
use std::sync::Arc;
use std::time::Duration;

/// How long an interrupted load may take to stop before the runner stops waiting and
/// records what was measured: goose stops users within a second; ten leaves room for
/// in-flight requests to time out on a struggling system.
const LOAD_STOP_GRACE: Duration = Duration::from_secs(10);

/// What the suites measured and found.
#[derive(Debug, Default)]
pub(super) struct Collected {
    pub measurements: Measurements,
    pub findings: Vec<Finding>,
    pub security_checks: Vec<CheckRun>,
    /// What stopped the suites before their end.
    pub stopped: Option<AbortReason>,
}

/// Runs every suite of the plan in order, until one is stopped.
pub(super) async fn run_all(
    plan: &Plan,
    shards: Option<&ShardSetup>,
    target: &Target,
    cancel: &Cancel,
    out: &dyn RunConsumer,
    collected: &mut Collected,
) {
    for suite in &plan.suites {
        if let (None, Some(signal)) = (&collected.stopped, cancel.signal()) {
            collected.stopped = Some(AbortReason::Interrupted { signal });
        }
        if collected.stopped.is_some() {
            // Traffic was stopped for a reason: no further suite may send more.
            break;
        }
        let kind = match suite.body {
            SuiteBody::Load(_) => SuiteKind::Load,
            SuiteBody::Security(_) => SuiteKind::Security,
        };
        let _ = out.event(RunEvent::SuiteStarted {
            suite: &suite.name,
            kind,
        });
        let outcome = match &suite.body {
            SuiteBody::Load(_) if shards.is_some() => {
                let setup = shards.unwrap_or_else(|| unreachable!("checked in the guard"));
                run_sharded(setup, plan, &suite.name, target, cancel, collected).await
            }
            SuiteBody::Load(body) => {
                run_load(plan, suite, body, target, cancel, out, collected).await
            }
            SuiteBody::Security(body) => {
                run_security(plan, body, target, cancel, out, collected).await
            }
        };
        let _ = out.event(RunEvent::SuiteFinished {
            suite: &suite.name,
            outcome: &outcome,
        });
    }
}

async fn run_load(
    plan: &Plan,
    suite: &Suite,
    body: &LoadSuite,
    target: &Target,
    cancel: &Cancel,
    out: &dyn RunConsumer,
    collected: &mut Collected,
) -> SuiteOutcome {
    let recorder = Arc::new(match out.request_observer(&suite.name) {
        Some(observer) => Recorder::with_observer(observer),
        None => Recorder::new(),
    });
    let on_tick = |tick: LoadTick| {
        let _ = out.event(RunEvent::SuiteProgress {
            suite: &suite.name,
            tick: &tick,
        });
    };
    let options = LoadOptions {
        traffic: &plan.traffic,
        abort: &plan.abort,
        shared_client: false,
        production_write: suite.production_write.as_deref(),
    };
    let load = load::run(
        &suite.name,
        body,
        options,
        target,
        recorder.clone(),
        &on_tick,
    );
    tokio::pin!(load);
    let ended = tokio::select! {
        ended = &mut load => Some(ended),
        signal = cancel.requested(1) => {
            let _ = out.event(RunEvent::Interrupted { signal, stopping_load: true });
            load::interrupt(&format!("interrupted by {signal}"));
            tokio::select! {
                ended = &mut load => Some(ended),
                _ = cancel.requested(2) => None,
                _ = tokio::time::sleep(LOAD_STOP_GRACE) => None,
            }
        }
    };
    let measurements = &mut collected.measurements;
    // A signal names the stop, whatever the engine saw (its kill switch looks like a
    // breach to it).
    let interrupted = cancel
        .signal()
        .map(|signal| AbortReason::Interrupted { signal });
    let stopped = match ended {
        Some(Ok(report)) => {
            recorder.finish_into(measurements, report.elapsed);
            if let Some(rate) = plan.traffic.rate {
                // Judge the rate at full load, not during the ramp.
                let from = plan.traffic.ramp_up.as_secs_f64().ceil() as u64;
                let to = from + plan.traffic.duration.as_secs_f64().ceil() as u64;
                measurements.arrival = ArrivalRate::measure(rate, &measurements.series, from, to);
            }
            interrupted.or(report.aborted.map(AbortReason::Breach))
        }
        Some(Err(e)) => {
            // What was recorded before the engine failed is still evidence, and the
            // missing rest shows up as failed criteria.
            recorder.finish_into(measurements, recorder.elapsed());
            measurements
                .first_error
                .get_or_insert_with(|| e.to_string());
            if interrupted.is_none() {
                return SuiteOutcome::LoadEngineFailed {
                    error: e.to_string(),
                };
            }
            interrupted
        }
        None => {
            // The load did not stop in time, or a second signal came: keep what the
            // recorder holds now.
            recorder.finish_into(measurements, recorder.elapsed());
            interrupted
        }
    };
    let snap = recorder.snapshot();
    collected.stopped.clone_from(&stopped);
    SuiteOutcome::Load {
        requests: snap.requests,
        failed: snap.errors,
        stopped,
    }
}

/// A load suite run as shards: the merged figures are judged as one load's; a failed
/// shard stops the run with its reason and nothing of the load is kept for the gate.
async fn run_sharded(
    setup: &ShardSetup,
    plan: &Plan,
    suite: &str,
    target: &Target,
    cancel: &Cancel,
    collected: &mut Collected,
) -> SuiteOutcome {
    let stop = async {
        cancel.requested(1).await;
    };
    let interrupted = |cancel: &Cancel| {
        cancel
            .signal()
            .map(|signal| AbortReason::Interrupted { signal })
    };
    match coordinator::run_suite(setup, plan, suite, target, stop).await {
        Ok(load) => {
            let m = load.measurements;
            let measurements = &mut collected.measurements;
            measurements.requests += m.requests;
            measurements.errors += m.errors;
            for (kind, n) in m.errors_by_kind {
                *measurements.errors_by_kind.entry(kind).or_default() += n;
            }
            measurements.checks += m.checks;
            measurements.check_failures += m.check_failures;
            for (name, n) in m.failed_checks {
                *measurements.failed_checks.entry(name).or_default() += n;
            }
            measurements.duration_s += m.duration_s;
            if measurements.first_error.is_none() {
                measurements.first_error = m.first_error;
            }
            measurements.latency_ms = m.latency_ms;
            measurements.transactions.extend(m.transactions);
            measurements.series = m.series;
            if let Some(rate) = plan.traffic.rate {
                let from = plan.traffic.ramp_up.as_secs_f64().ceil() as u64;
                let to = from + plan.traffic.duration.as_secs_f64().ceil() as u64;
                measurements.arrival = ArrivalRate::measure(rate, &measurements.series, from, to);
            }
            let stopped = interrupted(cancel).or(load.stopped.map(AbortReason::Breach));
            collected.stopped.clone_from(&stopped);
            SuiteOutcome::Load {
                requests: m.requests,
                failed: m.errors,
                stopped,
            }
        }
        Err(failure) => {
            let reason = AbortReason::ShardFailed {
                reason: failure.to_string(),
            };
            collected.stopped = Some(interrupted(cancel).unwrap_or(reason.clone()));
            SuiteOutcome::Load {
                requests: 0,
                failed: 0,
                stopped: Some(reason),
            }
        }
    }
}

async fn run_security(
    plan: &Plan,
    body: &SecuritySuite,
    target: &Target,
    cancel: &Cancel,
    out: &dyn RunConsumer,
    collected: &mut Collected,
) -> SuiteOutcome {
    // Production runs send only GET/HEAD/OPTIONS, a second line behind the plan.
    let options = security::ScanOptions {
        production_safe_only: plan.environment.tier == Tier::Production,
        ..security::ScanOptions::default()
    };
    let outcome = tokio::select! {
        outcome = security::run_suite_with(body, target, options) => outcome,
        signal = cancel.requested(1) => return interrupted_security(signal, out, collected),
    };
    collected.measurements.add_security(&outcome);
    let could_not_run = outcome
        .checks
        .iter()
        .filter(|c| matches!(c.status, CheckStatus::Error(_)))
        .count();
    let summary = SuiteOutcome::Security {
        checks: outcome.checks.len(),
        findings: outcome.findings.len(),
        could_not_run,
        requests: outcome.requests,
    };
    collected.security_checks.extend(outcome.checks);
    collected.findings.extend(outcome.findings);
    summary
}

fn interrupted_security(
    signal: Signal,
    out: &dyn RunConsumer,
    collected: &mut Collected,
) -> SuiteOutcome {
    let _ = out.event(RunEvent::Interrupted {
        signal,
        stopping_load: false,
    });
    collected.stopped = Some(AbortReason::Interrupted { signal });
    SuiteOutcome::SecurityInterrupted { signal }
}
