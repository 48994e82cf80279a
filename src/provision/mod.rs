//! Takes an environment's [`ProvisionSpec`], gives a running container of the system
//! under test (started with testcontainers) and the plan pointed at its mapped port;
//! keeps the container's logs with the run and removes the container at the end.
//!
//! Only images already on the engine are used: this machine has no registry, and a
//! pull that can never succeed would only turn a clear mistake into a long wait. Every
//! container carries labels ([`LABEL_SESSION`], [`LABEL_PROJECT`]) so that whatever
//! happens — a failed start, an interruption — everything one session started can be
//! found and removed, and tests can check that nothing of theirs is left behind.

use crate::config::environment::Reach;
use crate::config::provision::{ImageRef, ProvisionSpec, Readiness};
use crate::plan::Plan;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;
use testcontainers::bollard::query_parameters::{
    ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
};
use testcontainers::bollard::Docker;
use testcontainers::core::wait::HttpWaitStrategy;
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};
use url::Url;

/// Set to `true` on every container stagegate starts.
pub const LABEL_MANAGED: &str = "io.stagegate.managed";
/// One value per `stagegate` process that provisions: everything it started.
pub const LABEL_SESSION: &str = "io.stagegate.session";
/// The project root the run came from.
pub const LABEL_PROJECT: &str = "io.stagegate.project";
/// The host whose `stagegate` process started the container.
pub const LABEL_HOST: &str = "io.stagegate.host";
/// The environment, system, release and stage, for people reading `docker ps`.
pub const LABEL_ENVIRONMENT: &str = "io.stagegate.environment";
const LABEL_SYSTEM: &str = "io.stagegate.system";
const LABEL_RELEASE: &str = "io.stagegate.release";
const LABEL_STAGE: &str = "io.stagegate.stage";

/// How long the engine may take to answer a ping or an image lookup. A local engine
/// answers in milliseconds; five seconds leaves room for a loaded machine, and beyond
/// that the user is better served by an error than by a command that seems to hang.
pub const ENGINE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long removing a container may take. `docker rm --force` kills first, so this
/// is a bound on a stuck engine, not on the system's own shutdown.
const REMOVE_TIMEOUT: Duration = Duration::from_secs(20);

/// How often the HTTP readiness check asks. Four times a second notices readiness
/// quickly without flooding a system that is still starting.
const READY_POLL: Duration = Duration::from_millis(250);

