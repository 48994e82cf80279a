//! The four stages of a rollout, in their fixed order.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One of the four stages. The order of the variants is the rollout order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StageId {
    /// Trial run on the test environment: smoke and light load, full security suite.
    TrialTest,
    /// Real run on the test environment: the full load profile.
    RealTest,
    /// Trial run on production: production-safe scenarios only, capped rate.
    TrialProduction,
    /// Real run on production: the go-live observation window.
    RealProduction,
}

impl StageId {
    /// All stages in rollout order.
    pub const ALL: [StageId; 4] = [
        StageId::TrialTest,
        StageId::RealTest,
        StageId::TrialProduction,
        StageId::RealProduction,
    ];

    /// The stable identifier used in files, the ledger and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            StageId::TrialTest => "trial-test",
            StageId::RealTest => "real-test",
            StageId::TrialProduction => "trial-production",
            StageId::RealProduction => "real-production",
        }
    }

    /// 1-based position in the rollout.
    pub fn number(self) -> usize {
        self.index() + 1
    }

    /// 0-based position in the rollout.
    pub fn index(self) -> usize {
        match self {
            StageId::TrialTest => 0,
            StageId::RealTest => 1,
            StageId::TrialProduction => 2,
            StageId::RealProduction => 3,
        }
    }

    /// The stage that must have been promoted before this one may run.
    pub fn previous(self) -> Option<StageId> {
        self.index().checked_sub(1).map(|i| StageId::ALL[i])
    }

    /// A short human title.
    pub fn title(self) -> &'static str {
        match self {
            StageId::TrialTest => "trial run on test",
            StageId::RealTest => "real run on test",
            StageId::TrialProduction => "trial run on production",
            StageId::RealProduction => "real run on production",
        }
    }
}

impl fmt::Display for StageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not one of the four stage identifiers.
#[derive(Debug, thiserror::Error)]
#[error("unknown stage `{0}` (expected one of `trial-test`, `real-test`, `trial-production`, `real-production`)")]
pub struct UnknownStage(pub String);

impl FromStr for StageId {
    type Err = UnknownStage;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StageId::ALL
            .into_iter()
            .find(|stage| stage.as_str() == s)
            .ok_or_else(|| UnknownStage(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_previous_follow_the_rollout() {
        assert_eq!(StageId::TrialTest.previous(), None);
        assert_eq!(
            StageId::RealProduction.previous(),
            Some(StageId::TrialProduction)
        );
        assert!(StageId::RealTest < StageId::TrialProduction);
        for stage in StageId::ALL {
            assert_eq!(stage.as_str().parse::<StageId>().ok(), Some(stage));
        }
        assert!("prod".parse::<StageId>().is_err());
    }
}
