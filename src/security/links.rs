//! Takes the text of a page, `robots.txt` or `sitemap.xml` and the URL it came from,
//! gives the URLs it points to: links, GET forms with their field names, resources a
//! page loads, robots paths and sitemap locations. Pure text work with no HTML parser:
//! enough for what discovery needs (where to go next), tested below on real shapes.

use regex::Regex;
use std::sync::OnceLock;
use url::Url;

/// Where a page points.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PageLinks {
    /// `<a href>` and `<area href>` targets, resolved against the page's URL.
    pub links: Vec<Url>,
    /// GET forms: the action resolved against the page, and the names of its fields.
    pub get_forms: Vec<(Url, Vec<String>)>,
    /// Actions of forms with another method: known, never submitted.
    pub other_forms: Vec<Url>,
    /// What the page loads (`src`, stylesheet `href`, form actions), as written and
    /// resolved, for the mixed-content check.
    pub resources: Vec<Url>,
}

fn attribute(name: &str) -> Option<Regex> {
    // `name="value"`, `name='value'` or `name=value`, case-insensitive.
    Regex::new(&format!(
        r#"(?i)\b{name}\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))"#
    ))
    .ok()
}

/// The compiled patterns; `None` only if a pattern above failed to compile, which the
/// unit tests would show (then no link is found, and nothing panics).
fn patterns() -> Option<&'static Patterns> {
    static PATTERNS: OnceLock<Option<Patterns>> = OnceLock::new();
    PATTERNS
        .get_or_init(|| {
            Some(Patterns {
                tag: Regex::new(
                    r"(?is)<(a|area|link|script|img|iframe|form|input|source|video|audio|embed)\b([^>]*)>",
                )
                .ok()?,
                form_end: Regex::new(r"(?i)</form\s*>").ok()?,
                href: attribute("href")?,
                src: attribute("src")?,
                action: attribute("action")?,
                method: attribute("method")?,
                name: attribute("name")?,
                rel: attribute("rel")?,
                loc: Regex::new(r"(?is)<loc>\s*([^<\s]+)\s*</loc>").ok()?,
            })
        })
        .as_ref()
}

struct Patterns {
    tag: Regex,
    form_end: Regex,
    href: Regex,
    src: Regex,
    action: Regex,
    method: Regex,
    name: Regex,
    rel: Regex,
    loc: Regex,
}

fn value(pattern: &Regex, attributes: &str) -> Option<String> {
    pattern.captures(attributes).and_then(|c| {
        c.get(1)
            .or_else(|| c.get(2))
            .or_else(|| c.get(3))
            .map(|m| decode_entities(m.as_str().trim()))
    })
}

/// The few entities that appear in URLs inside attributes.
fn decode_entities(text: &str) -> String {
    text.replace("&amp;", "&")
        .replace("&#38;", "&")
        .replace("&quot;", "\"")
        .replace("&#x2F;", "/")
}

fn resolve(base: &Url, reference: &str) -> Option<Url> {
    let lower = reference.to_ascii_lowercase();
    if reference.is_empty()
        || reference.starts_with('#')
        || ["javascript:", "mailto:", "tel:", "data:"]
            .iter()
            .any(|s| lower.starts_with(s))
    {
        return None;
    }
    let mut url = base.join(reference).ok()?;
    url.set_fragment(None);
    matches!(url.scheme(), "http" | "https").then_some(url)
}

/// Where an HTML page points.
pub(crate) fn of_page(page_url: &Url, html: &str) -> PageLinks {
    let mut found = PageLinks::default();
    let Some(p) = patterns() else {
        return found;
    };
    let mut open_form: Option<(bool, Url, Vec<String>)> = None;
    let mut form_ends: Vec<usize> = p.form_end.find_iter(html).map(|m| m.start()).collect();
    form_ends.reverse();
    for tag in p.tag.captures_iter(html) {
        let start = tag.get(0).map_or(0, |m| m.start());
        // A form closes before this tag: record it.
        while form_ends.last().is_some_and(|end| *end < start) {
            form_ends.pop();
            if let Some(form) = open_form.take() {
                push_form(&mut found, form);
            }
        }
        let name = tag.get(1).map_or("", |m| m.as_str()).to_ascii_lowercase();
        let attributes = tag.get(2).map_or("", |m| m.as_str());
        match name.as_str() {
            "a" | "area" => {
                if let Some(url) = value(&p.href, attributes).and_then(|h| resolve(page_url, &h)) {
                    found.links.push(url);
                }
            }
            "link" => {
                let rel = value(&p.rel, attributes)
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                if let Some(url) = value(&p.href, attributes).and_then(|h| resolve(page_url, &h)) {
                    if rel.contains("stylesheet") || rel.contains("icon") || rel.contains("preload")
                    {
                        found.resources.push(url);
                    }
                }
            }
            "form" => {
                if let Some(form) = open_form.take() {
                    push_form(&mut found, form);
                }
                let action = value(&p.action, attributes).unwrap_or_default();
                let action = if action.is_empty() {
                    Some(page_url.clone())
                } else {
                    resolve(page_url, &action)
                };
                let get =
                    value(&p.method, attributes).is_none_or(|m| m.eq_ignore_ascii_case("get"));
                if let Some(action) = action {
                    found.resources.push(action.clone());
                    open_form = Some((get, action, Vec::new()));
                }
            }
            "input" => {
                if let (Some(form), Some(field)) = (open_form.as_mut(), value(&p.name, attributes))
                {
                    form.2.push(field);
                }
            }
            _ => {
                if let Some(url) = value(&p.src, attributes).and_then(|s| resolve(page_url, &s)) {
                    found.resources.push(url);
                }
            }
        }
    }
    if let Some(form) = open_form.take() {
        push_form(&mut found, form);
    }
    found
}

