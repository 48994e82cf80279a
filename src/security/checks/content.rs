//! Checks on what pages say, with no request of their own: mixed content on HTTPS
//! pages (a script, style, image or form target loaded over `http://`) and a web
//! server's or framework's default installation page where the application should be.

use super::super::catalogue::{CheckId, CheckInfo};
use super::super::discovery::{Page, Site};
use super::super::links;
use super::super::outcome::Finding;
use super::super::scanner::{FetchError, Scanner};

/// Plain-HTTP resources named in one finding's note, at most.
const RESOURCES_SHOWN: usize = 5;

/// Texts only a default installation page carries, with what it is.
const DEFAULT_PAGES: &[(&str, &str)] = &[
    ("<title>Welcome to nginx!</title>", "nginx default page"),
    (
        "Apache2 Debian Default Page",
        "Apache on Debian default page",
    ),
    (
        "Apache2 Ubuntu Default Page",
        "Apache on Ubuntu default page",
    ),
    (
        "<title>Test Page for the Apache HTTP Server",
        "Apache test page",
    ),
    ("<html><body><h1>It works!</h1>", "Apache default page"),
    ("<title>IIS Windows Server</title>", "IIS default page"),
    ("<title>IIS Windows</title>", "IIS default page"),
    (
        "If you're seeing this, you've successfully installed Tomcat",
        "Tomcat default page",
    ),
    (
        "The install worked successfully! Congratulations!",
        "Django default page",
    ),
    ("Yay! You&rsquo;re on Rails!", "Rails default page"),
    ("Yay! You’re on Rails!", "Rails default page"),
    ("<title>Caddy works!</title>", "Caddy default page"),
    (
        "<title>Welcome to CentOS</title>",
        "CentOS web server test page",
    ),
    (
        "<p>Welcome to Express</p>",
        "Express generator default page",
    ),
    ("lighttpd server is running", "lighttpd placeholder page"),
];

pub(super) fn run(
    scanner: &Scanner,
    site: &Site,
    info: &CheckInfo,
) -> Result<Vec<Finding>, FetchError> {
    match info.id {
        CheckId::ContentMixed if !scanner.is_https() => Err(FetchError::NotApplicable(
            "mixed content exists only on https:// pages; the target is plain http://".into(),
        )),
        CheckId::ContentMixed => Ok(site
            .pages
            .iter()
            .filter(|p| p.is_html() && p.url.scheme() == "https")
            .filter_map(|page| {
                mixed_content(page).map(|note| {
                    Finding::of(
                        info,
                        page.url.as_str(),
                        scanner.evidence(&page.exchange, &note),
                    )
                })
            })
            .collect()),
        _ => Ok(site
            .pages
            .iter()
            .filter_map(|page| {
                default_page(&page.exchange.response.body).map(|what| {
                    let note = format!("({what} served instead of the application)");
                    Finding::of(
                        info,
                        page.url.as_str(),
                        scanner.evidence(&page.exchange, &note),
                    )
                })
            })
            .collect()),
    }
}

/// The plain-HTTP resources an HTTPS page loads, as a note.
fn mixed_content(page: &Page) -> Option<String> {
    let found = links::of_page(&page.url, &page.exchange.response.body);
    let plain: Vec<String> = found
        .resources
        .iter()
        .filter(|r| r.scheme() == "http")
        .map(|r| r.to_string())
        .collect();
    if plain.is_empty() {
        return None;
    }
    let shown: Vec<&str> = plain
        .iter()
        .take(RESOURCES_SHOWN)
        .map(String::as_str)
        .collect();
    Some(format!("(loads over plain HTTP: {})", shown.join(", ")))
}

/// Which default page a body is, if it is one.
pub(super) fn default_page(body: &str) -> Option<&'static str> {
    DEFAULT_PAGES
        .iter()
        .find(|(sign, _)| body.contains(sign))
        .map(|(_, what)| *what)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::matcher::ObservedResponse;
    use crate::security::scanner::Exchange;

    fn page(url: &str, body: &str) -> Page {
        Page {
            exchange: Exchange {
                method: "GET".into(),
                url: url.into(),
                response: ObservedResponse {
                    status: 200,
                    headers: vec![("content-type".into(), "text/html".into())],
                    body: body.into(),
                    truncated: false,
                },
            },
            url: url::Url::parse(url).unwrap_or_else(|e| panic!("{e}")),
        }
    }

    #[test]
    fn mixed_content_names_plain_resources_only() {
        let bad = page(
            "https://h/",
            r#"<script src="http://cdn.example/a.js"></script><a href="http://other/">link</a><img src="/ok.png">"#,
        );
        let note = mixed_content(&bad).unwrap_or_default();
        assert!(
            note.contains("http://cdn.example/a.js") && !note.contains("other"),
            "{note}"
        );
        assert!(mixed_content(&page("https://h/", r#"<script src="/a.js"></script>"#)).is_none());
    }

    #[test]
    fn default_pages_by_their_own_words() {
        assert_eq!(
            default_page("<html><head><title>Welcome to nginx!</title>"),
            Some("nginx default page")
        );
        assert!(default_page("<title>Cổng Dịch vụ công</title> nginx").is_none());
    }
}