/// Why provisioning failed.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// No engine answered.
    #[error("no Docker engine answered at {place}: {reason} (hint: start the Docker engine, or point DOCKER_HOST at one, e.g. `export DOCKER_HOST=unix:///var/run/docker.sock`, and check that this user may use its socket; nothing was run)")]
    EngineUnreachable {
        /// Where we looked.
        place: String,
        /// What went wrong.
        reason: String,
    },
    /// The image is not on the engine.
    #[error("image `{image}` is not on the Docker engine at {place}, and stagegate never pulls images (hint: build it on this machine first — for the sample system run `scripts/build-sample-image`; `docker images` lists what is there; nothing was run)")]
    ImageMissing {
        /// The image.
        image: String,
        /// Where we looked.
        place: String,
    },
    /// The container did not start or did not become ready.
    #[error("the container of image `{image}` did not become ready within {timeout}: {reason} (hint: check the image's command and the environment's `ready` check; the container was removed)", timeout = humantime::format_duration(*timeout))]
    NotReady {
        /// The image.
        image: String,
        /// The start timeout.
        timeout: Duration,
        /// What went wrong.
        reason: String,
    },
    /// The container could not be inspected or removed.
    #[error("container `{id}`: {reason} (hint: `docker ps -a --filter label={LABEL_MANAGED}` lists stagegate's containers; `docker rm -f` removes one)")]
    Container {
        /// Container id.
        id: String,
        /// What went wrong.
        reason: String,
    },
    /// The logs could not be written.
    #[error("cannot write the container's logs to `{path}`: {source}")]
    Logs {
        /// File.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Where the engine is looked for: `DOCKER_HOST`, else the default socket.
pub fn engine_place() -> String {
    match std::env::var("DOCKER_HOST") {
        Ok(host) if !host.is_empty() => format!("`{host}` (from DOCKER_HOST)"),
        _ => "`unix:///var/run/docker.sock` (the default; DOCKER_HOST is not set)".to_string(),
    }
}

async fn engine() -> Result<Docker, ProvisionError> {
    testcontainers::core::client::docker_client_instance()
        .await
        .map_err(|e| ProvisionError::EngineUnreachable {
            place: engine_place(),
            reason: describe_engine_error(&e.to_string(), &format!("{e:?}")),
        })
}

/// Checks, before anything runs, that an engine answers and holds `image`.
pub async fn check_engine(image: &ImageRef) -> Result<(), ProvisionError> {
    let docker = engine().await?;
    let unreachable = |reason: String| ProvisionError::EngineUnreachable {
        place: engine_place(),
        reason,
    };
    match tokio::time::timeout(ENGINE_TIMEOUT, docker.ping()).await {
        Err(_) => return Err(unreachable(format!("no answer within {ENGINE_TIMEOUT:?}"))),
        Ok(Err(e)) => {
            return Err(unreachable(describe_engine_error(
                &e.to_string(),
                &format!("{e:?}"),
            )))
        }
        Ok(Ok(_)) => {}
    }
    match tokio::time::timeout(ENGINE_TIMEOUT, docker.inspect_image(&image.to_string())).await {
        Err(_) => Err(unreachable(format!(
            "no answer to an image lookup within {ENGINE_TIMEOUT:?}"
        ))),
        Ok(Ok(_)) => Ok(()),
        Ok(Err(testcontainers::bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        })) => Err(ProvisionError::ImageMissing {
            image: image.to_string(),
            place: engine_place(),
        }),
        Ok(Err(e)) => Err(unreachable(describe_engine_error(
            &e.to_string(),
            &format!("{e:?}"),
        ))),
    }
}

/// bollard's messages for a missing socket are long and nested; name the common causes
/// from the error's text and its debug form (which keeps the I/O error kind).
fn describe_engine_error(text: &str, chain: &str) -> String {
    if chain.contains("NotFound")
        || text.contains("No such file")
        || text.contains("Socket not found")
    {
        format!("the socket does not exist ({text})")
    } else if chain.contains("PermissionDenied") || text.contains("ermission denied") {
        format!("permission denied on the socket ({text})")
    } else if chain.contains("ConnectionRefused") {
        format!("connection refused ({text})")
    } else {
        text.to_string()
    }
}

/// The labels put on the containers of one run.
#[derive(Debug, Clone)]
pub struct ContainerLabels {
    /// The session: one per `stagegate` process.
    pub session: String,
    labels: BTreeMap<String, String>,
}

impl ContainerLabels {
    /// Labels for a run of `plan` from the project at `root`.
    pub fn new(root: &Path, plan: &Plan) -> ContainerLabels {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let session = format!("{}-{nanos}", std::process::id());
        let labels = BTreeMap::from([
            (LABEL_MANAGED.to_string(), "true".to_string()),
            (LABEL_SESSION.to_string(), session.clone()),
            (LABEL_PROJECT.to_string(), project_label(root)),
            (LABEL_HOST.to_string(), host_name()),
            (LABEL_ENVIRONMENT.to_string(), plan.environment.name.clone()),
            (LABEL_SYSTEM.to_string(), plan.system.clone()),
            (LABEL_RELEASE.to_string(), plan.release.clone()),
            (LABEL_STAGE.to_string(), plan.stage.as_str().to_string()),
        ]);
        ContainerLabels { session, labels }
    }

    /// The labels, for other containers and networks of the same run (shard workers).
    pub fn map(&self) -> BTreeMap<String, String> {
        self.labels.clone()
    }
}

/// The project label of a root: its canonical path.
fn project_label(root: &Path) -> String {
    std::fs::canonicalize(root)
        .unwrap_or_else(|_| root.to_path_buf())
        .display()
        .to_string()
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map_or_else(|_| "localhost".to_string(), |h| h.trim().to_string())
}

