//! Plain HTTP without a redirect to HTTPS. On an HTTPS target the same host is asked
//! over `http://` (port 80; a non-default HTTPS port has no known plain twin, so it is
//! not judged). A target given as `http://` is itself plain: that is reported as info,
//! since a loopback or internal test address is often plain on purpose.

use super::super::catalogue::CheckInfo;
use super::super::outcome::Finding;
use super::super::scanner::{FetchError, Scanner};
use crate::config::suite::Severity;

pub(super) async fn run(
    scanner: &mut Scanner,
    info: &CheckInfo,
) -> Result<Vec<Finding>, FetchError> {
    if !scanner.is_https() {
        let landing = scanner.shared("landing", "/", &[]).await?;
        if redirects_to_https(&landing.response) {
            return Ok(Vec::new());
        }
        let mut finding = Finding::of(
            info,
            &landing.url,
            scanner.evidence(&landing, "(the target itself is plain HTTP)"),
        );
        finding.severity = Severity::Info;
        return Ok(vec![finding]);
    }
    let Ok(mut plain) = url::Url::parse(scanner.base()) else {
        return Err(FetchError::Refused(format!(
            "cannot parse `{}`",
            scanner.base()
        )));
    };
    if plain.port().is_some() || plain.set_scheme("http").is_err() {
        return Ok(Vec::new());
    }
    let url = plain.as_str().to_string();
    match scanner.fetch("GET", &url, &[], None).await {
        Ok(exchange)
            if !redirects_to_https(&exchange.response) && exchange.response.status < 400 =>
        {
            let note = "(served over plain HTTP without a redirect to HTTPS)";
            Ok(vec![Finding::of(
                info,
                &exchange.url,
                scanner.evidence(&exchange, note),
            )])
        }
        Ok(_) => Ok(Vec::new()),
        // Nothing listens on plain HTTP: nothing is served unencrypted.
        Err(FetchError::Transport(_)) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

fn redirects_to_https(response: &crate::config::matcher::ObservedResponse) -> bool {
    (300..400).contains(&response.status)
        && response
            .header("location")
            .is_some_and(|l| l.starts_with("https://"))
}
