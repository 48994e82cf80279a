//! The sharding flags of `run` (`--shards`, `--launcher` and each launcher's own), and
//! the [`ShardSetup`] they make.

use super::CliError;
use crate::plan::LoadProcesses;
use crate::shard::coordinator::{KubernetesSetup, ShardSetup};
use crate::shard::launcher::LauncherKind;
use clap::Args;
use std::net::SocketAddr;
use std::path::Path;

#[derive(Debug, Args)]
pub struct ShardArgs {
    /// Run each load suite as N shards (workers) and judge the merged figures.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub shards: Option<u32>,
    /// Where the shards run.
    #[arg(long, value_enum, default_value_t, requires = "shards")]
    pub launcher: LauncherKind,
    /// The worker image of `docker` and `kubernetes` (stagegate as its entrypoint;
    /// scripts/build-worker-image makes the default). Never pulled by `docker`.
    #[arg(long, value_name = "IMAGE", default_value = "stagegate-worker:dev")]
    pub worker_image: String,
    /// `docker`: the network the workers join, e.g. the system's own (created when
    /// missing) [default: a private network made for the run].
    #[arg(long, value_name = "NAME")]
    pub docker_network: Option<String>,
    /// `kubernetes`: where this coordinator listens for the pods' reports.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:7878")]
    pub coordinator_listen: SocketAddr,
    /// `kubernetes`: this coordinator's URL as the pods reach it.
    #[arg(
        long,
        value_name = "URL",
        default_value = "http://stagegate-coordinator:7878"
    )]
    pub coordinator_url: String,
    /// `kubernetes`: the namespace of the Job, its ConfigMap and the run's Secret.
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub namespace: String,
    /// `kubernetes`: the Secret holding the environment's token under its variable's
    /// name (made beforehand; see the README, "Sharded load").
    #[arg(long, value_name = "NAME", default_value = "stagegate-run")]
    pub k8s_secret: String,
}

impl ShardArgs {
    /// The processes the load runs in, for the plan's descriptor check: the local
    /// launcher's workers run under this process's limit (they inherit it); containers
    /// and pods under their own.
    pub(super) fn processes(&self) -> LoadProcesses {
        match (self.shards, self.launcher) {
            (None, _) => LoadProcesses::One,
            (Some(n), LauncherKind::Local) => LoadProcesses::ShardsHere(n),
            (Some(n), LauncherKind::Docker | LauncherKind::Kubernetes) => {
                LoadProcesses::ShardsElsewhere(n)
            }
        }
    }

    /// The setup for `run`, when `--shards` was given.
    pub(super) fn setup(&self, root: &Path) -> Result<Option<ShardSetup>, CliError> {
        let Some(count) = self.shards else {
            return Ok(None);
        };
        if self.launcher == LauncherKind::Kubernetes {
            // Refused before the run starts: nothing is recorded or sent without it.
            crate::shard::kubectl::find_kubectl().map_err(CliError::invalid)?;
        }
        let root = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
        Ok(Some(ShardSetup {
            count,
            launcher: self.launcher,
            program: std::env::current_exe().map_err(|e| CliError::Internal(e.to_string()))?,
            image: self.worker_image.clone(),
            network: self.docker_network.clone(),
            kubernetes: KubernetesSetup {
                listen: self.coordinator_listen,
                coordinator_url: self.coordinator_url.clone(),
                namespace: self.namespace.clone(),
                secret: self.k8s_secret.clone(),
                manifests: root.join(".stagegate").join("k8s"),
            },
            root,
        }))
    }
}
