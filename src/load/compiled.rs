//! A load suite made ready for the hot path: templates parsed, names and variable keys
//! built, what each step needs from a response worked out, and the target's headers
//! resolved — all once, at start-up. `run_transaction` is what every goose user calls;
//! per request it allocates only what the request itself needs.

use super::connections::{self, SharedPool, UserCookies};
use super::method_fence::MethodFence;
use super::pacer::Pacer;
use super::Breach;
use crate::config::matcher::{Matcher, ObservedResponse};
use crate::config::suite::{FeederMode, LoadSuite, StepSpec};
use crate::http_model::{self, failure, origin, HttpMethod, RequestBody};
use crate::measure::recorder::{ErrorKind, Recorder, RequestSample};
use crate::vocabulary::Target;
use goose::prelude::*;
use reqwest::header::{HeaderName, HeaderValue};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How long a user that may no longer send waits before its transaction ends: goose
/// stops users between transactions, within a second of the load's end; a short pause
/// lets it, at no cost to a user that is about to stop anyway.
const STOPPED_USER_PAUSE: Duration = Duration::from_millis(200);

/// A feeder shared by every virtual user.
struct SharedFeeder {
    mode: FeederMode,
    /// `feeder.column` for each column, built once.
    keys: Vec<String>,
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

/// What a step's checks and extractions read from a response.
#[derive(Debug, Clone, Copy, Default)]
struct Needs {
    headers: bool,
    body: bool,
}

impl Needs {
    fn of_matcher(m: &Matcher) -> Needs {
        match m {
            Matcher::Status { .. } => Needs::default(),
            Matcher::Header { .. } => Needs {
                headers: true,
                body: false,
            },
            Matcher::BodyContains { .. }
            | Matcher::JsonPointer { .. }
            | Matcher::JsonPath { .. }
            | Matcher::Regex { .. } => Needs {
                headers: false,
                body: true,
            },
            Matcher::Not { matcher } => Needs::of_matcher(matcher),
            Matcher::All { matchers } | Matcher::Any { matchers } => {
                matchers.iter().fold(Needs::default(), |acc, m| {
                    let n = Needs::of_matcher(m);
                    Needs {
                        headers: acc.headers || n.headers,
                        body: acc.body || n.body,
                    }
                })
            }
        }
    }

