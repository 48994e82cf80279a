//! Abort criteria judged on the merged figures of every shard. Workers stream each
//! second's figures as it ends ([`Progress`]); the coordinator adds the shards' seconds
//! together ([`MergedSeconds`]) and judges a second once every running shard has sent
//! it, with the same [`AbortMonitor`] a single-process load uses. A breach is answered
//! to every later [`Progress`] with [`ProgressAnswer::stop`], so each shard stops its
//! load whatever launcher started it (a pod cannot be signalled from outside the
//! cluster; a worker that asks every half second can).

use super::report::{self, HistogramError, SecondReport, ShardObserver};
use crate::config::rollout::AbortCriterion;
use crate::load::abort::AbortMonitor;
use crate::load::Breach;
use crate::measure::SecondStats;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// How often a worker sends its finished seconds: twice a second, so a breach confirmed
/// at the coordinator reaches every shard within about a second.
pub const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// The seconds one worker finished since its last [`Progress`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// The run key.
    pub run: String,
    /// Which shard.
    pub shard: u32,
    /// Of how many.
    pub of: u32,
    /// Every second before this one is over and has been sent.
    pub through: u64,
    /// The finished seconds not sent before.
    pub seconds: Vec<SecondReport>,
}

/// The coordinator's answer to a [`Progress`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProgressAnswer {
    /// When set, stop the load: the merged figures breached an abort criterion.
    pub stop: Option<String>,
}

/// The finished seconds a worker has not sent yet, from `from`; gives the next `from`.
pub fn next(
    observer: &ShardObserver,
    run: &str,
    shard: super::ShardId,
    from: u64,
) -> Result<Progress, HistogramError> {
    let (seconds, through) = observer.completed_seconds(from)?;
    Ok(Progress {
        run: run.to_string(),
        shard: shard.index,
        of: shard.count,
        through,
        seconds,
    })
}

struct MergedSecond {
    stats: SecondStats,
    latency: Histogram<u64>,
}

/// Every shard's seconds added together, judged in order.
pub struct MergedSeconds {
    monitor: AbortMonitor,
    /// Per shard, the first second it has not sent; `None` once it has ended.
    through: Vec<Option<u64>>,
    seconds: BTreeMap<u64, MergedSecond>,
    next: u64,
    breach: Option<Breach>,
}

impl MergedSeconds {
    /// For `count` shards, judged against `criteria`.
    pub fn new(count: u32, criteria: &[AbortCriterion]) -> MergedSeconds {
        MergedSeconds {
            monitor: AbortMonitor::new(criteria),
            through: vec![Some(0); count as usize],
            seconds: BTreeMap::new(),
            next: 0,
            breach: None,
        }
    }

    /// The breach, once one was confirmed.
    pub fn breach(&self) -> Option<&Breach> {
        self.breach.as_ref()
    }

    /// Adds a shard's seconds; gives the breach when this made one.
    pub fn add(&mut self, progress: &Progress) -> Result<Option<Breach>, HistogramError> {
        // Seconds this shard already sent (a message resent after a lost answer) are
        // not added twice; nor anything from a shard that has ended.
        let Some(Some(sent)) = self.through.get(progress.shard as usize).copied() else {
            return Ok(None);
        };
        for s in progress.seconds.iter().filter(|s| s.second >= sent) {
            let into = self
                .seconds
                .entry(s.second)
                .or_insert_with(|| MergedSecond {
                    stats: SecondStats::default(),
                    latency: report::new_histogram(),
                });
            into.stats.requests += s.requests;
            into.stats.errors += s.errors;
            into.stats.checks += s.checks;
            into.stats.check_failures += s.check_failures;
            report::add(&mut into.latency, &s.latency)?;
        }
        if let Some(Some(t)) = self.through.get_mut(progress.shard as usize) {
            *t = (*t).max(progress.through);
        }
        Ok(self.judge())
    }

