//! Collects every request of a load run as it completes: counts, errors by kind,
//! latency histograms overall, per transaction and per second. The load engine's
//! closures write here while goose runs, so live progress (and later Prometheus and
//! abort criteria) never wait for goose's end-of-run metrics.

use super::omission::{self, percentiles, Pacing};
use super::{
    LatencyDistribution, Measurements, Percentiles, SecondSample, TransactionMeasurements,
};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Why a request counts as failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The connection could not be made or broke.
    Connection,
    /// No answer in time.
    Timeout,
    /// An error status (4xx/5xx) where no status check said otherwise.
    Status,
    /// A check on the response failed.
    Check,
    /// Refused by stagegate itself and never sent: a request that would leave the
    /// environment's origin, or an unsafe method on a production tier in a suite that
    /// is not a declared production write. It has no latency.
    NotSent,
}

/// One completed request.
#[derive(Debug, Clone)]
pub struct RequestSample<'a> {
    /// The virtual user that sent it (goose's user index).
    pub user: usize,
    /// `suite/transaction`.
    pub transaction: &'a str,
    /// Time to the last byte of the body.
    pub latency: Duration,
    /// Why it failed, if it did.
    pub error: Option<ErrorKind>,
    /// Checks evaluated.
    pub checks: u32,
    /// Descriptions of failed checks (`step: check`).
    pub failed_checks: Vec<String>,
    /// Transport error text, for the first one seen.
    pub error_text: Option<String>,
}

impl RequestSample<'_> {
    /// Whether the request went on the wire; one that did not has no latency to count.
    pub fn was_sent(&self) -> bool {
        self.error != Some(ErrorKind::NotSent)
    }
}

/// Latencies are recorded in microseconds up to an hour; 3 significant figures keep
/// percentiles within 0.1%.
fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3)
        .unwrap_or_else(|_| unreachable!("static bounds are valid"))
}

/// What one second of the run saw.
#[derive(Default)]
struct SecondSlot {
    requests: u64,
    errors: u64,
    checks: u64,
    check_failures: u64,
    latency: Option<Histogram<u64>>,
}

/// One completed second, for criteria watched while load runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct SecondStats {
    /// Requests completed in that second.
    pub requests: u64,
    /// Of which failed.
    pub errors: u64,
    /// Checks evaluated.
    pub checks: u64,
    /// Checks failed.
    pub check_failures: u64,
    /// Latency percentiles of that second, when any request completed.
    pub latency_ms: Option<Percentiles>,
}

#[derive(Default)]
struct Inner {
    requests: u64,
    errors: u64,
    errors_by_kind: BTreeMap<ErrorKind, u64>,
    checks: u64,
    check_failures: u64,
    failed_checks: BTreeMap<String, u64>,
    transactions: BTreeMap<String, (u64, u64, Histogram<u64>)>,
    /// Seconds not yet compacted into the recorder's series (at most the last two).
    seconds: BTreeMap<u64, SecondSlot>,
    /// Every second before this one has been compacted; a late record moves forward.
    compacted_before: u64,
    first_error: Option<String>,
    /// The shard's virtual users, by their index within the shard (`user / SHARDS`):
    /// goose numbers its users densely from 0, so a vector serves where a map would
    /// hash on every request.
    users: Vec<UserTimes>,
    /// Time between one user's consecutive request starts, µs.
    gaps: Option<Histogram<u64>>,
}

/// What the recorder keeps of one virtual user.
#[derive(Debug, Clone, Copy, Default)]
struct UserTimes {
    /// The second (since the start) in which its last recorded request started.
    seen: Option<u64>,
    /// When its last request started, µs since the start.
    last_start: Option<u64>,
}

impl Inner {
    fn user(&mut self, user: usize) -> &mut UserTimes {
        let slot = user / SHARDS;
        if slot >= self.users.len() {
            self.users.resize(slot + 1, UserTimes::default());
        }
        &mut self.users[slot]
    }
}

/// A virtual user counts as active when one of its requests started within this many
/// seconds: longer than the sample suites' think times (≤ 200ms) plus a slow request,
/// short enough that the count falls soon after the ramp-down.
const ACTIVE_USER_WINDOW_S: u64 = 3;

