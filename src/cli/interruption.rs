//! Ctrl-C and SIGTERM during `stagegate run`: the signal is caught, the stage stops,
//! its container (if any) is removed, and the run is recorded in the ledger as aborted.

use super::progress::TerminalProgress;
use crate::gate::GateVerdict;
use crate::ledger::{Ledger, RunResult, RunState};
use crate::measure::Measurements;
use crate::stage_run::{EventSink, RunEvent};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use tokio::signal::unix::{signal, Signal, SignalKind};

/// SIGINT and SIGTERM, caught for the whole run.
///
/// SIGINT goes through the `ctrlc` crate on purpose: goose installs its own Ctrl-C
/// handler with `ctrlc` at the start of every attack, replacing any other handler, but
/// `ctrlc` takes only one handler per process, so once ours is set goose's is refused.
/// goose's handler would only stop the load and let the stage be judged on part of its
/// traffic; an interrupted run must be recorded as aborted instead, never as passed.
/// SIGTERM, which goose leaves alone, is caught by tokio.
pub(super) struct Interrupts {
    interrupt: tokio::sync::mpsc::UnboundedReceiver<()>,
    terminate: Signal,
}

impl Interrupts {
    /// Starts catching the signals.
    pub(super) fn install() -> Result<Interrupts, u8> {
        let failed = |e: String| {
            eprintln!("error: cannot catch signals: {e}");
            crate::exit_code::FAILED
        };
        let (tx, interrupt) = tokio::sync::mpsc::unbounded_channel();
        ctrlc::set_handler(move || {
            let _ = tx.send(());
        })
        .map_err(|e| failed(e.to_string()))?;
        let terminate = signal(SignalKind::terminate()).map_err(|e| failed(e.to_string()))?;
        Ok(Interrupts {
            interrupt,
            terminate,
        })
    }

    /// Waits for the next signal; gives its name.
    pub(super) async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}

/// The terminal reporter, remembering the id of the run the ledger started and whether
/// a load suite is running.
pub(super) struct RunTracker {
    inner: TerminalProgress,
    run_id: AtomicI64,
    load_running: AtomicBool,
}

impl RunTracker {
    pub(super) fn new(inner: TerminalProgress) -> RunTracker {
        RunTracker {
            inner,
            run_id: AtomicI64::new(0),
            load_running: AtomicBool::new(false),
        }
    }

    /// Whether a load suite is sending traffic now.
    pub(super) fn load_running(&self) -> bool {
        self.load_running.load(Ordering::SeqCst)
    }

    /// The run's id, once the ledger started it.
    pub(super) fn run_id(&self) -> Option<i64> {
        Some(self.run_id.load(Ordering::SeqCst)).filter(|id| *id > 0)
    }
}

impl EventSink for RunTracker {
    fn event(&self, event: RunEvent<'_>) {
        match &event {
            RunEvent::Started { run } => self.run_id.store(run.id, Ordering::SeqCst),
            RunEvent::SuiteStarted { kind, .. } => {
                self.load_running.store(*kind == "load", Ordering::SeqCst)
            }
            RunEvent::SuiteFinished { .. } => self.load_running.store(false, Ordering::SeqCst),
            _ => {}
        }
        self.inner.event(event);
    }
}

/// Records the interrupted run as aborted; gives the exit code (always 1: an
/// interrupted stage did not pass).
pub(super) fn record_aborted(
    ledger: &mut Ledger,
    run_id: Option<i64>,
    report_dir: Option<&Path>,
    signal: &str,
) -> u8 {
    let Some(run_id) = run_id else {
        eprintln!("interrupted by {signal} before the run started; nothing was recorded");
        return crate::exit_code::FAILED;
    };
    let reason = format!("interrupted by {signal}");
    // No gate was evaluated: the verdict is an empty failure, never a pass.
    let verdict = GateVerdict::not_evaluated();
    let verdict_json = serde_json::to_string(&verdict).unwrap_or_else(|_| "{}".into());
    let measurements_json =
        serde_json::to_string(&Measurements::default()).unwrap_or_else(|_| "{}".into());
    let report_dir = report_dir
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    let result = RunResult {
        state: RunState::Aborted,
        version_seen: None,
        verdict_json: &verdict_json,
        measurements_json: &measurements_json,
        report_dir: &report_dir,
        abort_reason: Some(&reason),
    };
    match ledger.finish_run(run_id, &result) {
        Ok(_) => eprintln!("run #{run_id} {reason}: recorded as aborted"),
        Err(e) => eprintln!("error: run #{run_id} {reason}, and recording it as aborted failed: {e} (the next `stagegate` command marks it aborted once this process is gone)"),
    }
    crate::exit_code::FAILED
}
