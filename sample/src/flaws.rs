//! The planted security flaws of the sample portal that are not part of a route's own
//! logic: files and listings it should never serve, TRACE echo, stack traces on
//! malformed JSON, and the headers it gets wrong (CSP, cookies, CORS, caching).

use super::{pages, Flaw};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeSet;

/// A response for a flawed path or method, before routing; `None` routes normally.
pub(super) fn answer(
    flaws: &BTreeSet<Flaw>,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Option<Response> {
    if method.as_str() == "TRACE" && flaws.contains(&Flaw::TraceEnabled) {
        let mut echo = format!("TRACE {path} HTTP/1.1\r\n");
        for (name, value) in headers {
            echo.push_str(&format!(
                "{name}: {}\r\n",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        return Some(([("content-type", "message/http")], echo).into_response());
    }
    if method != Method::GET {
        return None;
    }
    if let Some(answer) = pages::flawed(flaws, path) {
        return Some(answer);
    }
    match path {
        "/backup.sql" if flaws.contains(&Flaw::ExposedBackup) => Some(
            "-- PostgreSQL database dump\n\nCREATE TABLE cong_dan (so_cccd text PRIMARY KEY, ho_ten text);\n\
             INSERT INTO cong_dan VALUES ('046091167680', 'Huỳnh Xuân Cường');\n"
                .into_response(),
        ),
        "/openapi.json" if flaws.contains(&Flaw::ExposedApiDocs) => Some(
            axum::Json(serde_json::json!({
                "openapi": "3.0.3",
                "info": { "title": "Cổng Dịch vụ công (mẫu)", "version": "1.0.0" },
                "paths": { "/api/ho-so/{ma}": { "get": { "summary": "Tra cứu hồ sơ" } }, "/api/can-bo/ho-so": { "get": { "summary": "Danh sách hồ sơ (cán bộ)" } } }
            }))
            .into_response(),
        ),
        "/tai-lieu/" if flaws.contains(&Flaw::DirectoryListing) => Some(
            axum::response::Html(
                "<html><head><title>Index of /tai-lieu/</title></head><body><h1>Index of /tai-lieu/</h1>\
                 <a href=\"huong-dan.pdf\">huong-dan.pdf</a></body></html>",
            )
            .into_response(),
        ),
        "/uploads/" if flaws.contains(&Flaw::DirectoryListing) => Some(
            axum::response::Html(
                "<html><head><title>Index of /uploads/</title></head><body><h1>Index of /uploads/</h1>\
                 <a href=\"giay-khai-sinh-HS-00000001.pdf\">giay-khai-sinh-HS-00000001.pdf</a></body></html>",
            )
            .into_response(),
        ),
        _ => None,
    }
}

/// What a framework's debug page shows on a panic: the panic, a backtrace and the
/// request headers (secrets included, which is why evidence must be redacted).
pub(super) fn stack_trace(headers: &HeaderMap) -> Response {
    let mut text = String::from(
        "thread 'tokio-runtime-worker' panicked at src/api/ho_so.rs:42:17\nrequest headers:\n",
    );
    for (name, value) in headers {
        text.push_str(&format!(
            "  {name}: {}\n",
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    text.push_str(
        "called `Result::unwrap()` on an `Err` value: Error(\"EOF while parsing an object\", line: 1, column: 14)\n\
         stack backtrace:\n   0: dvc_portal::api::ho_so::nop_ho_so\n   1: axum::handler::Handler::call\n",
    );
    (StatusCode::INTERNAL_SERVER_ERROR, text).into_response()
}

/// Security headers, cookies, CORS and caching, right or wrong as the flaws say.
pub(super) fn decorate(
    flaws: &BTreeSet<Flaw>,
    route: &str,
    origin: Option<&HeaderValue>,
    headers: &mut HeaderMap,
) {
    if !flaws.contains(&Flaw::MissingSecurityHeaders) {
        headers.insert(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        );
        headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
        let csp = if flaws.contains(&Flaw::WeakCsp) {
            "default-src * 'unsafe-inline' 'unsafe-eval'; frame-ancestors 'none'"
        } else {
            "default-src 'self'; frame-ancestors 'none'"
        };
        headers.insert("content-security-policy", HeaderValue::from_static(csp));
    }
    if route == "/" {
        // A visitor cookie on the home page, so cookie flags have something to judge.
        let cookie = if flaws.contains(&Flaw::InsecureCookie) {
            "phien_khach=khach; Path=/"
        } else {
            "phien_khach=khach; Path=/; HttpOnly; SameSite=Lax"
        };
        headers.insert("set-cookie", HeaderValue::from_static(cookie));
    }
    let reflects = flaws.contains(&Flaw::CorsReflect)
        || (flaws.contains(&Flaw::CorsApi) && route.starts_with("/api/"));
    if reflects {
        if let Some(origin) = origin {
            headers.insert("access-control-allow-origin", origin.clone());
            headers.insert(
                "access-control-allow-credentials",
                HeaderValue::from_static("true"),
            );
        }
    } else if flaws.contains(&Flaw::CorsWildcard) {
        headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    }
    let personal = route.starts_with("/api/ho-so")
        || route.starts_with("/api/dang-nhap")
        || route.starts_with("/api/can-bo");
    if personal {
        let cache = if flaws.contains(&Flaw::CacheableResponses) {
            "public, max-age=600"
        } else {
            "no-store"
        };
        headers.insert("cache-control", HeaderValue::from_static(cache));
    }
}
