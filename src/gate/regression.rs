//! The statistical regression judge. Takes the latency distributions of this run and of
//! the baseline release's run, a percentile and the allowance (`max-regression`); gives a
//! [`Judgement`]: regressed, not regressed, or inconclusive (never a pass), with the
//! relative change of the percentile, its confidence interval and, when inconclusive,
//! what would settle it.
//!
//! Method (documented for users in `docs/regression.md`): a percentile bootstrap of the
//! relative change `(now - before) / before` of the percentile. Each resample draws as
//! many requests as each run measured from that run's stored histogram (the one the gate
//! judged, corrected for coordinated omission) and takes the percentile of each. The
//! k-th smallest of n draws from an empirical distribution F is F⁻¹ of the k-th smallest
//! of n uniform draws, which is Beta(k, n − k + 1) distributed, so a resample costs one
//! Beta draw per run however many requests it had. 2,000 resamples from a fixed seed
//! give the 95% interval (2.5th to 97.5th percentile of the resampled changes), the same
//! on every evaluation, so `evidence verify` recomputes the same verdict.
//!
//! Decision, with `allowed` the criterion's `max-regression` (the size that matters):
//! the whole interval above it is **regressed**; the whole interval at or below it is
//! **not regressed**; an interval that straddles it is **inconclusive**, and so is a run
//! with too few requests behind the percentile (fewer than five beyond it in either run:
//! the tail is not measured at all).

use crate::measure::distribution::{LatencyDistribution, Quantiles};
use rand::SeedableRng as _;
use rand_distr::{Beta, Distribution as _};
use serde::{Deserialize, Serialize};

/// The two-sided confidence of the interval. 95% leaves a 2.5% chance of calling a
/// release regressed that is not (and as much of clearing one that is), at the edge of
/// the allowance; further from it the chances fall fast.
pub const CONFIDENCE: f64 = 0.95;
/// Resamples: enough that the 2.5th and 97.5th percentiles of the changes move by well
/// under a percentage point between seeds, cheap (two Beta draws each).
const RESAMPLES: usize = 2000;
/// Fixed, so the same two runs always give the same verdict.
const SEED: u64 = 0x5354_4147_4547_4154;
/// Requests each run needs beyond the percentile before its tail counts as measured: a
/// p95 of 5 requests is just the slowest of them.
const TAIL_SAMPLES: f64 = 5.0;
/// Beyond this many times the run's length, "a longer run" stops being useful advice.
const MAX_FACTOR: f64 = 1000.0;

/// The relative change's confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChangeInterval {
    /// Lower bound of the relative change (a ratio; positive = worse).
    pub low: f64,
    /// Upper bound.
    pub high: f64,
    /// Its two-sided confidence, e.g. 0.95.
    pub confidence: f64,
    /// Requests this run measured.
    pub samples: u64,
    /// Requests the baseline's run measured.
    pub baseline_samples: u64,
}

/// What would turn an inconclusive comparison into a verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Settle {
    /// A run had too few requests to measure the percentile at all.
    MoreSamples {
        /// Requests each run needs.
        needed: u64,
        /// Requests this run measured.
        had: u64,
        /// Requests the baseline's run measured.
        baseline_had: u64,
    },
    /// The interval straddles the allowance: narrowing it by this many times the requests
    /// (a run as many times as long) would bring it to one side, if the change holds.
    LongerRun {
        /// About how many requests this run would need.
        requests: u64,
        /// That many times this run's requests.
        factor: f64,
    },
    /// The change sits at the allowance: no run of sensible length can tell.
    AtTheAllowance,
}

/// The judge's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Judgement {
    /// Worse than allowed, with the stated confidence.
    Regressed {
        /// Relative change (positive = worse).
        change: f64,
        /// Its interval; `None` when two values were compared (no distributions).
        interval: Option<ChangeInterval>,
    },
    /// Within the allowance, with the stated confidence.
    NotRegressed {
        /// Relative change.
        change: f64,
        /// Its interval; `None` when two values were compared.
        interval: Option<ChangeInterval>,
    },
    /// The data cannot tell: never a pass.
    Inconclusive {
        /// Relative change of the percentile.
        change: f64,
        /// Its interval, when the runs had enough requests to compute one.
        interval: Option<ChangeInterval>,
        /// What would settle it.
        settle: Settle,
    },
}