    fn of_step(step: &StepSpec) -> Needs {
        let mut needs = Needs::default();
        let mut add = |n: Needs| {
            needs.headers |= n.headers;
            needs.body |= n.body;
        };
        step.checks.iter().for_each(|c| add(Needs::of_matcher(c)));
        for e in &step.extract {
            add(Needs {
                headers: !e.reads_body(),
                body: e.reads_body(),
            });
        }
        needs
    }
}

struct CompiledStep {
    spec: StepSpec,
    /// goose's request name and the prefix of failed-check names: `suite/tx/step`.
    name: String,
    needs: Needs,
    has_status_check: bool,
    /// The URL and headers, when they are the same on every iteration.
    fixed: Option<FixedRequest>,
}

/// A step's URL and headers made once, for a step whose path and headers hold no
/// template variable (most load steps): parsing the URL, checking its origin and
/// parsing the header names on every request cost the engine throughput for nothing.
struct FixedRequest {
    url: url::Url,
    /// The target's credentials for that URL, then the step's own headers, in the
    /// order they are sent.
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl FixedRequest {
    /// `None` when anything varies per iteration, or when the literal path or a header
    /// would be refused: such a step takes the per-request path, which reports it.
    fn of(step: &StepSpec, target: &Target) -> Option<FixedRequest> {
        let request = &step.request;
        let url = target.resolve_url(request.path.as_literal()?).ok()?;
        let literal_headers = request
            .headers
            .iter()
            .map(|(name, value)| Some((name.as_str(), value.as_literal()?)));
        let headers = target
            .credentials_for(&url)
            .iter()
            .map(|(name, value)| Some((name.as_str(), value.as_str())))
            .chain(literal_headers)
            .map(|pair| {
                let (name, value) = pair?;
                Some((
                    HeaderName::from_bytes(name.as_bytes()).ok()?,
                    HeaderValue::from_str(value).ok()?,
                ))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(FixedRequest { url, headers })
    }
}

pub(super) struct CompiledTransaction {
    pub(super) label: String,
    steps: Vec<CompiledStep>,
}

pub(super) struct CompiledSuite {
    pub(super) transactions: Vec<CompiledTransaction>,
    pacer: Option<Pacer>,
    feeders: Vec<SharedFeeder>,
    target: Target,
    /// The fenced client every user sends through, and its bound (see [`connections`]).
    pool: SharedPool,
    /// The most body bytes kept for checks and extraction; the rest is read and dropped.
    body_limit: usize,
    /// The names of the certificate a TLS failure met, read once (by the first user to
    /// fail) for every failure: each one is named with them, the first recorded too.
    certificate_names: tokio::sync::OnceCell<Option<Vec<String>>>,
    /// The methods this suite may not send here (production, no declared write).
    method_fence: Option<MethodFence>,
    /// The first request the method fence refused, with when: it stops the load.
    refused: OnceLock<(String, Duration)>,
    started: Instant,
    recorder: Arc<Recorder>,
}

/// One iteration's variables: feeder values borrowed from the shared rows, extracted
/// values owned.
type Vars<'a> = HashMap<&'a str, Cow<'a, str>>;

impl CompiledSuite {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        suite_name: &str,
        suite: &LoadSuite,
        target: &Target,
        production_write: Option<&str>,
        recorder: Arc<Recorder>,
        pacer: Option<Pacer>,
        body_limit: usize,
        pool: SharedPool,
    ) -> CompiledSuite {
        CompiledSuite {
            method_fence: MethodFence::new(suite_name, target, production_write),
            refused: OnceLock::new(),
            started: Instant::now(),
            pacer,
            transactions: suite
                .transactions
                .iter()
                .map(|t| {
                    let label = format!("{suite_name}/{}", t.name);
                    let steps = t
                        .steps
                        .iter()
                        .map(|s| CompiledStep {
                            name: format!("{label}/{}", s.name),
                            needs: Needs::of_step(s),
                            has_status_check: s
                                .checks
                                .iter()
                                .any(|c| matches!(c, Matcher::Status { .. })),
                            fixed: FixedRequest::of(s, target),
                            spec: s.clone(),
                        })
                        .collect();
                    CompiledTransaction { label, steps }
                })
                .collect(),
            feeders: suite
                .feeders
                .iter()
                .map(|f| SharedFeeder {
                    mode: f.mode,
                    keys: f
                        .columns
                        .iter()
                        .map(|c| format!("{}.{c}", f.name))
                        .collect(),
                    rows: f.rows.clone(),
                    next: AtomicUsize::new(0),
                })
                .collect(),
            target: target.clone(),
            pool,
            body_limit,
            certificate_names: tokio::sync::OnceCell::new(),
            recorder,
        }
    }

    /// When the method fence refused a request: why, as a breach that stops the load
    /// (a production run that tried to write undeclared is not evidence of anything).
    pub(super) fn fence_breach(&self) -> Option<Breach> {
        self.refused.get().map(|(why, at)| Breach {
            criterion: "production fence".into(),
            value: why.clone(),
            at_second: at.as_secs(),
            seconds: 0,
        })
    }

    /// Stops sending: users queued for a connection give up their request at once, and
    /// none is sent after this; requests already sent are answered and measured. Called
    /// when the load ends (its planned end, a breach, the stop guard).
    pub(super) fn stop_sending(&self) {
        self.pool.bound.close();
    }

    /// Gives a virtual user the shared fenced client (redirects followed only within the
    /// origin, a bounded number of times: see [`origin::redirect_policy`]) and an empty
    /// cookie jar of its own.
    pub(super) fn equip(&self, user: &mut GooseUser) -> TransactionResult {
        user.client = self.pool.client.clone();
        user.set_session_data(UserCookies::default());
        Ok(())
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
        let mut vars: Vars<'_> = HashMap::new();
        for feeder in &self.feeders {
            match feeder.take() {
                Some(row) => {
                    for (key, value) in feeder.keys.iter().zip(row) {
                        vars.insert(key.as_str(), Cow::Borrowed(value.as_str()));
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

    fn record_failure(
        &self,
        user: usize,
        label: &str,
        latency: Duration,
        kind: ErrorKind,
        text: String,
    ) {
        self.recorder.record(RequestSample {
            user,
            transaction: label,
            latency,
            error: Some(kind),
            checks: 0,
            failed_checks: Vec::new(),
            error_text: Some(text),
        });
    }

    /// Records a request stagegate refused to send (no latency); the transaction ends.
    fn not_sent(&self, user: usize, label: &str, why: String) -> bool {
        self.record_failure(user, label, Duration::ZERO, ErrorKind::NotSent, why);
        false
    }

    /// Sends one step; returns whether the transaction may continue.
    async fn run_step<'s>(
        &'s self,
        label: &str,
        step: &'s CompiledStep,
        user: &mut GooseUser,
        vars: &mut Vars<'s>,
    ) -> bool {
        let spec = &step.spec;
        let request = &spec.request;
        let user_index = user.weighted_users_index;
        // The production method fence, before anything is rendered or sent.
        if let Some(why) = self
            .method_fence
            .as_ref()
            .and_then(|f| f.refusal(request.method))
        {
            let _ = self.refused.set((why.clone(), self.started.elapsed()));
            return self.not_sent(user_index, label, why);
        }
        let lookup = |name: &str| vars.get(name).map(|v| v.as_ref());
        let path: Cow<'_, str> = match request.path.as_literal() {
            Some(literal) => Cow::Borrowed(literal),
            None => Cow::Owned(request.path.render(lookup)),
        };
        let (mut builder, url) = match &step.fixed {
            Some(fixed) => {
                let mut builder = user
                    .client
                    .request(reqwest_method(request.method), fixed.url.clone());
                for (name, value) in &fixed.headers {
                    builder = builder.header(name, value);
                }
                (builder, Cow::Borrowed(&fixed.url))
            }
            None => {
                // The origin fence: a rendered path that would leave the environment's
                // origin (`//host`, a full URL elsewhere) is never sent, so its
                // credentials stay home.
                let url = match self.target.resolve_url(&path) {
                    Ok(url) => url,
                    Err(e) => return self.not_sent(user_index, label, format!("not sent: {e}")),
                };
                let mut builder = user
                    .client
                    .request(reqwest_method(request.method), url.clone());
                for (name, value) in self.target.credentials_for(&url) {
                    builder = builder.header(name, value);
                }
                for (name, template) in &request.headers {
                    builder = builder.header(name, template.render(lookup));
                }
                (builder, Cow::Owned(url))
            }
        };
        builder = match &request.body {
            RequestBody::None => builder,
            RequestBody::Json(json) => builder.json(&json.render(&lookup)),
            RequestBody::Text(text) => builder.body(text.render(lookup)),
            RequestBody::Form(fields) => {
                let pairs: Vec<(&str, String)> = fields
                    .iter()
                    .map(|(k, t)| (k.as_str(), t.render(lookup)))
                    .collect();
                builder.form(&pairs)
            }
        };
        // Sent on the shared client itself, not through goose's `GooseUser::request`:
        // goose schedules the users, their transactions and the load's shape, while
        // stagegate measures every request itself, so goose's record of a request (its
        // copies of the URL, the name and the configuration, made even with its metrics
        // off) would be work for nothing on every request.
        let request = match builder.build() {
            Ok(request) => request,
            Err(e) => {
                let why = format!("not sent: {}", failure::describe(&e));
                return self.not_sent(user_index, label, why);
            }
        };
        if let Some(pacer) = &self.pacer {
            if !pacer.acquire().await {
                // The load's time is up: as for a closed bound below.
                tokio::time::sleep(STOPPED_USER_PAUSE).await;
                return false;
            }
        }
        // Waiting for a free connection counts in the latency: a user of the system
        // would wait too, and a bound that is too small must show, never flatter. The
        // pacer's wait does not: it is the load's schedule, not the system's answer.
        let queued_at = Instant::now();
        let Some(permit) = self.pool.bound.acquire().await else {
            // The load is over (see `stop_sending`): the request never went out, so it is
            // neither sent nor measured. The user then waits for goose's stop, which it
            // reads between transactions: returning at once would loop without ever
            // yielding its thread, and goose's stop (and every timer) would never run.
            tokio::time::sleep(STOPPED_USER_PAUSE).await;
            return false;
        };
        let cookies = user.get_session_data::<UserCookies>().cloned();
        // `execute` consults the cookie store as it is called, not when polled: it must
        // be called inside the user's cookie scope, hence the async block.
        let client = &user.client;
        let sent = connections::send_as(cookies, async { client.execute(request).await }).await;
        let mut unfollowed = None;
        let observed = match sent {
            Ok(response) => {
                // The fenced client does not follow a redirect to another origin; say so.
                unfollowed = origin::unfollowed_redirect(
                    response.status().as_u16(),
                    response.url(),
                    response
                        .headers()
                        .get(reqwest::header::LOCATION)
                        .and_then(|v| v.to_str().ok()),
                );
                read_response(response, step.needs, self.body_limit).await
            }
            Err(e) => Err(e),
        };
        // Time to the last byte of the body, from the moment a connection was free.
        let latency = queued_at.elapsed();
        drop(permit);
        let observed = match observed {
            Ok(o) => o,
            Err(e) => {
                let kind = if failure::kind(&e) == failure::FailureKind::Timeout {
                    ErrorKind::Timeout
                } else {
                    ErrorKind::Connection
                };
                // A TLS failure is worth a look at the certificate (its names): the
                // first user to meet one reads them, the others wait for that answer
                // (at most the read's timeout), so every failure, whichever is recorded
                // first, is named the same way and costs one extra connection in all.
                let text = if failure::kind(&e) == failure::FailureKind::Tls {
                    let names = self
                        .certificate_names
                        .get_or_init(|| http_model::certificate::names(&url))
                        .await;
                    http_model::certificate::describe_named(&e, names.as_deref())
                } else {
                    failure::describe(&e)
                };
                self.record_failure(user_index, label, latency, kind, text);
                return false;
            }
        };
        if let Some(text) = unfollowed {
            self.record_failure(user_index, label, latency, ErrorKind::Status, text);
            return false;
        }
        let mut json = None;
        let mut failed_checks: Vec<String> = spec
            .checks
            .iter()
            .filter(|c| !c.matches_with(&observed, &mut json))
            .map(|c| {
                if observed.truncated {
                    format!("{}: {c} (body cut at {} bytes)", step.name, self.body_limit)
                } else {
                    format!("{}: {c}", step.name)
                }
            })
            .collect();
        if let Some(budget) = spec.latency_budget.filter(|b| latency > *b) {
            failed_checks.push(format!(
                "{}: latency {:.1}ms over budget {}ms",
                step.name,
                latency.as_secs_f64() * 1000.0,
                budget.as_millis()
            ));
        }
        let checks = spec.checks.len() as u32 + u32::from(spec.latency_budget.is_some());
        let error = if !step.has_status_check && observed.status >= 400 {
            Some(ErrorKind::Status)
        } else if !failed_checks.is_empty() {
            Some(ErrorKind::Check)
        } else {
            None
        };
        let ok = error.is_none();
        if ok {
            for extraction in &spec.extract {
                if let Some(value) = http_model::extract(extraction, &observed, &mut json) {
                    vars.insert(extraction.variable(), Cow::Owned(value));
                }
            }
        }
        self.recorder.record(RequestSample {
            user: user_index,
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

/// Reads a response as far as the step needs it, in chunks. The body is always read to
/// its end (the connection is reused and the latency is time to the last byte), but
/// only its first `limit` bytes are kept, and only when a check or an extraction looks
/// at it: memory stays flat however large the answer. Headers are copied only when
/// needed.
async fn read_response(
    mut response: reqwest::Response,
    needs: Needs,
    limit: usize,
) -> Result<ObservedResponse, reqwest::Error> {
    let status = response.status().as_u16();
    let headers = if needs.headers {
        response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut kept: Vec<u8> = Vec::new();
    let mut truncated = false;
    while let Some(chunk) = response.chunk().await? {
        if !needs.body {
            continue;
        }
        let room = limit.saturating_sub(kept.len());
        if chunk.len() > room {
            truncated = true;
        }
        kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    Ok(ObservedResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&kept).into_owned(),
        truncated,
    })
}

fn reqwest_method(method: HttpMethod) -> reqwest::Method {
    match method {
        HttpMethod::Get => reqwest::Method::GET,
        HttpMethod::Head => reqwest::Method::HEAD,
        HttpMethod::Options => reqwest::Method::OPTIONS,
        HttpMethod::Post => reqwest::Method::POST,
        HttpMethod::Put => reqwest::Method::PUT,
        HttpMethod::Patch => reqwest::Method::PATCH,
        HttpMethod::Delete => reqwest::Method::DELETE,
    }
}
