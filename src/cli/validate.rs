//! `stagegate validate`: load every file and report every mistake, as text (like just's
//! errors) or, with `--output json`, as one `stagegate.validate/v1` object for CI and
//! editors.

use crate::config::{diagnostic::Diagnostic, LoadError, Project};
use crate::exit_code;
use crate::report::command_words::{self, CommandWords};
use clap::Args;
use serde_json::json;
use std::path::Path;

/// Version of the JSON shape; bumped when a field changes meaning or goes away.
const SCHEMA: &str = "stagegate.validate/v1";

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub out: super::output_args::OutputArgs,
}

pub(super) fn run(root: &Path, args: ValidateArgs) -> Result<u8, super::CliError> {
    args.out.check()?;
    if !args.out.json() {
        let project = super::project(root)?;
        let w = super::ui::words().cli.commands;
        let (environments, systems, suites) = counts(&project);
        for note in coverage_notes(&project, w) {
            println!("{note}");
        }
        println!("{}", (w.validate_ok)(environments, systems, suites));
        return Ok(exit_code::OK);
    }
    let (value, code) = match crate::config::load(root) {
        Ok(project) => {
            let (environments, systems, suites) = counts(&project);
            let value = json!({
                "schema": SCHEMA, "ok": true, "environments": environments,
                "systems": systems, "suites": suites, "errors": [],
                // In English whatever `--lang`: JSON is read by programs.
                "notes": coverage_notes(&project, &command_words::EN),
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
    // Written even when the files are invalid: the object is the report of what is wrong.
    args.out.emit(&value)?;
    Ok(code)
}

/// What the gates leave unread or judge only through security findings (warnings and
/// notes, not errors), one line each in `w`'s language.
fn coverage_notes(project: &Project, w: &CommandWords) -> Vec<String> {
    let mut notes = Vec::new();
    for system in project.systems.values() {
        let name = &system.rollout.system;
        for (stage, spec) in &system.rollout.stages {
            let stage = stage.as_str();
            let ran = spec.suites.iter().filter_map(|n| system.suites.get(n));
            for suite in crate::gate::coverage::unread_suites(&spec.gate, ran) {
                notes.push((w.validate_unread)(name, stage, &(w.unread_suite)(suite)));
            }
            let ran = spec.suites.iter().filter_map(|n| system.suites.get(n));
            for metric in crate::gate::coverage::implied_by_security(&spec.gate, ran) {
                notes.push((w.validate_implied)(
                    name,
                    stage,
                    &(w.implied)(metric.as_str()),
                ));
            }
        }
    }
    notes
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
