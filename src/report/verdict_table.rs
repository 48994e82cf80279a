//! Takes a gate verdict and a language, gives the verdict as the plain-text table the
//! terminal shows: one row per criterion, then the decision. The caller says how a
//! result is painted (colour on a terminal), so the table itself stays plain text.

use super::i18n::Messages;
use crate::gate::{CriterionStatus, GateVerdict};
use std::fmt::Write as _;

/// The table in `m`'s language; `paint` styles a result's (padded) words.
pub fn verdict_table(
    verdict: &GateVerdict,
    m: &Messages,
    paint: &dyn Fn(CriterionStatus, &str) -> String,
) -> String {
    let words = m.cli;
    let status_word = |status| match status {
        CriterionStatus::Pass => words.table_status[0],
        CriterionStatus::Warn => words.table_status[1],
        CriterionStatus::Fail => words.table_status[2],
    };
    let rows: Vec<[String; 6]> = verdict
        .results
        .iter()
        .map(|r| {
            [
                r.metric.clone(),
                r.shown.clone(),
                r.pass.clone(),
                r.warn.clone().unwrap_or_else(|| "-".into()),
                status_word(r.status).to_string(),
                (m.reason)(r),
            ]
        })
        .collect();
    // Widths in characters, not bytes: Vietnamese words carry diacritics.
    let mut widths = words.table_columns.map(|c| c.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = words
        .table_columns
        .iter()
        .zip(widths)
        .take(5)
        .map(|(c, w)| format!("{c:<w$}"))
        .collect();
    let _ = writeln!(out, "  {}  {}", header.join("  "), words.table_columns[5]);
    for (row, r) in rows.iter().zip(&verdict.results) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .take(5)
            .enumerate()
            .map(|(i, (cell, w))| {
                let padded = format!("{cell:<w$}");
                if i == 4 {
                    paint(r.status, &padded)
                } else {
                    padded
                }
            })
            .collect();
        let _ = writeln!(out, "  {}  {}", cells.join("  "), row[5]);
    }
    // Accepted risks, under the criteria they exempt findings from: who, why, until when.
    for u in &verdict.acceptances {
        let _ = writeln!(out, "  {}", (m.acceptance_line)(u));
    }
    let failed = verdict
        .results
        .iter()
        .filter(|r| r.status == CriterionStatus::Fail)
        .count();
    let decision = match verdict.outcome {
        crate::gate::GateOutcome::Passed => CriterionStatus::Pass,
        crate::gate::GateOutcome::Failed => CriterionStatus::Fail,
    };
    let _ = write!(
        out,
        "  {} {}: {}{}",
        words.gate,
        paint(decision, m.outcome(verdict.outcome)),
        (m.gate_counts)(verdict.results.len(), failed, verdict.warnings),
        if verdict.warnings_block && verdict.warnings > 0 {
            words.warnings_block
        } else {
            ""
        }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::acceptance::Acceptance;
    use crate::gate::{AcceptanceUse, GateOutcome};
    use crate::report::i18n::{EN, VI};

    #[test]
    fn accepted_risks_are_lines_of_the_table_in_both_languages() {
        let verdict = GateVerdict {
            outcome: GateOutcome::Passed,
            results: Vec::new(),
            warnings: 0,
            warnings_block: false,
            acceptances: vec![AcceptanceUse {
                acceptance: Acceptance {
                    check: "exposure.env".into(),
                    url: None,
                    reason: "dummy values".into(),
                    by: "Trần Thị Bình".into(),
                    expires: chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
                },
                findings: 1,
                expired: true,
            }],
        };
        let plain = |_: CriterionStatus, text: &str| text.to_string();
        let en = verdict_table(&verdict, &EN, &plain);
        assert!(
            en.contains("\n  accepted  exposure.env accepted by Trần Thị Bình until 2026-12-31: dummy values (1 finding(s) this run; EXPIRED: no longer applies)\n"),
            "{en}"
        );
        let vi = verdict_table(&verdict, &VI, &plain);
        assert!(
            vi.contains("\n  chấp nhận  exposure.env — Trần Thị Bình chấp nhận đến hết 31/12/2026: dummy values (1 phát hiện trong lượt này; ĐÃ HẾT HẠN: không còn áp dụng)\n"),
            "{vi}"
        );
    }
}