fn push_form(found: &mut PageLinks, (get, action, fields): (bool, Url, Vec<String>)) {
    if get {
        found.get_forms.push((action, fields));
    } else {
        found.other_forms.push(action);
    }
}

/// Paths named by `robots.txt` (`Allow`, `Disallow`; wildcards dropped) and its
/// `Sitemap` URLs.
pub(crate) fn of_robots(robots_url: &Url, text: &str) -> (Vec<Url>, Vec<Url>) {
    let mut paths = Vec::new();
    let mut sitemaps = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim().to_ascii_lowercase().as_str() {
            "allow" | "disallow" if value.starts_with('/') && !value.contains('*') => {
                let path = value.trim_end_matches('$');
                if let Ok(url) = robots_url.join(path) {
                    paths.push(url);
                }
            }
            "sitemap" => {
                if let Ok(url) = Url::parse(value) {
                    sitemaps.push(url);
                }
            }
            _ => {}
        }
    }
    (paths, sitemaps)
}

/// The `<loc>` URLs of a sitemap.
pub(crate) fn of_sitemap(text: &str) -> Vec<Url> {
    let Some(p) = patterns() else {
        return Vec::new();
    };
    p.loc
        .captures_iter(text)
        .filter_map(|c| c.get(1))
        .filter_map(|m| Url::parse(&decode_entities(m.as_str())).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn links_forms_and_resources_of_a_page() {
        let page = url("http://h:1/a/b.html");
        let html = r#"<html><head><link rel="stylesheet" href="http://cdn.example/x.css">
            <script src='/s.js'></script></head><body>
            <a href="c.html#top">c</a> <A HREF=/d?x=1&amp;y=2>d</A> <a href="mailto:x@y">m</a>
            <a href="javascript:void(0)">j</a>
            <form action="/tim" method="GET"><input name="q"><input type="hidden" name="next" value="/"></form>
            <form method="post" action="/xoa"><input name="id"></form>
            <img src="http://h:1/i.png"></body></html>"#;
        let found = of_page(&page, html);
        let links: Vec<String> = found.links.iter().map(Url::to_string).collect();
        assert_eq!(links, ["http://h:1/a/c.html", "http://h:1/d?x=1&y=2"]);
        assert_eq!(found.get_forms.len(), 1);
        assert_eq!(found.get_forms[0].0.as_str(), "http://h:1/tim");
        assert_eq!(found.get_forms[0].1, ["q", "next"]);
        assert_eq!(found.other_forms[0].as_str(), "http://h:1/xoa");
        let resources: Vec<String> = found.resources.iter().map(Url::to_string).collect();
        assert!(resources.contains(&"http://cdn.example/x.css".to_string()));
        assert!(resources.contains(&"http://h:1/s.js".to_string()));
        assert!(resources.contains(&"http://h:1/i.png".to_string()));
    }

    #[test]
    fn robots_and_sitemap() {
        let robots = url("http://h/robots.txt");
        let (paths, sitemaps) = of_robots(
            &robots,
            "User-agent: *\nDisallow: /quan-tri/ # admin\nDisallow: /*.pdf$\nAllow: /cong-khai$\nSitemap: http://h/sitemap.xml\n",
        );
        let paths: Vec<&str> = paths.iter().map(Url::path).collect();
        assert_eq!(paths, ["/quan-tri/", "/cong-khai"]);
        assert_eq!(sitemaps[0].as_str(), "http://h/sitemap.xml");
        let locs = of_sitemap("<urlset><url><loc> http://h/a?x=1&amp;y=2 </loc></url><url><loc>http://h/b</loc></url></urlset>");
        let locs: Vec<&str> = locs.iter().map(Url::as_str).collect();
        assert_eq!(locs, ["http://h/a?x=1&y=2", "http://h/b"]);
    }
}
