//! `stagegate schema [FORMAT]`: prints the JSON Schema of one file format (generated
//! from the parser's own types, see [`crate::config::schema`]), or writes all of them
//! into a folder with `-o DIR` (how `schemas/` is made).

use super::CliError;
use crate::config::schema::{schema_text, SchemaFormat};
use crate::exit_code;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    /// `environments/<name>.toml`.
    Environment,
    /// `scenarios/<system>/rollout.toml`.
    Rollout,
    /// A `kind = "load"` suite.
    Load,
    /// A `kind = "security"` suite.
    Security,
    /// `people.toml`.
    People,
}

impl From<FormatArg> for SchemaFormat {
    fn from(arg: FormatArg) -> SchemaFormat {
        match arg {
            FormatArg::Environment => SchemaFormat::Environment,
            FormatArg::Rollout => SchemaFormat::Rollout,
            FormatArg::Load => SchemaFormat::Load,
            FormatArg::Security => SchemaFormat::Security,
            FormatArg::People => SchemaFormat::People,
        }
    }
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The format whose schema to print.
    #[arg(value_enum, required_unless_present = "out")]
    pub format: Option<FormatArg>,
    /// Write every schema into DIR as `<format>.schema.json` instead.
    #[arg(
        short = 'o',
        long = "out",
        value_name = "DIR",
        conflicts_with = "format"
    )]
    pub out: Option<PathBuf>,
}

pub(super) fn run(args: SchemaArgs) -> Result<u8, CliError> {
    if let Some(format) = args.format {
        print!("{}", schema_text(format.into()));
        return Ok(exit_code::OK);
    }
    let Some(dir) = args.out else {
        return Err(CliError::invalid(
            "give a format, or -o DIR for all of them",
        ));
    };
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        for format in SchemaFormat::ALL {
            let path = dir.join(format!("{}.schema.json", format.name()));
            std::fs::write(&path, schema_text(format))?;
            println!("wrote {}", path.display());
        }
        Ok(())
    });
    written.map_err(|e| {
        CliError::Internal(format!(
            "cannot write schemas into `{}`: {e}",
            dir.display()
        ))
    })?;
    Ok(exit_code::OK)
}
