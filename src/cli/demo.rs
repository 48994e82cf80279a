//! `stagegate demo`: the whole pipeline in about a minute with nothing installed. Two
//! sample portals (test and production) run in-process on ephemeral loopback ports;
//! release 1.0.0 goes through all four stages, then 1.1.0, which carries a latency
//! regression, is stopped by its `real-test` gate.

use super::demo_people;
use super::demo_rollout;
use super::metrics_args::LiveMetrics;
use super::outputs::RunOutputs;
use super::status::{pipeline_table, release_states};
use crate::config::Project;
use crate::exit_code;
use crate::gate::GateOutcome;
use crate::ledger::{Decision, DecisionRequest, Ledger, LedgerError, Refusal};
use crate::run::{self, Cancel, RunConsumer, RunRequest};
use crate::sample::{self, Behaviour};
use crate::stage::StageId;
use clap::Args;
use std::path::{Path, PathBuf};
use std::time::Duration;

const QA: &str = demo_people::PEOPLE[0].0;
const MANAGERS: [&str; 2] = [demo_people::PEOPLE[1].0, demo_people::PEOPLE[2].0];
/// The regression 1.1.0 ships with: slow enough to break the real-test latency gate,
/// fast enough to pass the lenient trial-test smoke gate.
const REGRESSION: Duration = Duration::from_millis(300);

/// The sample system's files, embedded so the demo needs nothing on disk.
const SCENARIO_FILES: [(&str, &str); 7] = [
    (
        "rollout.toml",
        include_str!("../../scenarios/dichvucong/rollout.toml"),
    ),
    (
        "tra-cuu-va-nop-ho-so.toml",
        include_str!("../../scenarios/dichvucong/tra-cuu-va-nop-ho-so.toml"),
    ),
    (
        "giam-sat-tong-hop.toml",
        include_str!("../../scenarios/dichvucong/giam-sat-tong-hop.toml"),
    ),
    (
        "bao-mat-co-ban.toml",
        include_str!("../../scenarios/dichvucong/bao-mat-co-ban.toml"),
    ),
    (
        "bao-mat-xam-nhap.toml",
        include_str!("../../scenarios/dichvucong/bao-mat-xam-nhap.toml"),
    ),
    (
        "data/thu_tuc.csv",
        include_str!("../../scenarios/dichvucong/data/thu_tuc.csv"),
    ),
    (
        "data/cong_dan_thu_nghiem.csv",
        include_str!("../../scenarios/dichvucong/data/cong_dan_thu_nghiem.csv"),
    ),
];

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder for the demo's files, ledger and reports [default: a new temporary folder].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Run each stage's load but real-test's for a quarter of its time (at least 2 s at
    /// full load): the same stages, checks, gates and decisions, written into the demo's
    /// rollout.toml. For a quick check of an installation, and the test suite.
    #[arg(long)]
    pub quick: bool,
    #[command(flatten)]
    pub metrics: super::metrics_args::MetricsArgs,
}

pub(super) async fn run(args: DemoArgs) -> Result<u8, super::CliError> {
    match demo(args).await {
        Ok(true) => Ok(exit_code::OK),
        Ok(false) => Ok(exit_code::FAILED),
        Err(e) => Err(super::CliError::Internal(e)),
    }
}

