//! Header checks on every page discovery reached (the start page after its redirects,
//! then the crawled HTML pages): CSP, clickjacking, `X-Content-Type-Options`,
//! `Referrer-Policy`, HSTS on HTTPS, cookie flags (on every answer, redirects
//! included) and version disclosure. Each judge is a pure function of one response,
//! tested below; the same problem on several pages is one finding naming them all.

use super::super::catalogue::{CheckId, CheckInfo};
use super::super::discovery::Site;
use super::super::outcome::Finding;
use super::super::scanner::{Exchange, FetchError, Scanner};
use crate::config::matcher::ObservedResponse;

/// HSTS shorter than this protects too little: 180 days, the floor ZAP and the HSTS
/// preload list's older guidance use.
const HSTS_MIN_AGE_S: u64 = 15_552_000;
/// Other pages with the same problem named in a finding's evidence, at most.
const MORE_PAGES_SHOWN: usize = 5;

pub(super) fn run(
    scanner: &Scanner,
    site: &Site,
    info: &CheckInfo,
) -> Result<Vec<Finding>, FetchError> {
    let https = scanner.is_https();
    if info.id == CheckId::HeaderHsts && !https {
        return Err(FetchError::NotApplicable(
            "HSTS means nothing on a plain http:// target (browsers ignore it there)".into(),
        ));
    }
    // Cookies and version headers are judged on every answer; page headers on pages.
    let judged: Vec<&Exchange> = match info.id {
        CheckId::HeaderCookieFlags | CheckId::DisclosureServerVersion => {
            site.answers.iter().collect()
        }
        _ => site
            .pages
            .iter()
            .enumerate()
            .filter(|(i, p)| *i == 0 || p.is_html())
            .map(|(_, p)| &p.exchange)
            .collect(),
    };
    if info.id == CheckId::HeaderCookieFlags
        && judged
            .iter()
            .all(|e| e.response.headers_named("set-cookie").next().is_none())
    {
        return Err(FetchError::NotApplicable(format!(
            "no cookie set on the {} answers seen",
            judged.len()
        )));
    }
    Ok(grouped(scanner, info, &judged, |e| {
        judge(info.id, &e.response, https)
    }))
}

/// One finding per distinct problem: the first page that shows it, the others named.
pub(super) fn grouped(
    scanner: &Scanner,
    info: &CheckInfo,
    judged: &[&Exchange],
    problem: impl Fn(&Exchange) -> Option<String>,
) -> Vec<Finding> {
    let mut groups: Vec<(String, &Exchange, Vec<String>)> = Vec::new();
    for exchange in judged {
        let Some(note) = problem(exchange) else {
            continue;
        };
        match groups.iter_mut().find(|(n, _, _)| *n == note) {
            Some((_, first, others)) => {
                if first.url != exchange.url && !others.contains(&exchange.url) {
                    others.push(exchange.url.clone());
                }
            }
            None => groups.push((note, exchange, Vec::new())),
        }
    }
    groups
        .into_iter()
        .map(|(note, exchange, others)| {
            let mut evidence = scanner.header_evidence(exchange, &note);
            if !others.is_empty() {
                let shown: Vec<&str> = others
                    .iter()
                    .take(MORE_PAGES_SHOWN)
                    .map(String::as_str)
                    .collect();
                let more = others.len().saturating_sub(MORE_PAGES_SHOWN);
                evidence.push_str(&format!(
                    "\n(same on {}{})",
                    shown.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                ));
                evidence = scanner.redact(&evidence);
            }
            Finding::of(info, &exchange.url, evidence)
        })
        .collect()
}

