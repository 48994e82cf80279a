//! Takes the `--output` and `-o/--out FILE` of a command that reports, gives where its
//! result goes: text, or one JSON object (its shape named in `schema`), on standard
//! output or into a file — so a CI job can keep the result as an artifact while the log
//! shows the rest.

use super::{CliError, OutputFormat};
use clap::Args;
use serde::Serialize;
use std::path::PathBuf;

/// `--output` and `-o/--out`.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format: text, or one JSON object whose shape is named in its `schema` (see
    /// the README, "JSON output").
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
    /// Write the JSON result into FILE instead of standard output (with `--output json`).
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
}

impl OutputArgs {
    /// Whether JSON was asked for.
    pub fn json(&self) -> bool {
        self.output == OutputFormat::Json
    }

    /// Refuses `-o` without `--output json`, before the command does anything.
    pub fn check(&self) -> Result<(), CliError> {
        match (&self.out, self.output) {
            (Some(_), OutputFormat::Text) => Err(CliError::invalid(
                "`-o/--out FILE` writes the JSON result (hint: add `--output json`)",
            )),
            _ => Ok(()),
        }
    }

    /// Prints `value` as JSON on standard output, or writes it into `--out FILE`.
    pub fn emit<T: Serialize>(&self, value: &T) -> Result<(), CliError> {
        emit_json(value, self.out.as_deref())
    }
}

/// Prints `value` as JSON on standard output, or writes it into `out`.
pub fn emit_json<T: Serialize>(value: &T, out: Option<&std::path::Path>) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::Internal(format!("cannot write JSON: {e}")))?;
    match out {
        None => println!("{text}"),
        Some(path) => std::fs::write(path, format!("{text}\n"))
            .map_err(|e| CliError::Internal(format!("cannot write `{}`: {e}", path.display())))?,
    }
    Ok(())
}
