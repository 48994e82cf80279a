//! `stagegate load URL`: ad-hoc load with no files, like oha or hey, on goose.

use super::progress::TerminalProgress;
use super::CliError;
use super::OutputFormat;
use crate::config::suite::{LoadSuite, StepSpec, TransactionSpec};
use crate::config::traffic::{Profile, Traffic};
use crate::exit_code;
use crate::http_model::{HttpMethod, RequestBody, RequestSpec};
use crate::load::{self, LoadOptions, LoadTick};
use crate::measure::{ArrivalRate, Measurements, Recorder};
use crate::run::{Cancel, RunConsumer, RunEvent, Signal};
use crate::template::Template;
use crate::vocabulary::Target;
use clap::Args;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The URL to load, e.g. http://127.0.0.1:8080/health.
    pub url: String,
    /// Concurrent virtual users.
    #[arg(long, short = 'u', default_value_t = 10)]
    pub users: u32,
    /// How long to hold full load (e.g. 10s, 1m).
    #[arg(long, short = 'd', default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Time to start all users.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub ramp_up: Duration,
    /// Target rate in requests per second (a cap goose holds when the users keep up;
    /// the shortfall is reported when they do not).
    #[arg(long, short = 'r')]
    pub rate: Option<f64>,
    /// A request header, `Name: value` (repeatable).
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,
    /// HTTP method.
    #[arg(long, short = 'm', default_value = "GET", value_parser = parse_method)]
    pub method: HttpMethod,
    /// Request body, sent as is.
    #[arg(long, short = 'b')]
    pub body: Option<String>,
    #[command(flatten)]
    pub out: super::output_args::OutputArgs,
    /// The URL is a production environment of the project in `--root`: load it anyway,
    /// within that environment's `max-users` and `max-rps`, safe methods only.
    #[arg(long)]
    pub production: bool,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::config::units::parse_duration(text)
}

fn parse_header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text.split_once(':').ok_or("expected `Name: value`")?;
    if name.trim().is_empty() {
        return Err("expected `Name: value`".into());
    }
    Ok((name.trim().to_string(), value.trim().to_string()))
}

fn parse_method(text: &str) -> Result<HttpMethod, String> {
    match text.to_ascii_uppercase().as_str() {
        "GET" => Ok(HttpMethod::Get),
        "HEAD" => Ok(HttpMethod::Head),
        "POST" => Ok(HttpMethod::Post),
        "PUT" => Ok(HttpMethod::Put),
        "PATCH" => Ok(HttpMethod::Patch),
        "DELETE" => Ok(HttpMethod::Delete),
        other => Err(format!(
            "unsupported method `{other}` (expected GET, HEAD, POST, PUT, PATCH or DELETE)"
        )),
    }
}

/// The shape identifier of `load --output json`.
pub const LOAD_SCHEMA: &str = "stagegate.load/v1";

/// The JSON summary of an ad-hoc run (documented in the README).
#[derive(Debug, Serialize)]
pub struct LoadSummary {
    /// Always [`LOAD_SCHEMA`].
    pub schema: &'static str,
    /// The URL loaded.
    pub url: String,
    /// Virtual users.
    pub users: u32,
    /// Wall time of the load, seconds.
    pub duration_s: f64,
    /// Requests completed.
    pub requests: u64,
    /// Failed requests (connection, timeout, HTTP 4xx/5xx).
    pub errors: u64,
    /// errors / requests.
    pub error_rate: f64,
    /// Requests per second.
    pub rps: f64,
    /// Latency percentiles in milliseconds, corrected for coordinated omission.
    pub latency_ms: Option<crate::measure::Percentiles>,
    /// The same, as measured before the correction.
    pub latency_ms_uncorrected: Option<crate::measure::Percentiles>,
    /// The expected interval the correction used, ms.
    pub expected_interval_ms: Option<f64>,
    /// Periods in which requests were outstanding and nothing completed.
    pub stalls: Vec<crate::measure::Stall>,
    /// Failed requests by kind.
    pub errors_by_kind: std::collections::BTreeMap<crate::measure::ErrorKind, u64>,
    /// Target rate, achieved rate and shortfall, when `--rate` was given.
    pub rate: Option<ArrivalRate>,
    /// The first transport error, when there was one.
    pub first_error: Option<String>,
    /// The signal that stopped the load before its end (`"SIGINT"` or `"SIGTERM"`):
    /// the figures cover the load until then, and the exit code is 4.
    pub interrupted: Option<Signal>,
}

