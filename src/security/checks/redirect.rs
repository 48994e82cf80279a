//! Open redirects on the parameters discovery found (names like `next` or `url`, or
//! values that are paths or URLs): the parameter is set to a marker URL under
//! `.invalid` that nobody can own and that is never fetched (the client follows no
//! redirect), and a `Location` (or a meta refresh) pointing there is the proof. GET only.

use super::super::catalogue::CheckInfo;
use super::super::discovery::Site;
use super::super::outcome::Finding;
use super::super::scanner::{FetchError, Scanner};
use url::Url;

pub(super) async fn run(
    scanner: &mut Scanner,
    site: &Site,
    info: &CheckInfo,
) -> Result<Vec<Finding>, FetchError> {
    if site.redirect_params.is_empty() {
        return Err(FetchError::NotApplicable(
            "discovery found no parameter that names where to go".into(),
        ));
    }
    let marker_host = format!("stagegate-{}.invalid", super::unguessable());
    let marker = format!("https://{marker_host}/");
    let mut findings = Vec::new();
    let mut sent = 0;
    for param in &site.redirect_params {
        if sent >= info.max_requests {
            break;
        }
        let url = with_param(&param.url, &param.name, &marker);
        let path = super::super::discovery::path_and_query(&url);
        if !scanner.in_scope(&path) {
            continue;
        }
        sent += 1;
        let exchange = match scanner.fetch("GET", url.as_str(), &[], None).await {
            Ok(exchange) => exchange,
            Err(FetchError::Transport(_)) => continue,
            Err(e) => return Err(e),
        };
        if let Some(how) = leads_to(&exchange.response, &url, &marker_host) {
            let note = format!(
                "(parameter `{}` set to the marker {marker} {how}; the marker was never fetched)",
                param.name
            );
            findings.push(Finding::of(
                info,
                &exchange.url,
                scanner.header_evidence(&exchange, &note),
            ));
        }
    }
    Ok(findings)
}

/// `url` with parameter `name` set to `value` (other parameters kept).
fn with_param(url: &Url, name: &str, value: &str) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut out = url.clone();
    out.set_query(None);
    {
        let mut query = out.query_pairs_mut();
        for (k, v) in &pairs {
            query.append_pair(k, v);
        }
        query.append_pair(name, value);
    }
    out
}

/// How an answer sends the browser to the marker host, if it does.
fn leads_to(
    response: &crate::config::matcher::ObservedResponse,
    request: &Url,
    marker_host: &str,
) -> Option<&'static str> {
    if (300..400).contains(&response.status) {
        let target = response
            .header("location")
            .and_then(|l| request.join(l.trim()).ok());
        if target.is_some_and(|t| t.host_str() == Some(marker_host)) {
            return Some("and the answer redirects there");
        }
    }
    let body = response.body.to_ascii_lowercase();
    (body.contains("http-equiv=\"refresh\"") || body.contains("http-equiv=refresh"))
        .then_some(())
        .filter(|_| body.contains(marker_host))
        .map(|_| "and the page refreshes to it")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::matcher::ObservedResponse;

    fn redirect(location: &str) -> ObservedResponse {
        ObservedResponse {
            status: 302,
            headers: vec![("location".into(), location.into())],
            body: String::new(),
            truncated: false,
        }
    }

    #[test]
    fn only_a_redirect_to_the_marker_host_counts() {
        let request = Url::parse("http://h/go?url=x").unwrap_or_else(|e| panic!("{e}"));
        assert!(leads_to(&redirect("https://m.invalid/"), &request, "m.invalid").is_some());
        assert!(leads_to(&redirect("//m.invalid/"), &request, "m.invalid").is_some());
        assert!(leads_to(
            &redirect("/home?from=https://m.invalid/"),
            &request,
            "m.invalid"
        )
        .is_none());
        assert!(leads_to(&redirect("https://h/"), &request, "m.invalid").is_none());
        let set = with_param(&request, "url", "https://m.invalid/");
        assert_eq!(set.as_str(), "http://h/go?url=https%3A%2F%2Fm.invalid%2F");
    }
}
