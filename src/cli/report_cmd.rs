//! `stagegate report`: the go-live dossier of one release across the four stages, as a
//! self-contained HTML page in English or Vietnamese.

use super::CliError;
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
) -> Result<u8, CliError> {
    let ledger = super::open_ledger_to_read(ledger_path)?;
    let releases = ledger.releases(Some(&args.system))?;
    if !releases.iter().any(|(_, r)| *r == args.release) {
        return Err(CliError::invalid(format!(
            "the ledger has no release {} of system `{}` (hint: `stagegate status` lists them)",
            args.release, args.system
        )));
    }
    let dossier = ReleaseDossier::from_ledger(&ledger, &args.system, &args.release)?;
    // The global `--lang` (or STAGEGATE_LANG) says the language of the page too.
    let ui = super::ui::get();
    let lang = ui.lang.messages().code;
    let path = args.output.unwrap_or_else(|| {
        root.join(".stagegate")
            .join("reports")
            .join(format!("{}-{}.{lang}.html", args.system, args.release))
    });
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| CliError::Failed(format!("cannot create `{}`: {e}", parent.display())))?;
    }
    std::fs::write(&path, html::release_page(&dossier, ui.lang, &ui.zone))
        .map_err(|e| CliError::Failed(format!("cannot write `{}`: {e}", path.display())))?;
    println!("{}", path.display());
    Ok(exit_code::OK)
}