struct Progress(TerminalProgress);

impl Progress {
    fn tick(&self, tick: LoadTick) {
        let _ = self.0.event(RunEvent::SuiteProgress {
            suite: "load",
            tick: &tick,
        });
    }
}

/// How long a signalled load may take to stop before its summary is printed from what
/// the recorder holds: goose stops its users within a second; the rest is room for
/// requests in flight to time out, as the stage runner allows.
const STOP_GRACE: Duration = Duration::from_secs(10);

pub(super) async fn run(root: &std::path::Path, args: LoadArgs) -> Result<u8, CliError> {
    // Caught before goose starts, so that goose's own Ctrl-C handler is refused and
    // SIGTERM (a CI timeout, `docker stop`) does not kill the process without a summary.
    let cancel = Cancel::new();
    crate::run::signals::install(&cancel).map_err(|e| CliError::Internal(e.to_string()))?;
    args.out.check()?;
    let url = match url::Url::parse(&args.url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => u,
        _ => {
            return Err(CliError::invalid(format!(
                "`{}` is not an http(s) URL (hint: http://127.0.0.1:8080/path)",
                args.url
            )))
        }
    };
    if args.users == 0
        || args.duration.is_zero()
        || args.rate.is_some_and(|r| !(r > 0.0 && r.is_finite()))
    {
        return Err(CliError::invalid(
            "--users, --duration and --rate must be positive",
        ));
    }
    if let Some((usable, limit)) = crate::plan::descriptors::too_many(args.users) {
        return Err(CliError::invalid(format!("{} virtual users need more file descriptors than this process may open ({limit}, of which {usable} can be connections); nothing was sent (hint: raise `ulimit -n`, or run fewer users)", args.users)));
    }
    let mut cap = None;
    let mut production = None;
    if let Some(env) = super::production_guard::production_environment(root, &url) {
        if !args.production {
            return Err(super::production_guard::refusal(
                "load", &args.url, &env, root,
            ));
        }
        let limits = &env.limits;
        let mut problems = Vec::new();
        if !args.method.is_safe() {
            problems.push(format!(
                "{} changes state; production runs GET and HEAD only",
                args.method
            ));
        }
        if let Some(most) = limits.max_users.filter(|m| args.users > *m) {
            problems.push(format!("{} users exceed `max-users = {most}`", args.users));
        }
        if let (Some(rate), Some(most)) = (args.rate, limits.max_rps) {
            if rate > most {
                problems.push(format!("{rate} requests/s exceed `max-rps = {most}`"));
            }
        }
        if !problems.is_empty() {
            return Err(CliError::invalid(format!(
                "production environment `{}` refuses this load; nothing was sent: {}",
                env.name,
                problems.join("; ")
            )));
        }
        cap = limits.max_rps;
        production = Some(env.name.clone());
    }
    let base = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default())
        + &url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let suite = LoadSuite {
        think_time: None,
        feeders: Vec::new(),
        transactions: vec![TransactionSpec {
            name: "request".into(),
            weight: 1,
            steps: vec![StepSpec {
                name: format!("{} {}", args.method, url.path()),
                request: RequestSpec {
                    method: args.method,
                    path: Template::literal(&path),
                    headers: args
                        .headers
                        .iter()
                        .map(|(k, v)| (k.clone(), Template::literal(v)))
                        .collect(),
                    body: args.body.as_deref().map_or(RequestBody::None, |b| {
                        RequestBody::Text(Template::literal(b))
                    }),
                },
                checks: Vec::new(),
                extract: Vec::new(),
                latency_budget: None,
            }],
        }],
    };
    let traffic = Traffic {
        profile: Profile::Ramp,
        users: args.users,
        ramp_up: args.ramp_up,
        duration: args.duration,
        max_rps: cap,
        rate: args.rate,
        iterations: None,
        scale: 1.0,
    };
    let recorder = Arc::new(Recorder::new());
    let progress = Progress(TerminalProgress::new());
    let on_tick = |tick: LoadTick| progress.tick(tick);
    let options = LoadOptions {
        traffic: &traffic,
        abort: &[],
        shared_client: true,
        production_write: None,
    };
    let mut target = Target::without_secrets(&base);
    if let Some(environment) = &production {
        target = target.in_production(environment);
    }
    let load = load::run("load", &suite, options, &target, recorder.clone(), &on_tick);
    tokio::pin!(load);
    let ended = tokio::select! {
        ended = &mut load => Some(ended),
        signal = cancel.requested(1) => {
            load::interrupt(&format!("interrupted by {signal}"));
            tokio::select! {
                ended = &mut load => Some(ended),
                _ = cancel.requested(2) => None,
                _ = tokio::time::sleep(STOP_GRACE) => None,
            }
        }
    };
    // The live line goes before anything else is printed, so nothing is glued to it.
    progress.0.clear();
    let interrupted = cancel.signal();
    let elapsed = match ended {
        Some(Ok(report)) => report.elapsed,
        Some(Err(e)) if interrupted.is_none() => return Err(CliError::Internal(e.to_string())),
        Some(Err(_)) | None => recorder.elapsed(),
    };
    let mut m = Measurements::default();
    recorder.finish_into(&mut m, elapsed);
    let from = traffic.ramp_up.as_secs_f64().ceil() as u64;
    let rate = args.rate.and_then(|r| {
        ArrivalRate::measure(
            r,
            &m.series,
            from,
            from + traffic.duration.as_secs_f64().ceil() as u64,
        )
    });
    let summary = LoadSummary {
        schema: LOAD_SCHEMA,
        url: args.url.clone(),
        users: args.users,
        duration_s: m.duration_s,
        requests: m.requests,
        errors: m.errors,
        error_rate: m.error_rate().unwrap_or(0.0),
        rps: m.throughput().unwrap_or(0.0),
        latency_ms: m.latency_ms,
        latency_ms_uncorrected: m.latency_ms_uncorrected,
        expected_interval_ms: m.expected_interval_ms,
        stalls: m.stalls.clone(),
        errors_by_kind: m.errors_by_kind.clone(),
        rate,
        first_error: m.first_error.clone(),
        interrupted,
    };
    match args.out.output {
        OutputFormat::Json => args.out.emit(&summary)?,
        OutputFormat::Text => print_text(&summary),
    }
    Ok(if let Some(signal) = interrupted {
        super::ui::eprint_message(&format!(
            "warning: {}",
            (super::ui::words().cli.load_interrupted)(&signal.to_string())
        ));
        exit_code::ABORTED
    } else if summary.requests == 0 || summary.errors == summary.requests {
        exit_code::FAILED
    } else {
        exit_code::OK
    })
}

