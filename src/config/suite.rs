//! Takes `scenarios/<system>/<suite>.toml`, gives a [`Suite`]: a load suite (virtual
//! users' transactions of HTTP steps, fed by CSV data) or a security suite (built-in
//! checks by id and declarative probes). Templates, feeders, check ids and where each
//! request may go are all resolved here, so nothing later can fail on a name.

use super::diagnostic::{Diagnostic, Diagnostics, SourceFile};
pub use super::load_suite::{Feeder, FeederMode, LoadSuite, StepSpec, TransactionSpec};
pub use super::security_suite::{Probe, SecuritySuite};
use crate::http_model::Origin;
pub use crate::http_model::{Extraction, HttpMethod, JsonTemplate, RegexPattern};
/// Kept here too: suites and the catalogue name severities by this path.
pub use crate::vocabulary::Severity;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::Path;
use toml::Spanned;

/// One validated suite.
#[derive(Debug, Clone)]
pub struct Suite {
    /// The file name without `.toml`.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Tags such as `production-safe`, `intrusive`, `destructive`, `production-write`.
    pub tags: BTreeSet<String>,
    /// Why this suite may write to production: set exactly when it is tagged
    /// `production-write`, and shown in the plan and the report.
    pub production_write: Option<String>,
    /// Requests written as full URLs, with their origin and where they are written;
    /// the project check refuses those on an origin the stage's environment does not list.
    pub off_base: Vec<OffBaseRequest>,
    /// Load or security content.
    pub body: SuiteBody,
}

/// A request written as a full URL rather than a path below the base URL.
#[derive(Debug, Clone)]
pub struct OffBaseRequest {
    /// The origin written out in it.
    pub origin: Origin,
    /// Where it is written, for the error if its environment does not list the origin.
    pub at: Diagnostic,
}

/// The two kinds of suite.
#[derive(Debug, Clone)]
pub enum SuiteBody {
    /// Virtual users driving transactions.
    Load(LoadSuite),
    /// Security checks and probes.
    Security(SecuritySuite),
}

impl Suite {
    /// `load` or `security`.
    pub fn kind(&self) -> &'static str {
        match self.body {
            SuiteBody::Load(_) => "load",
            SuiteBody::Security(_) => "security",
        }
    }
}

#[derive(Deserialize)]
struct KindOnly {
    kind: Option<Spanned<String>>,
}

/// The tag that lets a suite send unsafe methods (POST, PUT, PATCH, DELETE) to a
/// production tier; it needs a written `production-write-reason`.
pub const PRODUCTION_WRITE_TAG: &str = "production-write";

const KNOWN_TAGS: [&str; 5] = [
    "production-safe",
    "intrusive",
    "destructive",
    "smoke",
    PRODUCTION_WRITE_TAG,
];

/// Parses and validates one suite file; `dir` is the system's folder, for feeder paths,
/// and `root` the project folder feeders must stay inside.
pub fn parse(
    file: &SourceFile,
    name: &str,
    dir: &Path,
    root: &Path,
    diagnostics: &mut Diagnostics,
) -> Option<Suite> {
    let kind: KindOnly = file.parse_toml(diagnostics)?;
    match kind.kind.as_ref().map(|k| k.get_ref().as_str()) {
        Some("load") => super::load_suite::parse(file, name, dir, root, diagnostics),
        Some("security") => super::security_suite::parse(file, name, diagnostics),
        Some(other) => {
            let span = kind.kind.as_ref().map_or(0..0, |k| k.span());
            diagnostics.push(file.diagnostic(
                span,
                format!("unknown suite kind `{other}`"),
                Some("`load` or `security`".into()),
            ));
            None
        }
        None => {
            diagnostics.push(file.whole_file(
                "a suite must say what it is: `kind` is missing",
                Some("`kind = \"load\"` or `kind = \"security\"`".into()),
            ));
            None
        }
    }
}

/// Checks the tags against the known ones and pairs `production-write` with its
/// written reason; gives the tags and the reason.
pub(super) fn check_tags(
    file: &SourceFile,
    tags: &[Spanned<String>],
    reason: Option<&Spanned<String>>,
    diagnostics: &mut Diagnostics,
) -> (BTreeSet<String>, Option<String>) {
    for tag in tags {
        if !KNOWN_TAGS.contains(&tag.get_ref().as_str()) {
            diagnostics.push(file.diagnostic(
                tag.span(),
                format!("unknown tag `{}`", tag.get_ref()),
                Some(format!(
                    "one of {}",
                    KNOWN_TAGS.map(|t| format!("`{t}`")).join(", ")
                )),
            ));
        }
    }
    let write_tag = tags.iter().find(|t| t.get_ref() == PRODUCTION_WRITE_TAG);
    let reason = match (write_tag, reason) {
        (Some(_), Some(r)) if !r.get_ref().trim().is_empty() => {
            Some(r.get_ref().trim().to_string())
        }
        (Some(tag), _) => {
            // A write to production is a decision someone must be able to read later.
            diagnostics.push(file.diagnostic(
                tag.span(),
                "a `production-write` suite needs a written reason",
                Some("`production-write-reason = \"why this suite may change production\"`".into()),
            ));
            None
        }
        (None, Some(r)) => {
            diagnostics.push(file.diagnostic(
                r.span(),
                "`production-write-reason` without the `production-write` tag",
                Some("`tags = [\"production-write\"]`, or remove the reason".into()),
            ));
            None
        }
        (None, None) => None,
    };
    (tags.iter().map(|t| t.get_ref().clone()).collect(), reason)
}
