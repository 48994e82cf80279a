//! What a worker sends the coordinator, and how the coordinator merges N of them.
//! A [`ShardObserver`] sees every request of the worker's load and keeps counts,
//! errors by kind, failed checks, the full latency histogram (overall, per transaction
//! and per second); [`ShardReport`] carries them with HdrHistogram's serialised V2 form
//! (base64), so [`merge`] adds histograms exactly: the percentiles of the merged figures
//! are those of the union of every sample, not an average of percentiles.

use super::ShardId;
use crate::load::Breach;
use crate::measure::{
    ErrorKind, Measurements, Percentiles, RequestObserver, RequestSample, SecondSample,
    TransactionMeasurements,
};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

/// The recorder's bounds and precision: 1 µs to an hour, 3 significant figures (every
/// value within 0.1%).
pub const SIGNIFICANT_FIGURES: u8 = 3;
const HIGHEST_MICROS: u64 = 3_600_000_000;

pub use crate::measure::distribution::{decode, encode, HistogramError};

pub(super) fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIGHEST_MICROS, SIGNIFICANT_FIGURES)
        .unwrap_or_else(|_| unreachable!("static bounds are valid"))
}

/// How a worker's load ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum WorkerEnd {
    /// It ran to its end or was stopped (by its own abort criterion or a signal).
    Ran {
        /// Wall time of the load, seconds.
        elapsed_s: f64,
        /// What stopped it early.
        stopped: Option<Breach>,
    },
    /// The load engine failed.
    Failed {
        /// Why.
        error: String,
    },
}

/// One transaction's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransactionReport {
    /// `suite/transaction`.
    pub name: String,
    /// Requests.
    pub requests: u64,
    /// Failed.
    pub errors: u64,
    /// Latency histogram (µs), [`encode`]d.
    pub latency: String,
}

/// One second's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecondReport {
    /// Seconds since the worker's load started.
    pub second: u64,
    /// Requests completed in it.
    pub requests: u64,
    /// Failed.
    pub errors: u64,
    /// Checks evaluated.
    #[serde(default)]
    pub checks: u64,
    /// Checks failed.
    #[serde(default)]
    pub check_failures: u64,
    /// Latency histogram (µs), [`encode`]d.
    pub latency: String,
}

/// One second's tally, kept until the report.
struct SecondTally {
    requests: u64,
    errors: u64,
    checks: u64,
    check_failures: u64,
    latency: Histogram<u64>,
}

impl SecondTally {
    fn new() -> SecondTally {
        SecondTally {
            requests: 0,
            errors: 0,
            checks: 0,
            check_failures: 0,
            latency: new_histogram(),
        }
    }

    fn report(&self, second: u64) -> Result<SecondReport, HistogramError> {
        Ok(SecondReport {
            second,
            requests: self.requests,
            errors: self.errors,
            checks: self.checks,
            check_failures: self.check_failures,
            latency: encode(&self.latency)?,
        })
    }
}

/// Everything one worker measured, sent once at its end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardReport {
    /// The run this report belongs to (the coordinator's run key).
    pub run: String,
    /// Which shard.
    pub shard: u32,
    /// Of how many.
    pub of: u32,
    /// The suite it ran.
    pub suite: String,
    /// How its load ended.
    pub end: WorkerEnd,
    /// Requests.
    pub requests: u64,
    /// Failed requests.
    pub errors: u64,
    /// Failed requests by kind.
    pub errors_by_kind: BTreeMap<ErrorKind, u64>,
    /// Checks evaluated.
    pub checks: u64,
    /// Checks failed.
    pub check_failures: u64,
    /// Failed checks by name.
    pub failed_checks: BTreeMap<String, u64>,
    /// The first transport error seen.
    pub first_error: Option<String>,
    /// Latency histogram of every request (µs), [`encode`]d.
    pub latency: String,
    /// Per transaction.
    pub transactions: Vec<TransactionReport>,
    /// Per second.
    pub series: Vec<SecondReport>,
}

#[derive(Default)]
struct Tally {
    requests: u64,
    errors: u64,
    errors_by_kind: BTreeMap<ErrorKind, u64>,
    checks: u64,
    check_failures: u64,
    failed_checks: BTreeMap<String, u64>,
    first_error: Option<String>,
    overall: Option<Histogram<u64>>,
    transactions: BTreeMap<String, (u64, u64, Histogram<u64>)>,
    seconds: BTreeMap<u64, SecondTally>,
}

/// Sees every request of a worker's load (as the recorder's observer).
pub struct ShardObserver {
    started: Instant,
    tally: Mutex<Tally>,
    /// When set (a test hook, `STAGEGATE_SHARD_SAMPLES`), every latency in µs, one a line.
    samples: Option<Mutex<Vec<u64>>>,
}

