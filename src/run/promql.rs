//! Takes a plan's PromQL gate criteria and the run's time window, gives their
//! [`PromqlObservation`]s by asking the environment's Prometheus (`query_range` over
//! the window). Fails closed: an unreachable Prometheus, an error answer, an empty
//! result, several series, NaN or infinity each become "no data" with its own reason;
//! the gate turns a missing value into a failed criterion.

use crate::config::promql::{PromqlQuery, QueryVariables};
use crate::measure::{NoData, Observed, PromqlObservation};
use crate::plan::Plan;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;
use url::Url;

/// How long one query may take: a Prometheus that cannot answer a gate query in this
/// time is not one a gate should rest on; the criterion fails as unreachable.
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Wait after the load before querying, so the run's last second has been scraped and
/// ingested: two scrape intervals of the 1 s interval the sample setup uses. A slower
/// scrape interval only loses the tail of the window, never makes a pass out of nothing.
const SETTLE: Duration = Duration::from_secs(2);
/// Prometheus refuses more than 11,000 points per series; the step grows beyond this.
const MAX_POINTS: u64 = 10_000;

/// The run's own time window.
#[derive(Debug, Clone, Copy)]
pub struct RunWindow {
    /// When the suites started.
    pub start: DateTime<Utc>,
    /// When they ended.
    pub end: DateTime<Utc>,
}

impl RunWindow {
    /// Whole seconds, at least 1 (a PromQL range cannot be empty).
    pub fn range_s(&self) -> u64 {
        let ms = (self.end - self.start).num_milliseconds().max(0) as u64;
        ms.div_ceil(1000).max(1)
    }
}

/// Runs every PromQL criterion of the plan's gate over `window`; keys are the queries
/// as written.
pub async fn observe_gate(plan: &Plan, window: &RunWindow) -> BTreeMap<String, PromqlObservation> {
    let vars = QueryVariables {
        range_s: window.range_s(),
        system: plan.system.clone(),
        release: plan.release.clone(),
        stage: plan.stage.as_str().to_string(),
        environment: plan.environment.name.clone(),
    };
    let queries: Vec<&PromqlQuery> = plan
        .gate
        .criteria
        .iter()
        .filter_map(|c| c.query.as_ref())
        .collect();
    let mut out = BTreeMap::new();
    let Some(base) = &plan.environment.prometheus_url else {
        for q in queries {
            let observed = Observed::no_data(NoData::NoPrometheusUrl {
                environment: plan.environment.name.clone(),
            });
            out.insert(
                q.text.clone(),
                PromqlObservation {
                    query: q.render(&vars),
                    observed,
                },
            );
        }
        return out;
    };
    tokio::time::sleep(SETTLE).await;
    let client = match reqwest::Client::builder().timeout(QUERY_TIMEOUT).build() {
        Ok(c) => c,
        Err(e) => {
            for q in queries {
                let observed = Observed::no_data(NoData::Promql {
                    detail: format!("cannot build an HTTP client ({e})"),
                });
                out.insert(
                    q.text.clone(),
                    PromqlObservation {
                        query: q.render(&vars),
                        observed,
                    },
                );
            }
            return out;
        }
    };
    for q in queries {
        if out.contains_key(&q.text) {
            continue;
        }
        let rendered = q.render(&vars);
        let observed = query_range(&client, base, &rendered, window).await;
        out.insert(
            q.text.clone(),
            PromqlObservation {
                query: rendered,
                observed,
            },
        );
    }
    out
}

#[derive(Deserialize)]
struct ApiResponse {
    status: String,
    #[serde(default)]
    data: Option<ApiData>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct ApiData {
    #[serde(default)]
    result: Vec<ApiSeries>,
}

#[derive(Deserialize)]
struct ApiSeries {
    #[serde(default)]
    values: Vec<(f64, String)>,
}

/// One `query_range` over the window; the value is the last point (the query evaluated
/// at the window's end), the samples are the points that had a finite value.
pub async fn query_range(
    client: &reqwest::Client,
    base: &Url,
    query: &str,
    window: &RunWindow,
) -> Observed {
    let no_data = |detail: String| Observed::no_data(NoData::Promql { detail });
    let url = format!("{}/api/v1/query_range", base.as_str().trim_end_matches('/'));
    let step = window.range_s().div_ceil(MAX_POINTS).max(1);
    let seconds = |t: DateTime<Utc>| format!("{:.3}", t.timestamp_millis() as f64 / 1000.0);
    let params = [
        ("query", query.to_string()),
        ("start", seconds(window.start)),
        ("end", seconds(window.end)),
        ("step", step.to_string()),
    ];
    let response = match client.get(&url).query(&params).send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            return no_data(format!(
                "prometheus unreachable: no answer from {base} within {QUERY_TIMEOUT:?}"
            ))
        }
        Err(e) if e.is_connect() => {
            return no_data(format!(
                "prometheus unreachable at {base} (connection refused)"
            ))
        }
        Err(e) => return no_data(format!("prometheus unreachable at {base} ({e})")),
    };
    let status = response.status();
    let body: ApiResponse = match response.json().await {
        Ok(b) => b,
        Err(_) => {
            return no_data(format!(
                "prometheus error: {base} answered HTTP {} without a Prometheus API response",
                status.as_u16()
            ))
        }
    };
    if body.status != "success" || !status.is_success() {
        return no_data(format!(
            "prometheus error: HTTP {} {}: {}",
            status.as_u16(),
            body.error_type.as_deref().unwrap_or("error"),
            body.error.as_deref().unwrap_or("no message")
        ));
    }
    let series = body.data.map(|d| d.result).unwrap_or_default();
    let values = match series.as_slice() {
        [] => return no_data("empty result: the query matched no series over the run's window".into()),
        [one] => &one.values,
        many => {
            return no_data(format!(
                "the query returned {} series, a gate needs exactly one (hint: aggregate with `sum`, `max` or `histogram_quantile`)",
                many.len()
            ))
        }
    };
    let points: Vec<f64> = values
        .iter()
        .map(|(_, v)| v.parse::<f64>().unwrap_or(f64::NAN))
        .collect();
    let Some(&last) = points.last() else {
        return no_data("empty result: the series has no point in the run's window".into());
    };
    if last.is_nan() {
        return no_data(
            "the query's value is NaN (e.g. a ratio of zero to zero: nothing was measured)".into(),
        );
    }
    if last.is_infinite() {
        return no_data("the query's value is infinite".into());
    }
    Observed::Value {
        value: last,
        samples: points.iter().filter(|v| v.is_finite()).count() as u64,
    }
}