    /// A shard ended (its final report arrived): its seconds no longer hold back the
    /// judgement of the others'.
    pub fn ended(&mut self, shard: u32) -> Option<Breach> {
        if let Some(slot) = self.through.get_mut(shard as usize) {
            *slot = None;
        }
        self.judge()
    }

    /// Judges every second that every running shard has finished.
    fn judge(&mut self) -> Option<Breach> {
        if self.breach.is_some() {
            return None;
        }
        let until = match self.through.iter().flatten().min() {
            Some(t) => *t,
            // Every shard ended: what they sent is all there is.
            None => self.seconds.keys().next_back().map_or(0, |s| s + 1),
        };
        let shards = self.through.len();
        while self.next < until {
            let second = self.next;
            self.next += 1;
            let stats = match self.seconds.remove(&second) {
                Some(mut merged) => {
                    merged.stats.latency_ms =
                        (!merged.latency.is_empty()).then(|| report::percentiles(&merged.latency));
                    merged.stats
                }
                None => SecondStats::default(),
            };
            if let Some(mut breach) = self.monitor.judge(second, &stats) {
                // Named as what it is: the figure of all the shards together.
                breach.value = format!("{} on the merged figures of {shards} shards", breach.value);
                self.breach = Some(breach.clone());
                return Some(breach);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::rollout::MetricId;
    use crate::config::units::{Threshold, Unit};

    fn second(second: u64, requests: u64, errors: u64) -> SecondReport {
        let mut h = report::new_histogram();
        for _ in 0..requests {
            h.record(1000).unwrap();
        }
        SecondReport {
            second,
            requests,
            errors,
            checks: 0,
            check_failures: 0,
            latency: report::encode(&h).unwrap(),
        }
    }

    fn progress(shard: u32, through: u64, seconds: Vec<SecondReport>) -> Progress {
        Progress {
            run: "r".into(),
            shard,
            of: 2,
            through,
            seconds,
        }
    }

    #[test]
    fn the_merged_second_is_judged_not_each_shards() {
        let criteria = [AbortCriterion {
            metric: MetricId::ErrorRate,
            pass: Threshold::parse("< 30%", Unit::Ratio).unwrap(),
            for_: Duration::from_secs(2),
        }];
        let mut merged = MergedSeconds::new(2, &criteria);
        // Shard 0 alone is at 40% errors, a breach on its own; merged with shard 1's
        // clean seconds the stage is at 20%, which holds.
        let bad = |s| second(s, 10, 4);
        let good = |s| second(s, 10, 0);
        assert_eq!(
            merged
                .add(&progress(0, 3, vec![bad(0), bad(1), bad(2)]))
                .unwrap(),
            None
        );
        // Nothing is judged before shard 1 has sent the same seconds.
        assert_eq!(merged.next, 0);
        assert_eq!(
            merged
                .add(&progress(1, 3, vec![good(0), good(1), good(2)]))
                .unwrap(),
            None
        );
        assert_eq!(merged.next, 3);
        // Shard 1 turns bad too: 40% merged for two seconds is a breach of the whole.
        merged.add(&progress(1, 5, vec![bad(3), bad(4)])).unwrap();
        let breach = merged
            .add(&progress(0, 5, vec![bad(3), bad(4)]))
            .unwrap()
            .expect("breach");
        assert_eq!(breach.value, "40.00% on the merged figures of 2 shards");
        assert_eq!((breach.seconds, breach.at_second), (2, 5));
        assert!(merged.breach().is_some());
    }

    #[test]
    fn an_ended_shard_no_longer_holds_back_the_judgement() {
        let criteria = [AbortCriterion {
            metric: MetricId::ErrorRate,
            pass: Threshold::parse("< 5%", Unit::Ratio).unwrap(),
            for_: Duration::ZERO,
        }];
        let mut merged = MergedSeconds::new(2, &criteria);
        assert_eq!(
            merged
                .add(&progress(0, 2, vec![second(0, 10, 0), second(1, 10, 5)]))
                .unwrap(),
            None
        );
        assert!(merged.ended(1).is_some());
    }
}
