//! Takes the short texts users write for durations, rates and thresholds
//! (`"1m30s"`, `"1%"`, `"< 800ms"`), gives typed values in canonical units.

use super::diagnostic::{Diagnostics, SourceFile};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;
use toml::Spanned;

/// The longest duration any file or flag may give: a week. Longer than any soak test a
/// stage runs, and far below what the arithmetic on it (milliseconds in a `u64`, goose's
/// test plan in seconds) could overflow on.
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// Parses a duration such as `500ms`, `10s`, `2m`, `1m 30s`, at most [`MAX_DURATION`]:
/// the one duration parser of files and flags.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim()).map_err(|e| e.to_string().to_lowercase())?;
    if d > MAX_DURATION {
        return Err("longer than the longest allowed, 7days".into());
    }
    Ok(d)
}

/// A duration field of a file: parsed with [`parse_duration`], a mistake reported at
/// the text with `example` as what was expected.
pub(crate) fn duration_field(
    file: &SourceFile,
    text: &Spanned<String>,
    example: &str,
    diagnostics: &mut Diagnostics,
) -> Option<Duration> {
    match parse_duration(text.get_ref()) {
        Ok(d) => Some(d),
        Err(e) => {
            diagnostics.push(file.diagnostic(
                text.span(),
                format!("bad duration `{}`: {e}", text.get_ref()),
                Some(format!("a duration such as `{example}`")),
            ));
            None
        }
    }
}

/// What a metric is measured in; decides how its thresholds are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Unit {
    /// Latency, canonical unit milliseconds; written `800ms` or `1.5s`.
    Milliseconds,
    /// A fraction of a whole, canonical 0..=1; written `1%` or `0.01`.
    Ratio,
    /// Requests per second; written `50/s` or `50`.
    PerSecond,
    /// A whole number of things (findings, requests).
    Count,
    /// A plain number in the query's own units (PromQL criteria: seconds, ratios, bytes).
    Number,
}

impl Unit {
    /// An example threshold value in this unit, for error messages.
    pub fn example(self) -> &'static str {
        match self {
            Unit::Milliseconds => "a duration such as `800ms` or `1.5s`",
            Unit::Ratio => "a percentage such as `1%` or a fraction such as `0.01`",
            Unit::PerSecond => "a rate such as `50/s`",
            Unit::Count => "a whole number such as `0`",
            Unit::Number => "a number such as `0.5`",
        }
    }

    /// Parses a quantity written in this unit into the canonical value.
    pub fn parse_quantity(self, text: &str) -> Result<f64, String> {
        let text = text.trim();
        let value = match self {
            Unit::Milliseconds => parse_duration(text)
                .map(|d| d.as_secs_f64() * 1000.0)
                .map_err(|e| {
                    // A bare number would be ambiguous (ms or s?): demand a unit.
                    if text.parse::<f64>().is_ok() {
                        "a latency needs a unit".to_string()
                    } else {
                        e
                    }
                })?,
            Unit::Ratio => match text.strip_suffix('%') {
                Some(percent) => parse_number(percent)? / 100.0,
                None => parse_number(text)?,
            },
            Unit::PerSecond => parse_number(text.strip_suffix("/s").unwrap_or(text))?,
            Unit::Count => {
                let n = parse_number(text)?;
                if n.fract() != 0.0 {
                    return Err("a count must be a whole number".into());
                }
                n
            }
            // A server-side value may be negative (a temperature, a delta): any finite
            // number is a valid limit.
            Unit::Number => {
                return parse_number(text).and_then(|n| {
                    if n.is_finite() {
                        Ok(n)
                    } else {
                        Err("the value must be a finite number".into())
                    }
                })
            }
        };
        if !value.is_finite() || value < 0.0 {
            return Err("the value must be a finite, non-negative number".into());
        }
        if self == Unit::Ratio && value > 1.0 {
            return Err("a ratio cannot exceed 100%".into());
        }
        Ok(value)
    }

    /// Writes a canonical value back in this unit.
    pub fn format(self, value: f64) -> String {
        match self {
            Unit::Milliseconds => format!("{value:.1}ms"),
            Unit::Ratio => format!("{:.2}%", value * 100.0),
            Unit::PerSecond => format!("{value:.1}/s"),
            Unit::Count => format!("{value:.0}"),
            Unit::Number => format!("{value:.4}"),
        }
    }
}

fn parse_number(text: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .map_err(|_| format!("`{}` is not a number", text.trim()))
}

/// A comparison operator in a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Op {
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
    /// `==`
    #[serde(rename = "==")]
    Eq,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
        }
    }
}

/// `value OP limit` must hold, e.g. `< 800ms`. The limit is in the metric's canonical unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Threshold {
    /// The comparison.
    pub op: Op,
    /// The limit, in canonical units.
    pub limit: f64,
    /// The unit the limit is written in.
    pub unit: Unit,
}

impl Threshold {
    /// Parses `OP QUANTITY` in `unit`.
    pub fn parse(text: &str, unit: Unit) -> Result<Threshold, String> {
        let text = text.trim();
        let (op, rest) = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("<", Op::Lt),
            (">", Op::Gt),
        ]
        .into_iter()
        .find_map(|(symbol, op)| text.strip_prefix(symbol).map(|rest| (op, rest)))
        .ok_or_else(|| "a threshold starts with `<`, `<=`, `>`, `>=` or `==`".to_string())?;
        let limit = unit.parse_quantity(rest)?;
        Ok(Threshold { op, limit, unit })
    }

    /// Whether a measured value satisfies this threshold.
    pub fn holds(&self, value: f64) -> bool {
        match self.op {
            Op::Lt => value < self.limit,
            Op::Le => value <= self.limit,
            Op::Gt => value > self.limit,
            Op::Ge => value >= self.limit,
            // Counts are whole numbers; compare with a tolerance for the float round-trip.
            Op::Eq => (value - self.limit).abs() < 1e-9,
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.op.symbol(), self.unit.format(self.limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_parse_in_their_unit() {
        let t = Threshold::parse("< 800ms", Unit::Milliseconds).unwrap();
        assert_eq!((t.op, t.limit), (Op::Lt, 800.0));
        assert_eq!(
            Threshold::parse("<=1.5s", Unit::Milliseconds)
                .unwrap()
                .limit,
            1500.0
        );
        assert_eq!(Threshold::parse("< 1%", Unit::Ratio).unwrap().limit, 0.01);
        assert_eq!(
            Threshold::parse(">= 20/s", Unit::PerSecond).unwrap().limit,
            20.0
        );
        assert!(Threshold::parse("800ms", Unit::Milliseconds).is_err());
        assert!(Threshold::parse("< 800", Unit::Milliseconds).is_err());
        assert!(Threshold::parse("< 150%", Unit::Ratio).is_err());
        assert!(Threshold::parse("== 0.5", Unit::Count).is_err());
    }

    #[test]
    fn holds_follows_the_operator() {
        let t = Threshold::parse("< 1%", Unit::Ratio).unwrap();
        assert!(t.holds(0.009));
        assert!(!t.holds(0.01));
        let z = Threshold::parse("== 0", Unit::Count).unwrap();
        assert!(z.holds(0.0) && !z.holds(1.0));
    }
}
