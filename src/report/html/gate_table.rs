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
            escape(&r.criterion),
            escape(&r.shown),
            escape(&r.pass),
            escape(r.warn.as_deref().unwrap_or("–")),
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
    out
}
