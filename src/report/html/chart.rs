//! Takes numbers, gives inline SVG charts (a line chart over seconds, a bar chart of
//! percentiles). Drawn here as text: no script, no external file, so a report opens
//! anywhere with no network.

use super::escape::escape;
use std::fmt::Write as _;

/// Size of every chart, in SVG units: wide enough for a minute of seconds, small enough
/// to print two on a page.
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
/// Room for axis labels.
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 30.0;
const TOP: f64 = 24.0;
const RIGHT: f64 = 16.0;

/// One line of a line chart.
pub struct Line<'a> {
    /// Legend text.
    pub label: &'a str,
    /// CSS colour.
    pub colour: &'a str,
    /// (x, y) points, x ascending.
    pub points: Vec<(f64, f64)>,
}

/// A line chart; `None` when there is nothing to draw.
pub fn line_chart(id: &str, title: &str, x_label: &str, lines: &[Line<'_>]) -> Option<String> {
    let all = || lines.iter().flat_map(|l| l.points.iter());
    all().next()?;
    let x_max = all().map(|p| p.0).fold(0.0_f64, f64::max).max(1.0);
    let y_max = nice_ceiling(all().map(|p| p.1).fold(0.0_f64, f64::max));
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let sx = |x: f64| LEFT + x / x_max * plot_w;
    let sy = |y: f64| TOP + plot_h - y / y_max * plot_h;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" id="{id}" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}"><title>{}</title>"#,
        escape(title)
    );
    // Grid and y ticks at 0, half and the top.
    for frac in [0.0, 0.5, 1.0] {
        let y = sy(y_max * frac);
        let _ = write!(
            svg,
            r#"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" class="grid"/><text x="{:.1}" y="{:.1}" class="tick" text-anchor="end">{}</text>"#,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            short(y_max * frac)
        );
    }
    for frac in [0.0, 0.5, 1.0] {
        let x = sx(x_max * frac);
        let _ = write!(
            svg,
            r#"<text x="{x:.1}" y="{:.1}" class="tick" text-anchor="middle">{}</text>"#,
            HEIGHT - BOTTOM + 16.0,
            short(x_max * frac)
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" class="axis" text-anchor="end">{}</text>"#,
        WIDTH - RIGHT,
        HEIGHT - 2.0,
        escape(x_label)
    );
    for (i, line) in lines.iter().enumerate() {
        let points: Vec<String> = line
            .points
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
            .collect();
        let _ = write!(
            svg,
            r#"<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>"#,
            escape(line.colour),
            points.join(" ")
        );
        let lx = LEFT + 8.0 + i as f64 * 150.0;
        let _ = write!(
            svg,
            r#"<rect x="{lx:.1}" y="6" width="12" height="4" fill="{}"/><text x="{:.1}" y="12" class="legend">{}</text>"#,
            escape(line.colour),
            lx + 16.0,
            escape(line.label)
        );
    }
    svg.push_str("</svg>");
    Some(svg)
}

/// A bar chart of labelled values; `None` when there is nothing to draw.
pub fn bar_chart(id: &str, title: &str, bars: &[(&str, f64)]) -> Option<String> {
    if bars.is_empty() {
        return None;
    }
    let y_max = nice_ceiling(bars.iter().map(|b| b.1).fold(0.0_f64, f64::max));
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / bars.len() as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" id="{id}" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}"><title>{}</title>"#,
        escape(title)
    );
    let base = TOP + plot_h;
    let _ = write!(
        svg,
        r#"<line x1="{LEFT}" y1="{base:.1}" x2="{:.1}" y2="{base:.1}" class="grid"/>"#,
        WIDTH - RIGHT
    );
    for (i, (label, value)) in bars.iter().enumerate() {
        let h = value / y_max * plot_h;
        let x = LEFT + i as f64 * slot + slot * 0.2;
        let _ = write!(
            svg,
            r#"<rect class="bar" x="{x:.1}" y="{:.1}" width="{:.1}" height="{h:.1}"/><text x="{:.1}" y="{:.1}" class="tick" text-anchor="middle">{}</text><text x="{:.1}" y="{:.1}" class="value" text-anchor="middle">{}</text>"#,
            base - h,
            slot * 0.6,
            x + slot * 0.3,
            HEIGHT - BOTTOM + 16.0,
            escape(label),
            x + slot * 0.3,
            (base - h - 4.0).max(TOP),
            short(*value)
        );
    }
    svg.push_str("</svg>");
    Some(svg)
}

/// A round number at or above `v`, so the top gridline reads well.
fn nice_ceiling(v: f64) -> f64 {
    if !v.is_finite() || v <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(v.log10().floor());
    for step in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if v <= step * magnitude {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

fn short(v: f64) -> String {
    if v >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_chart_scales_points_into_the_plot() {
        let svg = line_chart(
            "c",
            "t <x>",
            "s",
            &[Line {
                label: "rps",
                colour: "#123",
                points: vec![(0.0, 0.0), (10.0, 50.0)],
            }],
        )
        .unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("<title>t &lt;x&gt;</title>"));
        // (0,0) is the bottom-left corner of the plot, (10, 50) the top-right.
        assert!(
            svg.contains(&format!(
                "points=\"{LEFT:.1},{:.1} {:.1},{TOP:.1}\"",
                HEIGHT - BOTTOM,
                WIDTH - RIGHT
            )),
            "{svg}"
        );
    }

    #[test]
    fn nothing_to_draw_gives_no_chart() {
        assert!(line_chart(
            "c",
            "t",
            "s",
            &[Line {
                label: "x",
                colour: "red",
                points: vec![]
            }]
        )
        .is_none());
        assert!(bar_chart("c", "t", &[]).is_none());
    }

    #[test]
    fn ceilings_are_round() {
        assert_eq!(nice_ceiling(7.3), 10.0);
        assert_eq!(nice_ceiling(180.0), 200.0);
        assert_eq!(nice_ceiling(0.0), 1.0);
    }
}