/// A started, ready container.
pub struct Provisioned {
    container: Option<ContainerAsync<GenericImage>>,
    /// Its id.
    pub id: String,
    /// Where the system answers: the container's port mapped on the engine's host.
    pub base_url: Url,
    image: ImageRef,
    session: String,
}

impl std::fmt::Debug for Provisioned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provisioned")
            .field("id", &self.id)
            .field("base_url", &self.base_url.as_str())
            .finish()
    }
}

/// Starts a container for `spec` and waits until it is ready. On any failure, whatever
/// this session started is removed before the error is returned.
pub async fn start(
    spec: &ProvisionSpec,
    labels: &ContainerLabels,
) -> Result<Provisioned, ProvisionError> {
    let not_ready = |reason: String| ProvisionError::NotReady {
        image: spec.image.to_string(),
        timeout: spec.start_timeout,
        reason,
    };
    let wait = match &spec.ready {
        Readiness::Http(path) => WaitFor::http(
            HttpWaitStrategy::new(path.clone())
                .with_port(spec.port.tcp())
                .with_poll_interval(READY_POLL)
                .with_response_matcher(|response| response.status().is_success()),
        ),
        Readiness::Log(text) => WaitFor::message_on_either_std(text.as_bytes()),
    };
    let image = GenericImage::new(spec.image.name.clone(), spec.image.tag.clone())
        .with_exposed_port(spec.port.tcp())
        .with_wait_for(wait);
    let mut request = image
        .with_labels(labels.labels.clone())
        .with_startup_timeout(spec.start_timeout);
    for (name, value) in &spec.env {
        request = request.with_env_var(name.clone(), value.clone());
    }
    if let Some(command) = &spec.command {
        request = request.with_cmd(command.clone());
    }
    // testcontainers bounds the start and the readiness wait by `start_timeout`, but not
    // the creation before them (its engine client waits up to two minutes): bound it all.
    let bound = spec.start_timeout + ENGINE_TIMEOUT * 2;
    let started = match tokio::time::timeout(bound, request.start()).await {
        Ok(started) => started,
        Err(_) => {
            let _ = sweep(&labels.session).await;
            return Err(not_ready(format!(
                "the engine did not create and start it within {}",
                humantime::format_duration(bound)
            )));
        }
    };
    let container = match started {
        Ok(container) => container,
        Err(e) => {
            // testcontainers removes a container that fails its readiness check, but not
            // one that failed between creation and start: sweep the session.
            let _ = sweep(&labels.session).await;
            let reason = match e {
                testcontainers::TestcontainersError::WaitContainer(
                    testcontainers::core::error::WaitContainerError::StartupTimeout,
                ) => {
                    format!("not ready in time ({})", describe_ready(&spec.ready))
                }
                other => other.to_string(),
            };
            return Err(not_ready(reason));
        }
    };
    let id = container.id().to_string();
    let address = async {
        let host = container.get_host().await?;
        let port = container.get_host_port_ipv4(spec.port.tcp()).await?;
        Ok::<_, testcontainers::TestcontainersError>((host, port))
    }
    .await;
    let (host, port) = match address {
        Ok(a) => a,
        Err(e) => {
            let _ = tokio::time::timeout(REMOVE_TIMEOUT, container.rm()).await;
            let _ = sweep(&labels.session).await;
            return Err(ProvisionError::Container {
                id,
                reason: format!("cannot read its mapped port: {e}"),
            });
        }
    };
    // A local engine publishes on every host address; use the loopback IP rather than
    // the name `localhost`, which may resolve to ::1 where nothing listens.
    let host = match host {
        url::Host::Domain(d) if d == "localhost" => "127.0.0.1".to_string(),
        url::Host::Ipv6(ip) => format!("[{ip}]"),
        other => other.to_string(),
    };
    let base_url =
        Url::parse(&format!("http://{host}:{port}")).map_err(|e| ProvisionError::Container {
            id: id.clone(),
            reason: format!("bad mapped address: {e}"),
        })?;
    Ok(Provisioned {
        container: Some(container),
        id,
        base_url,
        image: spec.image.clone(),
        session: labels.session.clone(),
    })
}

