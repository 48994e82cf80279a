//! The coordinator of a sharded load. Takes the plan, one load suite, the target and a
//! [`ShardSetup`]; starts N workers through the launcher, receives their reports over
//! HTTP (bearer token per run, run key checked) and gives the merged figures. A shard
//! that dies, never reports, reports for another run or whose engine failed fails the
//! whole load with that reason, and the other shards are stopped: nothing is merged
//! from part of the shards. Abort criteria are judged on the shards' seconds merged as
//! they finish ([`super::progress`]); a breach stops every shard.

use super::launcher::{self, Exited, LauncherKind, Worker};
use super::progress::{MergedSeconds, Progress, ProgressAnswer};
use super::report::{self, ShardReport, WorkerEnd};
use super::ShardId;
use super::{docker, kubectl};
use crate::config::provision::ImageRef;
use crate::load::Breach;
use crate::measure::Measurements;
use crate::plan::Plan;
use crate::provision::ContainerLabels;
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
    /// The stagegate program the workers run (`local`).
    pub program: PathBuf,
    /// The worker image (`docker`, `kubernetes`): stagegate as its entrypoint.
    pub image: String,
    /// `docker`: the network the workers join (created when missing); `None` makes a
    /// private network for the run.
    pub network: Option<String>,
    /// `kubernetes`: the cluster's side.
    pub kubernetes: KubernetesSetup,
}

/// What `--launcher kubernetes` needs besides the image.
#[derive(Debug, Clone)]
pub struct KubernetesSetup {
    /// Where the coordinator listens for the pods' reports.
    pub listen: std::net::SocketAddr,
    /// The coordinator's URL as the pods reach it.
    pub coordinator_url: String,
    /// Namespace of every object.
    pub namespace: String,
    /// The Secret holding the environment's token (under its variable's name).
    pub secret: String,
    /// The folder the applied manifests are written to (one file per Job).
    pub manifests: PathBuf,
}

/// Where the workers run, as the coordinator sees it.
struct Placement {
    /// The address the coordinator listens on.
    listen: std::net::SocketAddr,
    /// The coordinator's URL as the workers reach it (`None`: its listening address).
    url: Option<String>,
    /// The project root as the workers see it.
    root: PathBuf,
    /// `docker`: the workers' network.
    network: Option<docker::WorkerNetwork>,
}

