//! `stagegate report`: the go-live dossier of one release across the four stages, as a
//! self-contained HTML page in English or Vietnamese.

use crate::exit_code;
use crate::report::context::ReleaseDossier;
use crate::report::html;
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// System.
    pub system: String,
    /// Release.
    #[arg(long)]
    pub release: String,
    /// Where to write the page [default: <root>/.stagegate/reports/<system>-<release>.<lang>.html].
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub(super) fn run(
    root: &Path,
    ledger_path: &crate::ledger::LedgerLocation,
    args: ReportArgs,
) -> u8 {
    if !ledger_path.exists() {
        eprintln!(
            "error: no ledger at `{}` (hint: run a stage first, or pass --ledger)",
            ledger_path
        );
        return exit_code::INVALID_INPUT;
    }
    let ledger = match super::open_ledger(ledger_path) {
        Ok(l) => l,
        Err(code) => return code,
    };
    match ledger.releases(Some(&args.system)) {
        Ok(releases) if releases.iter().any(|(_, r)| *r == args.release) => {}
        Ok(_) => {
            eprintln!("error: the ledger has no release {} of system `{}` (hint: `stagegate status` lists them)", args.release, args.system);
            return exit_code::INVALID_INPUT;
        }
        Err(e) => return super::ledger_failure(&e),
    }
    let dossier = match ReleaseDossier::from_ledger(&ledger, &args.system, &args.release) {
        Ok(d) => d,
        Err(e) => return super::ledger_failure(&e),
    };
    // The global `--lang` (or STAGEGATE_LANG) says the language of the page too.
    let ui = super::ui::get();
    let lang = ui.lang.messages().code;
    let path = args.output.unwrap_or_else(|| {
        root.join(".stagegate")
            .join("reports")
            .join(format!("{}-{}.{lang}.html", args.system, args.release))
    });
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Err(e) = std::fs::create_dir_all(parent) {
            eprintln!("error: cannot create `{}`: {e}", parent.display());
            return exit_code::FAILED;
        }
    }
    if let Err(e) = std::fs::write(&path, html::release_page(&dossier, ui.lang, &ui.zone)) {
        eprintln!("error: cannot write `{}`: {e}", path.display());
        return exit_code::FAILED;
    }
    println!("{}", path.display());
    exit_code::OK
}
