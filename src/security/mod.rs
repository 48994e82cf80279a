//! Takes a security suite and a target, gives [`SecurityOutcome`]: findings with
//! evidence and remediation, and which checks ran (a check that could not run is
//! recorded as such, so "nothing found" is never confused with "nothing ran").
//!
//! `catalogue` is the data of every built-in check; `checks/` implements them, one file
//! per family; `probe` runs declarative probes; `scanner` sends requests within the
//! suite's scope, request budget and safety mode; `scope` matches out-of-scope patterns.

pub mod catalogue;
mod checks;
mod outcome;
mod probe;
mod scanner;
pub mod scope;

pub use outcome::{CheckRun, CheckStatus, Finding, SecurityOutcome};
pub use scanner::{run_suite, run_suite_with, ScanOptions};
