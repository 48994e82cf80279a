//! Takes a load suite, the stage's traffic shape and a target, gives the run's
//! observations in a [`Recorder`]. goose drives the virtual users; each goose
//! transaction is one of the suite's transactions, whose steps run in order with
//! templated requests, checks and extraction. This module adds only what goose does
//! not do: templates, feeders, checks, and live recording.

pub mod abort;
mod compiled;
#[cfg(test)]
mod compiled_tests;
mod connections;
mod method_fence;
mod pacer;
mod quiet_log;
mod quiet_stdout;

use crate::config::rollout::AbortCriterion;
use crate::config::suite::LoadSuite;
use crate::config::traffic::Traffic;
use crate::measure::recorder::{LiveSnapshot, Recorder};
use crate::vocabulary::Target;
use abort::AbortMonitor;
pub use abort::Breach;
use compiled::CompiledSuite;
use goose::config::GooseConfiguration;
use goose::prelude::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a single request may take before it counts as a timeout.
const REQUEST_TIMEOUT_SECS: &str = "30";
/// The same, for the fenced client stagegate gives its users.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Grace period after the planned end before stagegate stops goose itself: goose
/// stops on its own, this only guards against a hang so a stage always ends.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// How long goose has to stop once told to after that grace; past it the load is
/// abandoned where it stands (its users are dropped with the runtime), so a run ends
/// within its planned time plus both graces whatever is stuck underneath.
const STOP_GRACE: Duration = Duration::from_secs(10);

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
    /// Virtual users the plan has running now.
    pub users: u32,
    /// Counts so far.
    pub snapshot: LiveSnapshot,
}

/// What the load engine reports beyond the recorder.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Wall time of the load.
    pub elapsed: Duration,
    /// The abort criterion that stopped the load, if one did.
    pub aborted: Option<Breach>,
}

/// How to drive a suite.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions<'a> {
    /// The load shape.
    pub traffic: &'a Traffic,
    /// Criteria that stop the load while it runs.
    pub abort: &'a [AbortCriterion],
    /// The suite's written `production-write-reason` when it is a declared production
    /// write. `None` means it is not: on a production target the engine then sends
    /// only GET, HEAD and OPTIONS, whatever the plan let through.
    pub production_write: Option<&'a str>,
}

/// How often abort criteria are checked: often enough that a breach confirmed at the
/// end of a second stops traffic well within the 2 seconds production allows.
const ABORT_CHECK_EVERY: Duration = Duration::from_millis(200);

/// Stops the running load as goose's own Ctrl-C handler would: traffic stops within a
/// second and the load reports itself `interrupted`, so the stage is recorded as aborted
/// with what was measured so far. For a command that catches the signal itself.
pub fn interrupt(reason: &str) {
    goose::trigger_killswitch(reason);
}

/// Runs `suite` with `traffic` against `target`, recording into `recorder`, calling
/// `on_tick` about once a second.
pub async fn run(
    suite_name: &str,
    suite: &LoadSuite,
    options: LoadOptions<'_>,
    target: &Target,
    recorder: Arc<Recorder>,
    on_tick: &(dyn Fn(LoadTick) + Send + Sync),
) -> Result<LoadReport, LoadError> {
    quiet_log::install();
    // The pacer holds a target rate (goose's throttle refills in 10 ms steps and
    // undershoots on a busy machine) and the environment's cap, which is a limit on the
    // same timeline: it runs at the lower of the two, so the cap is never exceeded.
    // goose's own throttle acts only on requests sent through goose, which stagegate's
    // users do not use (see `CompiledSuite::run_step`).
    let pace = match (options.traffic.rate, options.traffic.max_rps) {
        (Some(rate), Some(cap)) => Some(rate.min(cap)),
        (Some(pace), None) | (None, Some(pace)) => Some(pace),
        (None, None) => None,
    };
    let bound = crate::plan::descriptors::connection_bound(
        options.traffic.peak_users(),
        suite.think_time.is_some_and(|t| !t.is_zero()),
        suite.max_connections,
        crate::plan::descriptors::usable(),
    );
    let bound = usize::try_from(bound).unwrap_or(usize::MAX).max(1);
    let pool = connections::SharedPool::new(bound).map_err(|e| LoadError::Engine(e.to_string()))?;
    let compiled = Arc::new(CompiledSuite::new(
        suite_name,
        suite,
        target,
        options.production_write,
        recorder.clone(),
        pace,
        target.body_limit(),
        pool,
    ));
    let traffic = options.traffic;
    let attack = build_attack(suite_name, suite, options, target, &compiled)
        .map_err(|e| LoadError::Engine(describe_goose_error(&e)))?;

    let planned = traffic.planned();
    let steps = traffic.steps();
    let mut monitor = AbortMonitor::new(options.abort);
    let mut breach = None;
    let muted = quiet_stdout::mute();
    let started = Instant::now();
    let execute = attack.execute();
    tokio::pin!(execute);
    let mut ticker = tokio::time::interval(ABORT_CHECK_EVERY);
    let mut last_progress = Duration::ZERO;
    // Iteration-bound runs end when the iterations are done; the deadline is a guard.
    let limit = if traffic.iterations.is_some() {
        planned + Duration::from_secs(600)
    } else {
        planned
    };
    let deadline = tokio::time::sleep(limit + SHUTDOWN_GRACE);
    tokio::pin!(deadline);
    let hard_stop = tokio::time::sleep(limit + SHUTDOWN_GRACE + STOP_GRACE);
    tokio::pin!(hard_stop);
    let mut hung = false;
    // A time-bound load sends nothing after its planned end: users still queued for a
    // connection then give up (see `CompiledSuite::stop_sending`), so the load ends
    // when the requests in flight are answered, however far behind it had fallen.
    let send_until = traffic.iterations.is_none().then_some(planned);
    let result = loop {
        tokio::select! {
            result = &mut execute => break Some(result),
            _ = &mut hard_stop => break None,
            _ = ticker.tick() => {
                if breach.is_none() {
                    if let Some(b) = compiled.fence_breach().or_else(|| monitor.check(&recorder)) {
                        goose::trigger_killswitch(&b.to_string());
                        compiled.stop_sending();
                        breach = Some(b);
                    }
                }
                let elapsed = started.elapsed();
                if send_until.is_some_and(|end| elapsed >= end) {
                    compiled.stop_sending();
                }
                if elapsed >= last_progress + Duration::from_secs(1) {
                    last_progress = elapsed;
                    on_tick(LoadTick { elapsed, planned, users: users_at(&steps, elapsed), snapshot: recorder.snapshot() });
                }
            }
            _ = &mut deadline, if !hung => {
                hung = true;
                compiled.stop_sending();
                goose::trigger_killswitch("stagegate: load did not stop after its planned end");
            }
        }
    };
    drop(muted);
    let Some(result) = result.filter(|_| !hung) else {
        return Err(LoadError::Hung(SHUTDOWN_GRACE));
    };
    // goose's Ctrl-C handler ends the attack early and quietly; a load cut short by the
    // operator is not evidence of anything and must never reach the gate as a full run.
    if breach.is_none() && goose::is_killswitch_triggered() {
        breach = Some(Breach {
            criterion: "interrupted".into(),
            value: "stopped by the operator (Ctrl-C)".into(),
            at_second: started.elapsed().as_secs(),
            seconds: 0,
        });
    }
    match result {
        Ok(_) | Err(GooseError::ThresholdsFailed { .. }) => Ok(LoadReport {
            elapsed: started.elapsed(),
            aborted: breach,
        }),
        Err(e) => Err(LoadError::Engine(describe_goose_error(&e))),
    }
}

