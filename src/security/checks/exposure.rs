//! Exposed files and listings: `.git`, `.env`, backups and dumps, API documents,
//! directory indexes. Each first learns how the target answers a page that cannot exist
//! (a random path, asked once per run), so a catch-all route that answers 200 with the
//! same page everywhere is never taken for a leak; then it looks for the file's own
//! signature in the body.

use super::super::catalogue::CheckInfo;
use super::super::outcome::Finding;
use super::super::scanner::{Exchange, FetchError, Scanner};

/// Where each check looks, at most the catalogue's `max_requests` paths.
fn candidates(id: &str) -> &'static [&'static str] {
    match id {
        "exposure.git" => &["/.git/config"],
        "exposure.env" => &["/.env"],
        "exposure.backup" => &[
            "/backup.sql",
            "/backup.zip",
            "/db.sql",
            "/database.sql",
            "/site.tar.gz",
        ],
        "exposure.api-docs" => &[
            "/openapi.json",
            "/swagger.json",
            "/v3/api-docs",
            "/swagger-ui/",
        ],
        "exposure.directory-listing" => &["/uploads/", "/files/", "/static/", "/backup/"],
        _ => &[],
    }
}

/// Whether a body is the file the check looks for (its signature, not its status).
fn looks_real(id: &str, body: &str) -> bool {
    match id {
        "exposure.git" => body.contains("[core]") && body.contains("repositoryformatversion"),
        "exposure.env" => env_lines(body) >= 2,
        "exposure.backup" => {
            body.starts_with("PK\u{3}\u{4}")
                || body.starts_with('\u{1f}')
                || body.contains("-- MySQL dump")
                || body.contains("PostgreSQL database dump")
                || (body.contains("CREATE TABLE") && body.contains("INSERT INTO"))
        }
        "exposure.api-docs" => {
            let json = serde_json::from_str::<serde_json::Value>(body).ok();
            json.is_some_and(|v| {
                (v.get("openapi").is_some() || v.get("swagger").is_some())
                    && v.get("paths").is_some_and(|p| p.is_object())
            }) || body.contains("swagger-ui-bundle")
                || body.contains("id=\"swagger-ui\"")
        }
        "exposure.directory-listing" => [
            "<title>Index of /",
            "<h1>Index of /",
            "Directory listing for /",
            "[To Parent Directory]",
        ]
        .iter()
        .any(|s| body.contains(s)),
        _ => false,
    }
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
    info: &CheckInfo,
) -> Result<Vec<Finding>, FetchError> {
    let paths: Vec<&str> = candidates(info.id)
        .iter()
        .copied()
        .filter(|p| scanner.in_scope(p))
        .collect();
    if paths.is_empty() {
        return Err(FetchError::OutOfScope(format!(
            "every path of `{}` out of scope",
            info.id
        )));
    }
    let missing = scanner
        .shared(
            "missing-page",
            &format!("/stagegate-no-such-page-{}", super::unguessable()),
            &[],
        )
        .await?;
    let mut findings = Vec::new();
    for path in paths {
        let exchange = scanner.fetch("GET", path, &[], None).await?;
        let response = &exchange.response;
        if response.status == 200
            && response.body != missing.response.body
            && looks_real(info.id, &response.body)
        {
            let shown = if info.id == "exposure.env" {
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

    #[test]
    fn signatures_not_statuses() {
        assert!(looks_real("exposure.env", "DB_URL=x\nJWT_SECRET=y\n"));
        assert!(!looks_real("exposure.env", "<html>Trang chủ</html>"));
        assert!(looks_real(
            "exposure.backup",
            "-- PostgreSQL database dump\nCREATE TABLE a();"
        ));
        assert!(!looks_real(
            "exposure.backup",
            "{\"error\":\"không tìm thấy\"}"
        ));
        assert!(looks_real(
            "exposure.api-docs",
            r#"{"openapi":"3.0.0","paths":{}}"#
        ));
        assert!(!looks_real("exposure.api-docs", r#"{"openapi":"3.0.0"}"#));
        assert!(looks_real(
            "exposure.directory-listing",
            "<html><title>Index of /uploads/</title>"
        ));
    }
}
