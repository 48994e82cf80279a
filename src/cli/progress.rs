//! The terminal reporter for stage runs, a run consumer, all on standard error so
//! standard output stays machine-readable.
//!
//! On a terminal a load suite is an indicatif bar and a security suite a spinner, each
//! redrawn in place on one line cut to the terminal's width (so nothing wraps at 80
//! columns and no stale line is left); other lines are printed above them. Elsewhere
//! (a CI log, a pipe) it prints plain lines every few seconds. `--quiet` keeps only
//! warnings and errors; `-v` adds each criterion as it is judged.

use super::ui;
use crate::gate::CriterionStatus;
use crate::report::cli_words::CliWords;
use crate::report::i18n::Messages;
use crate::run::{
    AbortReason, ConsumerError, EnvironmentEvent, RunConsumer, RunEvent, SuiteKind, SuiteOutcome,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::mpsc;
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Duration;

/// How often a plain (non-terminal) progress line is written: often enough to show life
/// in a CI log, rare enough not to flood it.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// How often the security spinner turns: its only news is that time passes.
const SPIN_EVERY: Duration = Duration::from_millis(120);

/// Where the live line is drawn.
enum Live {
    /// A terminal (or a test's in-memory one): bars and spinners.
    Bars(fn() -> ProgressDrawTarget),
    /// Not a terminal: plain lines every [`PLAIN_EVERY`].
    Plain,
    /// `--quiet`: nothing.
    Off,
}

/// A security suite's plain "still running" lines, written by a thread of its own
/// because a security suite emits no event until it ends.
struct Ticker {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

pub(super) struct TerminalProgress {
    live: Live,
    /// The report catalogue: a judged criterion's reason is said as the reports say it.
    messages: &'static Messages,
    words: &'static CliWords,
    bar: Mutex<Option<ProgressBar>>,
    ticker: Mutex<Option<Ticker>>,
    last_plain: Mutex<Duration>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl TerminalProgress {
    /// Bars on a terminal, plain lines elsewhere, nothing with `--quiet`.
    pub(super) fn new() -> TerminalProgress {
        let live = if !ui::chatty() {
            Live::Off
        } else if std::io::stderr().is_terminal() {
            Live::Bars(ProgressDrawTarget::stderr)
        } else {
            Live::Plain
        };
        TerminalProgress::with(live, ui::words())
    }

    fn with(live: Live, messages: &'static Messages) -> TerminalProgress {
        TerminalProgress {
            live,
            messages,
            words: messages.cli,
            bar: Mutex::new(None),
            ticker: Mutex::new(None),
            last_plain: Mutex::new(Duration::ZERO),
        }
    }

    /// Prints a line above the live one (or as it is, without one).
    fn line(&self, text: &str) {
        let bar = lock(&self.bar);
        match bar.as_ref() {
            Some(bar) => bar.suspend(|| ui::eprint_message(text)),
            None => ui::eprint_message(text),
        }
    }

    /// An informational line: not with `--quiet`.
    fn info(&self, text: &str) {
        if !matches!(self.live, Live::Off) {
            self.line(text);
        }
    }

    /// Clears the live line, if any: before a summary, so nothing is glued to it.
    pub(super) fn clear(&self) {
        if let Some(bar) = lock(&self.bar).take() {
            bar.finish_and_clear();
        }
        if let Some(ticker) = lock(&self.ticker).take() {
            drop(ticker.stop);
            let _ = ticker.thread.join();
        }
    }

    fn progress(&self, suite: &str, tick: &crate::load::LoadTick) {
        let s = tick.snapshot;
        let secs = tick.elapsed.as_secs_f64().max(0.001);
        let text = (self.words.progress)(
            tick.elapsed.as_secs(),
            tick.users,
            s.requests,
            s.requests as f64 / secs,
            s.errors,
            &s.p95_ms.map_or("-".into(), |p| format!("{p:.1}ms")),
            tick.planned.saturating_sub(tick.elapsed).as_secs(),
        );
        match self.live {
            Live::Off => {}
            Live::Bars(target) => {
                let mut bar = lock(&self.bar);
                let bar = bar.get_or_insert_with(|| {
                    new_bar(
                        target(),
                        Some(tick.planned.as_secs().max(1)),
                        "    {prefix} {bar:16.cyan/blue} {wide_msg}",
                        suite,
                    )
                });
                bar.set_length(tick.planned.as_secs().max(1));
                bar.set_position(tick.elapsed.as_secs());
                bar.set_message(text);
            }
            Live::Plain => {
                let mut last = lock(&self.last_plain);
                if tick.elapsed >= *last + PLAIN_EVERY {
                    *last = tick.elapsed;
                    ui::eprint_message(&format!("    {suite}: {text}"));
                }
            }
        }
    }

    fn security_started(&self, suite: &str) {
        let running = self.words.security_running;
        match self.live {
            Live::Off => {}
            Live::Bars(target) => {
                let bar = new_bar(
                    target(),
                    None,
                    "    {prefix} {spinner} {elapsed:>4}  {wide_msg}",
                    suite,
                );
                bar.set_message(running);
                bar.enable_steady_tick(SPIN_EVERY);
                *lock(&self.bar) = Some(bar);
            }
            Live::Plain => {
                let (stop, rx) = mpsc::channel::<()>();
                let suite = suite.to_string();
                let thread = std::thread::spawn(move || {
                    let started = std::time::Instant::now();
                    while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(PLAIN_EVERY) {
                        let secs = started.elapsed().as_secs();
                        ui::eprint_message(&format!("    {suite}: {secs:>3}s  {running}"));
                    }
                });
                *lock(&self.ticker) = Some(Ticker { stop, thread });
            }
        }
    }

    /// One line about a finished suite.
    fn suite_line(&self, outcome: &SuiteOutcome) -> String {
        let w = self.words;
        match outcome {
            SuiteOutcome::Load {
                requests,
                failed,
                stopped,
            } => {
                let line = (w.load_outcome)(*requests, *failed);
                match stopped {
                    Some(reason) => {
                        format!("{line}; {}: {reason}", ui::paint(ui::tone::BAD, w.aborted))
                    }
                    None => line,
                }
            }
            SuiteOutcome::LoadEngineFailed { error } => {
                format!("{}: {error}", ui::paint(ui::tone::BAD, w.engine_failed))
            }
            SuiteOutcome::Security {
                checks,
                findings,
                could_not_run,
                requests,
            } => (w.security_outcome)(*checks, *findings, *could_not_run, *requests),
            SuiteOutcome::SecurityInterrupted { signal } => {
                (w.security_interrupted)(&signal.to_string())
            }
        }
    }
}

fn new_bar(
    target: ProgressDrawTarget,
    len: Option<u64>,
    template: &str,
    suite: &str,
) -> ProgressBar {
    let style = ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    ProgressBar::with_draw_target(len, target)
        .with_style(style)
        .with_prefix(suite.to_string())
}

/// Whether a container step is a warning or an error, shown even with `--quiet`.
fn is_problem(step: &EnvironmentEvent) -> bool {
    matches!(
        step,
        EnvironmentEvent::OrphanSweepFailed { .. }
            | EnvironmentEvent::LogsLost { .. }
            | EnvironmentEvent::RemovalFailed { .. }
    )
}

impl RunConsumer for TerminalProgress {
    fn event(&self, event: RunEvent<'_>) -> Result<(), ConsumerError> {
        let w = self.words;
        match event {
            RunEvent::Environment(step) if is_problem(step) => {
                self.line(&(w.environment_step)(step))
            }
            RunEvent::Environment(step) => self.info(&(w.environment_step)(step)),
            RunEvent::StageStarted { run, .. } => self.info(&(w.run_started)(
                run.id,
                &run.system,
                &run.release,
                run.stage.as_str(),
                &run.environment,
                &run.run_by,
            )),
            RunEvent::VersionSeen { release } => self.info(&(w.version_seen)(release)),
            RunEvent::SuiteStarted { suite, kind } => {
                self.info(&(w.suite_started)(suite, &kind.to_string()));
                if kind == SuiteKind::Security {
                    self.security_started(suite);
                }
            }
            RunEvent::SuiteProgress { suite, tick } => self.progress(suite, tick),
            RunEvent::SuiteFinished { suite, outcome } => {
                self.clear();
                self.info(&(w.suite_finished)(suite, &self.suite_line(outcome)));
            }
            RunEvent::Interrupted {
                signal,
                stopping_load,
            } => {
                self.clear();
                self.line(&(w.stopping)(&signal.to_string(), stopping_load));
            }
            RunEvent::CriterionJudged { result } if ui::verbose() => {
                let (style, word) = match result.status {
                    CriterionStatus::Pass => (ui::tone::GOOD, w.table_status[0]),
                    CriterionStatus::Warn => (ui::tone::WARN, w.table_status[1]),
                    CriterionStatus::Fail => (ui::tone::BAD, w.table_status[2]),
                };
                self.line(&format!(
                    "  {} {}: {} ({})",
                    ui::paint(style, word),
                    (self.messages.criterion)(result),
                    result.shown,
                    (self.messages.reason)(result)
                ));
            }
            RunEvent::RunFinished { record, .. } => {
                self.clear();
                if let Some(reason @ AbortReason::Interrupted { .. }) = &record.stopped {
                    self.line(&(w.recorded_aborted)(record.run.id, &reason.to_string()));
                }
            }
            RunEvent::CriterionJudged { .. } | RunEvent::RunAborted { .. } => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::LoadTick;
    use crate::measure::recorder::LiveSnapshot as Snapshot;
    use indicatif::InMemoryTerm;
    use std::sync::OnceLock;

    static TERM: OnceLock<InMemoryTerm> = OnceLock::new();

    fn term() -> InMemoryTerm {
        TERM.get_or_init(|| InMemoryTerm::new(12, 80)).clone()
    }

    fn target() -> ProgressDrawTarget {
        ProgressDrawTarget::term_like_with_hz(Box::new(term()), 100)
    }

    fn tick(elapsed: u64) -> LoadTick {
        LoadTick {
            elapsed: Duration::from_secs(elapsed),
            planned: Duration::from_secs(30),
            users: 1000,
            snapshot: Snapshot {
                requests: 123_456_789,
                errors: 12_345,
                p95_ms: Some(1234.5),
                ..Snapshot::default()
            },
        }
    }

    #[test]
    fn issue_15_the_live_line_is_redrawn_in_place_within_80_columns() {
        let progress = TerminalProgress::with(Live::Bars(target), &crate::report::i18n::EN);
        for second in 0..6 {
            progress.progress("a-rather-long-suite-name", &tick(second));
            if let Some(bar) = lock(&progress.bar).as_ref() {
                bar.force_draw();
            }
        }
        let screen = term().contents();
        let lines: Vec<&str> = screen.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "one live line, no stale ones: {screen:?}");
        assert!(lines[0].chars().count() <= 80, "{:?}", lines[0]);
        assert!(
            lines[0].contains("  5s  1000 users"),
            "the latest tick is shown: {:?}",
            lines[0]
        );
        progress.clear();
        let screen = term().contents();
        assert!(
            screen.trim().is_empty(),
            "cleared before a summary: {screen:?}"
        );
    }

    #[test]
    fn issue_15_a_security_suite_shows_a_spinner_that_is_cleared_when_it_ends() {
        let term = InMemoryTerm::new(12, 80);
        static SECOND: OnceLock<InMemoryTerm> = OnceLock::new();
        let term = SECOND.get_or_init(|| term).clone();
        fn second() -> ProgressDrawTarget {
            let term = SECOND.get().expect("set").clone();
            ProgressDrawTarget::term_like_with_hz(Box::new(term), 100)
        }
        let progress = TerminalProgress::with(Live::Bars(second), &crate::report::i18n::VI);
        progress.security_started("kiem-tra-bao-mat");
        std::thread::sleep(SPIN_EVERY * 3);
        let screen = term.contents();
        assert!(
            screen.contains("kiem-tra-bao-mat")
                && screen.contains("đang chạy các kiểm tra bảo mật"),
            "{screen:?}"
        );
        assert_eq!(
            screen.lines().filter(|l| !l.trim().is_empty()).count(),
            1,
            "{screen:?}"
        );
        progress.clear();
        assert!(term.contents().trim().is_empty(), "{:?}", term.contents());
    }
}
