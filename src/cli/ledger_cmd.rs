//! `stagegate ledger …`: verify the audit chain and its signatures, print the head to
//! publish, print the roster as an OpenSSH `allowed_signers` file, and export one event's
//! signed payload for `ssh-keygen -Y verify`; copy a whole ledger between backends.

use super::output_args::OutputArgs;
use super::CliError;
use crate::exit_code;
use crate::ledger::{Ledger, LedgerLocation};
use clap::Subcommand;
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Recompute the hash chain, check every signature against the roster pinned for it,
    /// judge every decision by the rules again, and compare every stored row with the
    /// event that recorded it. Exit 1, naming the first bad event, when anything was
    /// edited or (with --expect-head) the tail is missing or different.
    Verify {
        /// A head published earlier (`stagegate ledger head`): the ledger must still hold
        /// that event with that hash.
        #[arg(long, value_name = "SEQ:HASH")]
        expect_head: Option<String>,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Print the current head, `SEQ:HASH`, to publish elsewhere (a ticket, a chat): a
    /// later `verify --expect-head` detects a cut-off or rewritten tail.
    Head,
    /// Print an OpenSSH allowed_signers file from the roster (people.toml, or the last
    /// roster the ledger pinned when the project has none), for `ssh-keygen -Y verify`.
    Signers,
    /// Write an event's signed payload and signature: `D/event.payload`, `D/event.sig`,
    /// and `D/allowed_signers` from the roster the event was checked against.
    #[command(
        after_help = "Then: ssh-keygen -Y verify -f D/allowed_signers -I <person> -n stagegate -s D/event.sig < D/event.payload"
    )]
    ExportEvent {
        /// The event's sequence number.
        seq: i64,
        /// Folder to write into (created if needed).
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
    },
    /// Copy a whole ledger into an empty one, every event, signature and hash as it is:
    /// a SQLite file into a team's PostgreSQL (`postgres://user@host/db`), or back. The
    /// source must verify; the copy is verified and must end on the same head.
    Copy {
        /// The ledger to copy: a path or a `postgres://` URL.
        from: String,
        /// The empty ledger to fill: a path or a `postgres://` URL (created when new).
        to: String,
    },
}

pub(super) fn run(
    root: &Path,
    ledger_path: &LedgerLocation,
    cmd: LedgerCommand,
) -> Result<u8, CliError> {
    if let LedgerCommand::Copy { from, to } = &cmd {
        return copy(from, to);
    }
    let ledger = open_existing(ledger_path)?;
    match cmd {
        LedgerCommand::Verify { expect_head, out } => {
            out.check()?;
            verify(root, &ledger, expect_head.as_deref(), &out)
        }
        LedgerCommand::Head => {
            let (seq, hash) = ledger.head()?;
            println!("{seq}:{hash}");
            Ok(exit_code::OK)
        }
        LedgerCommand::Signers => signers(root, &ledger),
        LedgerCommand::ExportEvent { seq, dir } => export_event(&ledger, seq, &dir),
        LedgerCommand::Copy { .. } => Ok(exit_code::OK),
    }
}

/// Opens a ledger that must already exist (SQLite or PostgreSQL).
fn open_existing(location: &LedgerLocation) -> Result<Ledger, CliError> {
    if !location.exists() {
        return Err(CliError::invalid(format!("no ledger at `{location}`")));
    }
    super::open_ledger(location)
}

fn copy(from: &str, to: &str) -> Result<u8, CliError> {
    let from = LedgerLocation::parse(from).map_err(CliError::invalid)?;
    let to = LedgerLocation::parse(to).map_err(CliError::invalid)?;
    let source = open_existing(&from)?;
    // The target is written to: a new SQLite file is made here (a PostgreSQL target must
    // exist as a database and is checked empty by `copy_into`).
    let target = super::open_ledger_for_writing(&to)?;
    match source.copy_into(&target) {
        Ok(report) => {
            println!(
                "copied {} events ({} runs, {} decisions) from `{from}` ({}) to `{to}` ({}); both verify and end on {}:{}",
                report.events,
                report.runs,
                report.decisions,
                source.backend(),
                target.backend(),
                report.head.0,
                report.head.1
            );
            Ok(exit_code::OK)
        }
        Err(e) => Err(CliError::Failed(e.to_string())),
    }
}