fn print_text(s: &LoadSummary) {
    let w = super::ui::words().cli;
    let [requests, errors, latency, rate, first_error] = w.load_labels;
    println!("{}", (w.load_heading)(&s.url, s.users, s.duration_s));
    if let Some(signal) = s.interrupted {
        let text = (w.load_interrupted)(&signal.to_string());
        super::ui::out(&format!(
            "  {}",
            super::ui::paint(super::ui::tone::WARN, &text)
        ));
    }
    println!("  {requests:<10} {} ({:.1}/s)", s.requests, s.rps);
    println!("  {errors:<10} {} ({:.2}%)", s.errors, s.error_rate * 100.0);
    for (kind, n) in &s.errors_by_kind {
        println!("    {kind:?}: {n}");
    }
    if let Some(p) = &s.latency_ms {
        println!(
            "  {latency:<10} p50 {:.2}ms  p90 {:.2}ms  p95 {:.2}ms  p99 {:.2}ms  max {:.2}ms",
            p.p50, p.p90, p.p95, p.p99, p.max
        );
    }
    if let Some(p) = &s.latency_ms_uncorrected {
        println!(
            "  uncorrected p50 {:.2}ms  p90 {:.2}ms  p95 {:.2}ms  p99 {:.2}ms (before the coordinated-omission correction, expected interval {:.2}ms)",
            p.p50,
            p.p90,
            p.p95,
            p.p99,
            s.expected_interval_ms.unwrap_or(0.0)
        );
    }
    for stall in &s.stalls {
        println!(
            "  stall      at {:.1}s nothing completed for {:.0}ms, {} request(s) waiting",
            stall.at_s, stall.duration_ms, stall.waiting
        );
    }
    if let Some(r) = &s.rate {
        println!(
            "  {rate:<10} target {:.1}/s, achieved {:.1}/s, shortfall {:.1}%",
            r.target_rps,
            r.achieved_rps,
            r.shortfall * 100.0
        );
    }
    if let Some(e) = &s.first_error {
        println!("  {first_error}: {e}");
    }
}
