//! `stagegate completions SHELL` and `stagegate man`: take the clap command tree, give
//! shell completion scripts (clap_complete) and roff man pages (clap_mangen), one per
//! command, so they can never disagree with `--help`.

use super::{Cli, CliError};
use crate::exit_code;
use clap::{Args, CommandFactory};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write a completion script for (on standard output).
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Folder to write `stagegate.1` and one `stagegate-<command>.1` per command into;
    /// without it, `stagegate.1` goes to standard output.
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub(super) fn completions(args: CompletionsArgs) -> Result<u8, CliError> {
    let mut command = Cli::command();
    clap_complete::generate(
        args.shell,
        &mut command,
        "stagegate",
        &mut std::io::stdout(),
    );
    Ok(exit_code::OK)
}

pub(super) fn man(args: ManArgs) -> Result<u8, CliError> {
    let command = Cli::command();
    let result = match &args.out {
        None => clap_mangen::Man::new(command).render(&mut std::io::stdout()),
        Some(dir) => std::fs::create_dir_all(dir).and_then(|()| {
            clap_mangen::generate_to(command, dir)?;
            println!("wrote man pages to {}", dir.display());
            Ok(())
        }),
    };
    result.map_err(|e| CliError::Internal(format!("cannot write the man page: {e}")))?;
    Ok(exit_code::OK)
}
