//! Takes run summaries and a release's context, gives self-contained HTML pages: the
//! report of one run (`report.html`) and the go-live dossier of a release. Inline CSS
//! and inline SVG only — no script, no external file — so a page opens with no network
//! and can be archived as evidence. Every value is escaped ([`escape::escape`]).

pub mod approvals;
pub mod chart;
pub mod escape;
pub mod gate_table;
pub mod load;
pub mod pipeline;
pub mod production_writes;
pub mod security;

use super::context::{ReleaseContext, ReleaseDossier};
use super::i18n::{Lang, Messages};
use super::local_time::ReportZone;
use super::RunSummary;
use crate::ledger::RunState;
use crate::stage::StageId;
use escape::escape;
use std::fmt::Write as _;

/// The report of one run.
/// Times are written as the language writes them ([`Messages::time`]), in `zone`.
pub fn run_page(
    summary: &RunSummary,
    context: &ReleaseContext,
    lang: Lang,
    zone: &ReportZone,
) -> String {
    let m = lang.messages();
    let title = format!(
        "{} — {} {} · {} #{}",
        m.run_report, summary.system, summary.release, m.run, summary.run_id
    );
    let mut body = format!("<header><h1>{}</h1></header>", escape(&title));
    body.push_str(&pipeline::pipeline(m, context, Some(&summary.stage)));
    body.push_str(&run_block(m, zone, summary));
    body.push_str(&approvals::approvals(
        m,
        zone,
        &context.approvals,
        &context.people,
    ));
    page(m, &title, &body)
}

/// The go-live dossier of a release: the pipeline, the approvals, and each stage's
/// latest run in full, then the list of every run.
pub fn release_page(dossier: &ReleaseDossier, lang: Lang, zone: &ReportZone) -> String {
    let m = lang.messages();
    let context = &dossier.context;
    let title = format!(
        "{} — {} {}",
        m.release_report, context.system, context.release
    );
    let mut body = format!("<header><h1>{}</h1></header>", escape(&title));
    body.push_str(&pipeline::pipeline(m, context, None));
    body.push_str(&approvals::approvals(
        m,
        zone,
        &context.approvals,
        &context.people,
    ));
    for stage in StageId::ALL {
        if let Some(summary) = dossier.latest(stage) {
            body.push_str(&run_block(m, zone, summary));
        }
    }
    let _ = write!(
        body,
        r#"<section id="runs"><h2>{}</h2><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        escape(m.runs),
        escape(m.run),
        escape(m.stage),
        escape(m.state),
        escape(m.run_by),
        escape(m.started)
    );
    for r in &dossier.runs {
        let _ = write!(
            body,
            r#"<tr class="{state}"><td>#{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            r.run_id,
            escape(&stage_words(m, &r.stage)),
            escape(run_state(m, r.state)),
            escape(&r.run_by),
            escape(&m.time(&r.started_at, zone)),
            state = r.state.as_str()
        );
    }
    body.push_str("</tbody></table></section>");
    page(m, &title, &body)
}

fn stage_words(m: &Messages, stage: &str) -> String {
    match stage.parse::<StageId>() {
        Ok(id) => format!("{} ({})", m.stage_title(id), id),
        Err(_) => stage.to_string(),
    }
}

fn run_state(m: &Messages, state: RunState) -> &'static str {
    match state {
        RunState::Running => m.state_running,
        RunState::Passed => m.status_pass,
        RunState::Failed => m.state_failed,
        RunState::Aborted => m.state_aborted,
    }
}

