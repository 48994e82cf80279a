//! `stagegate worker`: runs shard I of N of one load suite of a stage and sends its
//! [`ShardReport`] to the coordinator. Takes the stage's plan (built from the project's
//! files, like `run`), the shard, the coordinator's address, the run key and the run's
//! token; gives the report, accepted by the coordinator, or a [`WorkerError`].

use super::progress::{self, ProgressAnswer, PROGRESS_EVERY};
use super::report::{ShardObserver, ShardReport, WorkerEnd};
use super::ShardId;
use crate::config::environment::Reach;
use crate::config::suite::SuiteBody;
use crate::load::{self, LoadOptions};
use crate::measure::{Recorder, RequestObserver, RequestSample};
use crate::plan::Plan;
use crate::vocabulary::Target;
use std::sync::Arc;
use std::time::Duration;

/// The variable that carries the run's token to a worker (never a flag: flags show in
/// process lists).
pub const TOKEN_VAR: &str = "STAGEGATE_RUN_TOKEN";
/// Test hook: a folder where each worker writes every latency it measured (µs, one a
/// line) to `shard-I.txt`, so a test can compute percentiles independently.
pub const SAMPLES_VAR: &str = "STAGEGATE_SHARD_SAMPLES";

/// How many times a report is offered to the coordinator before giving up.
const REPORT_ATTEMPTS: u32 = 5;

/// What a worker needs besides its plan.
#[derive(Clone)]
pub struct WorkerJob {
    /// Which shard.
    pub shard: ShardId,
    /// The load suite to run.
    pub suite: String,
    /// The coordinator's base URL (`http://host:port`).
    pub coordinator: String,
    /// The run key the coordinator expects in the report.
    pub run: String,
    /// The run's token.
    pub token: String,
    /// The target's base URL, when the coordinator's differs from the environment file's
    /// (a container started for the run).
    pub base_url: Option<url::Url>,
    /// Also sees every request (the worker's live metrics).
    pub observer: Option<Arc<dyn RequestObserver>>,
}

/// Hands every request to the shard's tally and to the live metrics.
struct Both(Arc<ShardObserver>, Arc<dyn RequestObserver>);

impl RequestObserver for Both {
    fn observe(&self, sample: &RequestSample<'_>) {
        self.0.observe(sample);
        self.1.observe(sample);
    }
}

/// Why a worker could not run or report.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The suite is not a load suite of this stage.
    #[error("suite `{0}` is not a load suite of this stage")]
    NoSuchSuite(String),
    /// The target could not be resolved.
    #[error("target: {0}")]
    Target(String),
    /// The load engine could not be started.
    #[error("load engine: {0}")]
    Engine(String),
    /// The report could not be built or was not accepted.
    #[error("report not delivered to {url}: {why}")]
    Report {
        /// Where it was sent.
        url: String,
        /// Why.
        why: String,
    },
}

/// Runs the shard and delivers its report.
pub async fn run(
    plan: &Plan,
    job: &WorkerJob,
    secrets: &dyn Fn(&str) -> Option<String>,
) -> Result<ShardReport, WorkerError> {
    let suite = plan
        .suites
        .iter()
        .find(|s| s.name == job.suite)
        .ok_or_else(|| WorkerError::NoSuchSuite(job.suite.clone()))?;
    let SuiteBody::Load(body) = &suite.body else {
        return Err(WorkerError::NoSuchSuite(job.suite.clone()));
    };
    let mut environment = plan.environment.clone();
    if let Some(base) = &job.base_url {
        environment.reach = Reach::BaseUrl(base.clone());
    }
    let target =
        Target::resolve(&environment, secrets).map_err(|e| WorkerError::Target(e.to_string()))?;
    let body = job.shard.suite(body);
    let traffic = job.shard.traffic(&plan.traffic);
    let samples_dir = std::env::var_os(SAMPLES_VAR);
    let observer = Arc::new(ShardObserver::new(samples_dir.is_some()));
    let recorder = Arc::new(match &job.observer {
        Some(metrics) => Recorder::with_observer(Arc::new(Both(observer.clone(), metrics.clone()))),
        None => Recorder::with_observer(observer.clone()),
    });
    // The stage's abort criteria are judged by the coordinator on the merged figures of
    // every shard, never by one shard alone (see `progress`).
    let options = LoadOptions {
        traffic: &traffic,
        abort: &[],
        shared_client: false,
        production_write: suite.production_write.as_deref(),
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| WorkerError::Engine(format!("HTTP client: {e}")))?;
    let no_ticks = |_: load::LoadTick| {};
    let load = load::run(&suite.name, &body, options, &target, recorder, &no_ticks);
    let stream = stream_progress(job, &observer, &client);
    tokio::pin!(load, stream);
    let mut streaming = true;
    let ended = loop {
        tokio::select! {
            ended = &mut load => break ended,
            () = &mut stream, if streaming => streaming = false,
        }
    };
    let end = match ended {
        Ok(report) => WorkerEnd::Ran {
            elapsed_s: report.elapsed.as_secs_f64(),
            stopped: report.aborted,
        },
        Err(e) => WorkerEnd::Failed {
            error: e.to_string(),
        },
    };
    if let Some(dir) = samples_dir {
        let lines: String = observer
            .samples()
            .iter()
            .map(|s| format!("{s}\n"))
            .collect();
        let path = std::path::Path::new(&dir).join(format!("shard-{}.txt", job.shard.index));
        std::fs::write(&path, lines)
            .map_err(|e| WorkerError::Engine(format!("{}: {e}", path.display())))?;
    }
    let report = observer
        .report(&job.run, job.shard, &suite.name, end)
        .map_err(|e| WorkerError::Engine(e.to_string()))?;
    deliver(job, &client, &report).await?;
    Ok(report)
}

/// Sends each finished second to the coordinator until it answers `stop`, then stops
/// the load. A lost message is sent again with the next (seconds are sent from the
/// first one the coordinator has not acknowledged).
async fn stream_progress(job: &WorkerJob, observer: &ShardObserver, client: &reqwest::Client) {
    let url = format!("{}/progress", job.coordinator.trim_end_matches('/'));
    let mut from = 0;
    let mut ticker = tokio::time::interval(PROGRESS_EVERY);
    loop {
        ticker.tick().await;
        let Ok(progress) = progress::next(observer, &job.run, job.shard, from) else {
            continue;
        };
        let sent = client
            .post(&url)
            .bearer_auth(&job.token)
            .json(&progress)
            .send()
            .await;
        let Ok(response) = sent else { continue };
        if !response.status().is_success() {
            continue;
        }
        from = progress.through;
        if let Ok(ProgressAnswer { stop: Some(reason) }) = response.json().await {
            load::interrupt(&format!("stopped by the coordinator: {reason}"));
            return;
        }
    }
}

/// Posts the report, retrying a refused connection a few times; a refusal by the
/// coordinator (wrong token, another run) is final.
async fn deliver(
    job: &WorkerJob,
    client: &reqwest::Client,
    report: &ShardReport,
) -> Result<(), WorkerError> {
    let url = format!("{}/report", job.coordinator.trim_end_matches('/'));
    let failed = |why: String| WorkerError::Report {
        url: url.clone(),
        why,
    };
    let mut last = String::new();
    for attempt in 0..REPORT_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
        }
        match client
            .post(&url)
            .bearer_auth(&job.token)
            .json(report)
            .send()
            .await
        {
            Ok(response) if response.status().is_success() => return Ok(()),
            Ok(response) => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                return Err(failed(format!("{status}: {text}")));
            }
            Err(e) => last = e.to_string(),
        }
    }
    Err(failed(last))
}
