//! Notifications: takes what happened to a stage (a gate passed or failed, an approval
//! waits, a stage was promoted, a run aborted) and the rollout's `[[notify]]` targets,
//! gives one HTTP POST per target that wants it, sent in the background with bounded
//! retries ([`delivery`]). The runner's side is a run consumer ([`RunNotifier`]); the
//! ledger's side (promotions) is sent by `approve` through the same [`Notifier`].
//!
//! Nothing here blocks a run or fails a command: a target that cannot be reached is
//! reported on standard error once its retries are spent, and the command's exit code
//! stays the verdict's.

pub mod delivery;
mod run_consumer;

pub use run_consumer::RunNotifier;

use crate::config::notify_spec::{NotifyEvent, NotifyKind, NotifyTarget};
use crate::stage::StageId;
use serde::Serialize;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Version of the webhook body; bumped when a field changes meaning or goes away.
pub const PAYLOAD_SCHEMA: &str = "stagegate.notification/1";

/// One thing to tell: the webhook body as it is sent (`kind = "webhook"`).
#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    /// [`PAYLOAD_SCHEMA`].
    pub schema: &'static str,
    /// What happened.
    pub event: NotifyEvent,
    /// System id.
    pub system: String,
    /// Release.
    pub release: String,
    /// Stage.
    pub stage: StageId,
    /// The run concerned.
    pub run_id: i64,
    /// Criteria that failed, by name (empty unless the gate failed).
    pub failed_criteria: Vec<String>,
    /// One sentence for people, the same as the Slack text.
    pub text: String,
    /// When it was sent, RFC 3339 UTC.
    pub at: String,
}

impl Notification {
    /// A notification stamped now, with its sentence.
    pub fn new(
        event: NotifyEvent,
        system: &str,
        release: &str,
        stage: StageId,
        run_id: i64,
        detail: &str,
    ) -> Notification {
        let what = match event {
            NotifyEvent::GatePassed => "gate passed",
            NotifyEvent::GateFailed => "gate FAILED",
            NotifyEvent::ApprovalWaiting => "waits for approval",
            NotifyEvent::Promoted => "promoted",
            NotifyEvent::Aborted => "run ABORTED",
        };
        let mut text =
            format!("stagegate: {system} {release} stage `{stage}` (run #{run_id}): {what}");
        if !detail.is_empty() {
            text.push_str(": ");
            text.push_str(detail);
        }
        Notification {
            schema: PAYLOAD_SCHEMA,
            event,
            system: system.to_string(),
            release: release.to_string(),
            stage,
            run_id,
            failed_criteria: Vec::new(),
            text,
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    }

    /// The body for a target of `kind`.
    pub fn body(&self, kind: NotifyKind) -> String {
        let value = match kind {
            NotifyKind::Webhook => serde_json::to_value(self).unwrap_or_default(),
            NotifyKind::Slack => serde_json::json!({ "text": self.text }),
        };
        value.to_string()
    }
}

/// Sends notifications to a rollout's targets, each on its own thread, and waits for
/// them (boundedly) at the end of the command.
pub struct Notifier {
    targets: Vec<NotifyTarget>,
    pending: Mutex<Vec<Receiver<Result<(), String>>>>,
}

impl Notifier {
    /// A notifier for these targets (none: it does nothing).
    pub fn new(targets: Vec<NotifyTarget>) -> Notifier {
        Notifier {
            targets,
            pending: Mutex::new(Vec::new()),
        }
    }

    /// Starts sending `notification` to every target that wants its event; returns at
    /// once.
    pub fn send(&self, notification: &Notification) {
        for target in self
            .targets
            .iter()
            .filter(|t| t.on.contains(&notification.event))
        {
            let (tx, rx): (Sender<Result<(), String>>, _) = channel();
            let target = target.clone();
            let notification = notification.clone();
            let spawned = std::thread::Builder::new()
                .name("stagegate-notify".into())
                .spawn(move || {
                    let _ = tx.send(delivery::deliver(&target, &notification));
                });
            match spawned {
                Ok(_) => lock(&self.pending).push(rx),
                Err(e) => eprintln!("warning: notification not sent: cannot start a thread: {e}"),
            }
        }
    }

    /// Waits up to `bound` for what is still being sent; prints a warning for each
    /// target that failed or did not finish in time. Gives how many were delivered.
    pub fn finish(&self, bound: Duration) -> usize {
        let deadline = Instant::now() + bound;
        let pending = std::mem::take(&mut *lock(&self.pending));
        let mut delivered = 0;
        for rx in pending {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(Ok(())) => delivered += 1,
                Ok(Err(e)) => eprintln!("warning: notification not delivered: {e}"),
                Err(_) => eprintln!(
                    "warning: a notification was still being sent after {}s; not waiting longer",
                    bound.as_secs()
                ),
            }
        }
        delivered
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}
