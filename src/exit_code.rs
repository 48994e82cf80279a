//! The one table of exit codes. Every command maps its outcome to exactly one of these
//! (the command line's errors through `cli::CliError`), so a CI server can branch on
//! them. The README's "Exit codes" section is this table.
//!
//! | code | meaning                                                                     |
//! |------|-----------------------------------------------------------------------------|
//! | 0    | ok: the stage passed, the approval was recorded, the ledger verified        |
//! | 1    | failed: a gate failed, a verification found a problem, a scan found one     |
//! | 2    | invalid input or usage: bad files, bad flags, a plan that breaks limits     |
//! | 3    | refused by the rollout rules: stage order, approvals, wrong release         |
//! | 4    | aborted or interrupted: an abort criterion stopped traffic, or a signal     |
//! | 5    | internal or tool error: I/O, the ledger or the engine failed, a bug         |

use std::process::ExitCode;

/// Success: passed, recorded, verified.
pub const OK: u8 = 0;
/// A gate failed, or a verification or scan found a problem.
pub const FAILED: u8 = 1;
/// The input was invalid: files, flags, or a plan that breaks an environment's limits.
pub const INVALID_INPUT: u8 = 2;
/// The rollout rules refused the action (stage order, approvals, release mismatch).
pub const REFUSED: u8 = 3;
/// The run was stopped before its end: an abort criterion, SIGINT or SIGTERM.
pub const ABORTED: u8 = 4;
/// stagegate itself could not do its job: I/O, the ledger, the container engine, a bug.
pub const INTERNAL: u8 = 5;

/// Converts one of the codes above into the process exit code.
pub fn to_exit_code(code: u8) -> ExitCode {
    ExitCode::from(code)
}