fn describe_ready(ready: &Readiness) -> String {
    match ready {
        Readiness::Http(path) => format!("`GET {path}` never answered 2xx"),
        Readiness::Log(text) => format!("`{text}` never appeared in its output"),
    }
}

impl Provisioned {
    /// The plan with its environment pointed at this container.
    pub fn point(&self, plan: &Plan) -> Plan {
        let mut plan = plan.clone();
        plan.environment.reach = Reach::BaseUrl(self.base_url.clone());
        plan
    }

    /// Writes the container's standard output and error so far to `dir/container.log`.
    pub async fn save_logs(&self, dir: &Path) -> Result<PathBuf, ProvisionError> {
        let Some(container) = &self.container else {
            return Err(ProvisionError::Container {
                id: self.id.clone(),
                reason: "already removed".into(),
            });
        };
        let failed = |e: testcontainers::TestcontainersError| ProvisionError::Container {
            id: self.id.clone(),
            reason: format!("cannot read its logs: {e}"),
        };
        let stdout = tokio::time::timeout(ENGINE_TIMEOUT, container.stdout_to_vec())
            .await
            .map_err(|_| timed_out(&self.id))?
            .map_err(failed)?;
        let stderr = tokio::time::timeout(ENGINE_TIMEOUT, container.stderr_to_vec())
            .await
            .map_err(|_| timed_out(&self.id))?
            .map_err(failed)?;
        let text = format!(
            "# container {} of image {} (removed after the run)\n## stdout\n{}\n## stderr\n{}\n",
            self.id,
            self.image,
            String::from_utf8_lossy(&stdout).trim_end(),
            String::from_utf8_lossy(&stderr).trim_end()
        );
        let path = dir.join("container.log");
        std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&path, text))
            .map_err(|source| ProvisionError::Logs {
                path: path.clone(),
                source,
            })?;
        Ok(path)
    }

    /// Removes the container (and anything else this session started).
    pub async fn remove(mut self) -> Result<(), ProvisionError> {
        let removed = match self.container.take() {
            Some(container) => match tokio::time::timeout(REMOVE_TIMEOUT, container.rm()).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(ProvisionError::Container {
                    id: self.id.clone(),
                    reason: format!("cannot remove it: {e}"),
                }),
                Err(_) => Err(timed_out(&self.id)),
            },
            None => Ok(()),
        };
        // Sweep even after a successful removal: it costs one request and catches a
        // container left by an earlier failure in this session.
        let swept = sweep(&self.session).await;
        removed.and(swept.map(|_| ()))
    }
}

fn timed_out(id: &str) -> ProvisionError {
    ProvisionError::Container {
        id: id.to_string(),
        reason: format!("the engine did not answer within {ENGINE_TIMEOUT:?}"),
    }
}

/// How often [`sweep`] looks again while a removal is still under way.
const SWEEP_POLL: Duration = Duration::from_millis(200);