impl ShardObserver {
    /// Starts the clock; `keep_samples` keeps every latency for [`ShardObserver::samples`].
    pub fn new(keep_samples: bool) -> ShardObserver {
        ShardObserver {
            started: Instant::now(),
            tally: Mutex::new(Tally::default()),
            samples: keep_samples.then(|| Mutex::new(Vec::new())),
        }
    }

    fn tally(&self) -> std::sync::MutexGuard<'_, Tally> {
        match self.tally.lock() {
            Ok(t) => t,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Every latency seen (µs), when kept.
    pub fn samples(&self) -> Vec<u64> {
        match &self.samples {
            Some(m) => match m.lock() {
                Ok(s) => s.clone(),
                Err(poisoned) => poisoned.into_inner().clone(),
            },
            None => Vec::new(),
        }
    }

    /// The report of everything seen.
    pub fn report(
        &self,
        run: &str,
        shard: ShardId,
        suite: &str,
        end: WorkerEnd,
    ) -> Result<ShardReport, HistogramError> {
        let t = self.tally();
        let empty = new_histogram();
        Ok(ShardReport {
            run: run.to_string(),
            shard: shard.index,
            of: shard.count,
            suite: suite.to_string(),
            end,
            requests: t.requests,
            errors: t.errors,
            errors_by_kind: t.errors_by_kind.clone(),
            checks: t.checks,
            check_failures: t.check_failures,
            failed_checks: t.failed_checks.clone(),
            first_error: t.first_error.clone(),
            latency: encode(t.overall.as_ref().unwrap_or(&empty))?,
            transactions: t
                .transactions
                .iter()
                .map(|(name, (requests, errors, h))| {
                    Ok(TransactionReport {
                        name: name.clone(),
                        requests: *requests,
                        errors: *errors,
                        latency: encode(h)?,
                    })
                })
                .collect::<Result<_, HistogramError>>()?,
            series: t
                .seconds
                .iter()
                .map(|(second, tally)| tally.report(*second))
                .collect::<Result<_, HistogramError>>()?,
        })
    }

    /// The seconds from `from` that are over (before the current one), and the first
    /// second not yet over: what a worker streams to the coordinator while it runs.
    pub fn completed_seconds(&self, from: u64) -> Result<(Vec<SecondReport>, u64), HistogramError> {
        let t = self.tally();
        let now = self.started.elapsed().as_secs();
        let seconds = t
            .seconds
            .range(from..now.max(from))
            .map(|(second, tally)| tally.report(*second))
            .collect::<Result<_, HistogramError>>()?;
        Ok((seconds, now.max(from)))
    }
}

impl RequestObserver for ShardObserver {
    fn observe(&self, sample: &RequestSample<'_>) {
        let micros = (sample.latency.as_micros() as u64).clamp(1, HIGHEST_MICROS);
        // As in the recorder: a request refused before sending has no latency.
        let sent = sample.was_sent();
        if let (Some(samples), true) = (&self.samples, sent) {
            if let Ok(mut s) = samples.lock() {
                s.push(micros);
            }
        }
        let mut t = self.tally();
        // Read under the lock, as `completed_seconds` does: a second it streamed as over
        // never receives a late sample.
        let second = self.started.elapsed().as_secs();
        let failed = u64::from(sample.error.is_some());
        t.requests += 1;
        t.errors += failed;
        t.checks += u64::from(sample.checks);
        t.check_failures += sample.failed_checks.len() as u64;
        for name in &sample.failed_checks {
            *t.failed_checks.entry(name.clone()).or_default() += 1;
        }
        if let Some(kind) = sample.error {
            *t.errors_by_kind.entry(kind).or_default() += 1;
            if t.first_error.is_none() {
                t.first_error = sample
                    .error_text
                    .clone()
                    .or_else(|| Some(format!("{kind:?}").to_lowercase()));
            }
        }
        if sent {
            let _ = t.overall.get_or_insert_with(new_histogram).record(micros);
        }
        let tx = t
            .transactions
            .entry(sample.transaction.to_string())
            .or_insert_with(|| (0, 0, new_histogram()));
        tx.0 += 1;
        tx.1 += failed;
        if sent {
            let _ = tx.2.record(micros);
        }
        let s = t.seconds.entry(second).or_insert_with(SecondTally::new);
        s.requests += 1;
        s.errors += failed;
        s.checks += u64::from(sample.checks);
        s.check_failures += sample.failed_checks.len() as u64;
        if sent {
            let _ = s.latency.record(micros);
        }
    }
}

/// Percentiles (ms) of a histogram in µs.
pub fn percentiles(h: &Histogram<u64>) -> Percentiles {
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    Percentiles {
        p50: ms(0.50),
        p90: ms(0.90),
        p95: ms(0.95),
        p99: ms(0.99),
        max: h.max() as f64 / 1000.0,
    }
}

pub(super) fn add(into: &mut Histogram<u64>, text: &str) -> Result<(), HistogramError> {
    let h = decode(text)?;
    into.add(&h).map_err(|e| HistogramError(format!("{e:?}")))
}

/// The merged figures of every shard's report: counts summed, histograms added, series
/// joined second by second; the load's time is the longest shard's.
pub fn merge(reports: &[ShardReport]) -> Result<Measurements, HistogramError> {
    let mut m = Measurements::default();
    let mut overall = new_histogram();
    let mut transactions: BTreeMap<String, (u64, u64, Histogram<u64>)> = BTreeMap::new();
    let mut seconds: BTreeMap<u64, (u64, u64, Histogram<u64>)> = BTreeMap::new();
    for r in reports {
        m.requests += r.requests;
        m.errors += r.errors;
        for (kind, n) in &r.errors_by_kind {
            *m.errors_by_kind.entry(*kind).or_default() += n;
        }
        m.checks += r.checks;
        m.check_failures += r.check_failures;
        for (name, n) in &r.failed_checks {
            *m.failed_checks.entry(name.clone()).or_default() += n;
        }
        if m.first_error.is_none() {
            m.first_error.clone_from(&r.first_error);
        }
        if let WorkerEnd::Ran { elapsed_s, .. } = r.end {
            m.duration_s = m.duration_s.max(elapsed_s);
        }
        add(&mut overall, &r.latency)?;
        for tx in &r.transactions {
            let into = transactions
                .entry(tx.name.clone())
                .or_insert_with(|| (0, 0, new_histogram()));
            into.0 += tx.requests;
            into.1 += tx.errors;
            add(&mut into.2, &tx.latency)?;
        }
        for s in &r.series {
            let into = seconds
                .entry(s.second)
                .or_insert_with(|| (0, 0, new_histogram()));
            into.0 += s.requests;
            into.1 += s.errors;
            add(&mut into.2, &s.latency)?;
        }
    }
    m.latency_ms = (!overall.is_empty()).then(|| percentiles(&overall));
    m.latency_distribution = crate::measure::LatencyDistribution::new(&overall, overall.len());
    m.transactions = transactions
        .into_iter()
        .map(|(name, (requests, errors, h))| TransactionMeasurements {
            name,
            requests,
            errors,
            latency_ms: (!h.is_empty()).then(|| percentiles(&h)),
        })
        .collect();
    let last = seconds.keys().next_back().copied();
    m.series = (0..last.map_or(0, |l| l + 1))
        .map(|second| match seconds.get(&second) {
            Some((requests, errors, h)) => SecondSample {
                second,
                requests: *requests,
                errors: *errors,
                p95_ms: (!h.is_empty()).then(|| h.value_at_quantile(0.95) as f64 / 1000.0),
            },
            None => SecondSample {
                second,
                requests: 0,
                errors: 0,
                p95_ms: None,
            },
        })
        .collect();
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn sample(ms: u64) -> RequestSample<'static> {
        RequestSample {
            user: 0,
            transaction: "s/t",
            latency: Duration::from_micros(ms),
            error: None,
            checks: 1,
            failed_checks: Vec::new(),
            error_text: None,
        }
    }

    #[test]
    fn merged_percentiles_are_those_of_the_union() {
        // Two shards with very different latencies: averaging their p50s would say
        // ~5 ms; the union's p50 is in the slow shard.
        let fast = ShardObserver::new(false);
        let slow = ShardObserver::new(false);
        (1..=100).for_each(|i| fast.observe(&sample(i)));
        (1..=300).for_each(|i| slow.observe(&sample(10_000 + i)));
        let end = WorkerEnd::Ran {
            elapsed_s: 1.0,
            stopped: None,
        };
        let reports = [
            fast.report("r", ShardId { index: 0, count: 2 }, "s", end.clone())
                .unwrap(),
            slow.report("r", ShardId { index: 1, count: 2 }, "s", end)
                .unwrap(),
        ];
        let m = merge(&reports).unwrap();
        assert_eq!((m.requests, m.checks), (400, 400));
        let mut union: Vec<u64> = (1..=100).chain((1..=300).map(|i| 10_000 + i)).collect();
        union.sort_unstable();
        let p50 = union[199] as f64 / 1000.0;
        let got = m.latency_ms.unwrap().p50;
        assert!((got - p50).abs() <= p50 * 0.001, "{got} vs {p50}");
    }
}
