//! Why a measured value is missing: one variant per cause, with its data. The gate
//! fails a criterion with it ("no data is never a pass"); each report language says it
//! in its own words from the variant, and the English words are [`NoData`]'s `Display`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why there is no value to judge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum NoData {
    /// The run sent no request.
    NoRequests,
    /// Requests were sent, and none succeeded; the first error as the engine named it.
    NoneSucceeded {
        /// The first error seen.
        first_error: String,
    },
    /// No check was evaluated on any response.
    NoChecks,
    /// `rate-shortfall` on a stage that sets no target rate.
    NoTargetRate,
    /// A `promql` criterion read by metric id instead of by its query (a bug).
    ObservedByQuery,
    /// The PromQL query was never run.
    QueryNotRun,
    /// The environment names no Prometheus to ask.
    NoPrometheusUrl {
        /// The environment.
        environment: String,
    },
    /// Prometheus could not give one finite value; its answer or the transport error.
    Promql {
        /// What went wrong, with Prometheus's own words where it gave any.
        detail: String,
    },
    /// The stage ran no security suite.
    NoSecuritySuite,
    /// A security suite ran and not one check in it ran.
    NoSecurityCheckRan,
    /// Some security checks could not run: the scan has not shown the target clean.
    ChecksErrored {
        /// How many could not run.
        count: usize,
        /// The first of them, `check: why`.
        first: String,
    },
    /// The measured value is NaN or infinite.
    NotANumber,
    /// Recorded before causes were kept (older ledgers): only the English text exists.
    #[default]
    Unrecorded,
}

impl fmt::Display for NoData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no data")?;
        match self {
            NoData::NoRequests => f.write_str(": the run sent no requests"),
            NoData::NoneSucceeded { first_error } => {
                write!(f, ": no request succeeded ({first_error})")
            }
            NoData::NoChecks => f.write_str(": no check was evaluated"),
            NoData::NoTargetRate => f.write_str(": the stage sets no target rate"),
            NoData::ObservedByQuery => {
                f.write_str(": a `promql` criterion is observed by its query")
            }
            NoData::QueryNotRun => f.write_str(": the query was not run"),
            NoData::NoPrometheusUrl { environment } => write!(
                f,
                ": environment `{environment}` has no `prometheus-url` (hint: add it to environments/{environment}.toml)"
            ),
            NoData::Promql { detail } => write!(f, ": {detail}"),
            NoData::NoSecuritySuite => f.write_str(": the stage ran no security suite"),
            NoData::NoSecurityCheckRan => f.write_str(": no security check ran"),
            NoData::ChecksErrored { count, first } => {
                write!(f, ": {count} security check(s) could not run ({first})")
            }
            NoData::NotANumber => f.write_str(": the value is not a number"),
            NoData::Unrecorded => Ok(()),
        }
    }
}
