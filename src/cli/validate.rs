//! `stagegate validate`: load every file and report every mistake, as text (like just's
//! errors) or, with `--output json`, as one `stagegate.validate/v1` object for CI and
//! editors.

use super::OutputFormat;
use crate::config::{diagnostic::Diagnostic, LoadError, Project};
use crate::exit_code;
use clap::Args;
use serde_json::json;
use std::path::Path;

/// Version of the JSON shape; bumped when a field changes meaning or goes away.
const SCHEMA: &str = "stagegate.validate/v1";

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Output format: text on standard error, or one JSON object on standard output.
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

pub(super) fn run(root: &Path, args: ValidateArgs) -> u8 {
    if args.output == OutputFormat::Text {
        return match super::load_project(root) {
            Ok(project) => {
                let (environments, systems, suites) = counts(&project);
                println!(
                    "ok: {environments} environment(s), {systems} system(s), {suites} suite(s) valid"
                );
                exit_code::OK
            }
            Err(code) => code,
        };
    }
    let (value, code) = match crate::config::load(root) {
        Ok(project) => {
            let (environments, systems, suites) = counts(&project);
            let value = json!({
                "schema": SCHEMA, "ok": true, "environments": environments,
                "systems": systems, "suites": suites, "errors": [],
            });
            (value, exit_code::OK)
        }
        Err(LoadError::Invalid(diagnostics)) => {
            let errors: Vec<_> = diagnostics.0.iter().map(diagnostic_json).collect();
            let value = json!({ "schema": SCHEMA, "ok": false, "errors": errors });
            (value, exit_code::INVALID_INPUT)
        }
        Err(e) => {
            let value = json!({
                "schema": SCHEMA, "ok": false,
                "errors": [{ "path": root, "message": e.to_string() }],
            });
            (value, exit_code::INVALID_INPUT)
        }
    };
    match super::print_json(&value) {
        exit_code::OK => code,
        failed => failed,
    }
}

fn counts(project: &Project) -> (usize, usize, usize) {
    let suites = project.systems.values().map(|s| s.suites.len()).sum();
    (project.environments.len(), project.systems.len(), suites)
}

fn diagnostic_json(d: &Diagnostic) -> serde_json::Value {
    json!({
        "path": d.path, "line": d.line, "column": d.column, "width": d.width,
        "message": d.message, "expected": d.expected,
    })
}
