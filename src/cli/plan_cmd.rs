//! `stagegate plan`: show what each stage would run, refuse plans that break limits.

use super::OutputFormat;
use crate::exit_code;
use crate::plan::{self, Plan};
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
                print_plan(p);
            }
            Ok(exit_code::OK)
        }
    }
}

fn print_plan(p: &Plan) {
    println!(
        "stage {} `{}` ({}) of {} release {}",
        p.stage.number(),
        p.stage,
        p.stage.title(),
        p.system,
        p.release
    );
    println!(
        "  environment  {} ({}) at {}",
        p.environment.name,
        p.environment.tier.as_str(),
        p.environment.reach
    );
    let limits = &p.environment.limits;
    println!(
        "  limits       max-users {}, max-rps {}, forbidden tags [{}]",
        limits.max_users.map_or("none".into(), |u| u.to_string()),
        limits.max_rps.map_or("none".into(), |r| r.to_string()),
        limits
            .forbidden_tags
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    for s in &p.suites {
        let tags: Vec<&str> = s.tags.iter().map(String::as_str).collect();
        println!(
            "  suite        {} ({}) [{}]",
            s.name,
            s.kind(),
            tags.join(", ")
        );
    }
    for w in &p.production_writes {
        println!(
            "  production write  suite `{}` may change production: {}",
            w.suite, w.reason
        );
    }
    let t = &p.traffic;
    println!(
        "  traffic      {} users, ramp-up {:?}, duration {:?}, rate cap {}",
        t.users,
        t.ramp_up,
        t.duration,
        t.max_rps.map_or("none".into(), |r| format!("{r}/s"))
    );
    for c in &p.gate.criteria {
        println!("  gate         {c}");
    }
    for c in crate::gate::coverage::implied_by_security(&p.gate, &p.suites) {
        println!("  gate         {c}");
    }
    let today = chrono::Utc::now().date_naive();
    for a in &p.gate.acceptances {
        let state = if a.applies_on(today) {
            ""
        } else {
            " (EXPIRED: no longer applies)"
        };
        println!("  accepted     {a}{state}");
    }
    for w in crate::gate::coverage::unread_suites(&p.gate, &p.suites) {
        println!("  warning      {w}");
    }
    for a in &p.abort {
        println!("  abort        {a} (checked every second while load runs)");
    }
    println!(
        "  approval     {} distinct approver(s){}",
        p.approval.approvers,
        if p.approval.allow_self_approval {
            ", self-approval allowed"
        } else {
            ", not the person who ran it"
        }
    );
    println!();
}