impl Judgement {
    /// The judgement of a metric with no distribution to resample (a maximum, a rate,
    /// a PromQL value, or a run recorded before distributions were kept): the change
    /// as measured against the allowance.
    pub fn by_value(change: f64, allowed: f64) -> Judgement {
        if change > allowed {
            Judgement::Regressed {
                change,
                interval: None,
            }
        } else {
            Judgement::NotRegressed {
                change,
                interval: None,
            }
        }
    }
}

/// Why two distributions could not be compared (the caller falls back to the values).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct Unreadable(#[from] crate::measure::distribution::HistogramError);

/// The requests a run needs before percentile `quantile` rests on measured requests.
pub fn samples_needed(quantile: f64) -> u64 {
    (TAIL_SAMPLES / (1.0 - quantile).max(1e-6)).round().max(1.0) as u64
}

/// Judges whether `now` regressed from `before` at `quantile` (0..1) by more than
/// `allowed` (a ratio).
pub fn judge(
    now: &LatencyDistribution,
    before: &LatencyDistribution,
    quantile: f64,
    allowed: f64,
) -> Result<Judgement, Unreadable> {
    let (now_q, before_q) = (now.quantiles()?, before.quantiles()?);
    let change = relative(now_q.at(quantile), before_q.at(quantile));
    let needed = samples_needed(quantile);
    if now.samples < needed || before.samples < needed {
        return Ok(Judgement::Inconclusive {
            change,
            interval: None,
            settle: Settle::MoreSamples {
                needed,
                had: now.samples,
                baseline_had: before.samples,
            },
        });
    }
    let interval = bootstrap((&now_q, now.samples), (&before_q, before.samples), quantile);
    Ok(if interval.low > allowed {
        Judgement::Regressed {
            change,
            interval: Some(interval),
        }
    } else if interval.high <= allowed {
        Judgement::NotRegressed {
            change,
            interval: Some(interval),
        }
    } else {
        Judgement::Inconclusive {
            change,
            interval: Some(interval),
            settle: settle(change, &interval, allowed),
        }
    })
}

fn relative(now: f64, before: f64) -> f64 {
    // Latencies are at least 1 µs (the recorder's floor), so `before` is never zero.
    (now - before) / before.max(1e-3)
}

/// The bootstrap interval of the relative change at `quantile`.
fn bootstrap(now: (&Quantiles, u64), before: (&Quantiles, u64), quantile: f64) -> ChangeInterval {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(SEED);
    let order_statistic = |n: u64| {
        let k = ((quantile * n as f64).ceil() as u64).clamp(1, n);
        Beta::new(k as f64, (n - k + 1) as f64)
    };
    let (Ok(now_rank), Ok(before_rank)) = (order_statistic(now.1), order_statistic(before.1))
    else {
        unreachable!("Beta parameters are at least 1")
    };
    let mut changes: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            let a = now.0.at(now_rank.sample(&mut rng));
            let b = before.0.at(before_rank.sample(&mut rng));
            relative(a, b)
        })
        .collect();
    changes.sort_by(f64::total_cmp);
    let tail = (1.0 - CONFIDENCE) / 2.0;
    let low = changes[(tail * RESAMPLES as f64).floor() as usize];
    let high = changes[((1.0 - tail) * RESAMPLES as f64).ceil() as usize - 1];
    ChangeInterval {
        low,
        high,
        confidence: CONFIDENCE,
        samples: now.1,
        baseline_samples: before.1,
    }
}

