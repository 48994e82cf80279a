//! Takes a run's latency histogram, gives the form a run keeps it in
//! ([`LatencyDistribution`]: HdrHistogram's serialised V2 form, base64, with the number
//! of requests behind it) and reads it back as an empirical distribution
//! ([`Quantiles`]) that the regression judge resamples.

use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2Serializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// A histogram that cannot be encoded or decoded.
#[derive(Debug, thiserror::Error)]
#[error("latency histogram: {0}")]
pub struct HistogramError(pub String);

/// HdrHistogram V2, base64.
pub fn encode(h: &Histogram<u64>) -> Result<String, HistogramError> {
    let mut bytes = Vec::new();
    V2Serializer::new()
        .serialize(h, &mut bytes)
        .map_err(|e| HistogramError(format!("{e:?}")))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// The inverse of [`encode`].
pub fn decode(text: &str) -> Result<Histogram<u64>, HistogramError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| HistogramError(e.to_string()))?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| HistogramError(format!("{e:?}")))
}

/// A run's latencies as kept with its measurements: what the gate judged (the
/// histogram corrected for coordinated omission, in µs) and how many requests were
/// really measured. The correction adds samples that were never observations, so a
/// statistical test counts `samples`, not the histogram's length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyDistribution {
    /// HdrHistogram V2, base64; values in µs.
    pub histogram: String,
    /// Requests measured.
    pub samples: u64,
}

impl LatencyDistribution {
    /// The stored form of `histogram` (µs) resting on `samples` measured requests;
    /// `None` for an empty histogram.
    pub fn new(histogram: &Histogram<u64>, samples: u64) -> Option<LatencyDistribution> {
        if histogram.is_empty() || samples == 0 {
            return None;
        }
        encode(histogram)
            .ok()
            .map(|histogram| LatencyDistribution { histogram, samples })
    }

    /// The empirical distribution, for resampling.
    pub fn quantiles(&self) -> Result<Quantiles, HistogramError> {
        let h = decode(&self.histogram)?;
        let mut values = Vec::new();
        let mut cumulative = Vec::new();
        let mut total = 0u64;
        for v in h.iter_recorded() {
            total += v.count_at_value();
            // The bucket's highest equivalent value, as `value_at_quantile` gives it, so
            // a resampled percentile reads like the gate's own.
            values.push(h.highest_equivalent(v.value_iterated_to()));
            cumulative.push(total);
        }
        if total == 0 {
            return Err(HistogramError("empty histogram".into()));
        }
        Ok(Quantiles {
            values,
            cumulative,
            total,
        })
    }
}

/// An empirical distribution's inverse: the value at any quantile, in O(log buckets).
#[derive(Debug, Clone)]
pub struct Quantiles {
    values: Vec<u64>,
    cumulative: Vec<u64>,
    total: u64,
}

impl Quantiles {
    /// The value (ms) below or at which a fraction `q` (0..=1) of the samples lie.
    pub fn at(&self, q: f64) -> f64 {
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).clamp(1, self.total);
        let i = self.cumulative.partition_point(|&c| c < rank);
        self.values[i.min(self.values.len() - 1)] as f64 / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_distribution_reads_back_the_same_percentiles() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        for ms in 1..=1000u64 {
            h.record(ms * 1000).unwrap();
        }
        let stored = LatencyDistribution::new(&h, 1000).unwrap();
        let q = stored.quantiles().unwrap();
        for quantile in [0.5, 0.9, 0.95, 0.99, 1.0] {
            assert_eq!(
                q.at(quantile),
                h.value_at_quantile(quantile) as f64 / 1000.0,
                "{quantile}"
            );
        }
        assert!(LatencyDistribution::new(&Histogram::new(3).unwrap(), 0).is_none());
    }
}
