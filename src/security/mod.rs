//! Takes a security suite and a target, gives [`SecurityOutcome`]: findings with
//! evidence and remediation, and which checks ran (a check that could not run is
//! recorded as such, so "nothing found" is never confused with "nothing ran").

pub mod catalogue;
pub mod scanner;

pub use scanner::{run_suite, CheckRun, CheckStatus, Finding, SecurityOutcome};
