//! The sample portal's own Prometheus metrics: requests by route and status, by method,
//! by client address, and their durations.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
use std::collections::BTreeSet;
use std::sync::Mutex;

/// Distinct client addresses counted by name; later ones count as `other`, so a scan
/// from many addresses cannot grow the metrics without bound.
const MAX_CLIENTS_NAMED: usize = 256;

pub(super) struct Metrics {
    pub(super) registry: Registry,
    pub(super) requests: IntCounterVec,
    pub(super) by_method: IntCounterVec,
    by_client: IntCounterVec,
    clients: Mutex<BTreeSet<std::net::IpAddr>>,
    pub(super) duration: HistogramVec,
}

impl Metrics {
    /// Counts a request from `client` (the peer's IP address as the server saw it: a
    /// sharded load shows one per worker host).
    pub(super) fn count_client(&self, client: Option<std::net::IpAddr>) {
        let label = match client {
            Some(ip) => {
                let mut clients = match self.clients.lock() {
                    Ok(c) => c,
                    Err(poisoned) => poisoned.into_inner(),
                };
                if clients.contains(&ip) || clients.len() < MAX_CLIENTS_NAMED {
                    clients.insert(ip);
                    ip.to_string()
                } else {
                    "other".to_string()
                }
            }
            None => "unknown".to_string(),
        };
        self.by_client.with_label_values(&[label.as_str()]).inc();
    }
}

impl Metrics {
    pub(super) fn new() -> Option<Metrics> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "sample_http_requests_total",
                "HTTP requests served by the sample portal, by route and status code.",
            ),
            &["route", "status"],
        )
        .ok()?;
        let by_method = IntCounterVec::new(
            Opts::new(
                "sample_http_requests_by_method_total",
                "HTTP requests served by the sample portal, by method.",
            ),
            &["method"],
        )
        .ok()?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "sample_http_request_duration_seconds",
                "Time to answer a request, by route.",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["route"],
        )
        .ok()?;
        registry.register(Box::new(requests.clone())).ok()?;
        registry.register(Box::new(duration.clone())).ok()?;
        registry.register(Box::new(by_method.clone())).ok()?;
        let by_client = IntCounterVec::new(
            Opts::new(
                "sample_http_requests_by_client_total",
                "HTTP requests served by the sample portal, by client IP address.",
            ),
            &["client"],
        )
        .ok()?;
        registry.register(Box::new(by_client.clone())).ok()?;
        Some(Metrics {
            registry,
            requests,
            by_method,
            by_client,
            clients: Mutex::new(BTreeSet::new()),
            duration,
        })
    }
}
