//! Takes a load suite, the stage's traffic shape and a target, gives the run's
//! observations in a [`Recorder`]. goose drives the virtual users; each goose
//! transaction is one of the suite's transactions, whose steps run in order with
//! templated requests, checks and extraction. This module adds only what goose does
//! not do: templates, feeders, checks, and live recording.

mod compiled;
mod quiet_log;
mod quiet_stdout;

use crate::config::rollout::Traffic;
use crate::config::suite::LoadSuite;
use crate::measure::recorder::{LiveSnapshot, Recorder};
use crate::plan::Target;
use compiled::CompiledSuite;
use goose::config::GooseConfiguration;
use goose::prelude::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a single request may take before it counts as a timeout.
const REQUEST_TIMEOUT_SECS: &str = "30";
/// Grace period after the planned end before stagegate stops goose itself: goose
/// stops on its own, this only guards against a hang so a stage always ends.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Why the load engine could not run.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// goose refused the configuration or failed to start.
    #[error("the load engine failed: {0}")]
    Engine(String),
    /// goose did not stop after the planned time plus a grace period.
    #[error("the load did not stop {0:?} after its planned end; it was stopped")]
    Hung(Duration),
}

/// One tick of live progress.
#[derive(Debug, Clone, Copy)]
pub struct LoadTick {
    /// Time since the load started.
    pub elapsed: Duration,
    /// Planned total time.
    pub planned: Duration,
    /// Counts so far.
    pub snapshot: LiveSnapshot,
}

/// What the load engine reports beyond the recorder.
#[derive(Debug, Clone, Copy)]
pub struct LoadReport {
    /// Wall time of the load.
    pub elapsed: Duration,
}

/// Runs `suite` with `traffic` against `target`, recording into `recorder`, calling
/// `on_tick` about once a second.
pub async fn run(
    suite_name: &str,
    suite: &LoadSuite,
    traffic: &Traffic,
    target: &Target,
    recorder: Arc<Recorder>,
    on_tick: &(dyn Fn(LoadTick) + Send + Sync),
) -> Result<LoadReport, LoadError> {
    quiet_log::install();
    let compiled = Arc::new(CompiledSuite::new(
        suite_name,
        suite,
        target,
        recorder.clone(),
    ));
    let attack = build_attack(suite_name, suite, traffic, target, &compiled)
        .map_err(|e| LoadError::Engine(describe_goose_error(&e)))?;

    // goose takes whole seconds; round up so a stage never runs shorter than planned.
    let planned = Duration::from_secs(
        traffic.ramp_up.as_secs_f64().ceil() as u64 + traffic.duration.as_secs_f64().ceil() as u64,
    );
    let muted = quiet_stdout::mute();
    let started = Instant::now();
    let execute = attack.execute();
    tokio::pin!(execute);
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.tick().await;
    let deadline = tokio::time::sleep(planned + SHUTDOWN_GRACE);
    tokio::pin!(deadline);
    let mut hung = false;
    let result = loop {
        tokio::select! {
            result = &mut execute => break result,
            _ = ticker.tick() => on_tick(LoadTick { elapsed: started.elapsed(), planned, snapshot: recorder.snapshot() }),
            _ = &mut deadline, if !hung => {
                hung = true;
                goose::trigger_killswitch("stagegate: load did not stop after its planned end");
            }
        }
    };
    drop(muted);
    if hung {
        return Err(LoadError::Hung(SHUTDOWN_GRACE));
    }
    match result {
        Ok(_) | Err(GooseError::ThresholdsFailed { .. }) => Ok(LoadReport {
            elapsed: started.elapsed(),
        }),
        Err(e) => Err(LoadError::Engine(describe_goose_error(&e))),
    }
}

fn build_attack(
    suite_name: &str,
    suite: &LoadSuite,
    traffic: &Traffic,
    target: &Target,
    compiled: &Arc<CompiledSuite>,
) -> Result<Box<GooseAttack>, GooseError> {
    let mut scenario = Scenario::new(suite_name);
    if let Some(think) = suite.think_time {
        scenario = scenario.set_wait_time(think, think)?;
    }
    for index in 0..compiled.transactions.len() {
        let shared = compiled.clone();
        let function: TransactionFunction = Arc::new(move |user: &mut GooseUser| {
            let shared = shared.clone();
            Box::pin(async move { shared.run_transaction(index, user).await })
        });
        let spec = &suite.transactions[index];
        scenario = scenario.register_transaction(
            Transaction::new(function)
                .set_name(&spec.name)
                .set_weight(spec.weight)?,
        );
    }
    let ramp = traffic.ramp_up.as_secs_f64().ceil() as u64;
    let hold = traffic.duration.as_secs_f64().ceil().max(1.0) as u64;
    let plan = format!(
        "{users},{ramp}s;{users},{hold}s;0,0s",
        users = traffic.users
    );
    let mut attack = GooseAttack::initialize_with_config(GooseConfiguration::default())?
        .register_scenario(scenario)
        .set_default(GooseDefault::Host, target.base.as_str())?
        .set_default(GooseDefault::TestPlan, plan.as_str())?
        .set_default(GooseDefault::Timeout, REQUEST_TIMEOUT_SECS)?
        // stagegate is the only voice on the terminal: no goose tables, controllers or
        // end-of-run summaries.
        .set_default(GooseDefault::NoTelnet, true)?
        .set_default(GooseDefault::NoWebSocket, true)?
        .set_default(GooseDefault::NoPrintMetrics, true)?
        .set_default(GooseDefault::NoErrorSummary, true)?
        .set_default(GooseDefault::Quiet, 1)?;
    if let Some(rps) = traffic.max_rps {
        // goose's throttle is a cap, which is exactly what an environment limit is.
        attack = attack.set_default(
            GooseDefault::ThrottleRequests,
            (rps.floor() as usize).max(1),
        )?;
    }
    Ok(attack)
}

/// goose's `Display` says only "invalid option or value"; its fields say which.
fn describe_goose_error(e: &GooseError) -> String {
    match e {
        GooseError::InvalidOption {
            option,
            value,
            detail,
        } => format!("goose refused {option} = `{value}`: {detail}"),
        other => other.to_string(),
    }
}
