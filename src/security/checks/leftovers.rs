//! Source-control and editor leftovers: a Subversion working copy (`.svn/wc.db`,
//! `.svn/entries`), a Mercurial repository (`.hg/requires`), a macOS `.DS_Store`, and
//! swap or backup files next to the pages discovery found (`page.html.bak`,
//! `.page.html.swp`, `page.html~`, `page.html.orig`). Each is judged by the file's own
//! signature, never by a 200 alone, and never when the answer is the target's answer to
//! a page that cannot exist or the page itself again.

use super::super::catalogue::{CheckId, CheckInfo};
use super::super::discovery::Site;
use super::super::outcome::Finding;
use super::super::scanner::{FetchError, Scanner};

/// Mercurial's repository format words (`.hg/requires` lists only these).
const HG_REQUIREMENTS: &[&str] = &[
    "revlogv1",
    "store",
    "fncache",
    "dotencode",
    "generaldelta",
    "sparserevlog",
    "share-safe",
    "persistent-nodemap",
    "revlog-compression-zstd",
];

/// Texts that only server-side source or templates carry, never the page they render.
const SOURCE_SIGNS: &[&str] = &[
    "<?php",
    "<%@",
    "<%=",
    "<jsp:",
    "{% extends",
    "{% block",
    "{% include",
    "{{-",
    "@extends(",
    "#!/usr/bin/",
    "DB_PASSWORD",
    "require_once",
];

/// The suffixes tried next to a page, in order: one of each before the next kind.
const BACKUP_FORMS: &[BackupForm] = &[
    BackupForm::Suffix(".bak"),
    BackupForm::VimSwap,
    BackupForm::Suffix("~"),
    BackupForm::Suffix(".orig"),
];

#[derive(Debug, Clone, Copy)]
enum BackupForm {
    /// `name` + suffix.
    Suffix(&'static str),
    /// `.name.swp` in the same folder.
    VimSwap,
}

pub(super) async fn run(
    scanner: &mut Scanner,
    site: Option<&Site>,
    info: &CheckInfo,
) -> Result<Vec<Finding>, FetchError> {
    let paths: Vec<String> = match (info.id, site) {
        (CheckId::ExposureSvn, _) => vec!["/.svn/wc.db".into(), "/.svn/entries".into()],
        (CheckId::ExposureHg, _) => vec!["/.hg/requires".into()],
        (CheckId::ExposureDsStore, _) => vec!["/.DS_Store".into()],
        (CheckId::ExposureEditorBackup, Some(site)) => backups_of(site),
        _ => Vec::new(),
    };
    if info.id == CheckId::ExposureEditorBackup && paths.is_empty() {
        return Err(FetchError::NotApplicable(
            "discovery found no page with a file name to look next to".into(),
        ));
    }
    let paths: Vec<String> = paths
        .into_iter()
        .filter(|p| scanner.in_scope(p))
        .take(info.max_requests as usize)
        .collect();
    if paths.is_empty() {
        return Err(FetchError::OutOfScope(format!(
            "every path of `{}` out of scope",
            info.id
        )));
    }
    let missing = super::missing_page(scanner).await?;
    let mut findings = Vec::new();
    for path in paths {
        let exchange = scanner.fetch("GET", &path, &[], None).await?;
        let response = &exchange.response;
        if !(200..300).contains(&response.status) || response.body == missing.response.body {
            continue;
        }
        let original = site.and_then(|s| {
            s.pages
                .iter()
                .find(|p| path.starts_with(p.url.path()) && p.url.path() != "/")
        });
        if original.is_some_and(|p| p.exchange.response.body == response.body) {
            continue;
        }
        if let Some(note) = signature(info.id, &response.body) {
            findings.push(Finding::of(
                info,
                &exchange.url,
                scanner.evidence(&exchange, &note),
            ));
        }
    }
    Ok(findings)
}

/// Backup and swap paths next to the pages found that have a file name.
fn backups_of(site: &Site) -> Vec<String> {
    let files: Vec<(String, String)> = site
        .pages
        .iter()
        .filter_map(|p| {
            let path = p.url.path();
            let (folder, name) = path.rsplit_once('/')?;
            (name.contains('.') && !name.starts_with('.'))
                .then(|| (folder.to_string(), name.to_string()))
        })
        .collect();
    let mut paths = Vec::new();
    for form in BACKUP_FORMS {
        for (folder, name) in &files {
            let path = match form {
                BackupForm::Suffix(suffix) => format!("{folder}/{name}{suffix}"),
                BackupForm::VimSwap => format!("{folder}/.{name}.swp"),
            };
            if !paths.contains(&path) {
                paths.push(path);
            }
        }
    }
    paths
}

/// What a body shows, if it is the leftover the check looks for.
fn signature(id: CheckId, body: &str) -> Option<String> {
    match id {
        CheckId::ExposureSvn if body.starts_with("SQLite format 3") => {
            Some("(Subversion working-copy database)".into())
        }
        CheckId::ExposureSvn => {
            let mut lines = body.lines();
            let format = lines.next().unwrap_or_default().trim();
            let old_entries = matches!(format, "8" | "9" | "10" | "11" | "12")
                && lines.take(4).any(|l| l.trim() == "dir");
            old_entries.then(|| "(Subversion `entries` file)".into())
        }
        CheckId::ExposureHg => {
            let words: Vec<&str> = body
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            (!words.is_empty() && words.iter().all(|w| HG_REQUIREMENTS.contains(w)))
                .then(|| "(Mercurial `requires` file)".into())
        }
        CheckId::ExposureDsStore if body.starts_with("\0\0\0\u{1}Bud1") => {
            Some("(macOS `.DS_Store` folder index)".into())
        }
        CheckId::ExposureEditorBackup if body.starts_with("b0VIM") => {
            Some("(Vim swap file of the page)".into())
        }
        CheckId::ExposureEditorBackup => SOURCE_SIGNS
            .iter()
            .find(|s| body.contains(**s))
            .map(|s| format!("(server-side source left next to the page: {s:?})")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_by_their_signatures() {
        assert!(signature(CheckId::ExposureSvn, "SQLite format 3\0rest").is_some());
        assert!(signature(CheckId::ExposureSvn, "12\n\ndir\n1234\n").is_some());
        assert!(signature(CheckId::ExposureSvn, "<html>12</html>").is_none());
        assert!(signature(CheckId::ExposureHg, "dotencode\nfncache\nrevlogv1\nstore\n").is_some());
        assert!(signature(CheckId::ExposureHg, "<html>store</html>").is_none());
        assert!(signature(CheckId::ExposureDsStore, "\0\0\0\u{1}Bud1\0\0").is_some());
        assert!(signature(CheckId::ExposureEditorBackup, "b0VIM 9.0\0").is_some());
        assert!(signature(CheckId::ExposureEditorBackup, "{% extends \"base.html\" %}").is_some());
        assert!(signature(
            CheckId::ExposureEditorBackup,
            "<html><p>Giới thiệu</p></html>"
        )
        .is_none());
    }
}
