//! Takes a [`GateVerdict`], gives the gate table as HTML: each criterion's value, pass
//! and warning thresholds, result and reason, and the decision.

use super::escape::escape;
use crate::gate::{CriterionStatus, GateVerdict};
use crate::report::i18n::Messages;
use std::fmt::Write as _;

/// The gate section of one run.
pub fn gate_table(m: &Messages, verdict: &GateVerdict, run_id: i64) -> String {
    let failed = verdict
        .results
        .iter()
        .filter(|r| r.status == CriterionStatus::Fail)
        .count();
    let mut out = format!(
        r#"<h3>{} <span class="outcome {}">{}</span></h3><table class="gate" id="gate-table-{run_id}"><thead><tr>"#,
        escape(m.gate),
        verdict.outcome,
        escape(m.outcome(verdict.outcome))
    );
    for column in m.gate_columns {
        let _ = write!(out, "<th>{}</th>", escape(column));
    }
    out.push_str("</tr></thead><tbody>");
    for r in &verdict.results {
        let status = match r.status {
            CriterionStatus::Pass => "pass",
            CriterionStatus::Warn => "warn",
            CriterionStatus::Fail => "fail",
        };
        let _ = write!(
            out,
            r#"<tr class="{status}"><td><code>{}</code></td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td class="result">{}</td><td>{}</td></tr>"#,
            escape(&(m.criterion)(r)),
            // The gate writes "no data" when there is no value; said in the page's language.
            escape(if r.value.is_none() && r.shown == "no data" {
                m.no_data
            } else {
                &r.shown
            }),
            escape(&(m.threshold)(&r.pass)),
            escape(&r.warn.as_deref().map_or("–".into(), m.threshold)),
            escape(m.status(r.status)),
            escape(&(m.reason)(r)),
        );
    }
    let _ = write!(
        out,
        r#"</tbody></table><p class="counts">{}</p>"#,
        escape(&(m.gate_counts)(
            verdict.results.len(),
            failed,
            verdict.warnings
        ))
    );
    out.push_str(&acceptance_table(m, verdict));
    out
}

/// The gate's accepted risks: who accepted which check's findings, why, until when, and
/// how many findings each covered in this run; an expired one is marked and no longer
/// applies.
fn acceptance_table(m: &Messages, verdict: &GateVerdict) -> String {
    if verdict.acceptances.is_empty() {
        return String::new();
    }
    let mut out = format!(
        r#"<h4>{}</h4><table class="acceptances"><thead><tr>"#,
        escape(m.accepted_risks)
    );
    for column in m.acceptance_columns {
        let _ = write!(out, "<th>{}</th>", escape(column));
    }
    out.push_str("</tr></thead><tbody>");
    for u in &verdict.acceptances {
        let a = &u.acceptance;
        let expires = if u.expired {
            format!("{} ({})", a.expires, m.acceptance_expired)
        } else {
            a.expires.to_string()
        };
        let _ = write!(
            out,
            r#"<tr class="{}"><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            if u.expired { "fail" } else { "pass" },
            escape(&a.check),
            escape(a.url.as_deref().unwrap_or(m.every_url)),
            escape(&a.by),
            escape(&a.reason),
            escape(&expires),
            u.findings
        );
    }
    out.push_str("</tbody></table>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::{CriterionResult, GateOutcome, Reason};
    use crate::report::i18n::{EN, VI};

    fn verdict() -> GateVerdict {
        let result = |criterion: &str,
                      shown: &str,
                      pass: &str,
                      warn: Option<&str>,
                      status,
                      cause: Reason| {
            let mut r = CriterionResult {
                criterion: criterion.into(),
                metric: criterion.split(' ').next().unwrap_or("").into(),
                value: (shown != "no data").then_some(1.0),
                shown: shown.into(),
                pass: pass.into(),
                warn: warn.map(str::to_string),
                status,
                reason: String::new(),
                cause,
            };
            r.reason = r.cause.english(&r);
            r
        };
        GateVerdict {
            outcome: GateOutcome::Failed,
            results: vec![
                result(
                    "error-rate < 1.00%",
                    "0.00%",
                    "< 1.00%",
                    None,
                    CriterionStatus::Pass,
                    Reason::Met,
                ),
                result(
                    "latency-p95 < 200.0ms",
                    "309.5ms",
                    "< 200.0ms",
                    Some("< 100.0ms"),
                    CriterionStatus::Fail,
                    Reason::Missed,
                ),
                result(
                    "security-high == 0",
                    "no data",
                    "== 0",
                    None,
                    CriterionStatus::Fail,
                    Reason::NoData {
                        cause: crate::measure::NoData::NoSecuritySuite,
                    },
                ),
            ],
            warnings: 0,
            warnings_block: false,
            acceptances: Vec::new(),
        }
    }

    #[test]
    fn gate_table_in_english_and_vietnamese() {
        insta::assert_snapshot!("gate_table_en", gate_table(&EN, &verdict(), 6));
        insta::assert_snapshot!("gate_table_vi", gate_table(&VI, &verdict(), 6));
    }

    #[test]
    fn accepted_risks_show_who_why_until_when_and_expiry_in_both_languages() {
        use crate::config::acceptance::Acceptance;
        use crate::gate::AcceptanceUse;
        let accepted = |check: &str, url: Option<&str>, expired: bool| AcceptanceUse {
            acceptance: Acceptance {
                check: check.into(),
                url: url.map(str::to_string),
                reason: "dummy values on a test host <b>".into(),
                by: "Trần Thị Bình".into(),
                expires: chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            },
            findings: 1,
            expired,
        };
        let mut v = verdict();
        v.acceptances = vec![
            accepted("exposure.env", None, false),
            accepted("cors.reflect", Some("http://h/api"), true),
        ];
        let en = gate_table(&EN, &v, 6);
        assert!(en.contains("<h4>Accepted risks</h4>"), "{en}");
        assert!(
            en.contains(r#"<tr class="pass"><td><code>exposure.env</code></td><td>every address</td><td>Trần Thị Bình</td><td>dummy values on a test host &lt;b&gt;</td><td>2026-12-31</td><td>1</td></tr>"#),
            "{en}"
        );
        assert!(
            en.contains(r#"<td>2026-12-31 (expired: no longer applies)</td>"#),
            "{en}"
        );
        let vi = gate_table(&VI, &v, 6);
        assert!(vi.contains("<h4>Rủi ro đã chấp nhận</h4>"), "{vi}");
        assert!(vi.contains("<th>Người chấp nhận</th>"), "{vi}");
        assert!(vi.contains("<td>mọi địa chỉ</td>"), "{vi}");
        assert!(
            vi.contains("2026-12-31 (đã hết hạn: không còn áp dụng)"),
            "{vi}"
        );
        assert!(!gate_table(&EN, &verdict(), 6).contains("Accepted risks"));
    }
}
