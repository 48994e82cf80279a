//! The command line's one error type, [`CliError`], and its one mapping to the exit-code
//! table ([`crate::exit_code`]). Commands return it; `cli::main` prints it once.

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
    /// The rollout rules refused.
    #[error("error: {0}")]
    Refused(String),
    /// The run was stopped before it started anything (a signal while preparing).
    #[error("{0}")]
    Interrupted(String),
    /// stagegate could not do its job (I/O, ledger, engine, a bug).
    #[error("error: {0}")]
    Internal(String),
    /// Already printed where it was found, with its code from the table (helpers that
    /// still print their own errors).
    #[error("")]
    Reported(u8),
}

impl CliError {
    /// Bad input, said as one `error:` line.
    pub fn invalid(e: impl std::fmt::Display) -> CliError {
        CliError::Invalid {
            text: format!("error: {e}"),
        }
    }

    /// The code of the exit-code table.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Invalid { .. } => exit_code::INVALID_INPUT,
            CliError::Refused(_) => exit_code::REFUSED,
            CliError::Interrupted(_) => exit_code::ABORTED,
            CliError::Internal(_) => exit_code::INTERNAL,
            CliError::Reported(code) => *code,
        }
    }

    /// Prints the error on standard error; gives its exit code.
    pub fn report(&self) -> u8 {
        if let CliError::Reported(code) = self {
            return *code;
        }
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
            StageRunError::InterruptedBeforeRun { .. } => CliError::Interrupted(e.to_string()),
        }
    }
}
