//! The terminal reporter for stage runs, a run consumer: a live line on a terminal,
//! plain periodic lines otherwise, all on standard error so standard output stays
//! machine-readable.

use crate::run::{
    AbortReason, ConsumerError, EnvironmentEvent, RunConsumer, RunEvent, SuiteOutcome,
};
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

/// How often a plain (non-terminal) progress line is written: often enough to show life
/// in a CI log, rare enough not to flood it.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

pub(super) struct TerminalProgress {
    tty: bool,
    last_plain: Mutex<Duration>,
}

impl TerminalProgress {
    pub(super) fn new() -> TerminalProgress {
        TerminalProgress {
            tty: std::io::stderr().is_terminal(),
            last_plain: Mutex::new(Duration::ZERO),
        }
    }

    fn progress(&self, err: &mut impl Write, suite: &str, tick: &crate::load::LoadTick) {
        let s = tick.snapshot;
        let secs = tick.elapsed.as_secs_f64().max(0.001);
        let left = tick.planned.saturating_sub(tick.elapsed).as_secs();
        let line = format!(
            "    {suite}: {:>3}s  {} users  {} requests  {:.1} req/s  {} errors  p95 {}  {}s left",
            tick.elapsed.as_secs(),
            tick.users,
            s.requests,
            s.requests as f64 / secs,
            s.errors,
            s.p95_ms.map_or("-".into(), |p| format!("{p:.1}ms")),
            left
        );
        if self.tty {
            let _ = write!(err, "\r\x1b[2K{line}");
            return;
        }
        let mut last = match self.last_plain.lock() {
            Ok(l) => l,
            Err(p) => p.into_inner(),
        };
        if tick.elapsed >= *last + PLAIN_EVERY {
            *last = tick.elapsed;
            let _ = writeln!(err, "{line}");
        }
    }
}

/// One line about a finished suite.
fn suite_line(outcome: &SuiteOutcome) -> String {
    match outcome {
        SuiteOutcome::Load {
            requests,
            failed,
            stopped,
        } => {
            let line = format!("{requests} requests, {failed} failed");
            match stopped {
                Some(reason) => format!("{line}; ABORTED: {reason}"),
                None => line,
            }
        }
        SuiteOutcome::LoadEngineFailed { error } => format!("load engine error: {error}"),
        SuiteOutcome::Security {
            checks,
            findings,
            could_not_run,
            requests,
        } => format!(
            "{checks} checks, {findings} findings, {could_not_run} could not run, {requests} requests"
        ),
        SuiteOutcome::SecurityInterrupted { signal } => {
            format!("interrupted by {signal}; its results are lost")
        }
    }
}

fn environment_line(step: &EnvironmentEvent) -> String {
    match step {
        EnvironmentEvent::OrphansRemoved { count } => {
            format!("  removed {count} container(s) left by an earlier run whose process died")
        }
        EnvironmentEvent::OrphanSweepFailed { error } => {
            format!("warning: cannot look for containers left by earlier runs: {error}")
        }
        EnvironmentEvent::ContainerStarting { image, environment } => {
            format!("  starting a container of `{image}` for environment `{environment}` ...")
        }
        EnvironmentEvent::ContainerReady { id, base_url } => {
            format!("  container {id} ready at {base_url}")
        }
        EnvironmentEvent::LogsKept { path } => format!("  container logs: {}", path.display()),
        EnvironmentEvent::LogsLost { error } => format!("warning: {error}"),
        EnvironmentEvent::ContainerRemoved { id } => format!("  container {id} removed"),
        EnvironmentEvent::RemovalFailed { error } => format!("error: {error}"),
    }
}

impl RunConsumer for TerminalProgress {
    fn event(&self, event: RunEvent<'_>) -> Result<(), ConsumerError> {
        let mut err = std::io::stderr().lock();
        let _ = match event {
            RunEvent::Environment(step) => writeln!(err, "{}", environment_line(step)),
            RunEvent::StageStarted { run, .. } => writeln!(
                err,
                "run #{} of {} {} stage `{}` on `{}` by {}",
                run.id, run.system, run.release, run.stage, run.environment, run.run_by
            ),
            RunEvent::VersionSeen { release } => {
                writeln!(err, "  environment serves release {release}")
            }
            RunEvent::SuiteStarted { suite, kind } => writeln!(err, "  suite {suite} ({kind}) ..."),
            RunEvent::SuiteProgress { suite, tick } => {
                self.progress(&mut err, suite, tick);
                Ok(())
            }
            RunEvent::SuiteFinished { suite, outcome } => {
                if self.tty {
                    let _ = write!(err, "\r\x1b[2K");
                }
                writeln!(err, "  suite {suite}: {}", suite_line(outcome))
            }
            RunEvent::Interrupted {
                signal,
                stopping_load,
            } => {
                if self.tty {
                    let _ = write!(err, "\r\x1b[2K");
                }
                let what = if stopping_load {
                    "the load"
                } else {
                    "the stage"
                };
                writeln!(err, "  {signal}: stopping {what} ...")
            }
            RunEvent::RunFinished { record, .. } => match &record.stopped {
                Some(reason @ AbortReason::Interrupted { .. }) => writeln!(
                    err,
                    "run #{} {reason}: recorded as aborted with what was measured",
                    record.run.id
                ),
                _ => Ok(()),
            },
            RunEvent::CriterionJudged { .. } | RunEvent::RunAborted { .. } => Ok(()),
        };
        Ok(())
    }
}
