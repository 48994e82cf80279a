//! Takes a stage run's events and requests, gives Prometheus metrics (`stagegate_*`):
//! live while the run goes ([`RunMetrics`] is a run consumer and a request observer
//! source), served at `/metrics` ([`server`]), pushed to a Pushgateway at the end
//! ([`push`]); and the ledger's state for dashboards ([`ledger_export`]).
//!
//! Labels are bounded: system, release, stage, environment, suite, transaction,
//! outcome, plus `severity`, `criterion` and `state`, whose values come from fixed
//! lists or from the plan's files. No run ids, URLs or user data.

pub mod ledger_export;
mod live;
pub mod push;
mod request_series;
mod run_labels;
pub mod server;

pub use live::RunMetrics;

/// Why metrics could not be built or written.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The prometheus crate refused a metric (a bug in its definition).
    #[error("cannot define metric: {0}")]
    Define(#[from] prometheus::Error),
    /// The `/metrics` address could not be bound.
    #[error("cannot serve metrics on `{addr}`: {source} (hint: pick a free port, or port 0)")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The Pushgateway refused or could not be reached.
    #[error("cannot push metrics to `{url}`: {reason}")]
    Push {
        /// Where.
        url: String,
        /// Why.
        reason: String,
    },
    /// The ledger could not be read.
    #[error("cannot read the ledger: {0}")]
    Ledger(String),
}
