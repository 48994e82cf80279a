//! A load suite made ready for the hot path: templates parsed, feeders shared, the
//! target's headers resolved once. `run_transaction` is what every goose user calls.

use super::pacer::Pacer;
use crate::config::matcher::{Matcher, ObservedResponse};
use crate::config::suite::{Extraction, FeederMode, HttpMethod, LoadSuite, StepBody, StepSpec};
use crate::measure::recorder::{ErrorKind, Recorder, RequestSample};
use crate::plan::Target;
use goose::prelude::*;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A feeder shared by every virtual user.
struct SharedFeeder {
    name: String,
    mode: FeederMode,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
    next: AtomicUsize,
}

impl SharedFeeder {
    fn take(&self) -> Option<&[String]> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        match self.mode {
            FeederMode::RoundRobin => self.rows.get(i % self.rows.len()).map(Vec::as_slice),
            FeederMode::Unique => self.rows.get(i).map(Vec::as_slice),
        }
    }
}

pub(super) struct CompiledTransaction {
    pub(super) label: String,
    steps: Vec<StepSpec>,
}

pub(super) struct CompiledSuite {
    pub(super) transactions: Vec<CompiledTransaction>,
    pacer: Option<Pacer>,
    feeders: Vec<SharedFeeder>,
    headers: Vec<(String, String)>,
    recorder: Arc<Recorder>,
}

impl CompiledSuite {
    pub(super) fn new(
        suite_name: &str,
        suite: &LoadSuite,
        target: &Target,
        recorder: Arc<Recorder>,
        rate: Option<f64>,
    ) -> CompiledSuite {
        CompiledSuite {
            pacer: rate.map(Pacer::new),
            transactions: suite
                .transactions
                .iter()
                .map(|t| CompiledTransaction {
                    label: format!("{suite_name}/{}", t.name),
                    steps: t.steps.clone(),
                })
                .collect(),
            feeders: suite
                .feeders
                .iter()
                .map(|f| SharedFeeder {
                    name: f.name.clone(),
                    mode: f.mode,
                    columns: f.columns.clone(),
                    rows: f.rows.clone(),
                    next: AtomicUsize::new(0),
                })
                .collect(),
            headers: target.headers.clone(),
            recorder,
        }
    }

    /// One iteration of one transaction by one virtual user.
    pub(super) async fn run_transaction(
        &self,
        index: usize,
        user: &mut GooseUser,
    ) -> TransactionResult {
        let Some(tx) = self.transactions.get(index) else {
            return Ok(());
        };
        self.recorder.note_user(user.weighted_users_index);
        let mut vars: HashMap<String, String> = HashMap::new();
        for feeder in &self.feeders {
            match feeder.take() {
                Some(row) => {
                    for (column, value) in feeder.columns.iter().zip(row) {
                        vars.insert(format!("{}.{}", feeder.name, column), value.clone());
                    }
                }
                None => {
                    // A unique feeder is used up: this user has no data left to send.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    return Ok(());
                }
            }
        }
        for step in &tx.steps {
            if !self.run_step(&tx.label, step, user, &mut vars).await {
                // Later steps depend on this one (extracted values); stop the iteration.
                break;
            }
        }
        Ok(())
    }

