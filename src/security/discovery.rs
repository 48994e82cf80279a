//! Takes the scanner, gives the [`Site`]: the pages a visitor reaches from the start
//! page. It follows same-origin redirects (at most [`MAX_REDIRECTS`] hops) so checks
//! judge the page a browser shows, not the 302 in front of it, then crawls the same
//! origin from the start page (links, GET forms' actions, `robots.txt`, `sitemap.xml`)
//! breadth first, at most [`CRAWL_PAGES`] pages and [`DISCOVERY_REQUESTS`] requests, GET
//! only, never leaving the origin or the suite's scope, never following a link whose
//! words say it changes something (log out, delete).

use super::catalogue::{CRAWL_PAGES, DISCOVERY_REQUESTS, MAX_REDIRECTS};
use super::links;
use super::scanner::{Exchange, FetchError, Scanner};
use std::collections::{BTreeSet, VecDeque};
use url::Url;

/// Links followed at most this many clicks from the start page: the forgotten pages
/// the crawl is for sit one or two clicks away; deeper pages are the site itself.
const MAX_DEPTH: u32 = 2;
/// API paths and redirect parameters kept for the checks that test them: the checks'
/// own request bounds (catalogue) cap what they send; these cap what they consider.
const MAX_KEPT: usize = 8;

/// Query parameter names that usually carry where to go next.
const REDIRECT_NAMES: &[&str] = &[
    "next",
    "url",
    "redirect",
    "redirect_uri",
    "redirect_url",
    "redirecturl",
    "return",
    "returnurl",
    "return_url",
    "returnto",
    "return_to",
    "continue",
    "dest",
    "destination",
    "goto",
    "target",
    "to",
    "forward",
    "callback",
    "r",
    "u",
];

/// Words in a path that mean "this link changes something": never crawled, even with GET.
const CHANGING_WORDS: &[&str] = &[
    "logout",
    "log-out",
    "signout",
    "sign-out",
    "dang-xuat",
    "delete",
    "remove",
    "xoa",
    "destroy",
    "unsubscribe",
];

/// Extensions of files that are not pages: known from links, never fetched by the crawl.
const NOT_PAGES: &[&str] = &[
    "pdf", "png", "jpg", "jpeg", "gif", "svg", "ico", "webp", "css", "js", "zip", "gz", "tar",
    "doc", "docx", "xls", "xlsx", "mp4", "mp3", "woff", "woff2", "ttf",
];

/// One page discovery fetched, after its redirects.
#[derive(Debug, Clone)]
pub(crate) struct Page {
    /// The answer judged (the last hop of the redirects followed).
    pub exchange: Exchange,
    /// Its URL.
    pub url: Url,
}

impl Page {
    /// Whether the answer is an HTML page (by content type, or by its first bytes).
    pub fn is_html(&self) -> bool {
        let response = &self.exchange.response;
        response
            .header("content-type")
            .map(|t| t.to_ascii_lowercase().contains("html"))
            .unwrap_or_else(|| {
                let start = response.body.trim_start().to_ascii_lowercase();
                start.starts_with("<!doctype html") || start.starts_with("<html")
            })
    }
}

/// A query parameter that may say where to redirect.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RedirectParam {
    /// The URL it was found on, with its other parameters.
    pub url: Url,
    /// The parameter's name.
    pub name: String,
}

/// What discovery found.
#[derive(Debug, Clone, Default)]
pub(crate) struct Site {
    /// The start page reached, then every crawled page.
    pub pages: Vec<Page>,
    /// Every answer discovery saw, redirects included (cookies are often set on a 302).
    pub answers: Vec<Exchange>,
    /// Same-origin API URLs found (paths under `/api/`, or answers in JSON).
    pub api_urls: Vec<Url>,
    /// Parameters that look like redirect targets.
    pub redirect_params: Vec<RedirectParam>,
    /// Folders of the paths found (never `/` itself), for listing checks.
    pub directories: Vec<Url>,
    /// Requests discovery sent (the landing page's first request not included).
    pub requests: u32,
}