/// Parses `SEQ:HASH`.
pub(super) fn parse_head(text: &str) -> Option<(i64, String)> {
    let (seq, hash) = text.trim().split_once(':')?;
    let hash = hash.trim().to_ascii_lowercase();
    (hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit()))
        .then_some(())
        .and_then(|()| seq.trim().parse().ok().map(|s| (s, hash)))
}

/// Whether `expected` (a published head) is still in the ledger: `None` when it is, or
/// what is wrong.
pub(super) fn check_head(
    ledger: &Ledger,
    expected: (i64, &str),
) -> Result<Option<String>, CliError> {
    let (seq, hash) = expected;
    let (head_seq, _) = ledger.head()?;
    Ok(match ledger.event(seq)? {
        None => Some(format!(
            "the published head #{seq} is missing: the ledger ends at event #{head_seq} (its tail was cut off)"
        )),
        Some(e) if e.hash != hash => Some(format!(
            "event #{seq} is not the published head: its hash is {} where {hash} was published (the ledger was rewritten)",
            e.hash
        )),
        Some(_) => None,
    })
}

/// The shape identifier of `ledger verify --output json`.
pub const LEDGER_VERIFY_SCHEMA: &str = "stagegate.ledger-verify/v1";

/// `ledger verify --output json`.
#[derive(Debug, Serialize)]
struct VerifyJson {
    /// Always [`LEDGER_VERIFY_SCHEMA`].
    schema: &'static str,
    /// Whether everything checked out (exit 0); otherwise `problem` says what did not.
    ok: bool,
    /// The first problem found: the event concerned (when there is one) and what is wrong.
    problem: Option<ProblemJson>,
    /// Events checked (when the chain verified).
    events: Option<usize>,
    /// Signatures checked.
    signatures: Option<usize>,
    /// The rosters pinned, in order, and whether each is people.toml as it is now.
    rosters: Vec<RosterJson>,
    /// The last event.
    head: Option<HeadJson>,
    /// The head given with `--expect-head`, checked present and unchanged when `ok`.
    expected_head: Option<HeadJson>,
}

#[derive(Debug, Serialize)]
struct ProblemJson {
    event: Option<i64>,
    message: String,
}

#[derive(Debug, Serialize)]
struct RosterJson {
    digest: String,
    current: bool,
}

#[derive(Debug, Serialize)]
struct HeadJson {
    seq: i64,
    hash: String,
}

impl VerifyJson {
    fn failed(problem: ProblemJson) -> VerifyJson {
        VerifyJson {
            schema: LEDGER_VERIFY_SCHEMA,
            ok: false,
            problem: Some(problem),
            events: None,
            signatures: None,
            rosters: Vec::new(),
            head: None,
            expected_head: None,
        }
    }
}