/// The problem a header check sees in a response, if any.
pub(super) fn judge(id: CheckId, response: &ObservedResponse, https: bool) -> Option<String> {
    match id {
        CheckId::HeaderCsp => csp_problem(response.header("content-security-policy")),
        CheckId::HeaderClickjacking => {
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
        CheckId::HeaderXContentTypeOptions => match response.header("x-content-type-options") {
            Some(v) if v.trim().eq_ignore_ascii_case("nosniff") => None,
            Some(v) => Some(format!("(X-Content-Type-Options: {v})")),
            None => Some("(no X-Content-Type-Options header)".into()),
        },
        // HSTS means nothing on plain HTTP (browsers ignore it there).
        CheckId::HeaderHsts if !https => None,
        CheckId::HeaderHsts => match response.header("strict-transport-security") {
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
        CheckId::HeaderCookieFlags => cookie_problem(response, https),
        CheckId::DisclosureServerVersion => [
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
        CheckId::HeaderReferrerPolicy => referrer_problem(response.header("referrer-policy")),
        _ => None,
    }
}

/// Missing, or a policy that sends the full URL (path and query) to other sites.
fn referrer_problem(header: Option<&str>) -> Option<String> {
    let Some(value) = header.filter(|v| !v.trim().is_empty()) else {
        return Some("(no Referrer-Policy header)".into());
    };
    // Several comma-separated values: browsers use the last one they know.
    let last = value
        .rsplit(',')
        .next()
        .unwrap_or(value)
        .trim()
        .to_ascii_lowercase();
    match last.as_str() {
        "unsafe-url" | "no-referrer-when-downgrade" => Some(format!(
            "(Referrer-Policy: {value} sends full URLs to other sites)"
        )),
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
        assert!(judge(CheckId::HeaderCsp, &with(&[]), false).is_some());
        let weak = judge(
            CheckId::HeaderCsp,
            &with(&[("content-security-policy", "default-src * 'unsafe-inline'")]),
            false,
        );
        assert!(weak.is_some_and(|w| w.contains("'unsafe-inline'") && w.contains('*')));
        assert!(judge(
            CheckId::HeaderCsp,
            &with(&[(
                "content-security-policy",
                "default-src 'self'; frame-ancestors 'none'"
            )]),
            false
        )
        .is_none());
        assert!(judge(
            CheckId::HeaderCsp,
            &with(&[(
                "content-security-policy",
                "script-src 'nonce-abc' 'unsafe-inline'"
            )]),
            false
        )
        .is_none());
        assert!(judge(
            CheckId::HeaderCsp,
            &with(&[("content-security-policy", "frame-ancestors 'none'")]),
            false
        )
        .is_some());
    }

    #[test]
    fn hsts_is_judged_only_on_https() {
        assert!(judge(CheckId::HeaderHsts, &with(&[]), false).is_none());
        assert!(judge(CheckId::HeaderHsts, &with(&[]), true).is_some());
        assert!(judge(
            CheckId::HeaderHsts,
            &with(&[("strict-transport-security", "max-age=300")]),
            true
        )
        .is_some());
        assert!(judge(
            CheckId::HeaderHsts,
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
        let problem = judge(CheckId::HeaderCookieFlags, &bad, false).unwrap_or_default();
        assert!(
            problem.contains("`phien` without HttpOnly, SameSite") && !problem.contains("`ok`"),
            "{problem}"
        );
        let good = with(&[("set-cookie", "phien=abc; Path=/; HttpOnly; SameSite=Strict")]);
        assert!(judge(CheckId::HeaderCookieFlags, &good, false).is_none());
        assert!(
            judge(CheckId::HeaderCookieFlags, &good, true).is_some_and(|p| p.contains("Secure"))
        );
        assert!(judge(CheckId::HeaderCookieFlags, &with(&[]), true).is_none());
    }

    #[test]
    fn referrer_policy_missing_or_leaking() {
        let id = CheckId::HeaderReferrerPolicy;
        assert!(judge(id, &with(&[]), false).is_some());
        assert!(judge(id, &with(&[("referrer-policy", "unsafe-url")]), false).is_some());
        assert!(judge(id, &with(&[("referrer-policy", "no-referrer")]), false).is_none());
        assert!(judge(
            id,
            &with(&[(
                "referrer-policy",
                "unsafe-url, strict-origin-when-cross-origin"
            )]),
            false
        )
        .is_none());
    }

    #[test]
    fn version_disclosure_needs_a_version() {
        assert!(judge(
            CheckId::DisclosureServerVersion,
            &with(&[("server", "nginx")]),
            false
        )
        .is_none());
        assert!(judge(
            CheckId::DisclosureServerVersion,
            &with(&[("x-powered-by", "PHP/8.1.2")]),
            false
        )
        .is_some());
    }
}
