//! The one table of exit codes. Every command maps its outcome to exactly one of these,
//! so a CI server can branch on them.
//!
//! | code | meaning                                                              |
//! |------|----------------------------------------------------------------------|
//! | 0    | ok: the stage passed, the approval was recorded, the ledger verified |
//! | 1    | gate failed, run aborted, ledger or evidence verification failed     |
//! | 2    | invalid input or usage: bad files, bad flags, plan breaks limits     |
//! | 3    | refused by the rollout rules: stage order, approvals, wrong release  |

use std::process::ExitCode;

/// Success: passed, recorded, verified.
pub const OK: u8 = 0;
/// A gate failed, a run was aborted, or a verification found a problem.
pub const FAILED: u8 = 1;
/// The input was invalid: files, flags, or a plan that breaks an environment's limits.
pub const INVALID_INPUT: u8 = 2;
/// The rollout rules refused the action (stage order, approvals, release mismatch).
pub const REFUSED: u8 = 3;

/// Converts one of the codes above into the process exit code.
pub fn to_exit_code(code: u8) -> ExitCode {
    ExitCode::from(code)
}