/// Sees every request as it is recorded, e.g. to feed live Prometheus metrics. Called
/// from the load engine's tasks: it must be quick and must not block.
pub trait RequestObserver: Send + Sync {
    /// One completed request.
    fn observe(&self, sample: &RequestSample<'_>);
}

/// Thread-safe collector for one run. Requests are recorded into one of several shards,
/// chosen by virtual user, so users on different threads rarely wait for each other's
/// lock; readers (progress, abort checks, the final measurements) merge the shards.
pub struct Recorder {
    started: Instant,
    shards: Vec<Mutex<Inner>>,
    /// Completed seconds, compacted from the shards: memory stays flat however long the
    /// run (a soak of hours keeps a few dozen bytes a second).
    series: Mutex<Vec<SecondStats>>,
    /// Completion order, for stalls.
    pacing: Mutex<Pacing>,
    observer: Option<Arc<dyn RequestObserver>>,
}

/// Enough shards that the engine's worker threads (one per core) seldom meet on a lock.
const SHARDS: usize = 16;

/// A snapshot for live progress.
#[derive(Debug, Clone, Copy, Default)]
pub struct LiveSnapshot {
    /// Requests so far.
    pub requests: u64,
    /// Failed so far.
    pub errors: u64,
    /// p95 over everything so far, ms.
    pub p95_ms: Option<f64>,
    /// Virtual users that started a transaction in the last few seconds.
    pub active_users: u64,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

fn locked(m: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    match m.lock() {
        Ok(guard) => guard,
        // A panicking user task must not lose every other measurement.
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn lock_series(m: &Mutex<Vec<SecondStats>>) -> std::sync::MutexGuard<'_, Vec<SecondStats>> {
    match m.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn add_histogram(into: &mut Option<Histogram<u64>>, from: &Histogram<u64>) {
    let _ = into.get_or_insert_with(new_histogram).add(from);
}

impl Inner {
    /// Adds the latencies of every transaction to `into`. The overall histogram is not
    /// kept beside the transactions' (it is their sum): one record a request fewer.
    fn add_overall_to(&self, into: &mut Option<Histogram<u64>>) {
        for (_, _, h) in self.transactions.values() {
            if !h.is_empty() {
                add_histogram(into, h);
            }
        }
    }

    /// Every latency recorded, `None` when no request was sent.
    fn overall(&self) -> Option<Histogram<u64>> {
        let mut overall = None;
        self.add_overall_to(&mut overall);
        overall
    }

    /// Adds another shard's counts into this one.
    fn absorb(&mut self, other: &Inner) {
        self.requests += other.requests;
        self.errors += other.errors;
        for (kind, n) in &other.errors_by_kind {
            *self.errors_by_kind.entry(*kind).or_default() += n;
        }
        self.checks += other.checks;
        self.check_failures += other.check_failures;
        for (name, n) in &other.failed_checks {
            *self.failed_checks.entry(name.clone()).or_default() += n;
        }
        for (name, (requests, errors, h)) in &other.transactions {
            let tx = self
                .transactions
                .entry(name.clone())
                .or_insert_with(|| (0, 0, new_histogram()));
            tx.0 += requests;
            tx.1 += errors;
            let _ = tx.2.add(h);
        }
        if self.first_error.is_none() {
            self.first_error = other.first_error.clone();
        }
        if let Some(h) = &other.gaps {
            add_histogram(&mut self.gaps, h);
        }
    }
}

impl SecondSlot {
    fn stats(&self) -> SecondStats {
        SecondStats {
            requests: self.requests,
            errors: self.errors,
            checks: self.checks,
            check_failures: self.check_failures,
            latency_ms: self.latency.as_ref().map(percentiles),
        }
    }

    fn absorb(&mut self, other: &SecondSlot) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.checks += other.checks;
        self.check_failures += other.check_failures;
        if let Some(h) = &other.latency {
            let _ = self.latency.get_or_insert_with(new_second_histogram).add(h);
        }
    }
}

/// A second's histogram lives only until the second is compacted; 2 significant
/// figures (1% error) keep it at about 26 KB, so many shards cost little.
fn new_second_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 2)
        .unwrap_or_else(|_| unreachable!("static bounds are valid"))
}

impl Recorder {
    /// Starts the clock.
    pub fn new() -> Recorder {
        Recorder {
            started: Instant::now(),
            shards: (0..SHARDS).map(|_| Mutex::new(Inner::default())).collect(),
            series: Mutex::new(Vec::new()),
            pacing: Mutex::new(Pacing::default()),
            observer: None,
        }
    }

