//! The catalogue of built-in security checks: stable ids, severity, whether they are
//! safe to send to production, what they need from the suite, how many requests they
//! may send, remediation and reference. Pure data; `security::checks` implements each id.

use crate::config::suite::Severity;
use serde::Serialize;

/// One built-in check.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CheckInfo {
    /// Stable id used in suite files and reports.
    pub id: &'static str,
    /// Human name.
    pub name: &'static str,
    /// Severity of its finding.
    pub severity: Severity,
    /// Sends only GET/HEAD/OPTIONS requests that change nothing (the passive profile).
    pub production_safe: bool,
    /// Needs the suite's `[auth]` section (test accounts that log in).
    pub needs_accounts: bool,
    /// Requests it may send of its own, beyond the shared landing page, missing-page
    /// baseline and account session; the scanner refuses to send more.
    pub max_requests: u32,
    /// What to do about a finding.
    pub remediation: &'static str,
    /// OWASP API Security Top 10 2023 item or passive-scan rule it follows.
    pub reference: &'static str,
}

/// Requests shared by several checks and sent at most once per run: the landing page
/// and the answer to a page that cannot exist.
pub const SHARED_REQUESTS: u32 = 2;

/// Every built-in check.
pub const CATALOGUE: &[CheckInfo] = &[
    CheckInfo {
        id: "header.csp",
        name: "Content-Security-Policy missing or weak",
        severity: Severity::Medium,
        production_safe: true,
        needs_accounts: false,
        max_requests: 0,
        remediation: "Send a Content-Security-Policy that restricts script sources, e.g. `default-src 'self'`, without `unsafe-inline`, `unsafe-eval` or `*`.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP passive rules 10038 and 10055",
    },
    CheckInfo {
        id: "header.clickjacking",
        name: "Clickjacking protection missing",
        severity: Severity::Medium,
        production_safe: true,
        needs_accounts: false,
        max_requests: 0,
        remediation: "Send `Content-Security-Policy: frame-ancestors 'none'` (or `X-Frame-Options: DENY`).",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP passive rule 10020",
    },
    CheckInfo {
        id: "header.x-content-type-options",
        name: "X-Content-Type-Options missing",
        severity: Severity::Low,
        production_safe: true,
        needs_accounts: false,
        max_requests: 0,
        remediation: "Send `X-Content-Type-Options: nosniff` on every response.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP passive rule 10021",
    },
    CheckInfo {
        id: "header.hsts",
        name: "Strict-Transport-Security missing or short on HTTPS",
        severity: Severity::Medium,
        production_safe: true,
        needs_accounts: false,
        max_requests: 0,
        remediation: "On HTTPS send `Strict-Transport-Security: max-age=31536000; includeSubDomains`.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP passive rule 10035",
    },
    CheckInfo {
        id: "header.cookie-flags",
        name: "Cookie without Secure, HttpOnly or SameSite",
        severity: Severity::Medium,
        production_safe: true,
        needs_accounts: false,
        max_requests: 0,
        remediation: "Set session cookies with `HttpOnly; SameSite=Lax` (or `Strict`) and, on HTTPS, `Secure`.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP passive rules 10010, 10011, 10054",
    },
    CheckInfo {
        id: "disclosure.server-version",
        name: "Server or technology version disclosed",
        severity: Severity::Low,
        production_safe: true,
        needs_accounts: false,
        max_requests: 0,
        remediation: "Remove version numbers from `Server`, `X-Powered-By` and `X-AspNet-Version` headers.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP passive rules 10036 and 10037",
    },
    CheckInfo {
        id: "disclosure.verbose-errors",
        name: "Stack trace or verbose error on malformed input",
        severity: Severity::Medium,
        production_safe: false,
        needs_accounts: false,
        max_requests: 2,
        remediation: "Answer malformed input with a short error message; log details on the server, never in the response.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 90022 (Application Error Disclosure)",
    },
    CheckInfo {
        id: "cors.origin-reflection",
        name: "CORS reflects any origin with credentials",
        severity: Severity::High,
        production_safe: true,
        needs_accounts: false,
        max_requests: 1,
        remediation: "Allow only a fixed list of trusted origins; never echo the request's `Origin` together with `Access-Control-Allow-Credentials: true`.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 40040 (CORS Misconfiguration)",
    },
    CheckInfo {
        id: "cors.wildcard",
        name: "CORS allows any origin",
        severity: Severity::Low,
        production_safe: true,
        needs_accounts: false,
        max_requests: 1,
        remediation: "Replace `Access-Control-Allow-Origin: *` with the list of origins that need access.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP passive rule 10098 (Cross-Domain Misconfiguration)",
    },
    CheckInfo {
        id: "transport.plain-http",
        name: "Plain HTTP served without redirect to HTTPS",
        severity: Severity::Medium,
        production_safe: true,
        needs_accounts: false,
        max_requests: 1,
        remediation: "Answer every plain-HTTP request with a redirect to HTTPS (and send HSTS there).",
        reference: "OWASP API8:2023 Security Misconfiguration (unencrypted transport)",
    },
    CheckInfo {
        id: "tls.certificate",
        name: "TLS certificate expired, untrusted or for another host",
        severity: Severity::High,
        production_safe: true,
        needs_accounts: false,
        max_requests: 0,
        remediation: "Serve a certificate from a trusted authority, valid today and issued for this host name; renew before it expires.",
        reference: "OWASP API8:2023 Security Misconfiguration (transport security); the certificate checks of testssl.sh and SSL Labs",
    },
    CheckInfo {
        id: "exposure.git",
        name: "Git repository exposed",
        severity: Severity::High,
        production_safe: true,
        needs_accounts: false,
        max_requests: 1,
        remediation: "Do not deploy the `.git` folder; deny `/.git/` at the web server.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 40035 (Hidden File Finder: .git)",
    },
    CheckInfo {
        id: "exposure.env",
        name: "Environment file exposed",
        severity: Severity::Critical,
        production_safe: true,
        needs_accounts: false,
        max_requests: 1,
        remediation: "Never serve `.env` files; keep secrets out of the web root.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 40034 (.env/.git information leak)",
    },
    CheckInfo {
        id: "exposure.backup",
        name: "Backup or database dump exposed",
        severity: Severity::High,
        production_safe: true,
        needs_accounts: false,
        max_requests: 5,
        remediation: "Keep backups and dumps out of the web root; deny `*.sql`, `*.bak`, `*.zip` at the web server.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 10095 (Backup File Disclosure)",
    },
    CheckInfo {
        id: "exposure.api-docs",
        name: "API documentation exposed",
        severity: Severity::Low,
        production_safe: true,
        needs_accounts: false,
        max_requests: 4,
        remediation: "Do not publish OpenAPI/Swagger documents or UIs on production, or put them behind authentication.",
        reference: "OWASP API9:2023 Improper Inventory Management",
    },
    CheckInfo {
        id: "exposure.directory-listing",
        name: "Directory listing enabled",
        severity: Severity::Medium,
        production_safe: true,
        needs_accounts: false,
        max_requests: 4,
        remediation: "Turn off directory indexes (`autoindex off`, `Options -Indexes`).",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 0 (Directory Browsing)",
    },
    CheckInfo {
        id: "method.trace",
        name: "HTTP TRACE enabled",
        severity: Severity::Medium,
        production_safe: false,
        needs_accounts: false,
        max_requests: 1,
        remediation: "Disable the TRACE method at the web server and load balancer.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 90028 (Insecure HTTP Method)",
    },
    CheckInfo {
        id: "auth.missing",
        name: "Protected endpoint answers without authentication",
        severity: Severity::High,
        production_safe: false,
        needs_accounts: true,
        max_requests: 0,
        remediation: "Require a valid token on every endpoint that returns personal data.",
        reference: "OWASP API2:2023 Broken Authentication",
    },
    CheckInfo {
        id: "auth.tampered-token",
        name: "Tampered token accepted",
        severity: Severity::Critical,
        production_safe: false,
        needs_accounts: true,
        max_requests: 1,
        remediation: "Verify every token's signature with the server's key before trusting its claims.",
        reference: "OWASP API2:2023 Broken Authentication",
    },
    CheckInfo {
        id: "auth.alg-none",
        name: "Unsigned (`alg: none`) token accepted",
        severity: Severity::Critical,
        production_safe: false,
        needs_accounts: true,
        max_requests: 1,
        remediation: "Accept only the signing algorithm you issue (e.g. HS256 or RS256); reject `alg: none`.",
        reference: "OWASP API2:2023 Broken Authentication",
    },
    CheckInfo {
        id: "auth.expired-token",
        name: "Expired token accepted",
        severity: Severity::High,
        production_safe: false,
        needs_accounts: true,
        max_requests: 2,
        remediation: "Check the `exp` claim of every token and refuse expired ones.",
        reference: "OWASP API2:2023 Broken Authentication",
    },
    CheckInfo {
        id: "authz.object-level",
        name: "One account reads another account's object",
        severity: Severity::High,
        production_safe: false,
        needs_accounts: true,
        max_requests: 1,
        remediation: "Check on every object access that the object belongs to the caller; answer others like a missing object.",
        reference: "OWASP API1:2023 Broken Object Level Authorization",
    },
    CheckInfo {
        id: "authz.function-level",
        name: "Citizen token accepted on an officer endpoint",
        severity: Severity::High,
        production_safe: false,
        needs_accounts: true,
        max_requests: 8,
        remediation: "Check the caller's role on every administrative endpoint, not only in the user interface.",
        reference: "OWASP API5:2023 Broken Function Level Authorization",
    },
    CheckInfo {
        id: "exposure.excessive-data",
        name: "Response exposes sensitive fields",
        severity: Severity::Medium,
        production_safe: false,
        needs_accounts: true,
        max_requests: 0,
        remediation: "Return only the fields the client needs; never password hashes, secrets or internal notes.",
        reference: "OWASP API3:2023 Broken Object Property Level Authorization",
    },
    CheckInfo {
        id: "cache.sensitive",
        name: "Personal response may be cached",
        severity: Severity::Medium,
        production_safe: false,
        needs_accounts: true,
        max_requests: 0,
        remediation: "Send `Cache-Control: no-store` on every authenticated response.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP passive rule 10015",
    },
    CheckInfo {
        id: "ratelimit.missing",
        name: "No rate limiting on failed logins",
        severity: Severity::Medium,
        production_safe: false,
        needs_accounts: true,
        max_requests: RATE_LIMIT_ATTEMPTS,
        remediation: "Limit failed logins per account and per client (answer 429 with Retry-After).",
        reference: "OWASP API4:2023 Unrestricted Resource Consumption",
    },
];