/// What would move an interval that straddles `allowed` to one side: its width falls as
/// one over the square root of the requests, so the half-width facing the allowance must
/// shrink to the distance between the change and the allowance.
fn settle(change: f64, interval: &ChangeInterval, allowed: f64) -> Settle {
    let distance = (change - allowed).abs();
    let half_width = if change > allowed {
        change - interval.low
    } else {
        interval.high - change
    };
    // Within a tenth of a percentage point of the allowance, no run can tell.
    if distance < 1e-3 || half_width <= 0.0 {
        return Settle::AtTheAllowance;
    }
    let factor = (half_width / distance).powi(2).max(1.0);
    if factor > MAX_FACTOR {
        return Settle::AtTheAllowance;
    }
    Settle::LongerRun {
        requests: (interval.samples as f64 * factor).ceil() as u64,
        factor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::Histogram;
    use rand::Rng as _;

    /// `n` latencies around `centre_ms` with ±`spread` relative noise, from `seed`.
    fn run(n: u64, centre_ms: f64, spread: f64, seed: u64) -> LatencyDistribution {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        for _ in 0..n {
            let ms = centre_ms * (1.0 + spread * (rng.gen::<f64>() * 2.0 - 1.0));
            h.record((ms * 1000.0) as u64).unwrap();
        }
        LatencyDistribution::new(&h, n).unwrap()
    }

    /// `n` exponentially distributed latencies of mean `mean_ms`: a long tail.
    fn long_tailed_run(n: u64, mean_ms: f64, seed: u64) -> LatencyDistribution {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        for _ in 0..n {
            let ms = -mean_ms * (1.0 - rng.gen::<f64>()).ln();
            h.record(((ms * 1000.0) as u64).max(1)).unwrap();
        }
        LatencyDistribution::new(&h, n).unwrap()
    }

    #[test]
    fn a_release_300ms_slower_is_regressed() {
        let before = run(400, 20.0, 0.2, 1);
        let now = run(400, 320.0, 0.2, 2);
        let j = judge(&now, &before, 0.95, 0.2).unwrap();
        let Judgement::Regressed {
            change,
            interval: Some(interval),
        } = j
        else {
            panic!("{j:?}")
        };
        assert!(change > 10.0 && interval.low > 0.2, "{change} {interval:?}");
        assert_eq!((interval.samples, interval.baseline_samples), (400, 400));
    }

    #[test]
    fn the_same_release_twice_is_not_regressed() {
        let before = run(400, 20.0, 0.2, 1);
        let now = run(400, 20.0, 0.2, 3);
        let j = judge(&now, &before, 0.95, 0.2).unwrap();
        let Judgement::NotRegressed {
            change,
            interval: Some(interval),
        } = j
        else {
            panic!("{j:?}")
        };
        assert!(change.abs() < 0.1, "{change}");
        assert!(interval.low < 0.0 && interval.high > 0.0, "{interval:?}");
        assert!(interval.high <= 0.2, "{interval:?}");
    }

    #[test]
    fn five_requests_are_inconclusive_and_say_how_many_would_do() {
        let before = run(400, 20.0, 0.2, 1);
        let now = run(5, 320.0, 0.2, 4);
        let j = judge(&now, &before, 0.95, 0.2).unwrap();
        assert_eq!(
            j,
            Judgement::Inconclusive {
                change: match &j {
                    Judgement::Inconclusive { change, .. } => *change,
                    _ => f64::NAN,
                },
                interval: None,
                settle: Settle::MoreSamples {
                    needed: 100,
                    had: 5,
                    baseline_had: 400
                },
            }
        );
        assert_eq!(
            (
                samples_needed(0.5),
                samples_needed(0.9),
                samples_needed(0.99)
            ),
            (10, 50, 500)
        );
    }

    #[test]
    fn a_change_near_the_allowance_on_few_requests_is_inconclusive_with_a_longer_run_to_settle_it()
    {
        // +25% on long-tailed 120-request runs against a 20% allowance: a p95 of 120
        // exponential samples moves by about 13% from run to run, so the interval is wide.
        let before = long_tailed_run(120, 100.0, 5);
        let now = long_tailed_run(120, 125.0, 6);
        let j = judge(&now, &before, 0.95, 0.2).unwrap();
        let Judgement::Inconclusive {
            interval: Some(interval),
            settle: Settle::LongerRun { requests, factor },
            ..
        } = j
        else {
            panic!("{j:?}")
        };
        assert!(interval.low <= 0.2 && interval.high > 0.2, "{interval:?}");
        assert!(factor > 1.0 && requests > 120, "{factor} {requests}");
    }

    #[test]
    fn the_same_inputs_give_the_same_interval() {
        let before = run(300, 50.0, 0.4, 7);
        let now = run(300, 55.0, 0.4, 8);
        assert_eq!(
            judge(&now, &before, 0.9, 0.3).unwrap(),
            judge(&now, &before, 0.9, 0.3).unwrap()
        );
    }
}
