//! Header checks on the landing page (one shared request): CSP, clickjacking,
//! `X-Content-Type-Options`, HSTS on HTTPS, cookie flags and version disclosure. Each
//! judge is a pure function of the response, tested below.

use super::super::catalogue::CheckInfo;
use super::super::outcome::Finding;
use super::super::scanner::{FetchError, Scanner};
use crate::config::matcher::ObservedResponse;

/// HSTS shorter than this protects too little: 180 days, the floor ZAP and the HSTS
/// preload list's older guidance use.
const HSTS_MIN_AGE_S: u64 = 15_552_000;

pub(super) async fn run(
    scanner: &mut Scanner,
    info: &CheckInfo,
) -> Result<Vec<Finding>, FetchError> {
    let landing = scanner.shared("landing", "/", &[]).await?;
    let problem = judge(info.id, &landing.response, scanner.is_https());
    Ok(problem
        .map(|note| Finding::of(info, &landing.url, scanner.header_evidence(&landing, &note)))
        .into_iter()
        .collect())
}

/// The problem a header check sees in a response, if any.
pub(super) fn judge(id: &str, response: &ObservedResponse, https: bool) -> Option<String> {
    match id {
        "header.csp" => csp_problem(response.header("content-security-policy")),
        "header.clickjacking" => {
            let csp = response
                .header("content-security-policy")
                .unwrap_or_default();
            let xfo = response
                .header("x-frame-options")
                .unwrap_or_default()
                .trim()
                .to_ascii_uppercase();
            if csp.contains("frame-ancestors") || xfo == "DENY" || xfo == "SAMEORIGIN" {
                None
            } else {
                Some("(neither CSP frame-ancestors nor X-Frame-Options)".into())
            }
        }
        "header.x-content-type-options" => match response.header("x-content-type-options") {
            Some(v) if v.trim().eq_ignore_ascii_case("nosniff") => None,
            Some(v) => Some(format!("(X-Content-Type-Options: {v})")),
            None => Some("(no X-Content-Type-Options header)".into()),
        },
        // HSTS means nothing on plain HTTP (browsers ignore it there).
        "header.hsts" if !https => None,
        "header.hsts" => match response.header("strict-transport-security") {
            None => Some("(no Strict-Transport-Security header)".into()),
            Some(v) => {
                let age = v
                    .split(';')
                    .find_map(|d| d.trim().strip_prefix("max-age="))
                    .and_then(|a| a.trim_matches('"').parse::<u64>().ok());
                match age {
                    Some(age) if age >= HSTS_MIN_AGE_S => None,
                    _ => Some(format!(
                        "(Strict-Transport-Security: {v}; max-age below {HSTS_MIN_AGE_S}s)"
                    )),
                }
            }
        },
        "header.cookie-flags" => cookie_problem(response, https),
        "disclosure.server-version" => [
            "server",
            "x-powered-by",
            "x-aspnet-version",
            "x-aspnetmvc-version",
        ]
        .into_iter()
        .find_map(|name| {
            response
                .header(name)
                .filter(|v| v.chars().any(|c| c.is_ascii_digit()))
                .map(|v| format!("({name}: {v})"))
        }),
        _ => None,
    }
}

