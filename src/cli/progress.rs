//! The terminal reporter for stage runs: a live line on a terminal, plain periodic lines
//! otherwise, all on standard error so standard output stays machine-readable.

use crate::stage_run::{EventSink, RunEvent};
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
}

impl EventSink for TerminalProgress {
    fn event(&self, event: RunEvent<'_>) {
        let mut err = std::io::stderr().lock();
        match event {
            RunEvent::Started { run } => {
                let _ = writeln!(
                    err,
                    "run #{} of {} {} stage `{}` on `{}` by {}",
                    run.id, run.system, run.release, run.stage, run.environment, run.run_by
                );
            }
            RunEvent::VersionChecked { seen } => {
                let _ = writeln!(err, "  environment serves release {seen}");
            }
            RunEvent::SuiteStarted { suite, kind } => {
                let _ = writeln!(err, "  suite {suite} ({kind}) ...");
            }
            RunEvent::LoadProgress { suite, tick } => {
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
                } else {
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
            RunEvent::SuiteFinished { suite, summary } => {
                if self.tty {
                    let _ = write!(err, "\r\x1b[2K");
                }
                let _ = writeln!(err, "  suite {suite}: {summary}");
            }
            RunEvent::Finished { .. } => {}
        }
    }
}
