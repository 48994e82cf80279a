//! The criteria every stage run carries besides its gate's: the release the environment
//! serves must be readable, and traffic must not have been stopped (by an abort
//! criterion or an interruption). Takes what the runner observed, gives
//! [`CriterionResult`]s that fail the verdict like any other criterion.

use super::{CriterionResult, CriterionStatus, Reason};

/// The `metric` of the release criterion in stored verdicts.
pub const RELEASE_METRIC: &str = "release";
/// The `metric` of the abort criterion in stored verdicts.
pub const ABORT_METRIC: &str = "abort";

/// Traffic stopped before the stage's end, as the gate records it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stopped {
    /// What stopped it, as a criterion (the abort criterion as written, or
    /// `interrupted`).
    pub criterion: String,
    /// The value that stopped it, with its unit (or the signal's name).
    pub shown: String,
    /// One line: the breach, or `interrupted by SIGINT`.
    pub by: String,
}

/// What the runner observed about the run itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunObservations {
    /// The release under test, when the environment has a version endpoint and it could
    /// not be read: why not. (A release read and different stops the run before any
    /// gate; one read and equal needs no line.)
    pub release_unreadable: Option<(String, String)>,
    /// Traffic stopped before the stage's end.
    pub stopped: Option<Stopped>,
    /// The day acceptances are judged on (UTC); today when `None`.
    pub today: Option<chrono::NaiveDate>,
}

impl RunObservations {
    /// The failed results these observations add, in the order a reader wants them:
    /// the stop first, then the release.
    pub(super) fn results(&self) -> Vec<CriterionResult> {
        let mut out = Vec::new();
        if let Some(stop) = &self.stopped {
            let mut r = CriterionResult {
                criterion: stop.criterion.clone(),
                metric: ABORT_METRIC.into(),
                value: None,
                shown: stop.shown.clone(),
                pass: stop.criterion.clone(),
                warn: None,
                status: CriterionStatus::Fail,
                reason: String::new(),
                cause: Reason::Aborted {
                    by: stop.by.clone(),
                },
            };
            r.reason = r.cause.english(&r);
            out.push(r);
        }
        if let Some((release, detail)) = &self.release_unreadable {
            let mut r = CriterionResult {
                criterion: format!("environment serves release {release}"),
                metric: RELEASE_METRIC.into(),
                value: None,
                shown: "no data".into(),
                pass: format!("== {release}"),
                warn: None,
                status: CriterionStatus::Fail,
                reason: String::new(),
                cause: Reason::ReleaseUnreadable {
                    detail: detail.clone(),
                },
            };
            r.reason = r.cause.english(&r);
            out.push(r);
        }
        out
    }
}
