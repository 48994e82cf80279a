//! `--launcher docker`: each shard a container of a locally built worker image
//! (stagegate as its entrypoint, `scripts/build-worker-image`), started with
//! testcontainers on a private Docker network, so each worker is its own host with its
//! own address. Takes the worker command lines, the project root (mounted read-only at
//! [`PROJECT_DIR`]) and the network; gives [`Worker`] handles whose exits arrive on a
//! channel, and removes every container and the network it made at the end.
//!
//! The coordinator listens on the network's gateway: the host's own address on that
//! bridge, which the containers reach and nothing outside the host does.

use super::launcher::{describe_stderr, Exited, Handle, Worker};
use super::worker::{SAMPLES_VAR, TOKEN_VAR};
use super::ShardId;
use crate::config::provision::ImageRef;
use crate::provision::{self, ContainerLabels};
use std::collections::HashMap;
use std::ffi::OsString;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use testcontainers::bollard::models::NetworkCreateRequest;
use testcontainers::bollard::query_parameters::{InspectNetworkOptions, KillContainerOptions};
use testcontainers::bollard::Docker;
use testcontainers::core::{AccessMode, Mount};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};
use tokio::sync::mpsc;

/// Where the project's files are mounted in a worker container (as in a pod).
pub const PROJECT_DIR: &str = "/project";

/// How often a running worker container is asked whether it has exited: a dead shard
/// is noticed within a second, for four engine requests a second per shard at most.
const EXIT_POLL: Duration = Duration::from_millis(500);

/// How long one engine request may take before the launch is given up.
const ENGINE_TIMEOUT: Duration = provision::ENGINE_TIMEOUT;

/// The workers' network.
#[derive(Debug, Clone)]
pub struct WorkerNetwork {
    /// Its name.
    pub name: String,
    /// The host's address on it: where the coordinator listens.
    pub gateway: IpAddr,
    /// Made for this run (and removed after it), not given by the user.
    created: bool,
}

/// The containers of one sharded load.
pub struct DockerWorkers {
    containers: Vec<Arc<ContainerAsync<GenericImage>>>,
    watchers: Vec<tokio::task::JoinHandle<()>>,
    network: WorkerNetwork,
    session: String,
}

async fn engine() -> Result<Docker, String> {
    testcontainers::core::client::docker_client_instance()
        .await
        .map_err(|e| format!("no Docker engine at {}: {e}", provision::engine_place()))
}

async fn bounded<T, E: std::fmt::Display>(
    what: &str,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(ENGINE_TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{what}: {e}")),
        Err(_) => Err(format!(
            "{what}: the engine did not answer within {ENGINE_TIMEOUT:?}"
        )),
    }
}

/// The workers' network: `wanted` (created if it does not exist, e.g. the network of
/// the system under test), else a new private network for this run.
pub async fn network(
    wanted: Option<&str>,
    run: &str,
    labels: &ContainerLabels,
) -> Result<WorkerNetwork, String> {
    let docker = engine().await?;
    let name = wanted.map_or_else(
        || format!("stagegate-shards-{}", &run[..run.len().min(12)]),
        str::to_string,
    );
    let exists = match tokio::time::timeout(
        ENGINE_TIMEOUT,
        docker.inspect_network(&name, None::<InspectNetworkOptions>),
    )
    .await
    {
        Ok(Ok(_)) => true,
        Ok(Err(testcontainers::bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        })) => false,
        Ok(Err(e)) => return Err(format!("network `{name}`: {e}")),
        Err(_) => {
            return Err(format!(
                "network `{name}`: no answer within {ENGINE_TIMEOUT:?}"
            ))
        }
    };
    if !exists {
        let request = NetworkCreateRequest {
            name: name.clone(),
            driver: Some("bridge".into()),
            labels: Some(labels.map().into_iter().collect::<HashMap<_, _>>()),
            ..NetworkCreateRequest::default()
        };
        bounded(
            &format!("cannot create network `{name}`"),
            docker.create_network(request),
        )
        .await?;
    }
    let inspected = bounded(
        &format!("network `{name}`"),
        docker.inspect_network(&name, None::<InspectNetworkOptions>),
    )
    .await?;
    let gateway = inspected
        .ipam
        .and_then(|ipam| ipam.config)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| c.gateway)
        .filter_map(|g| g.parse::<IpAddr>().ok())
        .find(IpAddr::is_ipv4);
    let network = WorkerNetwork {
        name: name.clone(),
        gateway: IpAddr::from([0, 0, 0, 0]),
        created: !exists,
    };
    match gateway {
        Some(gateway) => Ok(WorkerNetwork { gateway, ..network }),
        None => {
            remove_network(&network).await;
            Err(format!(
                "network `{name}` has no IPv4 gateway: the workers could not reach the coordinator (hint: use a bridge network)"
            ))
        }
    }
}