/// The users the plan has running `elapsed` into the load (linear within a step).
fn users_at(steps: &[crate::config::traffic::LoadStep], elapsed: Duration) -> u32 {
    let mut start = 0.0;
    let mut users = 0.0;
    let t = elapsed.as_secs_f64();
    for step in steps {
        let end = start + step.seconds as f64;
        let target = f64::from(step.users);
        if t < end {
            let progress = (t - start) / (end - start);
            return (users + (target - users) * progress).round() as u32;
        }
        users = target;
        start = end;
    }
    users as u32
}

fn build_attack(
    suite_name: &str,
    suite: &LoadSuite,
    options: LoadOptions<'_>,
    target: &Target,
    compiled: &Arc<CompiledSuite>,
) -> Result<Box<GooseAttack>, GooseError> {
    let mut scenario = Scenario::new(suite_name);
    if let Some(think) = suite.think_time {
        scenario = scenario.set_wait_time(think, think)?;
    }
    let equip = compiled.clone();
    let on_start: TransactionFunction = Arc::new(move |user: &mut GooseUser| {
        let equip = equip.clone();
        Box::pin(async move { equip.equip(user) })
    });
    scenario = scenario.register_transaction(
        Transaction::new(on_start)
            .set_name("stagegate-fenced-client")
            .set_on_start(),
    );
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
    let traffic = options.traffic;
    let mut attack = GooseAttack::initialize_with_config(GooseConfiguration::default())?
        .register_scenario(scenario)
        // One client for all users (see `connections`): goose builds none per user.
        .set_client_builder_without_cookies(
            goose::client::GooseClientBuilder::new().without_cookies(),
        )?
        .set_default(GooseDefault::Host, target.base.as_str())?
        .set_default(GooseDefault::Timeout, REQUEST_TIMEOUT_SECS)?
        // stagegate measures every request itself (the recorder); goose's own per-request
        // metrics, aggregated on one thread, cost throughput and are never read.
        .set_default(GooseDefault::NoMetrics, true)?
        // stagegate is the only voice on the terminal: no goose tables, controllers or
        // end-of-run summaries.
        .set_default(GooseDefault::NoTelnet, true)?
        .set_default(GooseDefault::NoWebSocket, true)?
        .set_default(GooseDefault::NoPrintMetrics, true)?
        .set_default(GooseDefault::NoErrorSummary, true)?
        .set_default(GooseDefault::Quiet, 1)?;
    attack = match traffic.iterations {
        Some(iterations) => {
            // goose runs iterations without a test plan: users start at a steady rate.
            let ramp = traffic.ramp_up.as_secs_f64().max(1.0);
            let rate = format!("{:.3}", f64::from(traffic.users) / ramp);
            attack
                .set_default(GooseDefault::Users, traffic.users as usize)?
                .set_default(GooseDefault::IncreaseRate, rate.as_str())?
                .set_default(GooseDefault::Iterations, iterations as usize)?
        }
        None => {
            let plan: Vec<String> = traffic
                .steps()
                .iter()
                .map(|s| format!("{},{}s", s.users, s.seconds))
                .collect();
            attack.set_default(GooseDefault::TestPlan, plan.join(";").as_str())?
        }
    };
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
