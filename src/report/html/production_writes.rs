//! Takes a production run's summary, gives the section that says which suites were
//! allowed to write to production and the reason written for each, so a release
//! manager reads it next to the gate before approving.

use super::escape::escape;
use crate::report::i18n::Messages;
use crate::report::RunSummary;
use std::fmt::Write as _;

/// The production-writes section of a run; empty for a run on a test tier.
pub fn production_writes(m: &Messages, s: &RunSummary) -> String {
    if s.tier != "production" {
        return String::new();
    }
    let mut out = format!(
        r#"<section class="production-writes" id="production-writes-{}"><h3>{}</h3>"#,
        s.run_id,
        escape(m.production_writes)
    );
    if s.production_writes.is_empty() {
        let _ = write!(
            out,
            r#"<p class="empty">{}</p></section>"#,
            escape(m.no_production_writes)
        );
        return out;
    }
    let [suite, reason] = m.production_write_columns;
    let _ = write!(
        out,
        "<table><thead><tr><th>{}</th><th>{}</th></tr></thead><tbody>",
        escape(suite),
        escape(reason)
    );
    for w in &s.production_writes {
        let _ = write!(
            out,
            r#"<tr class="production-write" data-suite="{0}"><td><code>{0}</code></td><td>{1}</td></tr>"#,
            escape(&w.suite),
            escape(&w.reason)
        );
    }
    out.push_str("</tbody></table></section>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::GateVerdict;
    use crate::measure::Measurements;
    use crate::plan::ProductionWrite;
    use crate::report::i18n::{EN, VI};

    fn summary(tier: &str, writes: Vec<ProductionWrite>) -> RunSummary {
        let mut s: RunSummary = serde_json::from_value(serde_json::json!({
            "format": crate::report::SUMMARY_FORMAT, "system": "dichvucong", "release": "1.0.0",
            "stage": "trial-production", "stage_number": 3, "environment": "production",
            "tier": tier, "run_id": 7, "run_by": "qa.an", "started_at": "t", "finished_at": null,
            "state": "passed", "version_seen": null, "files_digest": "d", "suites": [],
            "verdict": serde_json::to_value(GateVerdict::not_evaluated()).unwrap(),
            "measurements": serde_json::to_value(Measurements::default()).unwrap(),
            "findings": [], "abort_reason": null
        }))
        .unwrap();
        s.production_writes = writes;
        s
    }

    #[test]
    fn a_production_run_lists_its_declared_writes_with_their_reasons_in_both_languages() {
        let s = summary(
            "production",
            vec![ProductionWrite {
                suite: "xoa".into(),
                reason: "dọn hồ sơ <TEST-1>".into(),
            }],
        );
        let en = production_writes(&EN, &s);
        assert_eq!(
            en,
            r#"<section class="production-writes" id="production-writes-7"><h3>Production writes</h3><table><thead><tr><th>Suite allowed to write to production</th><th>Written reason</th></tr></thead><tbody><tr class="production-write" data-suite="xoa"><td><code>xoa</code></td><td>dọn hồ sơ &lt;TEST-1&gt;</td></tr></tbody></table></section>"#
        );
        let vi = production_writes(&VI, &s);
        assert!(
            vi.contains("<h3>Ghi dữ liệu vào môi trường thật</h3>") && vi.contains("Lý do đã ghi"),
            "{vi}"
        );
    }

    #[test]
    fn a_production_run_without_writes_says_so_and_a_test_run_shows_nothing() {
        let none = production_writes(&EN, &summary("production", vec![]));
        assert!(
            none.contains("No suite was allowed to write to production"),
            "{none}"
        );
        assert_eq!(production_writes(&EN, &summary("test", vec![])), "");
    }
}