fn verify(
    root: &Path,
    ledger: &Ledger,
    expect_head: Option<&str>,
    out: &OutputArgs,
) -> Result<u8, CliError> {
    let expected = match expect_head.map(parse_head) {
        None => None,
        Some(Some(h)) => Some(h),
        Some(None) => {
            return Err(CliError::invalid(
                "`--expect-head` takes SEQ:HASH as `stagegate ledger head` prints it",
            ))
        }
    };
    let failed = |problem: ProblemJson| -> Result<u8, CliError> {
        if out.json() {
            out.emit(&VerifyJson::failed(problem))?;
        } else {
            let shown = match problem.event {
                Some(seq) => format!("event #{seq}: {}", problem.message),
                None => problem.message,
            };
            super::ui::out(&format!(
                "ledger verification {}: {shown}",
                super::ui::paint(super::ui::tone::BAD, "FAILED")
            ));
        }
        Ok(exit_code::FAILED)
    };
    let report = match ledger.verify()? {
        Ok(report) => report,
        Err(problem) => {
            return failed(ProblemJson {
                event: problem.event,
                message: problem.message,
            })
        }
    };
    if let Some((seq, hash)) = &expected {
        if let Some(problem) = check_head(ledger, (*seq, hash))? {
            return failed(ProblemJson {
                event: None,
                message: problem,
            });
        }
    }
    // The rosters are the trust root: compare them with people.toml as the project's
    // history holds it (a roster pinned by an insider would show here).
    let current = crate::config::load(root).ok().and_then(|p| p.roster);
    let is_current = |digest: &str| current.as_ref().is_some_and(|r| r.digest() == digest);
    if out.json() {
        out.emit(&VerifyJson {
            schema: LEDGER_VERIFY_SCHEMA,
            ok: true,
            problem: None,
            events: Some(report.events),
            signatures: Some(report.signatures),
            rosters: report
                .rosters
                .iter()
                .map(|digest| RosterJson {
                    digest: digest.clone(),
                    current: is_current(digest),
                })
                .collect(),
            head: Some(HeadJson {
                seq: report.head.0,
                hash: report.head.1.clone(),
            }),
            expected_head: expected.map(|(seq, hash)| HeadJson { seq, hash }),
        })?;
        return Ok(exit_code::OK);
    }
    println!(
        "ledger ok: {} events, hash chain intact, {} signatures valid against {} pinned roster(s), every record matches its event",
        report.events,
        report.signatures,
        report.rosters.len()
    );
    println!("  head {}:{}", report.head.0, report.head.1);
    for digest in &report.rosters {
        let note = if is_current(digest) {
            " (people.toml as it is now)"
        } else {
            ""
        };
        println!("  roster {digest}{note}");
    }
    if let Some((seq, _)) = expected {
        println!("  published head #{seq} is present and unchanged");
    }
    Ok(exit_code::OK)
}

fn signers(root: &Path, ledger: &Ledger) -> Result<u8, CliError> {
    let roster = match crate::config::load(root).ok().and_then(|p| p.roster) {
        Some(r) => r,
        None => ledger.pinned_rosters()?.into_iter().last().ok_or_else(|| {
            CliError::invalid("no people.toml here and no roster pinned in the ledger")
        })?,
    };
    print!("{}", roster.allowed_signers());
    Ok(exit_code::OK)
}

fn export_event(ledger: &Ledger, seq: i64, dir: &Path) -> Result<u8, CliError> {
    let event = ledger
        .event(seq)?
        .ok_or_else(|| CliError::invalid(format!("the ledger has no event #{seq}")))?;
    let roster = ledger.pinned_roster(&event.roster)?.ok_or_else(|| {
        CliError::Failed(format!(
            "event #{seq} names roster {}, which is not pinned",
            event.roster
        ))
    })?;
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text);
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| write("event.payload", &event.statement))
        .and_then(|()| write("event.sig", &event.signature))
        .and_then(|()| write("allowed_signers", &roster.allowed_signers()))
        .and_then(|()| {
            write(
                "event.json",
                &serde_json::to_string_pretty(&event).unwrap_or_default(),
            )
        });
    written.map_err(|e| CliError::Failed(format!("cannot write into `{}`: {e}", dir.display())))?;
    println!(
        "event #{seq} ({} by {}, key {}) written to {}",
        event.kind,
        event.actor,
        event.signer,
        dir.display()
    );
    println!(
        "check it: ssh-keygen -Y verify -f {d}/allowed_signers -I {} -n {} -s {d}/event.sig < {d}/event.payload",
        event.actor,
        crate::identity::NAMESPACE,
        d = dir.display()
    );
    Ok(exit_code::OK)
}
