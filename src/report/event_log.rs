//! `--events FILE`: the run's events as JSON Lines, one object a line, written as they
//! happen (flushed at each line, so `tail -f` follows a run). Each object has `event`
//! (its kind, kebab-case) and `at` (RFC 3339 UTC, milliseconds), then the event's data;
//! the format is documented in the README ("Event log"). A consumer like any other: the
//! runner does not know it exists.

use crate::run::{ConsumerError, RunConsumer, RunEvent};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The format identifier carried by the first line of every event log.
pub const EVENT_LOG_FORMAT: &str = "stagegate.run-events/v1";

/// Writes every event to one file.
pub struct EventLog {
    path: PathBuf,
    file: Mutex<std::io::BufWriter<std::fs::File>>,
}

impl EventLog {
    /// Creates (or truncates) the file.
    pub fn create(path: &Path) -> std::io::Result<EventLog> {
        let file = std::fs::File::create(path)?;
        let log = EventLog {
            path: path.to_path_buf(),
            file: Mutex::new(std::io::BufWriter::new(file)),
        };
        Ok(log)
    }

    fn write_line(&self, line: &Value) -> Result<(), ConsumerError> {
        let failed = |source| ConsumerError {
            what: "the event log".into(),
            path: self.path.clone(),
            source,
        };
        let mut file = match self.file.lock() {
            Ok(f) => f,
            Err(poisoned) => poisoned.into_inner(),
        };
        serde_json::to_writer(&mut *file, line).map_err(|e| failed(e.into()))?;
        file.write_all(b"\n").map_err(failed)?;
        file.flush().map_err(failed)
    }
}

/// The event as one JSON object, without `at`.
fn describe(event: RunEvent<'_>) -> Value {
    match event {
        RunEvent::Environment(step) => json!({ "event": "environment", "step": step }),
        RunEvent::StageStarted {
            run,
            plan,
            report_dir,
        } => json!({
            "event": "stage-started",
            "format": EVENT_LOG_FORMAT,
            "run_id": run.id,
            "system": run.system,
            "release": run.release,
            "stage": run.stage,
            "environment": run.environment,
            "tier": plan.environment.tier.as_str(),
            "run_by": run.run_by,
            "suites": plan.suites.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            "report_dir": report_dir,
        }),
        RunEvent::VersionSeen { release } => json!({ "event": "version-seen", "release": release }),
        RunEvent::SuiteStarted { suite, kind } => {
            json!({ "event": "suite-started", "suite": suite, "kind": kind })
        }
        RunEvent::SuiteProgress { suite, tick } => json!({
            "event": "suite-progress",
            "suite": suite,
            "elapsed_s": tick.elapsed.as_secs_f64(),
            "planned_s": tick.planned.as_secs_f64(),
            "users": tick.users,
            "requests": tick.snapshot.requests,
            "errors": tick.snapshot.errors,
            "p95_ms": tick.snapshot.p95_ms,
        }),
        RunEvent::SuiteFinished { suite, outcome } => {
            json!({ "event": "suite-finished", "suite": suite, "outcome": outcome })
        }
        RunEvent::Interrupted {
            signal,
            stopping_load,
        } => json!({ "event": "interrupted", "signal": signal, "stopping_load": stopping_load }),
        RunEvent::CriterionJudged { result } => {
            json!({ "event": "criterion-judged", "result": result })
        }
        RunEvent::RunFinished { record, .. } => json!({
            "event": "run-finished",
            "run_id": record.run.id,
            "state": record.run.state,
            "outcome": record.verdict.outcome,
            "warnings": record.verdict.warnings,
            "stopped": record.stopped,
            "requests": record.measurements.requests,
            "errors": record.measurements.errors,
            "findings": record.findings.len(),
            "report_dir": record.report_dir,
        }),
        RunEvent::RunAborted { run, reason } => json!({
            "event": "run-aborted",
            "run_id": run.id,
            "state": run.state,
            "reason": reason,
        }),
    }
}

impl RunConsumer for EventLog {
    fn event(&self, event: RunEvent<'_>) -> Result<(), ConsumerError> {
        let mut line = describe(event);
        if let Value::Object(map) = &mut line {
            let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            map.insert("at".into(), Value::String(at));
        }
        self.write_line(&line)
    }
}
