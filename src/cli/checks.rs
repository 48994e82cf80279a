//! `stagegate checks`: the catalogue of built-in security checks, for writing suites.

use super::OutputFormat;
use crate::exit_code;
use crate::security::catalogue::{CheckInfo, Profile, CATALOGUE};
use clap::Args;
use serde::Serialize;

/// The shape identifier of `checks --output json`; bumped on any incompatible change.
pub const CHECKS_SCHEMA: &str = "stagegate.checks/v1";

/// `checks --output json`: the whole catalogue.
#[derive(Debug, Serialize)]
struct ChecksJson {
    /// Always [`CHECKS_SCHEMA`].
    schema: &'static str,
    /// Every built-in check, in catalogue order.
    checks: &'static [CheckInfo],
    /// The most requests `scan --profile passive` sends.
    passive_request_bound: u32,
}

#[derive(Debug, Args)]
pub struct ChecksArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

pub(super) fn run(args: ChecksArgs) -> Result<u8, super::CliError> {
    match args.output {
        OutputFormat::Json => super::print_json(&ChecksJson {
            schema: CHECKS_SCHEMA,
            checks: CATALOGUE,
            passive_request_bound: Profile::Passive.request_bound(),
        }),
        OutputFormat::Text => {
            println!("{:<30} {:<9} {:<16} name", "id", "severity", "where");
            for c in CATALOGUE {
                let place = match (c.production_safe, c.needs_accounts()) {
                    (true, _) => "production-safe",
                    (false, true) => "test, accounts",
                    (false, false) => "test only",
                };
                println!(
                    "{:<30} {:<9} {:<16} {}",
                    c.id,
                    c.severity.as_str(),
                    place,
                    c.name
                );
            }
            println!(
                "\n{} checks; `stagegate scan --profile passive` runs the {} production-safe ones with at most {} requests",
                CATALOGUE.len(),
                Profile::Passive.checks().len(),
                Profile::Passive.request_bound()
            );
            Ok(exit_code::OK)
        }
    }
}
