//! The command line's one error type, [`CliError`], and its one mapping to the exit-code
//! table ([`crate::exit_code`]). Commands return it; `cli::dispatch` prints it once.

use crate::config::diagnostic::Diagnostics;
use crate::config::LoadError;
use crate::exit_code;
use crate::ledger::LedgerError;
use crate::plan::{PlanRefused, TargetError};
use crate::provision::ProvisionError;
use crate::report::command_words::{self, ErrorWords};
use crate::run::StageRunError;

/// Why a command could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad files, flags or plan; `text` is printed as it is (diagnostics carry their own
    /// `error:` lines and carets).
    #[error("{text}")]
    Invalid {
        /// What to print.
        text: String,
    },
    /// Mistakes in the project's files, each at its `file:line:column` with carets;
    /// kept typed so that their framing is said in the reader's language.
    #[error("{0}")]
    Files(Diagnostics),
    /// A check found a problem it can name in one `error:` line (a source ledger that
    /// does not verify, a roster that was never pinned, a security check that could not
    /// run).
    #[error("error: {0}")]
    Failed(String),
    /// The rollout rules refused.
    #[error("error: {0}")]
    Refused(String),
    /// The run was stopped before it started anything (a signal while preparing).
    #[error("{0}")]
    Interrupted(String),
    /// stagegate could not do its job (I/O, ledger, engine, a bug).
    #[error("error: {0}")]
    Internal(String),
}

impl CliError {
    /// Bad input, said as one `error:` line.
    pub fn invalid(e: impl std::fmt::Display) -> CliError {
        CliError::Invalid {
            text: format!("error: {e}"),
        }
    }

    /// Bad input whose text is already complete (diagnostics with their own `error:`
    /// lines, carets and hints).
    pub fn invalid_as_is(text: impl Into<String>) -> CliError {
        CliError::Invalid { text: text.into() }
    }

    /// The same error with one more line under it (a hint that depends on the command).
    pub fn with_line(self, line: &str) -> CliError {
        let add = |text: String| format!("{text}\n{line}");
        match self {
            CliError::Failed(t) => CliError::Failed(add(t)),
            CliError::Invalid { text } => CliError::Invalid { text: add(text) },
            CliError::Files(d) => CliError::Invalid {
                text: add(d.to_string()),
            },
            CliError::Refused(t) => CliError::Refused(add(t)),
            CliError::Interrupted(t) => CliError::Interrupted(add(t)),
            CliError::Internal(t) => CliError::Internal(add(t)),
        }
    }

    /// The code of the exit-code table.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Failed(_) => exit_code::FAILED,
            CliError::Invalid { .. } | CliError::Files(_) => exit_code::INVALID_INPUT,
            CliError::Refused(_) => exit_code::REFUSED,
            CliError::Interrupted(_) => exit_code::ABORTED,
            CliError::Internal(_) => exit_code::INTERNAL,
        }
    }

    /// Prints the error on standard error, framed in the chosen language; gives its exit
    /// code.
    pub fn report(&self) -> u8 {
        super::ui::eprint_message(&self.render(&super::ui::words().cli.commands.errors));
        self.exit_code()
    }

    /// The error framed by `words`: its `error:` (or, in a language that says so, which
    /// kind of error it is), `warning:` and `(hint:`; the detail stays as it was made.
    /// With the English words this is exactly its `Display`.
    pub fn render(&self, words: &ErrorWords) -> String {
        match self {
            CliError::Files(diagnostics) => diagnostics.render(&words.diagnostic),
            CliError::Invalid { text } | CliError::Interrupted(text) => reframe(text, words),
            CliError::Failed(t) => reframe(&format!("{} {t}", words.error), words),
            CliError::Refused(t) => reframe(&format!("{} {t}", words.refused), words),
            CliError::Internal(t) => reframe(&format!("{} {t}", words.internal), words),
        }
    }
}

