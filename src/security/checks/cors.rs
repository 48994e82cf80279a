//! CORS checks on the start page and on up to two API paths discovery found (APIs,
//! not the home page, are what a cross-origin script wants to read). Each request
//! carries an `Origin` nobody could own (a random name under `.invalid`), so a
//! reflected origin is proof, not coincidence; the `null` check sends `Origin: null`,
//! which sandboxed frames and local files send.

use super::super::catalogue::{CheckId, CheckInfo};
use super::super::discovery::Site;
use super::super::outcome::Finding;
use super::super::scanner::{FetchError, Scanner};

/// API paths asked besides the start page: the catalogue's bound for each CORS check
/// is one more than this.
const API_PATHS: usize = 2;

pub(super) async fn run(
    scanner: &mut Scanner,
    site: &Site,
    info: &CheckInfo,
) -> Result<Vec<Finding>, FetchError> {
    let mut urls = vec![scanner.base().to_string() + "/"];
    urls.extend(site.api_urls.iter().take(API_PATHS).map(|u| u.to_string()));
    let origin = match info.id {
        CheckId::CorsNullOrigin => "null".to_string(),
        _ => format!("https://stagegate-{}.invalid", super::unguessable()),
    };
    let mut findings = Vec::new();
    for url in urls {
        let exchange = scanner
            .fetch("GET", &url, &[("Origin".to_string(), origin.clone())], None)
            .await?;
        let allow_origin = exchange
            .response
            .header("access-control-allow-origin")
            .map(str::trim)
            .unwrap_or_default()
            .to_string();
        let credentials = exchange
            .response
            .header("access-control-allow-credentials")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let problem = match info.id {
            CheckId::CorsOriginReflection if allow_origin == origin && credentials => Some(format!(
                "(Access-Control-Allow-Origin echoes the unguessable origin `{origin}` with Access-Control-Allow-Credentials: true)"
            )),
            CheckId::CorsWildcard if allow_origin == "*" => Some(format!(
                "(Access-Control-Allow-Origin: *{})",
                if credentials { " with Access-Control-Allow-Credentials: true" } else { "" }
            )),
            CheckId::CorsNullOrigin if allow_origin == "null" && credentials => Some(
                "(Access-Control-Allow-Origin: null with Access-Control-Allow-Credentials: true)".into(),
            ),
            _ => None,
        };
        if let Some(note) = problem {
            findings.push(Finding::of(
                info,
                &exchange.url,
                scanner.header_evidence(&exchange, &note),
            ));
        }
    }
    Ok(findings)
}
