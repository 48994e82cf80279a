//! The sample portal's public pages (home, about, contact, search, a document, the
//! "continue to" redirect, robots.txt and sitemap.xml), for discovery to crawl, and the
//! pages its planted flaws serve in their place: framework debug pages, status and
//! admin endpoints, default and leftover files. Each flawed answer imitates the real
//! software's own words, which is what the checks recognise.

use super::Flaw;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use std::collections::BTreeSet;

/// The home page: links to the other pages, an API search, a document, a redirect
/// through `/chuyen-tiep`, and a GET search form.
pub(super) fn home(flaws: &BTreeSet<Flaw>) -> Response {
    if flaws.contains(&Flaw::DefaultPage) {
        return Html(
            "<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n</head>\n<body>\n<h1>Welcome to nginx!</h1>\n\
             <p>If you see this page, the nginx web server is successfully installed and working. Further configuration is required.</p>\n</body>\n</html>\n",
        )
        .into_response();
    }
    Html(
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><title>Cổng Dịch vụ công (mẫu)</title></head>\
         <body><h1>Cổng Dịch vụ công quốc gia — hệ thống mẫu</h1><p>Tra cứu thủ tục, nộp hồ sơ trực tuyến, theo dõi trạng thái.</p>\
         <nav><a href=\"/gioi-thieu.html\">Giới thiệu</a> · <a href=\"/lien-he.html\">Liên hệ</a> · \
         <a href=\"/api/thu-tuc?q=khai+sinh\">Thủ tục khai sinh</a> · <a href=\"/tai-lieu/huong-dan.pdf\">Hướng dẫn (PDF)</a> · \
         <a href=\"/chuyen-tiep?url=/gioi-thieu.html\">Về chúng tôi</a></nav>\
         <form action=\"/tra-cuu\" method=\"get\"><input name=\"ma\" placeholder=\"Mã hồ sơ\"><button>Tra cứu</button></form>\
         </body></html>",
    )
    .into_response()
}

/// A plain content page linking back home.
pub(super) fn content(title: &'static str, text: &'static str) -> Response {
    Html(format!(
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{text}</p><p><a href=\"/\">Trang chủ</a></p></body></html>"
    ))
    .into_response()
}

/// The search form's answer.
pub(super) fn search_page() -> Response {
    content("Tra cứu hồ sơ", "Nhập mã hồ sơ để xem trạng thái xử lý.")
}

/// A document the home page links to (not a page: the crawl does not fetch it).
pub(super) fn document() -> Response {
    (
        [(header::CONTENT_TYPE, "application/pdf")],
        "%PDF-1.4\n% Huong dan nop ho so truc tuyen (mau)\n%%EOF\n",
    )
        .into_response()
}

/// `/chuyen-tiep?url=`: "continue to" a page of the portal. Clean, it goes only to a
/// path of this site (`/x`, never `//host`); with the open-redirect flaw, anywhere.
pub(super) fn continue_to(flaws: &BTreeSet<Flaw>, target: Option<&str>) -> Response {
    let target = target.unwrap_or("/");
    let local = target.starts_with('/') && !target.starts_with("//") && !target.contains('\\');
    if local || flaws.contains(&Flaw::OpenRedirect) {
        Redirect::to(target).into_response()
    } else {
        Redirect::to("/").into_response()
    }
}

pub(super) fn robots() -> Response {
    "User-agent: *\nDisallow: /quan-tri/\nSitemap: /sitemap.xml\n".into_response()
}

pub(super) fn sitemap(base: &str) -> Response {
    (
        [(header::CONTENT_TYPE, "application/xml")],
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\
             <url><loc>{base}/</loc></url><url><loc>{base}/gioi-thieu.html</loc></url><url><loc>{base}/tra-cuu</loc></url></urlset>\n"
        ),
    )
        .into_response()
}

