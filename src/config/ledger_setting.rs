//! Takes the project folder, gives the ledger named by `[ledger]` in its
//! `stagegate.toml`, when there is one: `location = "postgres://qa@db.example/stagegate"`
//! for a team's PostgreSQL ledger, or a path (relative to the project folder) for a
//! SQLite file. A password there is refused: the file is shared in the repository;
//! passwords come from `PGPASSWORD` or a service file.

use super::diagnostic::{Diagnostics, SourceFile};
use crate::ledger::LedgerLocation;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The project file that holds project-wide settings.
pub const FILE: &str = "stagegate.toml";

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawSettings {
    #[schemars(with = "Option<RawLedger>")]
    ledger: Option<toml::Spanned<RawLedger>>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawLedger {
    #[schemars(with = "String")]
    location: toml::Spanned<String>,
}

/// The ledger `stagegate.toml` names; `Ok(None)` when there is no such file or entry.
/// An error is the rendered diagnostic.
pub fn from_project(root: &Path) -> Result<Option<LedgerLocation>, String> {
    let path = root.join(FILE);
    if !path.exists() {
        return Ok(None);
    }
    let text = super::project_file::read_text(root, &path, super::project_file::MAX_TOML_BYTES)
        .map_err(|e| format!("error: cannot read `{FILE}`: {e}"))?;
    let file = SourceFile {
        path: PathBuf::from(FILE),
        text,
    };
    parse(&file, root)
}

/// The ledger the text of a `stagegate.toml` names (a relative SQLite path taken from
/// `root`); `Ok(None)` when it names none. An error is the rendered diagnostic.
pub fn parse(file: &SourceFile, root: &Path) -> Result<Option<LedgerLocation>, String> {
    let mut diagnostics = Diagnostics::default();
    let raw: Option<RawSettings> = file.parse_toml(&mut diagnostics);
    let render = |d: &Diagnostics| {
        d.0.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let Some(ledger) = raw.and_then(|r| r.ledger) else {
        return if diagnostics.is_empty() {
            Ok(None)
        } else {
            Err(render(&diagnostics))
        };
    };
    let location = ledger.into_inner().location;
    match LedgerLocation::parse_from_file(location.get_ref(), Path::new(FILE)) {
        Ok(LedgerLocation::Sqlite(p)) if p.is_relative() => {
            Ok(Some(LedgerLocation::Sqlite(root.join(p))))
        }
        Ok(l) => Ok(Some(l)),
        // Located but not quoted: the line may hold the password.
        Err(e) => {
            let before = &file.text[..location.span().start.min(file.text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            Err(format!("error: {FILE}:{line}:{column}: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_a_path_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(from_project(dir.path()).unwrap(), None);
        std::fs::write(
            dir.path().join(FILE),
            "[ledger]\nlocation = \"postgres://qa@db/ledger?sslmode=require\"\n",
        )
        .unwrap();
        assert!(matches!(
            from_project(dir.path()).unwrap(),
            Some(LedgerLocation::Postgres(_))
        ));
        std::fs::write(
            dir.path().join(FILE),
            "[ledger]\nlocation = \"team/ledger.db\"\n",
        )
        .unwrap();
        assert_eq!(
            from_project(dir.path()).unwrap(),
            Some(LedgerLocation::Sqlite(dir.path().join("team/ledger.db")))
        );
    }

    #[test]
    fn a_password_is_refused_where_it_stands_and_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(FILE),
            "[ledger]\nlocation = \"postgres://qa:hunter2@db/ledger\"\n",
        )
        .unwrap();
        let e = from_project(dir.path()).unwrap_err();
        assert!(e.contains("stagegate.toml:2:12"), "{e}");
        assert!(e.contains("holds a password"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }
}
