//! Takes a gate's `accept` list, gives [`Acceptance`]s: a written, signed-off, expiring
//! decision that a security check's findings (on every URL, or on one) do not fail the
//! gate. Each needs a reason, who accepted it and an expiry date; every mistake is
//! reported at its text. What an acceptance does is the gate's business (`gate::findings`).

use super::diagnostic::{Diagnostics, SourceFile};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;
use toml::Spanned;

/// Longest an acceptance may run: a risk accepted for longer is a risk forgotten.
pub const MAX_ACCEPTANCE_DAYS: i64 = 366;

/// One accepted risk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acceptance {
    /// The check id (`exposure.env`, `probe.<name>`).
    pub check: String,
    /// Only the finding at this URL; every finding of the check when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Why the risk is accepted, as written.
    pub reason: String,
    /// Who accepted it.
    pub by: String,
    /// Last day it applies (inclusive, UTC).
    pub expires: NaiveDate,
}

impl Acceptance {
    /// Whether it still applies on `today`.
    pub fn applies_on(&self, today: NaiveDate) -> bool {
        today <= self.expires
    }

    /// Whether it covers a finding of `check` at `url`.
    pub fn covers(&self, check: &str, url: &str) -> bool {
        self.check == check && self.url.as_deref().is_none_or(|u| u == url)
    }
}

impl fmt::Display for Acceptance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.check)?;
        if let Some(url) = &self.url {
            write!(f, " at {url}")?;
        }
        write!(
            f,
            " accepted by {} until {}: {}",
            self.by, self.expires, self.reason
        )
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawAcceptance {
    check: Spanned<String>,
    url: Option<String>,
    reason: Spanned<String>,
    by: Spanned<String>,
    expires: Spanned<String>,
}

/// Parses the `accept` list of a gate.
pub(super) fn parse_acceptances(
    file: &SourceFile,
    raw: &[RawAcceptance],
    diagnostics: &mut Diagnostics,
) -> Vec<Acceptance> {
    let mut out = Vec::new();
    for a in raw {
        let mut ok = true;
        let check = a.check.get_ref().trim();
        if check.is_empty() || check.contains(char::is_whitespace) {
            diagnostics.push(file.diagnostic(
                a.check.span(),
                "an acceptance names one check",
                Some("a check id such as `exposure.env` (see `stagegate checks`)".into()),
            ));
            ok = false;
        }
        for (field, text, hint) in [
            (
                "reason",
                &a.reason,
                "why the risk is accepted, e.g. `mitigated by the WAF rule 4021`",
            ),
            ("by", &a.by, "who accepted it, e.g. `Nguyễn Văn An`"),
        ] {
            if text.get_ref().trim().is_empty() {
                diagnostics.push(file.diagnostic(
                    text.span(),
                    format!("an acceptance needs a written `{field}`"),
                    Some(hint.into()),
                ));
                ok = false;
            }
        }
        let expires = match NaiveDate::parse_from_str(a.expires.get_ref(), "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(e) => {
                diagnostics.push(file.diagnostic(
                    a.expires.span(),
                    format!("bad expiry date `{}`: {e}", a.expires.get_ref()),
                    Some(format!(
                        "a date such as `2027-03-31` (at most {MAX_ACCEPTANCE_DAYS} days ahead)"
                    )),
                ));
                None
            }
        };
        if let Some(expires) = expires {
            let today = chrono::Utc::now().date_naive();
            if (expires - today).num_days() > MAX_ACCEPTANCE_DAYS {
                diagnostics.push(file.diagnostic(
                    a.expires.span(),
                    format!("acceptance runs until {expires}, more than {MAX_ACCEPTANCE_DAYS} days ahead"),
                    Some("an expiry within a year: accepted risks are looked at again".into()),
                ));
                ok = false;
            }
            if ok {
                out.push(Acceptance {
                    check: check.to_string(),
                    url: a.url.clone(),
                    reason: a.reason.get_ref().trim().to_string(),
                    by: a.by.get_ref().trim().to_string(),
                    expires,
                });
            }
        }
    }
    out
}