/// One run in full: what ran, the gate, the load, the security results.
fn run_block(m: &Messages, zone: &ReportZone, s: &RunSummary) -> String {
    let mut out = format!(
        r#"<section class="run" id="run-{}"><h2>{} — {} #{}</h2><dl class="facts">"#,
        s.run_id,
        escape(&stage_words(m, &s.stage)),
        escape(m.run),
        s.run_id
    );
    let environment = if s.tier.is_empty() {
        s.environment.clone()
    } else {
        format!("{} ({})", s.environment, m.tier(&s.tier))
    };
    let facts: [(&str, String); 8] = [
        (m.system, s.system.clone()),
        (m.release, s.release.clone()),
        (m.environment, environment),
        (m.run_by, s.run_by.clone()),
        (m.started, m.time(&s.started_at, zone)),
        (
            m.finished,
            s.finished_at
                .as_deref()
                .map_or_else(|| "–".into(), |at| m.time(at, zone)),
        ),
        (
            m.version_seen,
            s.version_seen.clone().unwrap_or_else(|| "–".into()),
        ),
        (
            m.suites,
            if s.suites.is_empty() {
                "–".into()
            } else {
                s.suites.join(", ")
            },
        ),
    ];
    for (label, value) in facts {
        let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", escape(label), escape(&value));
    }
    let _ = write!(
        out,
        "<dt>{}</dt><dd><code>{}</code></dd></dl>",
        escape(m.files_digest),
        escape(&s.files_digest)
    );
    if s.state == RunState::Aborted {
        let _ = write!(out, r#"<p class="aborted">{}</p>"#, escape(m.aborted_note));
    }
    out.push_str(&production_writes::production_writes(m, s));
    out.push_str(&gate_table::gate_table(m, &s.verdict, s.run_id));
    out.push_str(&load::load_section(m, &s.measurements, s.run_id));
    out.push_str(&security::security_section(m, s));
    out.push_str("</section>");
    out
}

/// The page around a body.
fn page(m: &Messages, title: &str, body: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{CSS}</style>
</head>
<body>
{body}
<footer>{footer}</footer>
</body>
</html>
"#,
        lang = m.code,
        title = escape(title),
        footer = escape(m.generated),
    )
}

/// The whole style sheet, inline. System fonts only (a web font would need the network);
/// "Noto Sans" first because it covers Vietnamese diacritics on Linux.
const CSS: &str = r#"
body{font-family:"Noto Sans","DejaVu Sans","Segoe UI",Arial,sans-serif;margin:24px auto;max-width:1180px;color:#1f2328;padding:0 16px}
h1{font-size:1.6em;border-bottom:3px solid #1f6feb;padding-bottom:6px}
h2{font-size:1.25em;margin-top:28px;border-bottom:1px solid #d0d7de}
h3{font-size:1.1em}
code{font-family:"DejaVu Sans Mono",monospace;font-size:.92em}
table{border-collapse:collapse;margin:8px 0;width:100%}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}
tr.fail td.result{color:#cf222e;font-weight:bold}
tr.warn td.result{color:#9a6700;font-weight:bold}
tr.pass td.result{color:#1a7f37}
.outcome{padding:2px 8px;border-radius:4px;color:#fff}
.outcome.passed{background:#1a7f37}.outcome.failed{background:#cf222e}
ol.pipeline{display:flex;gap:8px;list-style:none;padding:0}
ol.pipeline li{flex:1;border:2px solid #d0d7de;border-radius:8px;padding:8px;display:flex;flex-direction:column;gap:2px}
ol.pipeline li.current{box-shadow:0 0 0 3px #1f6feb55}
ol.pipeline .num{font-size:1.4em;font-weight:bold;color:#57606a}
li.promoted{border-color:#1a7f37;background:#dafbe1}
li.awaiting-approval{border-color:#9a6700;background:#fff8c5}
li.failed,li.aborted{border-color:#cf222e;background:#ffebe9}
li.running{border-color:#1f6feb;background:#ddf4ff}
li.not-run{color:#57606a}
.state{font-weight:bold}
dl.facts,dl.totals{display:grid;grid-template-columns:max-content auto;gap:2px 16px}
dt{color:#57606a}dd{margin:0}
.charts{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;border:1px solid #d0d7de;border-radius:6px;padding:6px}
figcaption{font-size:.9em;color:#57606a}
svg .grid{stroke:#d0d7de;stroke-width:1}
svg text{font-size:11px;fill:#57606a}
svg .bar{fill:#1f6feb}
article.finding{border-left:4px solid #9a6700;padding:4px 12px;margin:8px 0;background:#f6f8fa}
article.finding.high,article.finding.critical{border-left-color:#cf222e}
.sev{display:inline-block;padding:1px 8px;border-radius:10px;background:#9a6700;color:#fff;font-size:.85em;margin-right:6px}
.high .sev,.critical .sev{background:#cf222e}.info .sev,.low .sev{background:#57606a}
pre{white-space:pre-wrap;word-break:break-all;background:#fff;border:1px solid #d0d7de;padding:6px;max-height:12em;overflow:auto}
.empty{color:#57606a;font-style:italic}
.aborted{color:#cf222e;font-weight:bold}
footer{margin-top:32px;color:#57606a;font-size:.85em}
@media print{ol.pipeline li{break-inside:avoid}section.run{break-before:page}}
"#;