/// Removes every container labelled with `session` and returns once the engine lists
/// none of them any more (or fails after [`REMOVE_TIMEOUT`]); gives how many there were.
///
/// Waiting for the empty listing, rather than trusting each removal's answer, matters
/// after an interrupted start: the abandoned start may still be creating or starting a
/// container, or testcontainers' own clean-up may be removing it, and the engine then
/// answers a removal with "already in progress" (409) or lists the container a moment
/// later. Returning before it is gone would let the process exit with a container left.
pub async fn sweep(session: &str) -> Result<usize, ProvisionError> {
    let docker = engine().await?;
    let filters = HashMap::from([("label", vec![format!("{LABEL_SESSION}={session}")])]);
    let deadline = tokio::time::Instant::now() + REMOVE_TIMEOUT;
    let mut seen = std::collections::BTreeSet::new();
    loop {
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let listed = tokio::time::timeout(ENGINE_TIMEOUT, docker.list_containers(Some(options)))
            .await
            .map_err(|_| timed_out(session))?
            .map_err(|e| ProvisionError::Container {
                id: session.to_string(),
                reason: format!("cannot list the session's containers: {e}"),
            })?;
        let ids: Vec<String> = listed.into_iter().filter_map(|c| c.id).collect();
        if ids.is_empty() {
            return Ok(seen.len());
        }
        let mut last_error = None;
        for id in ids {
            seen.insert(id.clone());
            match remove_container(&docker, id).await {
                Ok(()) | Err(RemoveError::InProgress) => {}
                Err(RemoveError::Failed(e)) => last_error = Some(e),
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(last_error.unwrap_or_else(|| ProvisionError::Container {
                id: session.to_string(),
                reason: format!(
                    "the session's containers were still listed {} after their removal",
                    humantime::format_duration(REMOVE_TIMEOUT)
                ),
            }));
        }
        tokio::time::sleep(SWEEP_POLL).await;
    }
}

/// Removes this project's containers left by a `stagegate` process that died without
/// cleaning up (SIGKILL, a crash, power loss): their session names a process that no
/// longer runs on this host. Containers of live processes, and of other hosts sharing
/// the engine, are left alone. Gives how many were removed.
pub async fn sweep_orphans(root: &Path) -> Result<usize, ProvisionError> {
    let docker = engine().await?;
    let filters = HashMap::from([(
        "label",
        vec![
            format!("{LABEL_MANAGED}=true"),
            format!("{LABEL_PROJECT}={}", project_label(root)),
        ],
    )]);
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    let listed = tokio::time::timeout(ENGINE_TIMEOUT, docker.list_containers(Some(options)))
        .await
        .map_err(|_| timed_out("(listing)"))?
        .map_err(|e| ProvisionError::Container {
            id: "(listing)".into(),
            reason: format!("cannot list the project's containers: {e}"),
        })?;
    let host = host_name();
    let mut removed = 0;
    for summary in listed {
        let (Some(id), Some(labels)) = (summary.id, summary.labels) else {
            continue;
        };
        if labels.get(LABEL_HOST) != Some(&host) {
            continue;
        }
        // The session starts with the pid of the process that started the container.
        let pid = labels
            .get(LABEL_SESSION)
            .and_then(|s| s.split('-').next())
            .and_then(|p| p.parse::<u32>().ok());
        match pid {
            // A live process with that pid may be its owner (or a stranger reusing the
            // pid): leave the container alone rather than break a running stage.
            Some(pid) if Path::new(&format!("/proc/{pid}")).exists() => continue,
            Some(_) => {}
            None => continue,
        }
        match remove_container(&docker, id).await {
            // Someone else (another run's sweep) is removing it: it is going.
            Ok(()) | Err(RemoveError::InProgress) => {}
            Err(RemoveError::Failed(e)) => return Err(e),
        }
        removed += 1;
    }
    Ok(removed)
}

/// Why one removal did not end with the container gone.
enum RemoveError {
    /// Another removal of it is under way (the engine answered 409).
    InProgress,
    /// The engine refused or did not answer.
    Failed(ProvisionError),
}

/// Removes one container with its volumes, bounded in time; one already gone counts as
/// removed.
async fn remove_container(docker: &Docker, id: String) -> Result<(), RemoveError> {
    use testcontainers::bollard::errors::Error::DockerResponseServerError;
    let options = RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(true)
        .build();
    match tokio::time::timeout(REMOVE_TIMEOUT, docker.remove_container(&id, Some(options))).await {
        Ok(Ok(()))
        | Ok(Err(DockerResponseServerError {
            status_code: 404, ..
        })) => Ok(()),
        Ok(Err(DockerResponseServerError {
            status_code: 409, ..
        })) => Err(RemoveError::InProgress),
        Ok(Err(e)) => Err(RemoveError::Failed(ProvisionError::Container {
            id,
            reason: format!("cannot remove it: {e}"),
        })),
        Err(_) => Err(RemoveError::Failed(timed_out(&id))),
    }
}