/// Puts `words`' framing where the English one is: a line that starts (after its
/// indent) with `error:` or `warning:`, and every `(hint:`. The messages are made in
/// English by the modules below the command line, which know no language.
fn reframe(text: &str, words: &ErrorWords) -> String {
    let english = &command_words::EN.errors;
    text.split('\n')
        .map(|line| {
            let trimmed = line.trim_start();
            let indent = &line[..line.len() - trimmed.len()];
            let line = [
                (english.error, words.error),
                (english.warning, words.warning),
            ]
            .into_iter()
            .find_map(|(from, to)| {
                trimmed
                    .strip_prefix(from)
                    .map(|rest| format!("{indent}{to}{rest}"))
            })
            .unwrap_or_else(|| line.to_string());
            line.replace(english.hint, words.hint)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

impl From<LoadError> for CliError {
    fn from(e: LoadError) -> CliError {
        match e {
            LoadError::Invalid(diagnostics) => CliError::Files(diagnostics),
            other => CliError::invalid_as_is(other.to_string()),
        }
    }
}

impl From<LedgerError> for CliError {
    fn from(e: LedgerError) -> CliError {
        match e {
            LedgerError::Refused(_) => CliError::Refused(e.to_string()),
            other => CliError::Internal(other.to_string()),
        }
    }
}

impl From<PlanRefused> for CliError {
    fn from(e: PlanRefused) -> CliError {
        CliError::Invalid {
            text: format!("error: {e}"),
        }
    }
}

impl From<StageRunError> for CliError {
    fn from(e: StageRunError) -> CliError {
        match e {
            StageRunError::Target(TargetError::MissingSecret(_)) => CliError::invalid(e),
            StageRunError::Target(TargetError::NotStarted(_)) => CliError::Internal(e.to_string()),
            StageRunError::Ledger(l) => l.into(),
            StageRunError::WrongRelease { .. } => CliError::Refused(e.to_string()),
            StageRunError::Environment {
                source:
                    ProvisionError::EngineUnreachable { .. } | ProvisionError::ImageMissing { .. },
                ..
            } => CliError::invalid(e),
            StageRunError::Environment { .. } | StageRunError::FilesNotKept { .. } => {
                CliError::Internal(e.to_string())
            }
            StageRunError::InterruptedBeforeRun { .. }
            | StageRunError::InterruptedContainerLeft { .. } => {
                CliError::Interrupted(e.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_error_has_its_code_of_the_table() {
        assert_eq!(CliError::Failed("x".into()).exit_code(), exit_code::FAILED);
        assert_eq!(CliError::invalid("x").exit_code(), exit_code::INVALID_INPUT);
        assert_eq!(
            CliError::Refused("x".into()).exit_code(),
            exit_code::REFUSED
        );
        assert_eq!(
            CliError::Interrupted("x".into()).exit_code(),
            exit_code::ABORTED
        );
        assert_eq!(
            CliError::Internal("x".into()).exit_code(),
            exit_code::INTERNAL
        );
    }

    #[test]
    fn issue_15_errors_are_framed_in_vietnamese_and_english_stays_as_displayed() {
        let errors = [
            CliError::Failed("check could not run: a\nerror: check could not run: b".into()),
            CliError::invalid("no ledger at `x` (hint: pass --root DIR)"),
            CliError::Refused("stage `real-test` needs `trial-test` promoted first".into()),
            CliError::Internal("cannot write `r.html`: disk full".into()),
            CliError::invalid_as_is("warning: w\nerror: bad"),
        ];
        for e in &errors {
            assert_eq!(e.render(&command_words::EN.errors), e.to_string());
        }
        let vi: Vec<String> = errors
            .iter()
            .map(|e| e.render(&command_words::VI.errors))
            .collect();
        assert_eq!(
            vi,
            [
                "lỗi: check could not run: a\nlỗi: check could not run: b",
                "lỗi: no ledger at `x` (gợi ý: pass --root DIR)",
                "bị từ chối: stage `real-test` needs `trial-test` promoted first",
                "lỗi nội bộ: cannot write `r.html`: disk full",
                "cảnh báo: w\nlỗi: bad",
            ]
        );
    }

    #[test]
    fn an_added_hint_keeps_the_kind_and_goes_under_the_message() {
        let e = CliError::Refused("key refused".into()).with_line("  (hint: h)");
        assert_eq!(e.exit_code(), exit_code::REFUSED);
        assert_eq!(e.to_string(), "error: key refused\n  (hint: h)");
        assert_eq!(CliError::invalid("bad").to_string(), "error: bad");
        assert_eq!(CliError::invalid_as_is("as is").to_string(), "as is");
    }
}