/// Missing, or a script policy that lets injected script run.
fn csp_problem(header: Option<&str>) -> Option<String> {
    let Some(policy) = header.filter(|v| !v.trim().is_empty()) else {
        return Some("(no Content-Security-Policy header)".into());
    };
    let directives: Vec<(String, Vec<&str>)> = policy
        .split(';')
        .filter_map(|d| {
            let mut words = d.split_whitespace();
            words
                .next()
                .map(|name| (name.to_ascii_lowercase(), words.collect()))
        })
        .collect();
    let find = |name: &str| {
        directives
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let Some(sources) = find("script-src").or_else(|| find("default-src")) else {
        return Some(format!(
            "(weak: no script-src or default-src in `{policy}`)"
        ));
    };
    // With a nonce or hash, browsers ignore 'unsafe-inline' (CSP level 2).
    let has_nonce = sources
        .iter()
        .any(|s| s.starts_with("'nonce-") || s.starts_with("'sha"));
    let weak: Vec<&str> = sources
        .iter()
        .copied()
        .filter(|s| {
            let s_lower = s.to_ascii_lowercase();
            (s_lower == "'unsafe-inline'" && !has_nonce)
                || s_lower == "'unsafe-eval'"
                || *s == "*"
                || s_lower == "http:"
                || s_lower == "https:"
                || s_lower == "data:"
        })
        .collect();
    if weak.is_empty() {
        None
    } else {
        Some(format!(
            "(weak script sources {} in `{policy}`)",
            weak.join(" ")
        ))
    }
}

/// Cookies set without HttpOnly or SameSite (and Secure, on HTTPS).
fn cookie_problem(response: &ObservedResponse, https: bool) -> Option<String> {
    let mut problems = Vec::new();
    for cookie in response.headers_named("set-cookie") {
        let mut parts = cookie.split(';');
        let name = parts
            .next()
            .and_then(|nv| nv.split('=').next())
            .unwrap_or_default()
            .trim()
            .to_string();
        let attributes: Vec<String> = parts.map(|a| a.trim().to_ascii_lowercase()).collect();
        let has = |flag: &str| {
            attributes
                .iter()
                .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
        };
        let mut missing = Vec::new();
        if !has("httponly") {
            missing.push("HttpOnly");
        }
        if !has("samesite") || (attributes.iter().any(|a| a == "samesite=none") && !has("secure")) {
            missing.push("SameSite");
        }
        if https && !has("secure") {
            missing.push("Secure");
        }
        if !missing.is_empty() {
            problems.push(format!("`{name}` without {}", missing.join(", ")));
        }
    }
    (!problems.is_empty()).then(|| format!("(cookie {})", problems.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(headers: &[(&str, &str)]) -> ObservedResponse {
        ObservedResponse {
            status: 200,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: String::new(),
            truncated: false,
        }
    }

    #[test]
    fn csp_missing_weak_and_strong() {
        assert!(judge("header.csp", &with(&[]), false).is_some());
        let weak = judge(
            "header.csp",
            &with(&[("content-security-policy", "default-src * 'unsafe-inline'")]),
            false,
        );
        assert!(weak.is_some_and(|w| w.contains("'unsafe-inline'") && w.contains('*')));
        assert!(judge(
            "header.csp",
            &with(&[(
                "content-security-policy",
                "default-src 'self'; frame-ancestors 'none'"
            )]),
            false
        )
        .is_none());
        assert!(judge(
            "header.csp",
            &with(&[(
                "content-security-policy",
                "script-src 'nonce-abc' 'unsafe-inline'"
            )]),
            false
        )
        .is_none());
        assert!(judge(
            "header.csp",
            &with(&[("content-security-policy", "frame-ancestors 'none'")]),
            false
        )
        .is_some());
    }

    #[test]
    fn hsts_is_judged_only_on_https() {
        assert!(judge("header.hsts", &with(&[]), false).is_none());
        assert!(judge("header.hsts", &with(&[]), true).is_some());
        assert!(judge(
            "header.hsts",
            &with(&[("strict-transport-security", "max-age=300")]),
            true
        )
        .is_some());
        assert!(judge(
            "header.hsts",
            &with(&[(
                "strict-transport-security",
                "max-age=31536000; includeSubDomains"
            )]),
            true
        )
        .is_none());
    }

    #[test]
    fn cookie_flags_name_what_is_missing() {
        let bad = with(&[
            ("set-cookie", "phien=abc; Path=/"),
            ("set-cookie", "ok=1; HttpOnly; SameSite=Lax"),
        ]);
        let problem = judge("header.cookie-flags", &bad, false).unwrap_or_default();
        assert!(
            problem.contains("`phien` without HttpOnly, SameSite") && !problem.contains("`ok`"),
            "{problem}"
        );
        let good = with(&[("set-cookie", "phien=abc; Path=/; HttpOnly; SameSite=Strict")]);
        assert!(judge("header.cookie-flags", &good, false).is_none());
        assert!(judge("header.cookie-flags", &good, true).is_some_and(|p| p.contains("Secure")));
        assert!(judge("header.cookie-flags", &with(&[]), true).is_none());
    }

    #[test]
    fn version_disclosure_needs_a_version() {
        assert!(judge(
            "disclosure.server-version",
            &with(&[("server", "nginx")]),
            false
        )
        .is_none());
        assert!(judge(
            "disclosure.server-version",
            &with(&[("x-powered-by", "PHP/8.1.2")]),
            false
        )
        .is_some());
    }
}
