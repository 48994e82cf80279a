//! Takes a time as the ledger records it (RFC 3339 in UTC) and a time zone, gives it as
//! a Vietnamese dossier writes it: local time, day first (`29/11/2026 10:31:20
//! (UTC+07:00)`). English reports keep the recorded UTC form, which is what auditors
//! compare with the ledger.
//!
//! The zone database is bundled into the binary (jiff's `tzdb-bundle-always`): the
//! minimal containers stagegate runs in often have no `/usr/share/zoneinfo`, and a
//! report must not change with the machine it was written on.

use jiff::tz::TimeZone;

/// The zone of Vietnamese reports unless `--tz`/`STAGEGATE_TZ` says otherwise: the
/// ministries' dossiers use Vietnam's local time (UTC+7, no daylight saving).
pub const DEFAULT_ZONE: &str = "Asia/Ho_Chi_Minh";

/// The time zone a report writes local times in.
#[derive(Debug, Clone)]
pub struct ReportZone {
    name: String,
    zone: TimeZone,
}

/// `--tz` named no zone the database knows.
#[derive(Debug, thiserror::Error)]
#[error("unknown time zone `{name}` (hint: an IANA name such as `Asia/Ho_Chi_Minh` or `UTC`)")]
pub struct UnknownZone {
    /// What was given.
    pub name: String,
}

impl ReportZone {
    /// The zone called `name` in the IANA database.
    pub fn named(name: &str) -> Result<ReportZone, UnknownZone> {
        match TimeZone::get(name) {
            Ok(zone) => Ok(ReportZone {
                name: name.to_string(),
                zone,
            }),
            Err(_) => Err(UnknownZone {
                name: name.to_string(),
            }),
        }
    }

    /// Vietnam's zone, the default.
    pub fn vietnam() -> ReportZone {
        ReportZone::named(DEFAULT_ZONE).unwrap_or_else(|_| ReportZone {
            // Unreachable with the bundled database; a fixed UTC+7 is the same all year.
            name: DEFAULT_ZONE.into(),
            zone: TimeZone::fixed(jiff::tz::offset(7)),
        })
    }

    /// The IANA name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `recorded` (RFC 3339) as `dd/mm/yyyy HH:MM:SS (UTC±hh:mm)` in this zone; a text
    /// that is not a time is shown as recorded, never dropped.
    pub fn day_first(&self, recorded: &str) -> String {
        match recorded.parse::<jiff::Timestamp>() {
            Ok(at) => at
                .to_zoned(self.zone.clone())
                .strftime("%d/%m/%Y %H:%M:%S (UTC%:z)")
                .to_string(),
            Err(_) => recorded.to_string(),
        }
    }
}

impl Default for ReportZone {
    fn default() -> Self {
        ReportZone::vietnam()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_15_utc_becomes_vietnamese_local_time_day_first() {
        let zone = ReportZone::vietnam();
        // 20:30 UTC is 03:30 the next morning in Hà Nội: the date changes too.
        assert_eq!(
            zone.day_first("2026-11-28T20:30:05.250Z"),
            "29/11/2026 03:30:05 (UTC+07:00)"
        );
        let utc = ReportZone::named("UTC").expect("utc");
        assert_eq!(
            utc.day_first("2026-11-28T20:30:05Z"),
            "28/11/2026 20:30:05 (UTC+00:00)"
        );
        assert_eq!(zone.day_first("–"), "–");
        assert!(ReportZone::named("Mars/Olympus").is_err());
    }
}
