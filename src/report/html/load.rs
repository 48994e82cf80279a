//! Takes [`Measurements`], gives the load section as HTML: totals, latency percentiles
//! and throughput and latency over time as SVG charts, errors by kind, transactions.

use super::chart::{bar_chart, line_chart, Line};
use super::escape::escape;
use crate::measure::Measurements;
use crate::report::i18n::Messages;
use std::fmt::Write as _;

/// The load section of one run.
pub fn load_section(m: &Messages, measured: &Measurements, run_id: i64) -> String {
    let mut out = format!("<h3>{}</h3>", escape(m.load));
    if measured.requests == 0 {
        let _ = write!(out, r#"<p class="empty">{}</p>"#, escape(m.no_load));
        return out;
    }
    let _ = write!(
        out,
        r#"<dl class="totals"><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{:.1} s</dd><dt>{}</dt><dd>{}</dd></dl>"#,
        escape(m.requests),
        measured.requests,
        escape(m.errors),
        measured.errors,
        escape(m.duration),
        measured.duration_s,
        escape(m.throughput),
        measured
            .throughput()
            .map_or("–".into(), |t| format!("{t:.1}/s")),
    );
    out.push_str(r#"<div class="charts">"#);
    if let Some(p) = &measured.latency_ms {
        let bars = [
            ("p50", p.p50),
            ("p90", p.p90),
            ("p95", p.p95),
            ("p99", p.p99),
            ("max", p.max),
        ];
        if let Some(svg) = bar_chart(
            &format!("latency-percentiles-{run_id}"),
            m.latency_percentiles,
            &bars,
        ) {
            let _ = write!(
                out,
                "<figure><figcaption>{}</figcaption>{svg}</figure>",
                escape(m.latency_percentiles)
            );
        }
    }
    let requests: Vec<(f64, f64)> = measured
        .series
        .iter()
        .map(|s| (s.second as f64, s.requests as f64))
        .collect();
    let errors: Vec<(f64, f64)> = measured
        .series
        .iter()
        .map(|s| (s.second as f64, s.errors as f64))
        .collect();
    let throughput = [
        Line {
            label: m.requests,
            colour: "#1f6feb",
            points: requests,
        },
        Line {
            label: m.errors,
            colour: "#cf222e",
            points: errors,
        },
    ];
    if let Some(svg) = line_chart(
        &format!("throughput-{run_id}"),
        m.throughput_over_time,
        m.seconds,
        &throughput,
    ) {
        let _ = write!(
            out,
            "<figure><figcaption>{}</figcaption>{svg}</figure>",
            escape(m.throughput_over_time)
        );
    }
    let p95: Vec<(f64, f64)> = measured
        .series
        .iter()
        .filter_map(|s| s.p95_ms.map(|p| (s.second as f64, p)))
        .collect();
    if let Some(svg) = line_chart(
        &format!("latency-{run_id}"),
        m.latency_over_time,
        m.seconds,
        &[Line {
            label: "p95",
            colour: "#8250df",
            points: p95,
        }],
    ) {
        let _ = write!(
            out,
            "<figure><figcaption>{}</figcaption>{svg}</figure>",
            escape(m.latency_over_time)
        );
    }
    out.push_str("</div>");

    let _ = write!(out, "<h4>{}</h4>", escape(m.errors_by_kind));
    if measured.errors_by_kind.values().all(|n| *n == 0) {
        let _ = write!(out, r#"<p class="empty">{}</p>"#, escape(m.no_errors));
    } else {
        out.push_str(r#"<table class="errors"><tbody>"#);
        for (kind, count) in &measured.errors_by_kind {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{count}</td></tr>",
                escape(m.error_kind(*kind))
            );
        }
        out.push_str("</tbody></table>");
    }

    if !measured.transactions.is_empty() {
        let _ = write!(
            out,
            "<h4>{}</h4><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>p50</th><th>p95</th><th>p99</th></tr></thead><tbody>",
            escape(m.transactions),
            escape(m.transaction),
            escape(m.requests),
            escape(m.errors)
        );
        for t in &measured.transactions {
            let p = |f: fn(&crate::measure::Percentiles) -> f64| {
                t.latency_ms
                    .as_ref()
                    .map_or("–".into(), |l| format!("{:.1} ms", f(l)))
            };
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&t.name),
                t.requests,
                t.errors,
                p(|l| l.p50),
                p(|l| l.p95),
                p(|l| l.p99)
            );
        }
        out.push_str("</tbody></table>");
    }
    out
}
