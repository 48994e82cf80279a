//! Takes a release's approvals and rejections, gives them as an HTML table.

use super::escape::escape;
use crate::ledger::{ApprovalRow, Decision};
use crate::report::i18n::Messages;
use crate::report::local_time::ReportZone;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The approvals section.
pub fn approvals(
    m: &Messages,
    zone: &ReportZone,
    rows: &[ApprovalRow],
    people: &BTreeMap<String, (String, String)>,
) -> String {
    let mut out = format!(
        r#"<section id="approvals"><h2>{}</h2>"#,
        escape(m.approvals)
    );
    if rows.is_empty() {
        let _ = write!(
            out,
            r#"<p class="empty">{}</p></section>"#,
            escape(m.no_approvals)
        );
        return out;
    }
    out.push_str("<table><thead><tr>");
    for column in m.approval_columns {
        let _ = write!(out, "<th>{}</th>", escape(column));
    }
    out.push_str("</tr></thead><tbody>");
    for a in rows {
        let (class, words) = match a.decision {
            Decision::Approve => ("approve", m.approved),
            Decision::Reject => ("reject", m.rejected),
        };
        // Who signed: name, id and roles from the pinned roster, and the key's fingerprint.
        let who = match people.get(&a.actor) {
            Some((name, roles)) => format!(
                "{} ({}, {})<br><code class=\"key\">{}</code>",
                escape(name),
                escape(&a.actor),
                escape(roles),
                escape(&a.signer)
            ),
            None => format!(
                "{}<br><code class=\"key\">{}</code>",
                escape(&a.actor),
                escape(&a.signer)
            ),
        };
        let _ = write!(
            out,
            r#"<tr class="{class}"><td>{} <code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            escape(m.stage_title(a.stage)),
            a.stage,
            who,
            escape(words),
            escape(&a.note),
            escape(&m.time(&a.at, zone))
        );
    }
    out.push_str("</tbody></table></section>");
    out
}
