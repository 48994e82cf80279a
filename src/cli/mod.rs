//! The command line: clap types, conversion into the library's types at the edge, and
//! terminal output. One file per subcommand; each returns an exit code from
//! [`crate::exit_code`] or a [`CliError`], which `dispatch` alone prints and maps.

mod approve;
mod checks;
mod demo;
mod demo_people;
mod demo_rollout;
mod error;
mod evidence_cmd;
mod history;
mod init;
mod k8s_cmd;
mod ledger_cmd;
mod load_cmd;
mod metrics_args;
mod output_args;
mod outputs;
mod plan_cmd;
mod production_guard;
mod progress;
mod report_cmd;
mod run;
mod sample_system;
mod scan;
mod schema_cmd;
mod serve;
mod shard_args;
mod shell_docs;
mod signer_args;
mod status;
pub mod ui;
mod validate;
mod worker;

pub use error::CliError;

use crate::exit_code;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const AFTER_HELP: &str = "\
The four stages, in order:
  1 trial-test        trial run on the test environment
  2 real-test         real run on the test environment
  3 trial-production  trial run on production (production-safe suites, capped rate)
  4 real-production   real run on production (go-live observation window)
A stage runs only when the previous one passed its gate and was approved.

Examples:
  stagegate demo                                     # the whole pipeline on a sample system, ~1 minute
  stagegate validate                                 # check every file; exit 2 on a mistake
  stagegate plan dichvucong --release 1.0.0          # what each stage would run, and its limits
  stagegate run dichvucong --release 1.0.0 --stage trial-test           # signed by your key (ssh-agent or --key)
  stagegate approve dichvucong --release 1.0.0 --stage trial-test --note 'ok'
  stagegate status
  stagegate ledger verify                                             # hash chain, signatures, rules

Exit codes: 0 ok/passed · 1 gate or verification failed · 2 invalid input or usage ·
            3 refused by the rollout rules · 4 aborted or interrupted · 5 internal error";

/// stagegate: takes each release of a government information system through four
/// gated stages (trial and real runs on test, then on production), and lets it move on
/// only when its gate passed on measured evidence and a release manager approved.
#[derive(Debug, Parser)]
#[command(name = "stagegate", version, after_help = AFTER_HELP, max_term_width = 100)]
pub struct Cli {
    /// Project folder holding `environments/` and `scenarios/`.
    #[arg(long, global = true, value_name = "DIR", default_value = ".")]
    pub root: PathBuf,
    /// The ledger: a SQLite file, or a PostgreSQL server as `postgres://user@host/db`
    /// (password from `PGPASSWORD` or a service file) [default: `[ledger]` in
    /// <root>/stagegate.toml, else <root>/.stagegate/ledger.db].
    #[arg(long, global = true, value_name = "PATH|URL", env = "STAGEGATE_LEDGER")]
    pub ledger: Option<String>,
    /// Print only results and errors: no progress, no informational lines.
    #[arg(long, short = 'q', global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Say more: each gate criterion as it is judged.
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Language of messages, the verdict table and reports.
    #[arg(
        long,
        global = true,
        value_enum,
        env = "STAGEGATE_LANG",
        default_value_t
    )]
    pub lang: ui::LangArg,
    /// Time zone of the times in Vietnamese reports, an IANA name (English reports keep
    /// UTC as recorded).
    #[arg(
        long,
        global = true,
        value_name = "ZONE",
        env = "STAGEGATE_TZ",
        default_value = crate::report::local_time::DEFAULT_ZONE
    )]
    pub tz: String,
    #[command(subcommand)]
    pub command: Command,
}