    /// A recorder that also shows every request to `observer`.
    pub fn with_observer(observer: Arc<dyn RequestObserver>) -> Recorder {
        Recorder {
            observer: Some(observer),
            ..Recorder::new()
        }
    }

    fn shard(&self, user: usize) -> std::sync::MutexGuard<'_, Inner> {
        locked(&self.shards[user % SHARDS])
    }

    fn merged(&self) -> Inner {
        let mut all = Inner::default();
        for shard in &self.shards {
            all.absorb(&locked(shard));
        }
        all
    }

    /// Records one request.
    pub fn record(&self, sample: RequestSample<'_>) {
        if let Some(observer) = &self.observer {
            observer.observe(&sample);
        }
        // A request stagegate refused to send counts as a failed request, but has no
        // latency and no place in the pacing: a 0 ms sample would flatter percentiles.
        let sent = sample.was_sent();
        let micros = (sample.latency.as_micros() as u64).clamp(1, 3_600_000_000);
        let elapsed = self.started.elapsed();
        let second = elapsed.as_secs();
        let end_us = elapsed.as_micros() as u64;
        let start_us = end_us.saturating_sub(micros);
        if sent {
            let mut pacing = match self.pacing.lock() {
                Ok(p) => p,
                Err(poisoned) => poisoned.into_inner(),
            };
            // Read the clock again under the lock: completions reach the pacing in the
            // order of their end times, so two requests that finish together on busy
            // threads are not mistaken for one that ended before the other started.
            let end_us = self.started.elapsed().as_micros() as u64;
            pacing.completed(end_us.saturating_sub(micros), end_us);
        }
        let mut inner = self.shard(sample.user);
        let times = inner.user(sample.user);
        times.seen = Some(start_us / 1_000_000);
        if sent {
            if let Some(previous) = times.last_start.replace(start_us) {
                let gap = start_us.saturating_sub(previous).clamp(1, 3_600_000_000);
                let _ = inner.gaps.get_or_insert_with(new_histogram).record(gap);
            }
        }
        inner.requests += 1;
        inner.checks += u64::from(sample.checks);
        let failed_checks = sample.failed_checks.len() as u64;
        inner.check_failures += failed_checks;
        for failed in sample.failed_checks {
            *inner.failed_checks.entry(failed).or_default() += 1;
        }
        if let Some(kind) = sample.error {
            inner.errors += 1;
            *inner.errors_by_kind.entry(kind).or_default() += 1;
            if inner.first_error.is_none() {
                inner.first_error = sample
                    .error_text
                    .or_else(|| Some(format!("{kind:?}").to_lowercase()));
            }
        }
        let failed = u64::from(sample.error.is_some());
        // Look up before inserting: the key is only allocated for a new transaction.
        let tx = match inner.transactions.get_mut(sample.transaction) {
            Some(tx) => tx,
            None => inner
                .transactions
                .entry(sample.transaction.to_string())
                .or_insert_with(|| (0, 0, new_histogram())),
        };
        tx.0 += 1;
        tx.1 += failed;
        if sent {
            let _ = tx.2.record(micros);
        }
        // A request that completes just as its second is compacted counts in the next.
        let second = second.max(inner.compacted_before);
        let slot = inner.seconds.entry(second).or_default();
        slot.requests += 1;
        slot.errors += failed;
        slot.checks += u64::from(sample.checks);
        slot.check_failures += failed_checks;
        if sent {
            let _ = slot
                .latency
                .get_or_insert_with(new_second_histogram)
                .record(micros);
        }
    }

