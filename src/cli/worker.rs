//! `stagegate worker`: one shard of a stage's load suite, started by a coordinator
//! (`run --shards N`) or by a Kubernetes Indexed Job. Takes the stage as `run` does,
//! the shard (`--shard I/N`, or `--shards N` with `JOB_COMPLETION_INDEX`), the
//! coordinator's address and the run key; the run's token comes in
//! `STAGEGATE_RUN_TOKEN`. Exit 0 once the coordinator accepted the report.

use super::CliError;
use crate::metrics::server::{MetricsServer, Render};
use crate::metrics::RunMetrics;
use crate::run::RunConsumer;
use crate::shard::worker::{self, WorkerJob, TOKEN_VAR};
use crate::shard::ShardId;
use crate::stage::StageId;
use clap::Args;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// System (a folder under `scenarios/`).
    pub system: String,
    /// Release under test.
    #[arg(long)]
    pub release: String,
    /// Stage whose load this is.
    #[arg(long)]
    pub stage: StageId,
    /// The load suite to run.
    #[arg(long)]
    pub suite: String,
    /// This shard, `I/N` counting from 0.
    #[arg(long, value_name = "I/N", conflicts_with = "shards")]
    pub shard: Option<ShardId>,
    /// How many shards, with this one's index in `JOB_COMPLETION_INDEX` (Kubernetes).
    #[arg(long, value_name = "N")]
    pub shards: Option<u32>,
    /// The coordinator's base URL.
    #[arg(long, value_name = "URL")]
    pub coordinator: String,
    /// The run key the coordinator gave.
    #[arg(long, value_name = "KEY")]
    pub run: String,
    /// The target's base URL, when not the environment file's.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<url::Url>,
    /// Serve this shard's live Prometheus metrics at http://ADDR/metrics while it runs;
    /// every series carries `shard` (this shard's index).
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<std::net::SocketAddr>,
}

pub(super) async fn run(root: &Path, args: WorkerArgs) -> Result<u8, CliError> {
    let shard = match (args.shard, args.shards) {
        (Some(shard), _) => shard,
        (None, Some(count)) => {
            let index = std::env::var("JOB_COMPLETION_INDEX")
                .ok()
                .and_then(|i| i.trim().parse::<u32>().ok())
                .ok_or_else(|| {
                    CliError::invalid("--shards needs JOB_COMPLETION_INDEX (or use --shard I/N)")
                })?;
            ShardId::new(index, count).ok_or_else(|| {
                CliError::invalid(format!("JOB_COMPLETION_INDEX {index} is not below {count}"))
            })?
        }
        (None, None) => return Err(CliError::invalid("give --shard I/N or --shards N")),
    };
    let token = std::env::var(TOKEN_VAR)
        .map_err(|_| CliError::invalid(format!("{TOKEN_VAR} is not set")))?;
    let project = super::project(root)?;
    // This worker runs one share of the users under its own limit: it checks that share.
    let plan = crate::plan::build(
        &project,
        &args.system,
        &args.release,
        args.stage,
        crate::plan::LoadProcesses::ShardsHere(shard.count),
    )?;
    let (observer, server) = match args.metrics_listen {
        Some(addr) => {
            let labels = [
                plan.system.as_str(),
                plan.release.as_str(),
                plan.stage.as_str(),
                plan.environment.name.as_str(),
            ];
            let metrics = Arc::new(
                RunMetrics::for_shard(shard.index, labels)
                    .map_err(|e| CliError::Internal(e.to_string()))?,
            );
            let source = metrics.clone();
            let render: Render = Arc::new(move || source.encode());
            let server = MetricsServer::start(addr, render)
                .await
                .map_err(|e| CliError::invalid(e.to_string()))?;
            eprintln!("metrics: http://{}/metrics", server.addr);
            (metrics.request_observer(&args.suite), Some(server))
        }
        None => (None, None),
    };
    let job = WorkerJob {
        shard,
        suite: args.suite,
        coordinator: args.coordinator,
        run: args.run,
        token,
        base_url: args.base_url,
        observer,
    };
    let secrets = |name: &str| std::env::var(name).ok();
    let ran = worker::run(&plan, &job, &secrets).await;
    if let Some(server) = server {
        server.stop().await;
    }
    ran.map_err(|e| CliError::Internal(format!("shard {shard}: {e}")))?;
    Ok(crate::exit_code::OK)
}
