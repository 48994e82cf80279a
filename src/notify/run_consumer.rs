//! The runner's side of notifications, a run consumer: takes `RunFinished` and
//! `RunAborted`, gives gate-passed (with approval-waiting when the stage needs
//! approvers), gate-failed and aborted notifications.

use super::{Notification, Notifier};
use crate::config::notify_spec::NotifyEvent;
use crate::gate::{CriterionStatus, GateOutcome};
use crate::ledger::RunState;
use crate::run::{ConsumerError, RunConsumer, RunEvent};

/// Sends a run's notifications through a [`Notifier`].
pub struct RunNotifier<'a> {
    notifier: &'a Notifier,
}

impl<'a> RunNotifier<'a> {
    /// A consumer sending through `notifier`.
    pub fn new(notifier: &'a Notifier) -> RunNotifier<'a> {
        RunNotifier { notifier }
    }
}

impl RunConsumer for RunNotifier<'_> {
    fn event(&self, event: RunEvent<'_>) -> Result<(), ConsumerError> {
        match event {
            RunEvent::RunFinished { plan, record } => {
                let run = &record.run;
                let failed: Vec<String> = record
                    .verdict
                    .results
                    .iter()
                    .filter(|r| r.status == CriterionStatus::Fail)
                    .map(|r| r.criterion.clone())
                    .collect();
                let at = |event, detail: &str| {
                    Notification::new(event, &run.system, &run.release, run.stage, run.id, detail)
                };
                if run.state == RunState::Aborted {
                    let detail = record.stopped.as_ref().map(ToString::to_string);
                    self.notifier
                        .send(&at(NotifyEvent::Aborted, detail.as_deref().unwrap_or("")));
                } else if record.verdict.outcome == GateOutcome::Passed {
                    self.notifier.send(&at(NotifyEvent::GatePassed, ""));
                    if plan.approval.approvers > 0 {
                        let detail = format!(
                            "needs {} approver(s): stagegate approve {} --release {} --stage {}",
                            plan.approval.approvers, run.system, run.release, run.stage
                        );
                        self.notifier
                            .send(&at(NotifyEvent::ApprovalWaiting, &detail));
                    }
                } else {
                    let mut n = at(NotifyEvent::GateFailed, &failed.join(", "));
                    n.failed_criteria = failed;
                    self.notifier.send(&n);
                }
            }
            RunEvent::RunAborted { run, reason } => {
                self.notifier.send(&Notification::new(
                    NotifyEvent::Aborted,
                    &run.system,
                    &run.release,
                    run.stage,
                    run.id,
                    &reason.to_string(),
                ));
            }
            _ => {}
        }
        Ok(())
    }
}