async fn demo(args: DemoArgs) -> Result<bool, String> {
    let dir = match args.dir {
        Some(d) => d,
        None => tempfile::Builder::new()
            .prefix("stagegate-demo-")
            .tempdir()
            .map_err(|e| e.to_string())?
            .keep(),
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let api_key = format!("demo-{:032x}", rand::random::<u128>());
    let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let test = sample::start(loopback, Behaviour::default())
        .await
        .map_err(|e| e.to_string())?;
    let production = sample::start(
        loopback,
        Behaviour {
            api_key: Some(api_key.clone()),
            ..Behaviour::default()
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    write_project(&dir, &test.base_url(), &production.base_url(), args.quick)
        .map_err(|e| format!("cannot write the demo project: {e}"))?;
    demo_people::write(&dir)?;
    println!("stagegate demo — the national public-service portal (sample), four stages");
    println!("  project and ledger: {}", dir.display());
    println!(
        "  test environment:       {} (release 1.0.0)",
        test.base_url()
    );
    println!(
        "  production environment: {} (release 1.0.0, API key from $DVC_PROD_API_KEY)",
        production.base_url()
    );
    println!(
        "  QA runs every stage as {QA}; release managers {} and {} approve",
        MANAGERS[0], MANAGERS[1]
    );
    println!(
        "  every run and decision is signed with its person's ed25519 key ({}, people.toml)\n",
        dir.join("keys").display()
    );
    if args.quick {
        println!(
            "  --quick: each load but real-test's runs a quarter of its time (rollout.toml says so)\n"
        );
    }

    let project = crate::config::load(&dir).map_err(|e| e.to_string())?;
    let mut ledger = Ledger::open(&dir.join(".stagegate").join("ledger.db").into())
        .map_err(|e| e.to_string())?;
    let secrets = move |name: &str| (name == "DVC_PROD_API_KEY").then(|| api_key.clone());
    let mut as_designed = true;
    let live = LiveMetrics::start(&args.metrics).await?;
    let outputs = RunOutputs::new(None).map_err(|e| e.to_string())?;
    let consumers = outputs.consumers(live.as_ref());

    println!("== release 1.0.0: a good release goes through all four stages ==");
    for stage in StageId::ALL {
        let passed = stage_and_approve(
            &project,
            &mut ledger,
            &dir,
            "1.0.0",
            stage,
            &secrets,
            true,
            &consumers,
        )
        .await?;
        as_designed &= passed;
        if !passed {
            break;
        }
    }

    println!(
        "\n== release 1.1.0: deployed to test with a +{}ms latency regression ==",
        REGRESSION.as_millis()
    );
    test.control.deploy("1.1.0", REGRESSION, 0.0);
    let trial = stage_and_approve(
        &project,
        &mut ledger,
        &dir,
        "1.1.0",
        StageId::TrialTest,
        &secrets,
        true,
        &consumers,
    )
    .await?;
    let real = stage_and_approve(
        &project,
        &mut ledger,
        &dir,
        "1.1.0",
        StageId::RealTest,
        &secrets,
        false,
        &consumers,
    )
    .await?;
    as_designed &= trial && !real;
    if !real {
        println!("  1.1.0 is stopped at real-test: it cannot enter trial-production.");
    }

    println!("\n== pipeline ==");
    let states = release_states(&ledger, Some("dichvucong")).map_err(|e| e.to_string())?;
    print!(
        "{}",
        pipeline_table(&states, super::ui::words().cli.commands)
    );
    match ledger.verify().map_err(|e| e.to_string())? {
        Ok(report) => println!(
            "\nledger verified: {} audit events, hash chain intact, {} signatures valid",
            report.events, report.signatures
        ),
        Err(problem) => {
            println!("\nledger verification FAILED: {problem}");
            as_designed = false;
        }
    }
    println!("files: {}", dir.display());
    println!("  ledger   {}", dir.join(".stagegate/ledger.db").display());
    println!("  reports  {}", dir.join(".stagegate/runs").display());
    println!("try: cargo run -- --root {} status", dir.display());
    println!(
        "     cargo run -- --root {} history dichvucong --release 1.1.0",
        dir.display()
    );
    println!(
        "     cargo run -- --root {} report dichvucong --release 1.0.0 --lang vi",
        dir.display()
    );
    println!(
        "     cargo run -- --root {} evidence dichvucong --release 1.0.0 -o evidence-1.0.0.tar.gz",
        dir.display()
    );
    drop(consumers);
    if let Some(live) = live {
        live.finish().await;
    }
    test.stop().await;
    production.stop().await;
    println!(
        "\ndemo {}",
        if as_designed {
            "finished: everything behaved as designed"
        } else {
            "FAILED: something did not behave as designed"
        }
    );
    Ok(as_designed)
}

/// Runs a stage; when it passes and `approve` is set, the release managers approve it.
#[allow(clippy::too_many_arguments)]
async fn stage_and_approve(
    project: &Project,
    ledger: &mut Ledger,
    dir: &Path,
    release: &str,
    stage: StageId,
    secrets: &(dyn Fn(&str) -> Option<String> + Sync),
    approve: bool,
    out: &dyn RunConsumer,
) -> Result<bool, String> {
    println!(
        "\n-- stage {} `{stage}` ({}) of release {release}",
        stage.number(),
        stage.title()
    );
    let plan = crate::plan::build(
        project,
        "dichvucong",
        release,
        stage,
        crate::plan::LoadProcesses::One,
    )
    .map_err(|e| e.to_string())?;
    let runs = dir.join(".stagegate").join("runs");
    let roster = project
        .roster
        .clone()
        .ok_or("the demo project has no people.toml")?;
    ledger
        .sign_as(demo_people::actor(dir, &roster, QA)?)
        .map_err(|e| e.to_string())?;
    let target = crate::vocabulary::Target::resolve(&plan.environment, secrets)
        .map_err(|e| e.to_string())?;
    let request = RunRequest {
        shards: None,
        plan: &plan,
        actor: QA,
        out_dir: &runs,
    };
    // The demo catches no signal: Ctrl-C ends it at once, as any short command.
    let outcome = run::run_stage(&request, &target, ledger, &Cancel::new(), out)
        .await
        .map_err(|e| e.to_string())?;
    super::ui::out(&super::ui::verdict_table(&outcome.verdict));
    if outcome.verdict.outcome == GateOutcome::Failed {
        return Ok(false);
    }
    let request = DecisionRequest {
        system: "dichvucong",
        release,
        stage,
        run: Some(outcome.run.id),
        decision: Decision::Approve,
        note: "gate green, evidence reviewed",
        current_digest: Some(&plan.files_digest),
    };
    if approve && release == "1.0.0" && stage == StageId::TrialTest {
        // The QA engineer's own key cannot approve: the plan lets only release managers.
        match ledger.decide_as_actor(&request) {
            Err(LedgerError::Refused(refusal @ Refusal::WrongRole { .. })) => {
                println!("  {QA} tries to approve with their own key: REFUSED — {refusal}");
            }
            other => {
                return Err(format!(
                    "the QA engineer's approval was not refused: {other:?}"
                ))
            }
        }
    }
    if approve {
        for manager in MANAGERS.iter().take(plan.approval.approvers as usize) {
            ledger
                .sign_as(demo_people::actor(dir, &roster, manager)?)
                .map_err(|e| e.to_string())?;
            let result = ledger
                .decide_as_actor(&request)
                .map_err(|e| e.to_string())?;
            let person = roster
                .person(manager)
                .ok_or("manager missing from the roster")?;
            println!(
                "  approved ({}/{}){} — signed by {}",
                result.approvals,
                result.required,
                if result.promoted { " → promoted" } else { "" },
                super::signer_args::describe(person, &result.fingerprint)
            );
        }
    }
    Ok(true)
}

fn write_project(
    dir: &Path,
    test_url: &str,
    production_url: &str,
    quick: bool,
) -> std::io::Result<()> {
    let system = dir.join("scenarios").join("dichvucong");
    std::fs::create_dir_all(system.join("data"))?;
    for (name, text) in SCENARIO_FILES {
        let text = if name == "rollout.toml" {
            demo_rollout::rollout(text, quick)?
        } else {
            text.to_string()
        };
        std::fs::write(system.join(name), text)?;
    }
    let envs = dir.join("environments");
    std::fs::create_dir_all(&envs)?;
    let test =
        include_str!("../../environments/test.toml").replace("http://127.0.0.1:18080", test_url);
    let production = include_str!("../../environments/production.toml")
        .replace("http://127.0.0.1:18443", production_url);
    std::fs::write(envs.join("test.toml"), test)?;
    std::fs::write(envs.join("production.toml"), production)?;
    Ok(())
}