    /// Counts so far, for progress lines.
    pub fn snapshot(&self) -> LiveSnapshot {
        let now = self.started.elapsed().as_secs();
        let mut snapshot = LiveSnapshot::default();
        let mut overall: Option<Histogram<u64>> = None;
        for shard in &self.shards {
            let inner = locked(shard);
            snapshot.requests += inner.requests;
            snapshot.errors += inner.errors;
            snapshot.active_users += inner
                .users
                .iter()
                .filter(|u| u.seen.is_some_and(|last| last + ACTIVE_USER_WINDOW_S > now))
                .count() as u64;
            inner.add_overall_to(&mut overall);
        }
        snapshot.p95_ms = overall.map(|h| h.value_at_quantile(0.95) as f64 / 1000.0);
        snapshot
    }

    /// The statistics of second `second` (0-based), once it has ended; `None` while it
    /// is still running.
    pub fn completed_second(&self, second: u64) -> Option<SecondStats> {
        self.compact(self.started.elapsed().as_secs());
        lock_series(&self.series).get(second as usize).copied()
    }

    /// Moves every second before `until` out of the shards into the series.
    fn compact(&self, until: u64) {
        let mut series = lock_series(&self.series);
        let from = series.len() as u64;
        if from >= until {
            return;
        }
        let mut slots: Vec<SecondSlot> = (from..until).map(|_| SecondSlot::default()).collect();
        let last = slots.len() - 1;
        for shard in &self.shards {
            let mut inner = locked(shard);
            inner.compacted_before = inner.compacted_before.max(until);
            let later = inner.seconds.split_off(&until);
            let done = std::mem::replace(&mut inner.seconds, later);
            for (second, slot) in done {
                let index = second.saturating_sub(from) as usize;
                slots[index.min(last)].absorb(&slot);
            }
        }
        series.extend(slots.iter().map(SecondSlot::stats));
    }

    /// Seconds since the recorder started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Adds everything recorded into `measurements`, with the load's wall time.
    pub fn finish_into(&self, measurements: &mut Measurements, load_time: Duration) {
        let inner = self.merged();
        measurements.requests += inner.requests;
        measurements.errors += inner.errors;
        for (kind, n) in &inner.errors_by_kind {
            *measurements.errors_by_kind.entry(*kind).or_default() += n;
        }
        measurements.checks += inner.checks;
        measurements.check_failures += inner.check_failures;
        for (name, n) in &inner.failed_checks {
            *measurements.failed_checks.entry(name.clone()).or_default() += n;
        }
        measurements.duration_s += load_time.as_secs_f64();
        if measurements.first_error.is_none() {
            measurements.first_error = inner.first_error.clone();
        }
        if let Some(h) = &inner.overall() {
            let raw = percentiles(h);
            let interval = omission::expected_interval(inner.gaps.as_ref());
            let judged = match interval {
                Some(i) => omission::corrected(h, i),
                None => h.clone(),
            };
            measurements.latency_ms = Some(percentiles(&judged));
            measurements.latency_distribution = LatencyDistribution::new(&judged, h.len());
            measurements.latency_ms_uncorrected = Some(raw);
            measurements.expected_interval_ms = interval.map(|i| i as f64 / 1000.0);
            let pacing = match self.pacing.lock() {
                Ok(p) => p.stalls(h.value_at_quantile(0.5)),
                Err(poisoned) => poisoned.into_inner().stalls(h.value_at_quantile(0.5)),
            };
            measurements.stalls.extend(pacing);
        }
        for (name, (requests, errors, h)) in &inner.transactions {
            measurements.transactions.push(TransactionMeasurements {
                name: name.clone(),
                requests: *requests,
                errors: *errors,
                latency_ms: (!h.is_empty()).then(|| percentiles(h)),
            });
        }
        let last = self
            .shards
            .iter()
            .filter_map(|shard| locked(shard).seconds.keys().next_back().copied())
            .max();
        self.compact(
            last.map_or(0, |l| l + 1)
                .max(self.started.elapsed().as_secs()),
        );
        measurements.series = lock_series(&self.series)
            .iter()
            .enumerate()
            .map(|(second, stats)| SecondSample {
                second: second as u64,
                requests: stats.requests,
                errors: stats.errors,
                p95_ms: stats.latency_ms.map(|p| p.p95),
            })
            .collect();
    }
}

#[cfg(test)]
#[path = "recorder_tests.rs"]
mod tests;