/// Output format for commands that can print JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    /// Human-readable text.
    #[default]
    Text,
    /// JSON on standard output.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scaffold a new system in the project: environments, a commented rollout for the
    /// four stages, a load suite, a security suite, a feeder CSV and people.toml with
    /// fresh keys. It validates at once; its trial-test runs against `sample-system`.
    #[command(
        after_help = "Example:\n  stagegate --root my-project init van-ban\n  stagegate --root my-project validate"
    )]
    Init(init::InitArgs),
    /// Check every environment, rollout and suite file; report every mistake as
    /// file:line:column with what was expected. Sends nothing.
    Validate(validate::ValidateArgs),
    /// Show what a release's stages would run, where, with which limits, gate and
    /// approvals; refuse (exit 2) a plan that breaks an environment's limits.
    #[command(
        after_help = "Example:\n  stagegate plan dichvucong --release 1.0.0 --stage trial-production"
    )]
    Plan(plan_cmd::PlanArgs),
    /// Run one stage of a release: suites, measurements, gate, ledger, summary.json.
    /// Exit 0 passed, 1 failed, 3 refused by the rollout rules, 4 aborted or interrupted.
    #[command(
        after_help = "Examples:\n  stagegate run dichvucong --release 1.0.0 --stage trial-test                  # key from ssh-agent\n  stagegate run dichvucong --release 1.0.0 --stage trial-test --key ~/.ssh/id_ed25519 --as qa.nguyen"
    )]
    Run(run::RunArgs),
    /// Approve the latest run of a stage, signed with your key; the stage is promoted when
    /// the plan's distinct approvers (with their roles) are reached. Exit 3 when refused.
    #[command(
        after_help = "Examples:\n  stagegate approve dichvucong --release 1.0.0 --stage trial-test --note 'gate green'\n  stagegate approve dichvucong --release 1.0.0 --stage trial-test --run 3 --as rm.tran --print-payload > d\n  ssh-keygen -Y sign -f ~/.ssh/id_ed25519 -n stagegate d && stagegate approve dichvucong --release 1.0.0 --stage trial-test --signature d.sig"
    )]
    Approve(approve::DecisionArgs),
    /// Reject the latest run of a stage, signed with your key; it must be run again before
    /// approval.
    Reject(approve::DecisionArgs),
    /// Where every release of every system stands, stage by stage.
    Status(status::StatusArgs),
    /// Every run, approval and promotion of one release, from the ledger.
    History(history::HistoryArgs),
    /// Write the go-live dossier of a release (all four stages, gates, charts, findings,
    /// approvals) as one self-contained HTML page, in English or Vietnamese.
    #[command(
        after_help = "Example:\n  stagegate report dichvucong --release 1.0.0 --lang vi -o ho-so-1.0.0.html"
    )]
    Report(report_cmd::ReportArgs),
    /// Write a release's evidence archive (files as run, summaries, reports, ledger events
    /// with their hash chain, SHA-256 manifest), or `evidence verify FILE` to check one.
    #[command(
        after_help = "Examples:\n  stagegate evidence dichvucong --release 1.0.0 -o evidence-1.0.0.tar.gz\n  stagegate evidence verify evidence-1.0.0.tar.gz"
    )]
    Evidence(evidence_cmd::EvidenceArgs),
    /// The ledger: verify its chain and signatures, print its head, its signers, or one
    /// signed event for `ssh-keygen -Y verify`.
    #[command(subcommand)]
    Ledger(ledger_cmd::LedgerCommand),
    /// Ad-hoc load on one URL with no files (like hey or oha), driven by goose.
    /// Exit 0 when it ran, 1 when every request failed, 2 on bad arguments.
    #[command(
        after_help = "Examples:\n  stagegate load http://127.0.0.1:8080/health --users 50 --duration 30s\n  stagegate load http://127.0.0.1:8080/api/x -m POST -H 'Content-Type: application/json' -b '{}' --rate 200 --output json"
    )]
    Load(load_cmd::LoadArgs),
    /// One shard of a stage's load suite, reporting to a coordinator (`run --shards N`)
    /// or run by a Kubernetes Indexed Job; the run's token is read from
    /// STAGEGATE_RUN_TOKEN. Exit 0 once the coordinator accepted the report.
    Worker(worker::WorkerArgs),
    /// Kubernetes manifests for a sharded stage (see the README, "Sharded load").
    #[command(subcommand)]
    K8s(k8s_cmd::K8sCommand),
    /// Start the sample public-service portal on loopback (it can be told to misbehave).
    #[command(name = "sample-system")]
    SampleSystem(sample_system::SampleArgs),
    /// Scan a URL with the built-in security checks, no project needed. Exit 0 with no
    /// finding above info, 1 with one (or a check that could not run), 2 on bad arguments.
    #[command(
        after_help = "Examples:\n  stagegate scan http://127.0.0.1:18080                       # passive: GET/HEAD/OPTIONS, at most 20 requests\n  stagegate scan http://127.0.0.1:18080 --profile full --output json"
    )]
    Scan(scan::ScanArgs),
    /// List the built-in security checks: id, severity, production-safety, name.
    Checks(checks::ChecksArgs),
    /// Run the whole pipeline on two sample instances (test, production): release 1.0.0
    /// through all four stages, then 1.1.0 stopped by its real-test gate.
    Demo(demo::DemoArgs),
    /// Serve the ledger's state as Prometheus metrics (the rollout board for dashboards):
    /// stage states, last gate results, pending approvals, age of the last run.
    #[command(after_help = "Example:\n  stagegate serve --listen 127.0.0.1:9464")]
    Serve(serve::ServeArgs),
    /// Print the JSON Schema of a file format (environment, rollout, load, security,
    /// people), generated from the parser's types; `-o DIR` writes all of them.
    #[command(
        after_help = "Examples:\n  stagegate schema rollout > rollout.schema.json\n  stagegate schema -o schemas"
    )]
    Schema(schema_cmd::SchemaArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(
        after_help = "Examples:\n  stagegate completions bash > ~/.local/share/bash-completion/completions/stagegate\n  stagegate completions zsh > \"${fpath[1]}/_stagegate\""
    )]
    Completions(shell_docs::CompletionsArgs),
    /// Print the man page, or write one page per command into a folder.
    #[command(after_help = "Example:\n  stagegate man -o /usr/local/share/man/man1")]
    Man(shell_docs::ManArgs),
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    // Like other command-line tools, end quietly when the reader of our output goes away
    // (`stagegate status | head`) instead of panicking on a broken pipe.
    // SAFETY: setting a signal disposition to its default before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit_code::INVALID_INPUT
            } else {
                exit_code::OK
            });
        }
    };
    let zone = match crate::report::local_time::ReportZone::named(&cli.tz) {
        Ok(zone) => zone,
        Err(e) => return ExitCode::from(CliError::invalid(format!("--tz: {e}")).report()),
    };
    ui::init(ui::Ui {
        verbosity: match (cli.quiet, cli.verbose) {
            (true, _) => ui::Verbosity::Quiet,
            (false, 0) => ui::Verbosity::Normal,
            (false, _) => ui::Verbosity::Verbose,
        },
        lang: cli.lang.into(),
        zone,
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let e = CliError::Internal(format!("cannot start the async runtime: {e}"));
            return ExitCode::from(e.report());
        }
    };
    let code = runtime.block_on(dispatch(cli));
    // goose's user tasks may still be winding down; do not wait for them at exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    exit_code::to_exit_code(code)
}

