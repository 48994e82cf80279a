//! Sharded load: one stage's load run as N worker processes whose results are merged
//! exactly. Takes a shard's place (`I/N`) and a stage's traffic and load suite, gives
//! that shard's part of them, such that the N parts are exactly the whole: users and
//! rates divided, each `unique` feeder row given to exactly one shard.
//!
//! [`worker`] runs one shard and reports to the coordinator; [`coordinator`] launches
//! the workers ([`launcher`]), receives their [`report`]s over HTTP and merges them.

pub mod coordinator;
pub mod docker;
pub mod k8s;
pub mod kubectl;
pub mod launcher;
pub mod progress;
pub mod report;
pub mod worker;

use crate::config::suite::{FeederMode, LoadSuite};
use crate::config::traffic::Traffic;
use std::fmt;
use std::str::FromStr;

/// Which shard of how many (`index` counts from 0, as Kubernetes'
/// `JOB_COMPLETION_INDEX` does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardId {
    /// This shard, `0..count`.
    pub index: u32,
    /// How many shards share the load.
    pub count: u32,
}

/// A `--shard` value that is not `I/N` with `0 <= I < N`.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("`{0}` is not a shard: write I/N with 0 <= I < N (for example 0/4)")]
pub struct BadShard(pub String);

impl FromStr for ShardId {
    type Err = BadShard;
    fn from_str(s: &str) -> Result<ShardId, BadShard> {
        let bad = || BadShard(s.to_string());
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        ShardId::new(index, count).ok_or_else(bad)
    }
}

impl fmt::Display for ShardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl ShardId {
    /// Shard `index` of `count`, when `index < count`.
    pub fn new(index: u32, count: u32) -> Option<ShardId> {
        (index < count).then_some(ShardId { index, count })
    }

    /// This shard's part of `total` whole things: the remainder goes one each to the
    /// first shards, so the parts add up to `total`.
    pub fn share(&self, total: u32) -> u32 {
        total / self.count + u32::from(self.index < total % self.count)
    }

    /// This shard's part of the stage's traffic: users and rates divided (iterations are
    /// per user and stay as written).
    pub fn traffic(&self, traffic: &Traffic) -> Traffic {
        let part = |rate: f64| rate / f64::from(self.count);
        Traffic {
            users: self.share(traffic.users),
            rate: traffic.rate.map(part),
            max_rps: traffic.max_rps.map(part),
            ..traffic.clone()
        }
    }

    /// This shard's part of a load suite: every `unique` feeder keeps the rows whose
    /// position is this shard's modulo N (so each row is used by exactly one shard);
    /// round-robin feeders keep every row.
    pub fn suite(&self, suite: &LoadSuite) -> LoadSuite {
        let mut part = suite.clone();
        for feeder in &mut part.feeders {
            if feeder.mode == FeederMode::Unique {
                feeder.rows = std::mem::take(&mut feeder.rows)
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| *i as u64 % u64::from(self.count) == u64::from(self.index))
                    .map(|(_, row)| row)
                    .collect();
            }
        }
        part
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_to_the_whole() {
        for count in 1..9u32 {
            for total in [0u32, 1, 7, 8, 100, 1001] {
                let sum: u32 = (0..count)
                    .map(|i| ShardId::new(i, count).unwrap().share(total))
                    .sum();
                assert_eq!(sum, total, "{total} over {count}");
            }
        }
    }

    #[test]
    fn shard_ids_parse_and_refuse() {
        assert_eq!("2/4".parse(), Ok(ShardId { index: 2, count: 4 }));
        for bad in ["4/4", "1", "a/2", "0/0", "-1/3"] {
            assert!(bad.parse::<ShardId>().is_err(), "{bad}");
        }
    }
}
