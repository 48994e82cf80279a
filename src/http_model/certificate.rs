//! Takes the URL of a TLS handshake that failed, gives the names the server's
//! certificate carries — so a failure reads "certificate only valid for
//! `cong.example.vn`", not just "invalid peer certificate". The certificate is fetched
//! once more without verification, to read it, never to trust it: nothing is sent on
//! that connection but a HEAD request without credentials.

use std::time::Duration;

/// How long reading the certificate may take: it is a diagnosis, not a request.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The DNS names of the certificate `url`'s server presents, if it can be read.
pub async fn names(url: &url::Url) -> Option<Vec<String>> {
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .tls_info(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(READ_TIMEOUT)
        .build()
        .ok()?;
    let response = client.head(url.clone()).send().await.ok()?;
    let der = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()?
        .peer_certificate()?
        .to_vec();
    let der = rustls_pki_types::CertificateDer::from(der);
    let cert = webpki::EndEntityCert::try_from(&der).ok()?;
    Some(cert.valid_dns_names().map(str::to_string).collect())
}

/// `describe`d failure text with the certificate's names added, for a TLS failure.
pub async fn describe_with_names(e: &reqwest::Error, url: &url::Url) -> String {
    if super::failure::kind(e) != super::failure::FailureKind::Tls {
        return super::failure::describe(e);
    }
    describe_named(e, names(url).await.as_deref())
}

/// `describe`d failure text with `names` (the certificate's, as [`names`] read them
/// once for many failures) added.
pub fn describe_named(e: &reqwest::Error, names: Option<&[String]>) -> String {
    let text = super::failure::describe(e);
    match names {
        Some(names) if !names.is_empty() => format!(
            "{text} (the certificate names {})",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Some(_) => format!("{text} (the certificate names no DNS host)"),
        None => text,
    }
}