/// What a flaw serves at `path` (GET), if anything.
pub(super) fn flawed(flaws: &BTreeSet<Flaw>, path: &str) -> Option<Response> {
    let has = |f: Flaw| flaws.contains(&f);
    let text = |body: &'static str| Some(body.into_response());
    let html = |body: &'static str| Some(Html(body).into_response());
    match path {
        "/console" if has(Flaw::WerkzeugDebugger) => html(
            "<!doctype html><html><head><title>Console // Werkzeug Debugger</title>\
             <script src=\"?__debugger__=yes&amp;cmd=resource&amp;f=debugger.js\"></script></head>\
             <body><div class=\"debugger\"><h1>Interactive Console</h1>\
             <div class=\"explanation\">In this console you can execute Python expressions in the context of the application.</div></div></body></html>",
        ),
        "/server-status" if has(Flaw::ExposedServerStatus) => html(
            "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\"><html><head><title>Apache Status</title></head><body>\
             <h1>Apache Server Status for dichvucong.example.gov.vn (via 10.0.0.5)</h1>\
             <dl><dt>Server Version: Apache/2.4.57 (Debian)</dt><dt>Total accesses: 1024</dt></dl>\
             <table><tr><th>Client</th><th>Request</th></tr><tr><td>203.0.113.7</td><td>GET /api/ho-so/HS-00000001 HTTP/1.1</td></tr></table></body></html>",
        ),
        "/actuator" if has(Flaw::ExposedActuator) => Some(axum::Json(serde_json::json!({
            "_links": {
                "self": { "href": "/actuator", "templated": false },
                "env": { "href": "/actuator/env", "templated": false },
                "heapdump": { "href": "/actuator/heapdump", "templated": false },
                "health": { "href": "/actuator/health", "templated": false }
            }
        })).into_response()),
        "/actuator/env" if has(Flaw::ExposedActuator) => Some(axum::Json(serde_json::json!({
            "activeProfiles": ["prod"],
            "propertySources": [{ "name": "applicationConfig", "properties": {
                "spring.datasource.url": { "value": "jdbc:postgresql://db/dvc" },
                "spring.datasource.password": { "value": "******" }
            } }]
        })).into_response()),
        "/manager/html" if has(Flaw::AdminConsole) => html(
            "<html><head><title>/manager</title></head><body><h1>Tomcat Web Application Manager</h1>\
             <table><tr><td>/dvc</td><td>Running</td><td><form method=\"post\" action=\"/manager/html/undeploy?path=/dvc\"><input type=\"submit\" value=\"Undeploy\"></form></td></tr></table></body></html>",
        ),
        "/.git/" if has(Flaw::GitListing) => html(
            "<html><head><title>Index of /.git/</title></head><body><h1>Index of /.git/</h1><hr><pre>\
             <a href=\"../\">../</a>\n<a href=\"HEAD\">HEAD</a>\n<a href=\"config\">config</a>\n\
             <a href=\"objects/\">objects/</a>\n<a href=\"refs/\">refs/</a>\n</pre><hr></body></html>",
        ),
        "/.svn/wc.db" if has(Flaw::VcsLeftovers) => text("SQLite format 3\0\u{10}\0\u{1}\u{1}\0@  "),
        "/.hg/requires" if has(Flaw::VcsLeftovers) => text("dotencode\nfncache\ngeneraldelta\nrevlogv1\nstore\n"),
        "/.DS_Store" if has(Flaw::VcsLeftovers) => text("\0\0\0\u{1}Bud1\0\0\u{10}\0\0\0\u{8}\0\0\0\u{10}"),
        "/gioi-thieu.html.bak" if has(Flaw::EditorLeftovers) => text(
            "{% extends \"co-so.html\" %}\n{% block noi_dung %}\n<h1>Giới thiệu</h1>\n{# TODO: bỏ trước khi triển khai — DB_PASSWORD=matkhau-thu #}\n{% endblock %}\n",
        ),
        _ => None,
    }
}

/// Django's DEBUG 404 page for `path`: every URL pattern of the site, listed.
pub(super) fn django_not_found(path: &str) -> Response {
    let path = path.replace(['<', '>', '&', '"'], "");
    (
        StatusCode::NOT_FOUND,
        Html(format!(
            "<!DOCTYPE html><html lang=\"en\"><head><title>Page not found at {path}</title></head><body>\
             <div id=\"summary\"><h1>Page not found <span>(404)</span></h1><table class=\"meta\"><tr><th>Request URL:</th><td>{path}</td></tr></table></div>\
             <div id=\"info\"><p>Using the URLconf defined in <code>dvc.urls</code>, Django tried these URL patterns, in this order:</p>\
             <ol><li>admin/</li><li>api/ho-so/&lt;ma&gt;</li><li>api/can-bo/ho-so</li></ol></div>\
             <div id=\"explanation\"><p>You're seeing this error because you have <code>DEBUG = True</code> in your Django settings file.</p></div></body></html>"
        )),
    )
        .into_response()
}