async fn dispatch(cli: Cli) -> u8 {
    command(cli).await.unwrap_or_else(|e| e.report())
}

/// Runs the command: its exit code, or the one error that `dispatch` prints and maps.
async fn command(cli: Cli) -> Result<u8, CliError> {
    let given = cli
        .ledger
        .as_deref()
        .map(crate::ledger::LedgerLocation::parse)
        .transpose()
        .map_err(|e| CliError::invalid(format!("--ledger: {e}")))?;
    let ledger_path = match &given {
        Some(location) => location.clone(),
        None => match crate::config::ledger_setting::from_project(&cli.root) {
            Ok(Some(location)) => location,
            Ok(None) => default_ledger(&cli.root).into(),
            Err(e) => return Err(CliError::invalid_as_is(e.to_string())),
        },
    };
    match cli.command {
        Command::Init(args) => init::run(&cli.root, args),
        Command::Schema(args) => schema_cmd::run(args),
        Command::Completions(args) => shell_docs::completions(args),
        Command::Man(args) => shell_docs::man(args),
        Command::Validate(args) => validate::run(&cli.root, args),
        Command::Plan(args) => plan_cmd::run(&cli.root, args),
        Command::Run(args) => run::run(&cli.root, &ledger_path, args).await,
        Command::Approve(args) => approve::run(
            &cli.root,
            &ledger_path,
            args,
            crate::ledger::Decision::Approve,
        ),
        Command::Reject(args) => approve::run(
            &cli.root,
            &ledger_path,
            args,
            crate::ledger::Decision::Reject,
        ),
        Command::Status(args) => status::run(&ledger_path, args),
        Command::History(args) => history::run(&ledger_path, args),
        Command::Ledger(cmd) => ledger_cmd::run(&cli.root, &ledger_path, cmd),
        Command::Report(args) => report_cmd::run(&cli.root, &ledger_path, args),
        Command::Evidence(args) => evidence_cmd::run(&ledger_path, given.as_ref(), args),
        Command::Load(args) => load_cmd::run(&cli.root, args).await,
        Command::K8s(cmd) => k8s_cmd::run(&cli.root, cmd),
        Command::Worker(args) => worker::run(&cli.root, args).await,
        Command::SampleSystem(args) => sample_system::run(args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Scan(args) => scan::run(&cli.root, args).await,
        Command::Checks(args) => checks::run(args),
        Command::Serve(args) => serve::run(&ledger_path, args).await,
    }
}

/// `<root>/.stagegate/ledger.db`.
pub fn default_ledger(root: &Path) -> PathBuf {
    root.join(".stagegate").join("ledger.db")
}

/// Loads the project; its diagnostics are the error.
fn project(root: &Path) -> Result<crate::config::Project, CliError> {
    crate::config::load(root).map_err(CliError::from)
}

/// Opens (or creates) the ledger.
fn ledger(path: &crate::ledger::LedgerLocation) -> Result<crate::ledger::Ledger, CliError> {
    crate::ledger::Ledger::open(path)
        .map_err(|e| CliError::Internal(format!("{e} (ledger `{path}`)")))
}

/// Opens an existing ledger for a read-only command. A missing SQLite ledger is an error
/// naming where it looked: a read-only command must never create one (`status --root
/// typo` would otherwise say "nothing yet" and leave an empty ledger behind).
fn open_ledger(path: &crate::ledger::LedgerLocation) -> Result<crate::ledger::Ledger, CliError> {
    if let crate::ledger::LedgerLocation::Sqlite(file) = path {
        if !file.is_file() {
            return Err(CliError::invalid(format!(
                "no ledger at `{}` (hint: pass --root DIR or --ledger PATH, or set STAGEGATE_LEDGER; a ledger is made by the first `stagegate run`)",
                file.display()
            )));
        }
    }
    ledger(path)
}

/// Opens an existing ledger (SQLite or PostgreSQL) for a command that reads a run's
/// records, with the hint to run a stage first.
fn open_ledger_to_read(
    path: &crate::ledger::LedgerLocation,
) -> Result<crate::ledger::Ledger, CliError> {
    if !path.exists() {
        return Err(CliError::invalid(format!(
            "no ledger at `{path}` (hint: run a stage first, or pass --ledger)"
        )));
    }
    open_ledger(path)
}

/// Opens the ledger for a command that writes to it, creating it when missing.
fn open_ledger_for_writing(
    path: &crate::ledger::LedgerLocation,
) -> Result<crate::ledger::Ledger, CliError> {
    ledger(path)
}

/// Prints JSON to stdout.
fn print_json<T: serde::Serialize>(value: &T) -> Result<u8, CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::Internal(format!("cannot write JSON: {e}")))?;
    println!("{text}");
    Ok(exit_code::OK)
}
