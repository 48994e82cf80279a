//! Plain HTTP without a redirect to HTTPS. On an HTTPS target the same host is asked
//! over `http://` (port 80; a non-default HTTPS port has no known plain twin, so it is
//! not judged). A target given as `http://` is itself plain: that is reported as info,
//! since a loopback or internal test address is often plain on purpose.

use super::super::catalogue::{CheckId, CheckInfo};
use super::super::outcome::Finding;
use super::super::scanner::{FetchError, Scanner};
use crate::config::suite::Severity;

pub(super) async fn run(
    scanner: &mut Scanner,
    info: &CheckInfo,
) -> Result<Vec<Finding>, FetchError> {
    if info.id == CheckId::TlsCertificate {
        return certificate(scanner, info).await;
    }
    if !scanner.is_https() {
        let landing = scanner.shared("landing", "/", &[]).await?;
        if redirects_to_https(&landing.response) {
            return Ok(Vec::new());
        }
        // The headers show it (no redirect, no Location); the page's body says nothing.
        let mut finding = Finding::of(
            info,
            &landing.url,
            scanner.header_evidence(&landing, "(plain HTTP target, unencrypted)"),
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

/// The landing page over HTTPS with full verification (the system's roots, or the
/// roots the run was told to trust): a refused handshake names what is wrong.
async fn certificate(scanner: &mut Scanner, info: &CheckInfo) -> Result<Vec<Finding>, FetchError> {
    if !scanner.is_https() {
        return Err(FetchError::NotApplicable(
            "no certificate to judge on a plain http:// target".into(),
        ));
    }
    match scanner.shared("landing", "/", &[]).await {
        Ok(_) => Ok(Vec::new()),
        Err(FetchError::Transport(reason)) => match certificate_problem(&reason) {
            Some(problem) => {
                let url = format!("{}/", scanner.base());
                let evidence = scanner.redact(&format!(
                    "GET {url} → TLS handshake refused: {problem}\n{reason}"
                ));
                Ok(vec![Finding::of(info, &url, evidence)])
            }
            None => Err(FetchError::Transport(reason)),
        },
        Err(e) => Err(e),
    }
}

/// What a verification error says about the certificate (rustls's wording), if it is
/// about the certificate at all.
pub(crate) fn certificate_problem(reason: &str) -> Option<&'static str> {
    let text = reason.to_ascii_lowercase();
    if text.contains("certificate expired")
        || (text.contains("expired") && text.contains("certificate"))
    {
        Some("expired certificate")
    } else if text.contains("not valid for name") || text.contains("notvalidforname") {
        Some("certificate issued for another host name")
    } else if text.contains("unknownissuer") || text.contains("unknown issuer") {
        Some("certificate not issued by a trusted authority")
    } else if text.contains("badsignature") || text.contains("bad signature") {
        Some("the certificate's signature does not verify against a trusted authority")
    } else if text.contains("not valid yet") {
        Some("certificate not valid yet")
    } else if text.contains("invalid peer certificate") {
        Some("certificate refused")
    } else {
        None
    }
}