/// Removes the network when it was made for the run (nothing else is on it any more).
pub async fn forget(network: &WorkerNetwork) {
    remove_network(network).await;
}

async fn remove_network(network: &WorkerNetwork) {
    if !network.created {
        return;
    }
    if let Ok(docker) = engine().await {
        let _ =
            tokio::time::timeout(ENGINE_TIMEOUT * 4, docker.remove_network(&network.name)).await;
    }
}

/// Starts one container per shard from `image`, on `network`, with the project at
/// [`PROJECT_DIR`] and the run's token in its environment.
pub async fn start(
    image: &ImageRef,
    network: &WorkerNetwork,
    root: &Path,
    labels: &ContainerLabels,
    shards: Vec<(ShardId, Vec<OsString>)>,
    token: &str,
    exits: &mpsc::UnboundedSender<Exited>,
) -> Result<(Vec<Worker>, DockerWorkers), String> {
    provision::check_engine(image)
        .await
        .map_err(|e| e.to_string())?;
    let mut launched = DockerWorkers {
        containers: Vec::new(),
        watchers: Vec::new(),
        network: network.clone(),
        session: labels.session.clone(),
    };
    let mut workers = Vec::new();
    for (shard, args) in shards {
        let args: Vec<String> = args
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let mut request = GenericImage::new(image.name.clone(), image.tag.clone())
            .with_cmd(args)
            .with_network(network.name.clone())
            .with_hostname(format!("shard-{}", shard.index))
            .with_mount(
                Mount::bind_mount(root.to_string_lossy(), PROJECT_DIR)
                    .with_access_mode(AccessMode::ReadOnly),
            )
            .with_env_var(TOKEN_VAR, token)
            .with_labels(labels.map())
            .with_label("io.stagegate.shard", shard.to_string());
        // The test hook that keeps every latency (see `SAMPLES_VAR`) reaches the
        // container as the same folder, so a test reads them as from local workers.
        if let Some(dir) = std::env::var_os(SAMPLES_VAR) {
            let dir = dir.to_string_lossy().into_owned();
            request = request
                .with_env_var(SAMPLES_VAR, dir.clone())
                .with_mount(Mount::bind_mount(dir.clone(), dir));
        }
        let started = tokio::time::timeout(ENGINE_TIMEOUT * 6, request.start()).await;
        let container = match started {
            Ok(Ok(c)) => Arc::new(c),
            Ok(Err(e)) => {
                launched.remove().await;
                return Err(format!("cannot start the container of shard {shard}: {e}"));
            }
            Err(_) => {
                launched.remove().await;
                return Err(format!(
                    "the container of shard {shard} did not start within {:?}",
                    ENGINE_TIMEOUT * 6
                ));
            }
        };
        workers.push(Worker {
            shard,
            handle: Handle::Container(container.id().to_string()),
        });
        let watched = container.clone();
        let exits = exits.clone();
        launched.watchers.push(tokio::spawn(async move {
            let failure = watch(&watched).await;
            let _ = exits.send(Exited { shard, failure });
        }));
        launched.containers.push(container);
    }
    Ok((workers, launched))
}

/// Waits for the container to exit; `None` when it exited with code 0.
async fn watch(container: &ContainerAsync<GenericImage>) -> Option<String> {
    let code = loop {
        match container.exit_code().await {
            Ok(Some(code)) => break code,
            Ok(None) => tokio::time::sleep(EXIT_POLL).await,
            Err(e) => return Some(format!("container could not be watched: {e}")),
        }
    };
    if code == 0 {
        return None;
    }
    let how = match code {
        // The engine reports a death by signal as 128 + the signal's number.
        137 => "was killed (SIGKILL)".to_string(),
        c if c > 128 => format!("was killed by signal {}", c - 128),
        c => format!("exited with code {c}"),
    };
    let stderr = container.stderr_to_vec().await.unwrap_or_default();
    Some(describe_stderr(how, &stderr))
}

/// Sends `signal` to a worker container (in the background: the caller does not wait).
pub fn signal(id: &str, signal: &'static str) {
    let id = id.to_string();
    tokio::spawn(async move {
        if let Ok(docker) = engine().await {
            let options = KillContainerOptions {
                signal: signal.to_string(),
            };
            let _ = tokio::time::timeout(ENGINE_TIMEOUT, docker.kill_container(&id, Some(options)))
                .await;
        }
    });
}

impl DockerWorkers {
    /// Removes every container (and the network, when it was made for the run).
    pub async fn remove(self) {
        for watcher in &self.watchers {
            watcher.abort();
        }
        for watcher in self.watchers {
            let _ = watcher.await;
        }
        for container in self.containers {
            if let Ok(container) = Arc::try_unwrap(container) {
                let _ = tokio::time::timeout(ENGINE_TIMEOUT * 4, container.rm()).await;
            }
        }
        // Whatever a failed start left behind carries the session's label.
        let _ = provision::sweep(&self.session).await;
        remove_network(&self.network).await;
    }
}
