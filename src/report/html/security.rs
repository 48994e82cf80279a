//! Takes a run's findings and security checks, gives the security section as HTML:
//! each finding with severity, address, evidence and remediation, and each check with
//! whether it could run.

use super::escape::{escape, escape_with_code};
use crate::report::i18n::Messages;
use crate::report::RunSummary;
use std::fmt::Write as _;

/// The security section of one run.
pub fn security_section(m: &Messages, summary: &RunSummary) -> String {
    let mut out = format!("<h3>{}</h3>", escape(m.findings));
    if summary.security_checks.is_empty() && summary.measurements.security.is_none() {
        let _ = write!(out, r#"<p class="empty">{}</p>"#, escape(m.no_security));
        return out;
    }
    if summary.findings.is_empty() {
        let _ = write!(out, r#"<p class="empty">{}</p>"#, escape(m.no_findings));
    }
    let mut findings: Vec<_> = summary.findings.iter().collect();
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    for f in findings {
        let (name, remediation) = (m.check_text)(&f.check).unwrap_or((&f.name, &f.remediation));
        let _ = write!(
            out,
            r#"<article class="finding {sev}"><h4><span class="sev">{sev_words}</span> {name} <code>{check}</code></h4><p><b>{url_label}:</b> <code>{url}</code></p><p><b>{evidence_label}:</b></p><pre>{evidence}</pre><p><b>{remediation_label}:</b> {remediation}</p></article>"#,
            sev = f.severity.as_str(),
            sev_words = escape(m.severity_name(f.severity)),
            name = escape(name),
            check = escape(&f.check),
            url_label = escape(m.url),
            url = escape(&f.url),
            evidence_label = escape(m.evidence),
            evidence = escape(&f.evidence),
            remediation_label = escape(m.remediation),
            remediation = escape_with_code(remediation),
        );
    }
    if !summary.security_checks.is_empty() {
        let _ = write!(
            out,
            r#"<h4>{}</h4><table class="checks"><tbody>"#,
            escape(m.security_checks)
        );
        for c in &summary.security_checks {
            // A check skipped on purpose shows why (the suite's rules, its scope); one
            // whose precondition was absent says so, not "could not run".
            let (class, state) = match (&c.skipped, &c.not_applicable, c.ran) {
                (Some(reason), _, _) => ("skipped", reason.as_str()),
                (None, Some(_), _) => ("skipped", m.check_not_applicable),
                (None, None, true) => ("ran", m.check_ran),
                (None, None, false) => ("error", m.check_error),
            };
            let _ = write!(
                out,
                r#"<tr class="{}"><td><code>{}</code></td><td>{}</td><td>{}</td></tr>"#,
                class,
                escape(&c.check),
                escape(state),
                c.findings
            );
        }
        out.push_str("</tbody></table>");
    }
    out
}
