//! CORS checks: one GET of the landing page with an `Origin` nobody could own (a random
//! name under `.invalid`), so a reflected origin is proof, not coincidence.

use super::super::catalogue::CheckInfo;
use super::super::outcome::Finding;
use super::super::scanner::{FetchError, Scanner};

pub(super) async fn run(
    scanner: &mut Scanner,
    info: &CheckInfo,
) -> Result<Vec<Finding>, FetchError> {
    let origin = format!("https://stagegate-{}.invalid", super::unguessable());
    let exchange = scanner
        .fetch("GET", "/", &[("Origin".to_string(), origin.clone())], None)
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
        "cors.origin-reflection" if allow_origin == origin && credentials => {
            Some(format!("(Access-Control-Allow-Origin echoes the unguessable origin `{origin}` with Access-Control-Allow-Credentials: true)"))
        }
        "cors.wildcard" if allow_origin == "*" => Some(format!(
            "(Access-Control-Allow-Origin: *{})",
            if credentials { " with Access-Control-Allow-Credentials: true" } else { "" }
        )),
        _ => None,
    };
    Ok(problem
        .map(|note| {
            Finding::of(
                info,
                &exchange.url,
                scanner.header_evidence(&exchange, &note),
            )
        })
        .into_iter()
        .collect())
}
