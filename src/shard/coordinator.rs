//! The coordinator of a sharded load. Takes the plan, one load suite, the target and a
//! [`ShardSetup`]; starts N workers through the launcher, receives their reports over
//! HTTP (bearer token per run, run key checked) and gives the merged figures. A shard
//! that dies, never reports, reports for another run or whose engine failed fails the
//! whole load with that reason, and the other shards are stopped: nothing is merged
//! from part of the shards. A breach reported by one shard stops every shard.

use super::launcher::{self, Exited, LauncherKind, Worker};
use super::report::{self, ShardReport, WorkerEnd};
use super::ShardId;
use crate::load::Breach;
use crate::measure::Measurements;
use crate::plan::Plan;
use crate::vocabulary::Target;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How to shard a run's load.
#[derive(Debug, Clone)]
pub struct ShardSetup {
    /// How many workers.
    pub count: u32,
    /// Where they run.
    pub launcher: LauncherKind,
    /// The project root the workers read (the files as run).
    pub root: PathBuf,
    /// The stagegate program the workers run.
    pub program: PathBuf,
}

/// The merged result of every shard.
#[derive(Debug)]
pub struct ShardedLoad {
    /// Counts summed, histograms merged, series joined.
    pub measurements: Measurements,
    /// The first breach a shard reported (every shard was then stopped).
    pub stopped: Option<Breach>,
    /// Each shard's report, in shard order.
    pub reports: Vec<ShardReport>,
}

/// Why a sharded load failed; nothing was merged.
#[derive(Debug, thiserror::Error)]
pub enum ShardFailure {
    /// One shard failed.
    #[error("shard {shard} {reason}")]
    Shard {
        /// Which.
        shard: ShardId,
        /// What happened to it.
        reason: String,
    },
    /// The shards could not be started or their reports not read.
    #[error("sharded load: {0}")]
    Setup(String),
}

/// Refused reports arrive here, as do accepted ones.
enum Inbound {
    Accepted(u32),
    Refused { shard: Option<u32>, why: String },
}

struct Inbox {
    run: String,
    token: String,
    count: u32,
    reports: std::sync::Mutex<BTreeMap<u32, ShardReport>>,
    events: mpsc::UnboundedSender<Inbound>,
}

/// Extra time past the planned load for every shard to report.
const REPORT_GRACE: Duration = Duration::from_secs(60);
/// How long stopped shards have to send what they measured.
const STOP_GRACE: Duration = Duration::from_secs(15);

