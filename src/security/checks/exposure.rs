//! Exposed files and listings: `.git` (its config, and a listing of the folder), `.env`,
//! backups and dumps, API documents, directory indexes anywhere discovery looked (the
//! folders of the paths it found, dot folders included, then the usual ones). Each
//! first learns how the target answers a page that cannot exist (a random path, asked
//! once per run), so a catch-all route that answers 200 with the same page everywhere
//! is never taken for a leak; then it looks for the file's own signature in the body.

use super::super::catalogue::{CheckId, CheckInfo};
use super::super::discovery::Site;
use super::super::outcome::Finding;
use super::super::scanner::{Exchange, FetchError, Scanner};

/// Where each check looks by default, at most the catalogue's `max_requests` paths.
fn candidates(id: CheckId) -> &'static [&'static str] {
    match id {
        CheckId::ExposureGit => &["/.git/config", "/.git/"],
        CheckId::ExposureEnv => &["/.env"],
        CheckId::ExposureBackup => &[
            "/backup.sql",
            "/backup.zip",
            "/db.sql",
            "/database.sql",
            "/site.tar.gz",
        ],
        CheckId::ExposureApiDocs => &[
            "/openapi.json",
            "/swagger.json",
            "/v3/api-docs",
            "/swagger-ui/",
        ],
        CheckId::ExposureDirectoryListing => &["/uploads/", "/files/", "/static/", "/backup/"],
        _ => &[],
    }
}

/// Texts of the directory indexes of Apache, nginx, lighttpd, IIS and Python's
/// `http.server`.
const LISTING_SIGNS: &[&str] = &[
    "<title>Index of /",
    "<h1>Index of /",
    "Directory listing for /",
    "[To Parent Directory]",
];

/// Whether a body is the file the check looks for (its signature, not its status).
fn looks_real(id: CheckId, body: &str) -> bool {
    match id {
        CheckId::ExposureGit => {
            (body.contains("[core]") && body.contains("repositoryformatversion"))
                || (is_listing(body)
                    && body.contains("HEAD")
                    && body.contains("objects/")
                    && body.contains("refs/"))
        }
        CheckId::ExposureEnv => env_lines(body) >= 2,
        CheckId::ExposureBackup => {
            body.starts_with("PK\u{3}\u{4}")
                || body.starts_with('\u{1f}')
                || body.contains("-- MySQL dump")
                || body.contains("PostgreSQL database dump")
                || (body.contains("CREATE TABLE") && body.contains("INSERT INTO"))
        }
        CheckId::ExposureApiDocs => {
            let json = serde_json::from_str::<serde_json::Value>(body).ok();
            json.is_some_and(|v| {
                (v.get("openapi").is_some() || v.get("swagger").is_some())
                    && v.get("paths").is_some_and(|p| p.is_object())
            }) || body.contains("swagger-ui-bundle")
                || body.contains("id=\"swagger-ui\"")
        }
        CheckId::ExposureDirectoryListing => is_listing(body),
        _ => false,
    }
}

/// Whether a body is a web server's directory index.
pub(super) fn is_listing(body: &str) -> bool {
    LISTING_SIGNS.iter().any(|s| body.contains(s))
}

/// Lines shaped like `NAME=value` with an upper-case name.
fn env_lines(body: &str) -> usize {
    body.lines()
        .filter(|l| {
            l.trim().split_once('=').is_some_and(|(k, _)| {
                !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
            })
        })
        .count()
}

pub(super) async fn run(
    scanner: &mut Scanner,
    site: Option<&Site>,
    info: &CheckInfo,
) -> Result<Vec<Finding>, FetchError> {
    let limit = info.max_requests as usize;
    let mut paths: Vec<String> = Vec::new();
    if let Some(site) = site {
        // Folders discovery saw first: a listing is most likely where files are linked.
        paths.extend(site.directories.iter().map(|d| d.path().to_string()));
    }
    paths.extend(candidates(info.id).iter().map(|p| p.to_string()));
    let mut unique: Vec<String> = Vec::new();
    for path in paths {
        if !unique.contains(&path) && scanner.in_scope(&path) {
            unique.push(path);
        }
    }
    unique.truncate(limit);
    if unique.is_empty() {
        return Err(FetchError::OutOfScope(format!(
            "every path of `{}` out of scope",
            info.id
        )));
    }
    let missing = super::missing_page(scanner).await?;
    let mut findings = Vec::new();
    if let Some(site) = site {
        // Listings among the pages already fetched cost no request.
        for page in &site.pages {
            if page.exchange.response.status == 200
                && looks_real(info.id, &page.exchange.response.body)
            {
                findings.push(Finding::of(
                    info,
                    page.url.as_str(),
                    scanner.evidence(&page.exchange, ""),
                ));
            }
        }
    }
    for path in unique {
        let exchange = scanner.fetch("GET", &path, &[], None).await?;
        let response = &exchange.response;
        let already = findings.iter().any(|f| f.url == exchange.url);
        if response.status == 200
            && !already
            && response.body != missing.response.body
            && looks_real(info.id, &response.body)
        {
            let shown = if info.id == CheckId::ExposureEnv {
                mask_values(&exchange)
            } else {
                exchange.clone()
            };
            findings.push(Finding::of(
                info,
                &exchange.url,
                scanner.evidence(&shown, ""),
            ));
        }
    }
    Ok(findings)
}

/// An exposed `.env` holds the target's secrets: evidence keeps the names, not the values.
fn mask_values(exchange: &Exchange) -> Exchange {
    let mut shown = exchange.clone();
    shown.response.body = exchange
        .response
        .body
        .lines()
        .map(|l| match l.split_once('=') {
            Some((k, _)) => format!("{k}=***"),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    shown
}

#[cfg(test)]
mod tests {
    use super::looks_real;
    use crate::vocabulary::CheckId;

    #[test]
    fn signatures_not_statuses() {
        assert!(looks_real(CheckId::ExposureEnv, "DB_URL=x\nJWT_SECRET=y\n"));
        assert!(!looks_real(CheckId::ExposureEnv, "<html>Trang chủ</html>"));
        assert!(looks_real(
            CheckId::ExposureBackup,
            "-- PostgreSQL database dump\nCREATE TABLE a();"
        ));
        assert!(!looks_real(
            CheckId::ExposureBackup,
            "{\"error\":\"không tìm thấy\"}"
        ));
        assert!(looks_real(
            CheckId::ExposureApiDocs,
            r#"{"openapi":"3.0.0","paths":{}}"#
        ));
        assert!(!looks_real(
            CheckId::ExposureApiDocs,
            r#"{"openapi":"3.0.0"}"#
        ));
        assert!(looks_real(
            CheckId::ExposureDirectoryListing,
            "<html><title>Index of /uploads/</title>"
        ));
        assert!(looks_real(
            CheckId::ExposureGit,
            "<title>Index of /.git/</title><a href=\"HEAD\">HEAD</a><a href=\"objects/\">objects/</a><a href=\"refs/\">refs/</a>"
        ));
        assert!(!looks_real(
            CheckId::ExposureGit,
            "<title>Index of /tai-lieu/</title>"
        ));
    }
}
