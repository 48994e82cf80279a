//! What the sample portal serves, for `stagegate sample-system --routes`: its routes
//! (method, path, what it does) and the flaws it can be told to have. A test checks that
//! every route listed here answers, so the list cannot drift from the router silently.

/// (method, path, what it does) of every route the portal always serves.
pub const ROUTES: [(&str, &str, &str); 22] = [
    ("GET", "/", "home page (sets a session cookie)"),
    ("GET", "/gioi-thieu.html", "about page"),
    ("GET", "/lien-he.html", "contact page"),
    (
        "GET",
        "/tra-cuu",
        "search form (GET form, found by the crawl)",
    ),
    ("GET", "/tai-lieu/huong-dan.pdf", "a PDF guide"),
    (
        "GET",
        "/chuyen-tiep?url=",
        "redirect to a same-site path (any site with the open-redirect flaw)",
    ),
    ("GET", "/robots.txt", "robots rules"),
    ("GET", "/sitemap.xml", "sitemap of the pages"),
    ("GET", "/health", "liveness: {\"status\":\"ok\"}"),
    (
        "GET",
        "/metrics",
        "Prometheus metrics of the portal (sample_http_*)",
    ),
    (
        "GET",
        "/api/phien-ban",
        "the release it serves: {\"version\":\"1.0.0\"} (--release)",
    ),
    (
        "GET",
        "/api/thu-tuc?q=",
        "search administrative procedures by name",
    ),
    (
        "GET",
        "/api/thu-tuc/{ma}",
        "one procedure by code, e.g. 1.001193",
    ),
    (
        "POST",
        "/api/dang-nhap",
        "log in a test citizen: {\"so_cccd\":\"...\"} gives {\"token\":\"...\"}",
    ),
    (
        "POST",
        "/api/ho-so",
        "submit a dossier (Bearer token): gives {\"ma_ho_so\":\"HS-...\"} with 201",
    ),
    (
        "GET",
        "/api/ho-so/{ma}",
        "read one's own dossier (Bearer token)",
    ),
    (
        "GET",
        "/api/can-bo/ho-so",
        "officers' list of dossiers (officer token only)",
    ),
    (
        "GET",
        "/__mau/ten-da-nhan",
        "names received so far (lets tests check UTF-8 arrived byte-exact)",
    ),
    (
        "GET",
        "/.git/config",
        "404 unless the exposed-git flaw is planted",
    ),
    ("GET", "/.env", "404 unless the exposed-env flaw is planted"),
    (
        "TRACE",
        "/*",
        "405 unless the trace-enabled flaw is planted",
    ),
    (
        "GET",
        "/*",
        "anything else: 404 (or a flaw's page, see below)",
    ),
];

/// (name, what it plants) of every flaw, for `--flaw NAME`.
pub const FLAWS: [(&str, &str); 33] = [
    (
        "missing-security-headers",
        "No X-Content-Type-Options, CSP or frame protection on pages.",
    ),
    (
        "weak-csp",
        "A CSP that allows `*`, `'unsafe-inline'` and `'unsafe-eval'` scripts.",
    ),
    (
        "insecure-cookie",
        "The home page's cookie lacks HttpOnly and SameSite.",
    ),
    (
        "server-version",
        "`Server: nginx/1.18.0` and `X-Powered-By: Express 4.17.1`.",
    ),
    (
        "verbose-errors",
        "Malformed JSON is answered with a stack trace and the request headers.",
    ),
    (
        "cors-reflect",
        "CORS echoes any `Origin` with credentials allowed.",
    ),
    ("cors-wildcard", "`Access-Control-Allow-Origin: *`."),
    ("exposed-git", "Serves `/.git/config`."),
    ("exposed-env", "Serves `/.env` with secrets in it."),
    ("exposed-backup", "Serves a database dump at `/backup.sql`."),
    (
        "exposed-api-docs",
        "Serves its OpenAPI document at `/openapi.json`.",
    ),
    ("directory-listing", "Lists `/uploads/`."),
    ("trace-enabled", "Answers TRACE by echoing the request."),
    ("missing-auth", "Dossiers can be read with no token at all."),
    (
        "unchecked-token-signature",
        "Token signatures are not checked.",
    ),
    ("jwt-alg-none", "Unsigned `alg: none` tokens are accepted."),
    ("expired-token-accepted", "Expired tokens are accepted."),
    ("idor", "Any logged-in citizen can read any dossier."),
    (
        "officer-endpoint-open",
        "A citizen's token is accepted on the officer endpoint.",
    ),
    (
        "excessive-data",
        "Dossiers carry the owner's password hash and internal notes.",
    ),
    (
        "cacheable-responses",
        "Personal answers are sent with `Cache-Control: public`.",
    ),
    ("no-rate-limit", "Failed logins are never limited."),
    (
        "django-debug",
        "Missing pages answer with Django's DEBUG 404 page, listing every URL pattern.",
    ),
    (
        "werkzeug-debugger",
        "`/console` serves the Werkzeug interactive debugger.",
    ),
    (
        "exposed-server-status",
        "`/server-status` serves Apache's status page.",
    ),
    (
        "exposed-actuator",
        "`/actuator` and `/actuator/env` answer without authentication.",
    ),
    (
        "admin-console",
        "`/manager/html` serves an open Tomcat manager.",
    ),
    ("default-page", "The home page is nginx's default page."),
    ("git-listing", "`/.git/` is listed."),
    (
        "vcs-leftovers",
        "`.svn/wc.db`, `.hg/requires` and `.DS_Store` are served.",
    ),
    (
        "editor-leftovers",
        "A backup of a page's template sits next to it (`/gioi-thieu.html.bak`).",
    ),
    (
        "cors-api",
        "CORS echoes any `Origin` with credentials on `/api/` paths only.",
    ),
    (
        "open-redirect",
        "`/chuyen-tiep?url=` redirects to any site.",
    ),
];

/// The text `--routes` prints.
pub fn listing() -> String {
    let mut text = String::from("Routes (the sample portal always serves these):\n");
    for (method, path, what) in ROUTES {
        text.push_str(&format!("  {method:<6} {path:<26} {what}\n"));
    }
    text.push_str("\nFlaws (plant with --flaw NAME, repeatable):\n");
    for (name, what) in FLAWS {
        text.push_str(&format!("  {name:<26} {what}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flaw_is_listed() {
        for (flaw, name) in crate::Flaw::ALL {
            assert!(FLAWS.iter().any(|(n, _)| *n == name), "{flaw:?} missing");
        }
    }
}