/// Failed logins the rate-limit check sends at most: enough to pass any sensible limit
/// (5–10 attempts a minute is common), few enough not to lock out a real account (it
/// logs in as an account that cannot exist).
pub const RATE_LIMIT_ATTEMPTS: u32 = 20;

/// Finds a check by id.
pub fn lookup(id: &str) -> Option<&'static CheckInfo> {
    CATALOGUE.iter().find(|c| c.id == id)
}

/// Scan profiles of the ad-hoc `scan` command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Production-safe checks only: GET, HEAD and OPTIONS, bounded.
    Passive,
    /// Every check that needs no test accounts.
    Full,
}

impl Profile {
    /// The checks the profile runs, in catalogue order.
    pub fn checks(self) -> Vec<&'static CheckInfo> {
        CATALOGUE
            .iter()
            .filter(|c| !c.needs_accounts && (self == Profile::Full || c.production_safe))
            .collect()
    }

    /// The most requests the profile may send (the scanner enforces it).
    pub fn request_bound(self) -> u32 {
        SHARED_REQUESTS + self.checks().iter().map(|c| c.max_requests).sum::<u32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn ids_are_unique_and_every_entry_is_complete() {
        let ids: BTreeSet<&str> = CATALOGUE.iter().map(|c| c.id).collect();
        assert_eq!(ids.len(), CATALOGUE.len());
        for c in CATALOGUE {
            assert!(c.id.contains('.'), "{}", c.id);
            assert!(
                !c.remediation.is_empty() && !c.reference.is_empty(),
                "{}",
                c.id
            );
            assert!(
                c.reference.contains("OWASP"),
                "{} names no OWASP item",
                c.id
            );
        }
    }

    #[test]
    fn passive_profile_is_production_safe_and_bounded_by_twenty_requests() {
        let passive = Profile::Passive.checks();
        assert!(passive.iter().all(|c| c.production_safe));
        assert!(passive.len() >= 10);
        // The bound stated in the README and tested by counting at the server.
        assert!(
            Profile::Passive.request_bound() <= 20,
            "{}",
            Profile::Passive.request_bound()
        );
        assert!(Profile::Full.checks().len() > passive.len());
    }
}
