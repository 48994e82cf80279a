//! The command line's one error type, [`CliError`], and its one mapping to the exit-code
//! table ([`crate::exit_code`]). Commands return it; `cli::dispatch` prints it once.

use crate::exit_code;
use crate::ledger::LedgerError;
use crate::plan::{PlanRefused, TargetError};
use crate::provision::ProvisionError;
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
            CliError::Refused(t) => CliError::Refused(add(t)),
            CliError::Interrupted(t) => CliError::Interrupted(add(t)),
            CliError::Internal(t) => CliError::Internal(add(t)),
        }
    }

    /// The code of the exit-code table.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Failed(_) => exit_code::FAILED,
            CliError::Invalid { .. } => exit_code::INVALID_INPUT,
            CliError::Refused(_) => exit_code::REFUSED,
            CliError::Interrupted(_) => exit_code::ABORTED,
            CliError::Internal(_) => exit_code::INTERNAL,
        }
    }

    /// Prints the error on standard error; gives its exit code.
    pub fn report(&self) -> u8 {
        super::ui::eprint_message(&self.to_string());
        self.exit_code()
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
    fn an_added_hint_keeps_the_kind_and_goes_under_the_message() {
        let e = CliError::Refused("key refused".into()).with_line("  (hint: h)");
        assert_eq!(e.exit_code(), exit_code::REFUSED);
        assert_eq!(e.to_string(), "error: key refused\n  (hint: h)");
        assert_eq!(CliError::invalid("bad").to_string(), "error: bad");
        assert_eq!(CliError::invalid_as_is("as is").to_string(), "as is");
    }
}
