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
