//! Launchers start the N workers of a sharded load. Takes the worker command line of
//! each shard, gives [`Worker`] handles whose exits arrive on a channel. `local` starts
//! them as processes of this machine (for tests, and to use every local core); `docker`
//! as containers on a private network ([`super::docker`]); `kubernetes` applies an
//! Indexed Job ([`super::kubectl`]).

use super::worker::TOKEN_VAR;
use super::ShardId;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

/// Where workers run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum LauncherKind {
    /// N worker processes on this machine.
    #[default]
    Local,
    /// N worker containers on a private Docker network, from a local image.
    Docker,
    /// An Indexed Job of N pods, applied with `kubectl`.
    Kubernetes,
}

/// How a worker is reached to stop it.
#[derive(Debug, Clone)]
pub enum Handle {
    /// A process of this machine.
    Process(Option<u32>),
    /// A Docker container (its id).
    Container(String),
    /// A pod of a Job: stopped through the coordinator's answers only.
    Pod,
}

/// How a worker process ended.
#[derive(Debug, Clone)]
pub struct Exited {
    /// Which shard.
    pub shard: ShardId,
    /// `None` when it exited with code 0; otherwise how it died, with the last lines
    /// it wrote to standard error.
    pub failure: Option<String>,
}

/// A started worker.
#[derive(Debug)]
pub struct Worker {
    /// Its shard.
    pub shard: ShardId,
    /// How to reach it.
    pub handle: Handle,
}

impl Worker {
    /// Asks it to stop its load and report what it measured (SIGINT, as Ctrl-C).
    pub fn interrupt(&self) {
        match &self.handle {
            Handle::Process(pid) => signal(*pid, libc::SIGINT),
            Handle::Container(id) => super::docker::signal(id, "SIGINT"),
            Handle::Pod => {}
        }
    }

    /// Stops it at once.
    pub fn kill(&self) {
        match &self.handle {
            Handle::Process(pid) => signal(*pid, libc::SIGKILL),
            Handle::Container(id) => super::docker::signal(id, "SIGKILL"),
            Handle::Pod => {}
        }
    }
}

fn signal(pid: Option<u32>, signal: libc::c_int) {
    if let Some(pid) = pid.and_then(|p| libc::pid_t::try_from(p).ok()) {
        // SAFETY: kill(2) on a child's pid; at worst the process is already gone.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

/// The last lines of a worker's standard error kept to name why it died.
const STDERR_TAIL: usize = 600;

/// Starts `program args` for each shard with the run's token in its environment; each
/// exit is sent on `exits`.
pub fn start_local(
    program: &PathBuf,
    shards: Vec<(ShardId, Vec<OsString>)>,
    token: &str,
    exits: &mpsc::UnboundedSender<Exited>,
) -> Result<Vec<Worker>, std::io::Error> {
    let mut workers = Vec::new();
    for (shard, args) in shards {
        let mut child = tokio::process::Command::new(program)
            .args(&args)
            .env(TOKEN_VAR, token)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        workers.push(Worker {
            shard,
            handle: Handle::Process(child.id()),
        });
        let exits = exits.clone();
        tokio::spawn(async move {
            let mut stderr = Vec::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = pipe.read_to_end(&mut stderr).await;
            }
            let failure = match child.wait().await {
                Ok(status) if status.success() => None,
                Ok(status) => Some(describe(status, &stderr)),
                Err(e) => Some(format!("could not be waited for: {e}")),
            };
            let _ = exits.send(Exited { shard, failure });
        });
    }
    Ok(workers)
}

fn describe(status: std::process::ExitStatus, stderr: &[u8]) -> String {
    use std::os::unix::process::ExitStatusExt;
    let how = match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(9)) => "was killed (SIGKILL)".to_string(),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => "ended".to_string(),
    };
    describe_stderr(how, stderr)
}

/// How a worker ended, with the end of what it wrote to standard error.
pub(super) fn describe_stderr(how: String, stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let text = text.trim();
    if text.is_empty() {
        return how;
    }
    let tail: String = text
        .chars()
        .rev()
        .take(STDERR_TAIL)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{how}: {}", tail.replace('\n', " | "))
}