/// What must be removed once the workers are done.
enum Launched {
    Nothing,
    Docker(docker::DockerWorkers),
    Kubernetes(kubectl::Applied),
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

/// Refused reports arrive here, as do accepted ones and a breach of the merged figures.
enum Inbound {
    Accepted(u32),
    Refused { shard: Option<u32>, why: String },
    Breach,
}

struct Inbox {
    run: String,
    token: String,
    count: u32,
    reports: std::sync::Mutex<BTreeMap<u32, ShardReport>>,
    /// The shards' seconds as they finish, judged against the abort criteria.
    live: std::sync::Mutex<MergedSeconds>,
    events: mpsc::UnboundedSender<Inbound>,
}

impl Inbox {
    fn live(&self) -> std::sync::MutexGuard<'_, MergedSeconds> {
        match self.live.lock() {
            Ok(l) => l,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
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
        live: std::sync::Mutex::new(MergedSeconds::new(setup.count, &plan.abort)),
        events,
    });
    let labels = ContainerLabels::new(&setup.root, plan);
    let placement = place(setup, target, &run, &labels).await?;
    let listener = match tokio::net::TcpListener::bind(placement.listen).await {
        Ok(l) => l,
        Err(e) => {
            if let Some(network) = &placement.network {
                docker::forget(network).await;
            }
            return Err(ShardFailure::Setup(format!(
                "cannot listen for reports on {}: {e}",
                placement.listen
            )));
        }
    };
    let address = listener
        .local_addr()
        .map_err(|e| ShardFailure::Setup(e.to_string()))?;
    let coordinator_url = placement
        .url
        .clone()
        .unwrap_or_else(|| format!("http://{address}"));
    let app = axum::Router::new()
        .route("/report", axum::routing::post(receive))
        .route("/progress", axum::routing::post(progress))
        .layer(DefaultBodyLimit::max(256 << 20))
        .with_state(inbox.clone());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let shards: Vec<(ShardId, Vec<OsString>)> = (0..setup.count)
        .filter_map(|i| ShardId::new(i, setup.count))
        .map(|shard| {
            let args = worker_args(
                &placement.root,
                plan,
                suite,
                target,
                shard,
                &coordinator_url,
                &run,
            );
            (shard, args)
        })
        .collect();
    let (exit_tx, mut exits) = mpsc::unbounded_channel::<Exited>();
    let started = match (setup.launcher, &placement.network) {
        (LauncherKind::Local, _) => launcher::start_local(&setup.program, shards, &token, &exit_tx)
            .map(|w| (w, Launched::Nothing))
            .map_err(|e| e.to_string()),
        (LauncherKind::Docker, Some(network)) => {
            let image = ImageRef::parse(&setup.image)
                .ok_or_else(|| format!("`{}` is not an image name", setup.image));
            match image {
                Ok(image) => docker::start(
                    &image,
                    network,
                    &setup.root,
                    &labels,
                    shards,
                    &token,
                    &exit_tx,
                )
                .await
                .map(|(w, d)| (w, Launched::Docker(d))),
                Err(e) => {
                    docker::forget(network).await;
                    Err(e)
                }
            }
        }
        (LauncherKind::Docker, None) => Err("no network for the workers".into()),
        (LauncherKind::Kubernetes, _) => {
            kubectl::start(setup, plan, suite, &coordinator_url, &run, &token, &exit_tx)
                .await
                .map(|(w, a)| (w, Launched::Kubernetes(a)))
        }
    };
    let (workers, launched) = match started {
        Ok(started) => started,
        Err(e) => {
            server.abort();
            return Err(ShardFailure::Setup(format!(
                "cannot start the workers: {e}"
            )));
        }
    };
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
    match launched {
        Launched::Nothing => {}
        Launched::Docker(containers) => containers.remove().await,
        Launched::Kubernetes(applied) => applied.delete().await,
    }
    outcome?;
    let reports: Vec<ShardReport> = match inbox.reports.lock() {
        Ok(r) => r.values().cloned().collect(),
        Err(poisoned) => poisoned.into_inner().values().cloned().collect(),
    };
    let measurements = report::merge(&reports).map_err(|e| ShardFailure::Setup(e.to_string()))?;
    // The merged figures' breach is what stopped the shards; otherwise a shard stopped
    // from outside (a signal to one worker) names why.
    let stopped = inbox.live().breach().cloned().or_else(|| {
        reports.iter().find_map(|r| match &r.end {
            WorkerEnd::Ran { stopped, .. } => stopped.clone(),
            WorkerEnd::Failed { .. } => None,
        })
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
                Inbound::Breach => {
                    if !stopping {
                        // Every later progress message is answered `stop`, which each
                        // worker obeys within half a second. No signal on top: goose
                        // takes a second stop request as "exit now", report unsent.
                        stopping = true;
                        deadline.as_mut().reset(tokio::time::Instant::now() + STOP_GRACE);
                    }
                }
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

/// Where the workers run and how they reach the coordinator, per launcher.
async fn place(
    setup: &ShardSetup,
    target: &Target,
    run: &str,
    labels: &ContainerLabels,
) -> Result<Placement, ShardFailure> {
    let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    match setup.launcher {
        LauncherKind::Local => Ok(Placement {
            listen: loopback,
            url: None,
            root: setup.root.clone(),
            network: None,
        }),
        LauncherKind::Docker => {
            if on_loopback(&target.base) {
                return Err(ShardFailure::Setup(format!(
                    "the target {} is on this machine's loopback, which worker containers cannot reach (hint: run the system in a container and give its network with --docker-network, or use its routable address)",
                    target.base
                )));
            }
            let network = docker::network(setup.network.as_deref(), run, labels)
                .await
                .map_err(ShardFailure::Setup)?;
            Ok(Placement {
                listen: std::net::SocketAddr::new(network.gateway, 0),
                url: None,
                root: PathBuf::from(docker::PROJECT_DIR),
                network: Some(network),
            })
        }
        LauncherKind::Kubernetes => Ok(Placement {
            listen: setup.kubernetes.listen,
            url: Some(setup.kubernetes.coordinator_url.clone()),
            root: PathBuf::from(super::k8s::PROJECT_DIR),
            network: None,
        }),
    }
}

/// Whether a base URL names this machine's loopback (unreachable from a container).
fn on_loopback(base: &str) -> bool {
    match url::Url::parse(base)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
    {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

fn worker_args(
    root: &std::path::Path,
    plan: &Plan,
    suite: &str,
    target: &Target,
    shard: ShardId,
    coordinator: &str,
    run: &str,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["--root".into(), root.as_os_str().to_owned()];
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
            coordinator,
            "--run",
            run,
            "--base-url",
            &target.base,
        ]
        .map(OsString::from),
    );
    args
}

/// Whether the request carries the run's token.
fn authorised(inbox: &Inbox, headers: &HeaderMap) -> bool {
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    same(presented.as_bytes(), inbox.token.as_bytes())
}

/// A shard's finished seconds: merged and judged; the answer says whether to stop.
async fn progress(
    State(inbox): State<Arc<Inbox>>,
    headers: HeaderMap,
    axum::Json(progress): axum::Json<Progress>,
) -> Result<axum::Json<ProgressAnswer>, (StatusCode, String)> {
    if !authorised(&inbox, &headers) {
        return Err((StatusCode::UNAUTHORIZED, "not this run's token".into()));
    }
    if progress.run != inbox.run || progress.of != inbox.count || progress.shard >= inbox.count {
        // The final report names the mismatch and fails the run; a progress message
        // from elsewhere is only ignored.
        return Err((StatusCode::CONFLICT, "not a shard of this run".into()));
    }
    let mut live = inbox.live();
    match live.add(&progress) {
        Ok(Some(_)) => {
            let _ = inbox.events.send(Inbound::Breach);
        }
        Ok(None) => {}
        Err(e) => return Err((StatusCode::BAD_REQUEST, e.to_string())),
    }
    Ok(axum::Json(ProgressAnswer {
        stop: live.breach().map(ToString::to_string),
    }))
}

async fn receive(
    State(inbox): State<Arc<Inbox>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (StatusCode, String) {
    if !authorised(&inbox, &headers) {
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
    if inbox.live().ended(index).is_some() {
        let _ = inbox.events.send(Inbound::Breach);
    }
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
