//! Takes a security suite and a target, gives [`SecurityOutcome`]: findings with
//! evidence and remediation, and which checks ran (a check that could not run is
//! recorded as such, so "nothing found" is never confused with "nothing ran").
//!
//! `catalogue` is the data of every built-in check; `checks/` implements them, one file
//! per family; `discovery` finds the pages behind the start page (redirects, a bounded
//! same-origin crawl) with `links` reading where a page points; `probe` runs declarative
//! probes; `scanner` sends requests within the suite's scope, request budget and safety
//! mode; `scope` matches out-of-scope patterns; `sarif` turns an outcome into SARIF 2.1.0.

pub mod catalogue;
mod checks;
mod discovery;
mod links;
mod outcome;
mod probe;
pub mod sarif;
mod scanner;
pub mod scope;

pub use outcome::{CheckRun, CheckStatus, Finding, SecurityOutcome};
pub use scanner::{default_user_agent, run_suite, run_suite_with, ScanOptions};
