//! The metrics flags shared by `run` and `demo` (`--metrics-listen`, `--metrics-linger`,
//! `--pushgateway`), and their lifetime around stage runs.

use crate::metrics::server::{MetricsServer, Render};
use crate::metrics::{push, RunMetrics};
use crate::run::RunConsumer;
use clap::Args;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// Serve live Prometheus metrics (`stagegate_*`) at http://ADDR/metrics during the run.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// After the run, keep serving /metrics until it has been scraped once more, at most
    /// this long, so Prometheus sees the final values (gate results, run state).
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
    pub metrics_linger: Duration,
    /// Push the run's final metrics to this Prometheus Pushgateway
    /// (POST URL/metrics/job/stagegate/system/…/release/…/stage/…/environment/…).
    #[arg(long, value_name = "URL")]
    pub pushgateway: Option<Url>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::config::units::parse_duration(text)
}

/// Live metrics for the runs of one command, when asked for.
pub(super) struct LiveMetrics {
    metrics: Arc<RunMetrics>,
    server: Option<MetricsServer>,
    linger: Duration,
    pushgateway: Option<Url>,
}

impl LiveMetrics {
    /// Starts what the flags ask for; `Ok(None)` when they ask for nothing.
    pub(super) async fn start(args: &MetricsArgs) -> Result<Option<LiveMetrics>, String> {
        if args.metrics_listen.is_none() && args.pushgateway.is_none() {
            return Ok(None);
        }
        let metrics = Arc::new(RunMetrics::new().map_err(|e| e.to_string())?);
        let server = match args.metrics_listen {
            Some(addr) => {
                let source = metrics.clone();
                let render: Render = Arc::new(move || source.encode());
                let server = MetricsServer::start(addr, render)
                    .await
                    .map_err(|e| e.to_string())?;
                eprintln!("metrics: http://{}/metrics", server.addr);
                Some(server)
            }
            None => None,
        };
        Ok(Some(LiveMetrics {
            metrics,
            server,
            linger: args.metrics_linger,
            pushgateway: args.pushgateway.clone(),
        }))
    }

    /// The live metrics, as a run consumer.
    pub(super) fn consumer(&self) -> &dyn RunConsumer {
        &*self.metrics
    }

    /// Pushes the final metrics when asked, waits for the last scrape, stops serving.
    /// Returns false when the push failed (reported on standard error).
    pub(super) async fn finish(self) -> bool {
        let mut ok = true;
        if let Some(url) = &self.pushgateway {
            let grouping = self.metrics.current_labels();
            match self.metrics.encode() {
                Ok(text) => {
                    if let Err(e) = push::push(url, &grouping, text).await {
                        eprintln!("warning: {e}");
                        ok = false;
                    }
                }
                Err(e) => {
                    eprintln!("warning: {e}");
                    ok = false;
                }
            }
        }
        if let Some(server) = self.server {
            if !self.linger.is_zero() && !server.wait_for_next_scrape(self.linger).await {
                eprintln!(
                    "metrics: not scraped within {:?} after the run",
                    self.linger
                );
            }
            server.stop().await;
        }
        ok
    }
}
