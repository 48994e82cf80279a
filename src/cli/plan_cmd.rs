//! `stagegate plan`: show what each stage would run, refuse plans that break limits.

use super::OutputFormat;
use crate::exit_code;
use crate::plan::{self, Plan};
use crate::report::command_words::CommandWords;
use crate::stage::StageId;
use clap::Args;
use serde::Serialize;
use std::path::Path;

/// The shape identifier of `plan --output json`; bumped on any incompatible change.
pub const PLAN_SCHEMA: &str = "stagegate.plan/v1";

/// `plan --output json`: the plan of each stage asked for.
#[derive(Debug, Serialize)]
struct PlanJson<'a> {
    /// Always [`PLAN_SCHEMA`].
    schema: &'static str,
    system: &'a str,
    release: &'a str,
    /// One plan per stage asked for (`--stage`, or all four in rollout order).
    stages: &'a [Plan],
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// System (a folder under `scenarios/`).
    pub system: String,
    /// Release to plan.
    #[arg(long)]
    pub release: String,
    /// Only this stage [default: all four].
    #[arg(long)]
    pub stage: Option<StageId>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

pub(super) fn run(root: &Path, args: PlanArgs) -> Result<u8, super::CliError> {
    let project = super::project(root)?;
    let stages: Vec<StageId> = match args.stage {
        Some(s) => vec![s],
        None => StageId::ALL.to_vec(),
    };
    let mut plans = Vec::new();
    let mut refusals = Vec::new();
    for stage in stages {
        match plan::build(
            &project,
            &args.system,
            &args.release,
            stage,
            plan::LoadProcesses::One,
        ) {
            Ok(p) => plans.push(p),
            Err(e) => refusals.push(format!("stage {} `{stage}`: {e}", stage.number())),
        }
    }
    if !refusals.is_empty() {
        return Err(super::CliError::invalid_as_is(refusals.join("\n")));
    }
    match args.output {
        OutputFormat::Json => super::print_json(&PlanJson {
            schema: PLAN_SCHEMA,
            system: &args.system,
            release: &args.release,
            stages: &plans,
        }),
        OutputFormat::Text => {
            for p in &plans {
                print_plan(p, super::ui::words().cli.commands);
            }
            Ok(exit_code::OK)
        }
    }
}

fn print_plan(p: &Plan, w: &CommandWords) {
    let [environment, limits, suite, traffic, gate, accepted, warning, abort, approval] =
        w.plan_labels;
    // Labels are padded to the longest of the language, so the values line up.
    let width = 1 + w
        .plan_labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0);
    let line = |label: &str, text: &str| println!("  {label:<width$} {text}");
    println!(
        "{}",
        (w.plan_heading)(
            p.stage.number(),
            p.stage.as_str(),
            (w.stage_title)(p.stage),
            &p.system,
            &p.release
        )
    );
    line(
        environment,
        &(w.plan_environment)(
            &p.environment.name,
            (w.tier)(p.environment.tier.as_str()),
            &p.environment.reach.to_string(),
        ),
    );
    let l = &p.environment.limits;
    let forbidden: Vec<&str> = l.forbidden_tags.iter().map(String::as_str).collect();
    line(
        limits,
        &(w.plan_limits)(l.max_users, l.max_rps, &forbidden.join(", ")),
    );
    for s in &p.suites {
        let tags: Vec<&str> = s.tags.iter().map(String::as_str).collect();
        line(
            suite,
            &format!(
                "{} ({}) [{}]",
                s.name,
                (w.suite_kind)(s.kind()),
                tags.join(", ")
            ),
        );
    }
    for write in &p.production_writes {
        println!(
            "  {}",
            (w.plan_production_write)(&write.suite, &write.reason)
        );
    }
    let t = &p.traffic;
    line(
        traffic,
        &(w.plan_traffic)(t.users, t.ramp_up, t.duration, t.max_rps),
    );
    for c in &p.gate.criteria {
        line(gate, &c.to_string());
    }
    for metric in crate::gate::coverage::implied_by_security(&p.gate, &p.suites) {
        line(gate, &(w.implied)(metric.as_str()));
    }
    let today = chrono::Utc::now().date_naive();
    for a in &p.gate.acceptances {
        line(accepted, &(w.acceptance)(a, !a.applies_on(today)));
    }
    for name in crate::gate::coverage::unread_suites(&p.gate, &p.suites) {
        line(warning, &(w.unread_suite)(name));
    }
    for a in &p.abort {
        line(abort, &(w.plan_abort)(&a.to_string()));
    }
    line(
        approval,
        &(w.plan_approval)(p.approval.approvers, p.approval.allow_self_approval),
    );
    println!();
}
