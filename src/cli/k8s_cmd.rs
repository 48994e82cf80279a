//! `stagegate k8s render`: the ConfigMap and Indexed Jobs that run a stage's load as
//! shards on a cluster. Takes the stage as `run` does and the cluster's names; writes
//! the manifests (YAML) to standard output or `-o FILE`. Sends nothing.

use super::CliError;
use crate::shard::k8s::{self, RenderOptions, Scrape};
use crate::stage::StageId;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum K8sCommand {
    /// Write the manifests of a sharded stage.
    #[command(
        after_help = "Example:\n  stagegate k8s render dichvucong --release 1.0.0 --stage real-test --shards 4 -o stage.yaml\n  kubernetes-validate stage.yaml"
    )]
    Render(RenderArgs),
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// System (a folder under `scenarios/`).
    pub system: String,
    /// Release under test.
    #[arg(long)]
    pub release: String,
    /// Stage to run.
    #[arg(long)]
    pub stage: StageId,
    /// Workers per load suite.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub shards: u32,
    /// The worker image.
    #[arg(long, default_value = "stagegate:local")]
    pub image: String,
    /// Namespace of every object.
    #[arg(long, default_value = "default")]
    pub namespace: String,
    /// The coordinator's URL as the pods reach it.
    #[arg(long, default_value = "http://stagegate-coordinator:7878")]
    pub coordinator: String,
    /// The run key the coordinator expects.
    #[arg(long, default_value = "stagegate-run")]
    pub run: String,
    /// The Secret with the run's token (key `token`) and the environment's token (key:
    /// its variable's name). Only its name is written.
    #[arg(long, default_value = "stagegate-run")]
    pub secret: String,
    /// CPU requested by each worker.
    #[arg(long, default_value = "1")]
    pub cpu: String,
    /// Memory requested (and limited to) by each worker.
    #[arg(long, default_value = "1Gi")]
    pub memory: String,
    /// Also write a PodMonitor (`monitoring.coreos.com/v1`, for the Prometheus Operator)
    /// selecting the workers' pods and their metrics port, instead of the pods' scrape
    /// annotations (one or the other, so no worker is scraped twice).
    #[arg(long)]
    pub pod_monitor: bool,
    /// A label of the PodMonitor, `NAME=VALUE`, so that a Prometheus' `podMonitorSelector`
    /// selects it (e.g. `release=prometheus` for kube-prometheus-stack); repeatable.
    #[arg(long, value_name = "NAME=VALUE", requires = "pod_monitor", value_parser = parse_label)]
    pub pod_monitor_label: Vec<(String, String)>,
    /// Write here instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// A Kubernetes label, `NAME=VALUE`: a name of at most 63 characters after an optional
/// `prefix/`, a value of at most 63; both checked by the cluster in full, here only for
/// the shape, so that a typo is refused before anything is written.
fn parse_label(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or("expected `NAME=VALUE`, e.g. release=prometheus")?;
    let simple = name.rsplit('/').next().unwrap_or_default();
    let allowed = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    if simple.is_empty()
        || simple.len() > 63
        || !allowed(simple)
        || value.len() > 63
        || !allowed(value)
    {
        return Err(format!(
            "`{text}` is not a Kubernetes label (letters, digits, `-`, `_`, `.`; at most 63 each side)"
        ));
    }
    Ok((name.to_string(), value.to_string()))
}

pub(super) fn run(root: &Path, cmd: K8sCommand) -> Result<u8, CliError> {
    let K8sCommand::Render(args) = cmd;
    let project = super::project(root)?;
    // The pods' descriptor limits are theirs: each worker checks its share as it starts.
    let plan = crate::plan::build(
        &project,
        &args.system,
        &args.release,
        args.stage,
        crate::plan::LoadProcesses::ShardsElsewhere(args.shards),
    )?;
    if args.shards > plan.traffic.users {
        return Err(CliError::invalid(format!(
            "{} shards for {} users: every shard needs at least one user",
            args.shards, plan.traffic.users
        )));
    }
    let files = k8s::files_as_run(&plan).map_err(CliError::invalid)?;
    let options = RenderOptions {
        shards: args.shards,
        image: args.image,
        namespace: args.namespace,
        coordinator: args.coordinator,
        run: args.run,
        secret: args.secret,
        cpu: args.cpu,
        memory: args.memory,
        suite: None,
        run_secret: None,
        scrape: if args.pod_monitor {
            Scrape::PodMonitor {
                labels: args.pod_monitor_label,
            }
        } else {
            Scrape::Annotations
        },
    };
    let yaml = k8s::to_yaml(&k8s::render(&plan, &files, &options));
    match &args.out {
        Some(path) => std::fs::write(path, yaml)
            .map_err(|e| CliError::Internal(format!("{}: {e}", path.display())))?,
        None => print!("{yaml}"),
    }
    Ok(crate::exit_code::OK)
}