/// Runs `suite` of `plan` on `setup.count` workers against `target` and merges their
/// reports. When `stop` completes the workers are interrupted and their reports still
/// merged.
pub async fn run_suite(
    setup: &ShardSetup,
    plan: &Plan,
    suite: &str,
    target: &Target,
    stop: impl Future<Output = ()>,
) -> Result<ShardedLoad, ShardFailure> {
    if setup.count == 0 || setup.count > plan.traffic.users {
        return Err(ShardFailure::Setup(format!(
            "{} shards for {} users: every shard needs at least one user",
            setup.count, plan.traffic.users
        )));
    }
    let run = random_hex(16);
    let token = random_hex(32);
    let (events, mut inbound) = mpsc::unbounded_channel();
    let inbox = Arc::new(Inbox {
        run: run.clone(),
        token: token.clone(),
        count: setup.count,
        reports: std::sync::Mutex::new(BTreeMap::new()),
        events,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| ShardFailure::Setup(format!("cannot listen for reports: {e}")))?;
    let address = listener
        .local_addr()
        .map_err(|e| ShardFailure::Setup(e.to_string()))?;
    let app = axum::Router::new()
        .route("/report", axum::routing::post(receive))
        .layer(DefaultBodyLimit::max(256 << 20))
        .with_state(inbox.clone());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let shards: Vec<(ShardId, Vec<OsString>)> = (0..setup.count)
        .filter_map(|i| ShardId::new(i, setup.count))
        .map(|shard| {
            let args = worker_args(setup, plan, suite, target, shard, &address, &run);
            (shard, args)
        })
        .collect();
    let (exit_tx, mut exits) = mpsc::unbounded_channel::<Exited>();
    let workers = match setup.launcher {
        LauncherKind::Local => launcher::start_local(&setup.program, shards, &token, &exit_tx),
    }
    .map_err(|e| ShardFailure::Setup(format!("cannot start the workers: {e}")))?;
    let limit = plan.traffic.planned()
        + REPORT_GRACE
        + if plan.traffic.iterations.is_some() {
            Duration::from_secs(600)
        } else {
            Duration::ZERO
        };
    let outcome = wait(&inbox, &workers, &mut inbound, &mut exits, limit, stop).await;
    if outcome.is_err() {
        workers.iter().for_each(Worker::kill);
    }
    server.abort();
    outcome?;
    let reports: Vec<ShardReport> = match inbox.reports.lock() {
        Ok(r) => r.values().cloned().collect(),
        Err(poisoned) => poisoned.into_inner().values().cloned().collect(),
    };
    let measurements = report::merge(&reports).map_err(|e| ShardFailure::Setup(e.to_string()))?;
    let stopped = reports.iter().find_map(|r| match &r.end {
        WorkerEnd::Ran { stopped, .. } => stopped.clone(),
        WorkerEnd::Failed { .. } => None,
    });
    Ok(ShardedLoad {
        measurements,
        stopped,
        reports,
    })
}

/// Waits until every shard reported and exited, or one failed.
async fn wait(
    inbox: &Inbox,
    workers: &[Worker],
    inbound: &mut mpsc::UnboundedReceiver<Inbound>,
    exits: &mut mpsc::UnboundedReceiver<Exited>,
    limit: Duration,
    stop: impl Future<Output = ()>,
) -> Result<(), ShardFailure> {
    let shard = |i: u32| ShardId {
        index: i,
        count: inbox.count,
    };
    let deadline = tokio::time::sleep(limit);
    tokio::pin!(deadline, stop);
    let mut stopping = false;
    let mut exited = 0;
    let reported = |i: u32| match inbox.reports.lock() {
        Ok(r) => r.contains_key(&i),
        Err(poisoned) => poisoned.into_inner().contains_key(&i),
    };
    while exited < workers.len() {
        tokio::select! {
            Some(event) = inbound.recv() => match event {
                Inbound::Refused { shard: Some(i), why } => {
                    return Err(ShardFailure::Shard { shard: shard(i), reason: why });
                }
                Inbound::Refused { shard: None, why } => return Err(ShardFailure::Setup(why)),
                Inbound::Accepted(i) => {
                    let report = match inbox.reports.lock() {
                        Ok(r) => r.get(&i).map(|r| r.end.clone()),
                        Err(poisoned) => poisoned.into_inner().get(&i).map(|r| r.end.clone()),
                    };
                    match report {
                        Some(WorkerEnd::Failed { error }) => {
                            return Err(ShardFailure::Shard { shard: shard(i), reason: format!("failed: {error}") });
                        }
                        Some(WorkerEnd::Ran { stopped: Some(_), .. }) if !stopping => {
                            // One shard's breach stops every shard.
                            stopping = true;
                            workers.iter().for_each(Worker::interrupt);
                            deadline.as_mut().reset(tokio::time::Instant::now() + STOP_GRACE);
                        }
                        _ => {}
                    }
                }
            },
            Some(exit) = exits.recv() => {
                exited += 1;
                if let Some(failure) = exit.failure {
                    if !reported(exit.shard.index) {
                        return Err(ShardFailure::Shard { shard: exit.shard, reason: format!("{failure} before reporting") });
                    }
                } else if !reported(exit.shard.index) {
                    return Err(ShardFailure::Shard { shard: exit.shard, reason: "ended without reporting".into() });
                }
            },
            () = &mut stop, if !stopping => {
                stopping = true;
                workers.iter().for_each(Worker::interrupt);
                deadline.as_mut().reset(tokio::time::Instant::now() + STOP_GRACE);
            },
            () = &mut deadline => {
                let missing = (0..inbox.count).find(|i| !reported(*i)).unwrap_or(0);
                return Err(ShardFailure::Shard {
                    shard: shard(missing),
                    reason: format!("never reported (waited {}s)", limit.as_secs()),
                });
            },
        }
    }
    Ok(())
}

fn worker_args(
    setup: &ShardSetup,
    plan: &Plan,
    suite: &str,
    target: &Target,
    shard: ShardId,
    address: &std::net::SocketAddr,
    run: &str,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["--root".into(), setup.root.clone().into_os_string()];
    args.extend(
        [
            "worker",
            &plan.system,
            "--release",
            &plan.release,
            "--stage",
            plan.stage.as_str(),
            "--suite",
            suite,
            "--shard",
            &shard.to_string(),
            "--coordinator",
            &format!("http://{address}"),
            "--run",
            run,
            "--base-url",
            &target.base,
        ]
        .map(OsString::from),
    );
    args
}

async fn receive(
    State(inbox): State<Arc<Inbox>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (StatusCode, String) {
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !same(presented.as_bytes(), inbox.token.as_bytes()) {
        return (StatusCode::UNAUTHORIZED, "not this run's token".into());
    }
    let report: ShardReport = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            let why = format!("sent a report that cannot be read: {e}");
            let _ = inbox.events.send(Inbound::Refused {
                shard: None,
                why: why.clone(),
            });
            return (StatusCode::BAD_REQUEST, why);
        }
    };
    let refuse = |why: String| {
        let _ = inbox.events.send(Inbound::Refused {
            shard: (report.shard < inbox.count).then_some(report.shard),
            why: why.clone(),
        });
        (StatusCode::CONFLICT, why)
    };
    if report.run != inbox.run {
        return refuse(format!(
            "reported for another run ({}, not {})",
            report.run, inbox.run
        ));
    }
    if report.of != inbox.count || report.shard >= inbox.count {
        return refuse(format!(
            "reported as shard {}/{} in a run of {} shards",
            report.shard, report.of, inbox.count
        ));
    }
    let index = report.shard;
    let duplicate = match inbox.reports.lock() {
        Ok(mut r) => r.insert(index, report).is_some(),
        Err(poisoned) => poisoned.into_inner().insert(index, report).is_some(),
    };
    if duplicate {
        let _ = inbox.events.send(Inbound::Refused {
            shard: Some(index),
            why: "reported twice".into(),
        });
        return (StatusCode::CONFLICT, "reported twice".into());
    }
    let _ = inbox.events.send(Inbound::Accepted(index));
    (StatusCode::OK, "accepted".into())
}

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}