/// Discovers the site behind the scanner's base URL.
pub(crate) async fn discover(scanner: &mut Scanner) -> Result<Site, FetchError> {
    let start = scanner.shared("landing", "/", &[]).await?;
    let Ok(origin) = Url::parse(&start.url) else {
        return Err(FetchError::Refused(format!("cannot parse `{}`", start.url)));
    };
    let mut crawl = Crawl {
        origin: origin.clone(),
        site: Site::default(),
        seen: BTreeSet::new(),
        queue: VecDeque::new(),
        known: BTreeSet::new(),
        allowance: DISCOVERY_REQUESTS,
    };
    crawl.seen.insert(key(&origin));
    let reached = crawl.follow(scanner, start).await;
    crawl.visit(reached, 0);
    for (path, is_robots) in [("/robots.txt", true), ("/sitemap.xml", false)] {
        let Ok(url) = origin.join(path) else { continue };
        if crawl.allowance == 0 || !scanner.in_scope(url.path()) {
            continue;
        }
        crawl.allowance -= 1;
        let Ok(answer) = scanner.fetch("GET", url.as_str(), &[], None).await else {
            continue;
        };
        crawl.site.answers.push(answer.clone());
        if answer.response.status != 200 {
            continue;
        }
        if is_robots {
            let (paths, _sitemaps) = links::of_robots(&url, &answer.response.body);
            for path in paths {
                crawl.enqueue(path, 1);
            }
        } else {
            for loc in links::of_sitemap(&answer.response.body) {
                crawl.enqueue(loc, 1);
            }
        }
    }
    let mut fetched = 0;
    while let Some((url, depth)) = crawl.queue.pop_front() {
        if fetched >= CRAWL_PAGES || crawl.allowance == 0 {
            break;
        }
        if !scanner.in_scope(&path_and_query(&url)) {
            continue;
        }
        crawl.allowance -= 1;
        fetched += 1;
        let Ok(answer) = scanner.fetch("GET", url.as_str(), &[], None).await else {
            continue;
        };
        let reached = crawl.follow(scanner, answer).await;
        crawl.visit(reached, depth);
    }
    crawl.site.requests = DISCOVERY_REQUESTS - crawl.allowance;
    Ok(crawl.site)
}

struct Crawl {
    origin: Url,
    site: Site,
    /// URLs fetched or queued.
    seen: BTreeSet<String>,
    queue: VecDeque<(Url, u32)>,
    /// Every same-origin URL known, fetched or not, by key.
    known: BTreeSet<String>,
    allowance: u32,
}

impl Crawl {
    /// Follows same-origin redirects from `answer`; gives the last answer.
    async fn follow(&mut self, scanner: &mut Scanner, mut answer: Exchange) -> Exchange {
        for _ in 0..MAX_REDIRECTS {
            self.site.answers.push(answer.clone());
            let status = answer.response.status;
            if !(300..400).contains(&status) || self.allowance == 0 {
                break;
            }
            let next = Url::parse(&answer.url).ok().and_then(|from| {
                answer
                    .response
                    .header("location")
                    .and_then(|l| from.join(l.trim()).ok())
            });
            let Some(next) = next.filter(|n| same_origin(n, &self.origin)) else {
                break;
            };
            if !scanner.in_scope(&path_and_query(&next)) {
                break;
            }
            self.seen.insert(key(&next));
            self.allowance -= 1;
            match scanner.fetch("GET", next.as_str(), &[], None).await {
                Ok(hop) => answer = hop,
                Err(_) => break,
            }
        }
        if self.site.answers.last().map(|a| &a.url) != Some(&answer.url) {
            self.site.answers.push(answer.clone());
        }
        answer
    }