    /// Sends one step; returns whether the transaction may continue.
    async fn run_step(
        &self,
        label: &str,
        step: &StepSpec,
        user: &mut GooseUser,
        vars: &mut HashMap<String, String>,
    ) -> bool {
        let lookup = |name: &str| vars.get(name).map(String::as_str);
        let path = step.path.render(lookup);
        let method = goose_method(step.method);
        let mut builder = match user.get_request_builder(&method, &path) {
            Ok(b) => b,
            Err(e) => {
                self.recorder.record(RequestSample {
                    transaction: label,
                    latency: Duration::ZERO,
                    error: Some(ErrorKind::Connection),
                    checks: 0,
                    failed_checks: Vec::new(),
                    error_text: Some(format!("cannot build request for `{path}`: {e}")),
                });
                return false;
            }
        };
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        for (name, template) in &step.headers {
            builder = builder.header(name, template.render(lookup));
        }
        builder = match &step.body {
            StepBody::None => builder,
            StepBody::Json(json) => builder.json(&json.render(&lookup)),
            StepBody::Text(text) => builder.body(text.render(lookup)),
            StepBody::Form(fields) => {
                let pairs: Vec<(&str, String)> = fields
                    .iter()
                    .map(|(k, t)| (k.as_str(), t.render(lookup)))
                    .collect();
                builder.form(&pairs)
            }
        };
        let name = format!("{label}/{}", step.name);
        let request = GooseRequest::builder()
            .method(method)
            .path(path.as_str())
            .name(name.as_str())
            .set_request_builder(builder)
            .build();
        if let Some(pacer) = &self.pacer {
            pacer.acquire().await;
        }
        let mut goose_response = match user.request(request).await {
            Ok(r) => r,
            // goose cancels throttled requests when the attack ends: not a measurement.
            Err(_) => return false,
        };
        // goose times the request from after its throttle to the response headers; the
        // body is read here and its time added, so latency is time to the last byte and
        // never includes waiting for the rate cap.
        let to_headers = Duration::from_micros(goose_response.request.response_time_micros());
        let body_started = Instant::now();
        let observed = match goose_response.response {
            Ok(response) => {
                let status = response.status().as_u16();
                let headers: Vec<(String, String)> = response
                    .headers()
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().to_string(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        )
                    })
                    .collect();
                match response.text().await {
                    Ok(body) => Ok(ObservedResponse {
                        status,
                        headers,
                        body,
                    }),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        let latency = to_headers + body_started.elapsed();
        let observed = match observed {
            Ok(o) => o,
            Err(e) => {
                let kind = if e.is_timeout() {
                    ErrorKind::Timeout
                } else {
                    ErrorKind::Connection
                };
                self.recorder.record(RequestSample {
                    transaction: label,
                    latency,
                    error: Some(kind),
                    checks: 0,
                    failed_checks: Vec::new(),
                    error_text: Some(error_chain(&e)),
                });
                return false;
            }
        };
        let mut json = None;
        let failed_checks: Vec<String> = step
            .checks
            .iter()
            .filter(|c| !c.matches_with(&observed, &mut json))
            .map(|c| format!("{}/{}: {c}", label, step.name))
            .collect();
        let mut failed_checks = failed_checks;
        if let Some(budget) = step.latency_budget.filter(|b| latency > *b) {
            failed_checks.push(format!(
                "{}/{}: latency {:.1}ms over budget {}ms",
                label,
                step.name,
                latency.as_secs_f64() * 1000.0,
                budget.as_millis()
            ));
        }
        let checks = step.checks.len() as u32 + u32::from(step.latency_budget.is_some());
        let has_status_check = step
            .checks
            .iter()
            .any(|c| matches!(c, Matcher::Status { .. }));
        let error = if !has_status_check && observed.status >= 400 {
            Some(ErrorKind::Status)
        } else if !failed_checks.is_empty() {
            Some(ErrorKind::Check)
        } else {
            None
        };
        if error.is_some() {
            let _ = user.set_failure(&name, &mut goose_response.request, None, None);
        }
        let ok = error.is_none();
        if ok {
            for extraction in &step.extract {
                if let Some(value) = extract(extraction, &observed, &mut json) {
                    vars.insert(extraction.variable().to_string(), value);
                }
            }
        }
        self.recorder.record(RequestSample {
            transaction: label,
            latency,
            error,
            checks,
            failed_checks,
            error_text: (!ok).then(|| format!("HTTP {} from {path}", observed.status)),
        });
        ok
    }
}

fn extract(
    extraction: &Extraction,
    response: &ObservedResponse,
    json: &mut Option<Option<serde_json::Value>>,
) -> Option<String> {
    match extraction {
        Extraction::JsonPath { path, .. } => {
            let parsed = json.get_or_insert_with(|| response.json());
            parsed.as_ref()?.pointer(path).map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        }
        Extraction::Header { name, .. } => response.header(name).map(str::to_string),
        Extraction::Regex { pattern, .. } => pattern
            .0
            .captures(&response.body)
            .and_then(|c| c.get(1).or_else(|| c.get(0)))
            .map(|m| m.as_str().to_string()),
    }
}

fn goose_method(method: HttpMethod) -> GooseMethod {
    match method {
        HttpMethod::Get | HttpMethod::Options => GooseMethod::Get, // OPTIONS is refused by validation
        HttpMethod::Head => GooseMethod::Head,
        HttpMethod::Post => GooseMethod::Post,
        HttpMethod::Put => GooseMethod::Put,
        HttpMethod::Patch => GooseMethod::Patch,
        HttpMethod::Delete => GooseMethod::Delete,
    }
}

fn error_chain(e: &reqwest::Error) -> String {
    let mut text = if e.is_connect() {
        "connection failed".to_string()
    } else if e.is_timeout() {
        "timed out".to_string()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}
