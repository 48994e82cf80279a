//! Takes what a person wrote for `--ledger`, `STAGEGATE_LEDGER` or `[ledger]` in
//! `stagegate.toml`, gives where the ledger lives: a SQLite file (a path) or a
//! PostgreSQL server (a `postgres://` or `postgresql://` URL). Displaying a location
//! never shows a password.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where a ledger lives.
#[derive(Clone, PartialEq, Eq)]
pub enum LedgerLocation {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL server, by URL (which may carry a password from the command line or
    /// the environment: never printed, see [`LedgerLocation::redacted`]).
    Postgres(String),
}

/// Why a ledger location was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocationError {
    /// A URL that is not a valid URL.
    #[error("`{url}` is not a valid PostgreSQL URL: {reason}")]
    BadUrl {
        /// The URL, password redacted.
        url: String,
        /// Why.
        reason: String,
    },
    /// A password written into a project file.
    #[error("{file}: the ledger URL holds a password; a project file is shared and must not (hint: set `PGPASSWORD`, or use a service file with `?service=NAME`)")]
    PasswordInFile {
        /// The project file.
        file: String,
    },
}

impl LedgerLocation {
    /// Reads a location: a `postgres://`/`postgresql://` URL, else a file path.
    pub fn parse(text: &str) -> Result<LedgerLocation, LocationError> {
        if is_postgres_url(text) {
            url::Url::parse(text).map_err(|e| LocationError::BadUrl {
                url: redact(text),
                reason: e.to_string(),
            })?;
            Ok(LedgerLocation::Postgres(text.to_string()))
        } else {
            Ok(LedgerLocation::Sqlite(PathBuf::from(text)))
        }
    }

    /// Reads a location written in the project file `file`, refusing a password in it.
    pub fn parse_from_file(text: &str, file: &Path) -> Result<LedgerLocation, LocationError> {
        let location = LedgerLocation::parse(text)?;
        if let LedgerLocation::Postgres(url) = &location {
            if url::Url::parse(url)
                .map(|u| {
                    u.password().is_some()
                        || u.query_pairs()
                            .any(|(k, _)| k.eq_ignore_ascii_case("password"))
                })
                .unwrap_or(false)
            {
                return Err(LocationError::PasswordInFile {
                    file: file.display().to_string(),
                });
            }
        }
        Ok(location)
    }

    /// Whether there is a ledger here already: a SQLite file exists; a server is asked
    /// when the ledger is opened, so it counts as existing.
    pub fn exists(&self) -> bool {
        match self {
            LedgerLocation::Sqlite(path) => path.exists(),
            LedgerLocation::Postgres(_) => true,
        }
    }

    /// The SQLite file, when it is one.
    pub fn as_path(&self) -> Option<&Path> {
        match self {
            LedgerLocation::Sqlite(path) => Some(path),
            LedgerLocation::Postgres(_) => None,
        }
    }

    /// How to show the location: a path, or the URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        match self {
            LedgerLocation::Sqlite(path) => path.display().to_string(),
            LedgerLocation::Postgres(url) => redact(url),
        }
    }
}

impl fmt::Display for LedgerLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for LedgerLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LedgerLocation({})", self.redacted())
    }
}

impl From<PathBuf> for LedgerLocation {
    fn from(path: PathBuf) -> LedgerLocation {
        LedgerLocation::Sqlite(path)
    }
}

fn is_postgres_url(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// The URL with its password (and any `password=` query parameter) replaced by `***`.
pub(super) fn redact(text: &str) -> String {
    let Ok(mut url) = url::Url::parse(text) else {
        // Unparseable: show only the scheme, since the rest may hold a password.
        return text.split("://").next().map_or_else(
            || "<unreadable URL>".to_string(),
            |scheme| format!("{scheme}://<unreadable URL>"),
        );
    };
    if url.password().is_some() {
        // Setting a password only fails for URLs that cannot have one.
        let _ = url.set_password(Some("***"));
    }
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k.eq_ignore_ascii_case("password") {
                "***".to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    if !pairs.is_empty() {
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_selects_postgres_and_a_path_sqlite() {
        assert!(matches!(
            LedgerLocation::parse("postgres://ci@db.example/ledger").unwrap(),
            LedgerLocation::Postgres(_)
        ));
        assert!(matches!(
            LedgerLocation::parse("PostgreSQL://db/ledger").unwrap(),
            LedgerLocation::Postgres(_)
        ));
        assert_eq!(
            LedgerLocation::parse(".stagegate/ledger.db").unwrap(),
            LedgerLocation::Sqlite(PathBuf::from(".stagegate/ledger.db"))
        );
    }

    #[test]
    fn passwords_are_never_displayed() {
        let l = LedgerLocation::parse(
            "postgres://qa:s3cret@db:5432/ledger?password=other&sslmode=require",
        )
        .unwrap();
        let shown = format!("{l} {l:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("other"),
            "{shown}"
        );
        assert!(shown.contains("qa:***@db:5432/ledger"), "{shown}");
        assert!(shown.contains("sslmode=require"), "{shown}");
    }

    #[test]
    fn a_project_file_may_not_hold_a_password() {
        let file = Path::new("stagegate.toml");
        let e =
            LedgerLocation::parse_from_file("postgres://qa:s3cret@db/ledger", file).unwrap_err();
        assert!(!e.to_string().contains("s3cret"));
        assert!(
            LedgerLocation::parse_from_file("postgres://qa@db/ledger?sslmode=require", file)
                .is_ok()
        );
    }
}