    /// Records a page and queues what it links to.
    fn visit(&mut self, exchange: Exchange, depth: u32) {
        let Ok(url) = Url::parse(&exchange.url) else {
            return;
        };
        self.note(&url);
        let page = Page { exchange, url };
        let is_json = page
            .exchange
            .response
            .header("content-type")
            .is_some_and(|t| t.contains("json"));
        if is_json {
            self.keep_api(&page.url);
        }
        if page.is_html() {
            let found = links::of_page(&page.url, &page.exchange.response.body);
            for link in found.links {
                self.enqueue(link, depth + 1);
            }
            for (action, fields) in found.get_forms {
                for field in &fields {
                    if REDIRECT_NAMES.contains(&field.to_ascii_lowercase().as_str()) {
                        self.keep_redirect(&action, field);
                    }
                }
                self.enqueue(action, depth + 1);
            }
            for action in found.other_forms {
                // Known (API paths, folders), never submitted.
                self.note(&action);
            }
            for resource in found.resources {
                if same_origin(&resource, &self.origin) {
                    self.note(&resource);
                }
            }
        }
        self.site.pages.push(page);
    }

    /// Queues a link for the crawl, if it may be crawled; notes it either way.
    fn enqueue(&mut self, url: Url, depth: u32) {
        if !same_origin(&url, &self.origin) {
            return;
        }
        self.note(&url);
        let path = url.path().to_ascii_lowercase();
        let is_page = path
            .rsplit('/')
            .next()
            .and_then(|name| name.rsplit_once('.'))
            .is_none_or(|(_, ext)| !NOT_PAGES.contains(&ext));
        let changes = CHANGING_WORDS.iter().any(|w| path.contains(w));
        if depth > MAX_DEPTH || !is_page || changes || !self.seen.insert(key(&url)) {
            return;
        }
        self.queue.push_back((url, depth));
    }

    /// Remembers a same-origin URL: its folders, whether it is an API path, its
    /// redirect-like parameters.
    fn note(&mut self, url: &Url) {
        if !same_origin(url, &self.origin) || !self.known.insert(key(url)) {
            return;
        }
        if url.path().contains("/api/") {
            self.keep_api(url);
        }
        for (name, value) in url.query_pairs() {
            let looks_like_target = value.starts_with('/')
                || value.starts_with("http://")
                || value.starts_with("https://");
            if looks_like_target || REDIRECT_NAMES.contains(&name.to_ascii_lowercase().as_str()) {
                self.keep_redirect(url, &name);
            }
        }
        let mut folder = url.clone();
        folder.set_query(None);
        let segments: Vec<String> = url
            .path_segments()
            .map(|s| s.map(str::to_string).collect())
            .unwrap_or_default();
        for end in 1..segments.len() {
            let path = format!("/{}/", segments[..end].join("/"));
            folder.set_path(&path);
            let folder_key = key(&folder);
            if !self.site.directories.iter().any(|d| key(d) == folder_key) {
                self.site.directories.push(folder.clone());
            }
        }
    }

    fn keep_api(&mut self, url: &Url) {
        let known = self.site.api_urls.iter().any(|u| u.path() == url.path());
        if !known && self.site.api_urls.len() < MAX_KEPT {
            self.site.api_urls.push(url.clone());
        }
    }

    fn keep_redirect(&mut self, url: &Url, name: &str) {
        let param = RedirectParam {
            url: url.clone(),
            name: name.to_string(),
        };
        let known = self
            .site
            .redirect_params
            .iter()
            .any(|p| p.url.path() == url.path() && p.name == name);
        if !known && self.site.redirect_params.len() < MAX_KEPT {
            self.site.redirect_params.push(param);
        }
    }
}

/// Same scheme, host and port.
pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// The path and query of a URL, as scope patterns see it.
pub(crate) fn path_and_query(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

fn key(url: &Url) -> String {
    let mut url = url.clone();
    url.set_fragment(None);
    url.to_string()
}
