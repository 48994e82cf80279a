//! Takes a stage run's events, gives its live Prometheus metrics: [`RunMetrics`], a
//! [`RunConsumer`] that also watches every request of a load suite.

use super::request_series::SuiteObserver;
use super::run_labels::{RunLabels, RUN_LABELS};
use super::MetricsError;
use crate::gate::CriterionStatus;
use crate::measure::RequestObserver;
use crate::run::{ConsumerError, RunConsumer, RunEvent};
use prometheus::{
    GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Buckets of the request duration histogram, in seconds: from 1 ms (loopback) to 30 s
/// (the load engine's request timeout), dense around the 100 ms–1 s gate thresholds.
const DURATION_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.0, 2.5, 30.0,
];

/// Every run state, so the state gauge shows 1 for the current one and 0 for the rest.
const RUN_STATES: [&str; 4] = ["running", "passed", "failed", "aborted"];

/// The live metrics of stage runs: one registry, fed by run events and by every
/// request. One value may serve several runs in a row (the demo): each run's labels
/// come from its `Started` event.
pub struct RunMetrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
    checks: IntCounterVec,
    check_failures: IntCounterVec,
    users: IntGaugeVec,
    findings: IntGaugeVec,
    criterion_value: GaugeVec,
    criterion_status: IntGaugeVec,
    run_state: IntGaugeVec,
    run_started: GaugeVec,
    current: Mutex<RunLabels>,
    updates: AtomicU64,
}

impl RunMetrics {
    /// Defines every metric in a new registry.
    pub fn new() -> Result<RunMetrics, MetricsError> {
        RunMetrics::in_registry(Registry::new())
    }

    /// The metrics of one shard's worker, which runs no stage of its own: every series
    /// also carries `shard` (its index), and the run's labels are given.
    pub fn for_shard(shard: u32, run: [&str; 4]) -> Result<RunMetrics, MetricsError> {
        let labels = std::collections::HashMap::from([("shard".into(), shard.to_string())]);
        let metrics = RunMetrics::in_registry(Registry::new_custom(None, Some(labels))?)?;
        let [system, release, stage, environment] = run.map(str::to_string);
        let labels = RunLabels {
            system,
            release,
            stage,
            environment,
        };
        metrics.set_state(&labels, "running");
        match metrics.current.lock() {
            Ok(mut l) => *l = labels,
            Err(poisoned) => *poisoned.into_inner() = labels,
        }
        Ok(metrics)
    }

    fn in_registry(registry: Registry) -> Result<RunMetrics, MetricsError> {
        let with = |extra: &[&'static str]| -> Vec<&'static str> {
            RUN_LABELS
                .iter()
                .copied()
                .chain(extra.iter().copied())
                .collect()
        };
        let requests = IntCounterVec::new(
            Opts::new("stagegate_requests_total", "Requests of load suites, by outcome (ok, connection, timeout, status, check; not-sent: refused by stagegate and never sent)."),
            &with(&["suite", "transaction", "outcome"]),
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "stagegate_request_duration_seconds",
                "Time to the last byte of each load request.",
            )
            .buckets(DURATION_BUCKETS.to_vec()),
            &with(&["suite", "transaction"]),
        )?;
        let checks = IntCounterVec::new(
            Opts::new(
                "stagegate_checks_total",
                "Checks evaluated on load responses.",
            ),
            &with(&["suite", "transaction"]),
        )?;
        let check_failures = IntCounterVec::new(
            Opts::new(
                "stagegate_check_failures_total",
                "Checks on load responses that failed.",
            ),
            &with(&["suite", "transaction"]),
        )?;
        let users = IntGaugeVec::new(
            Opts::new(
                "stagegate_virtual_users",
                "Virtual users that started a transaction in the last few seconds.",
            ),
            &with(&["suite"]),
        )?;
        let findings = IntGaugeVec::new(
            Opts::new(
                "stagegate_security_findings",
                "Security findings of the run, by severity.",
            ),
            &with(&["severity"]),
        )?;
        let criterion_value = GaugeVec::new(
            Opts::new("stagegate_gate_criterion_value", "Measured value of a gate criterion, in its canonical unit (ms, ratio, per second, count)."),
            &with(&["criterion"]),
        )?;
        let criterion_status = IntGaugeVec::new(
            Opts::new(
                "stagegate_gate_criterion_status",
                "1 for the criterion's result (outcome pass, warn or fail), 0 for the others.",
            ),
            &with(&["criterion", "outcome"]),
        )?;
        let run_state = IntGaugeVec::new(
            Opts::new(
                "stagegate_run_state",
                "1 for the run's state (running, passed, failed, aborted), 0 for the others.",
            ),
            &with(&["state"]),
        )?;
        let run_started = GaugeVec::new(
            Opts::new(
                "stagegate_run_start_time_seconds",
                "When the stage run started, seconds since the Unix epoch.",
            ),
            &with(&[]),
        )?;
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(duration.clone()),
            Box::new(checks.clone()),
            Box::new(check_failures.clone()),
            Box::new(users.clone()),
            Box::new(findings.clone()),
            Box::new(criterion_value.clone()),
            Box::new(criterion_status.clone()),
            Box::new(run_state.clone()),
            Box::new(run_started.clone()),
        ] {
            registry.register(collector)?;
        }
        Ok(RunMetrics {
            registry,
            requests,
            duration,
            checks,
            check_failures,
            users,
            findings,
            criterion_value,
            criterion_status,
            run_state,
            run_started,
            current: Mutex::new(RunLabels::default()),
            updates: AtomicU64::new(0),
        })
    }

    /// The metrics in the Prometheus text format.
    pub fn encode(&self) -> Result<String, MetricsError> {
        Ok(TextEncoder::new().encode_to_string(&self.registry.gather())?)
    }

    /// The labels of the current run, for a Pushgateway grouping key.
    pub fn current_labels(&self) -> [(String, String); 4] {
        let labels = self.labels();
        let v = labels.values();
        [0, 1, 2, 3].map(|i| (RUN_LABELS[i].to_string(), v[i].to_string()))
    }

    /// How many times the metrics changed at the end of a run (to wait for a scrape
    /// that saw the final values).
    pub fn final_updates(&self) -> u64 {
        self.updates.load(Ordering::SeqCst)
    }

    fn labels(&self) -> RunLabels {
        match self.current.lock() {
            Ok(l) => l.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set_state(&self, labels: &RunLabels, state: &str) {
        let [s, r, st, e] = labels.values();
        for candidate in RUN_STATES {
            self.run_state
                .with_label_values(&[s, r, st, e, candidate])
                .set(i64::from(candidate == state));
        }
    }
}

impl RunMetrics {
    fn started(&self, run: &crate::ledger::RunRow) {
        let labels = RunLabels {
            system: run.system.clone(),
            release: run.release.clone(),
            stage: run.stage.as_str().to_string(),
            environment: run.environment.clone(),
        };
        self.set_state(&labels, "running");
        let started = chrono::DateTime::parse_from_rfc3339(&run.started_at)
            .map(|t| t.timestamp_millis() as f64 / 1000.0)
            .unwrap_or_else(|_| chrono::Utc::now().timestamp_millis() as f64 / 1000.0);
        self.run_started
            .with_label_values(&labels.values())
            .set(started);
        match self.current.lock() {
            Ok(mut l) => *l = labels,
            Err(poisoned) => *poisoned.into_inner() = labels,
        }
    }

    fn finished(&self, record: &crate::run::RunRecord) {
        let l = self.labels();
        let [s, r, st, e] = l.values();
        if let Some(security) = &record.measurements.security {
            for severity in crate::vocabulary::Severity::ALL {
                let n = security.findings.get(&severity).copied().unwrap_or(0);
                self.findings
                    .with_label_values(&[s, r, st, e, severity.as_str()])
                    .set(n as i64);
            }
        }
        for result in &record.verdict.results {
            let criterion = result.metric.as_str();
            if let Some(v) = result.value {
                self.criterion_value
                    .with_label_values(&[s, r, st, e, criterion])
                    .set(v);
            }
            for (status, name) in [
                (CriterionStatus::Pass, "pass"),
                (CriterionStatus::Warn, "warn"),
                (CriterionStatus::Fail, "fail"),
            ] {
                self.criterion_status
                    .with_label_values(&[s, r, st, e, criterion, name])
                    .set(i64::from(result.status == status));
            }
        }
        self.set_state(&l, record.run.state.as_str());
        self.updates.fetch_add(1, Ordering::SeqCst);
    }
}

impl RunConsumer for RunMetrics {
    fn event(&self, event: RunEvent<'_>) -> Result<(), ConsumerError> {
        match event {
            RunEvent::StageStarted { run, .. } => self.started(run),
            RunEvent::SuiteProgress { suite, tick } => {
                let l = self.labels();
                let [s, r, st, e] = l.values();
                self.users
                    .with_label_values(&[s, r, st, e, suite])
                    .set(tick.snapshot.active_users as i64);
            }
            RunEvent::SuiteFinished { suite, .. } => {
                // A finished suite has no active users; a security suite never had any,
                // and setting 0 for it would create a meaningless series.
                let l = self.labels();
                let [s, r, st, e] = l.values();
                if let Ok(g) = self
                    .users
                    .get_metric_with_label_values(&[s, r, st, e, suite])
                {
                    if g.get() != 0 {
                        g.set(0);
                    }
                }
            }
            RunEvent::RunFinished { record, .. } => self.finished(record),
            RunEvent::RunAborted { run, .. } => {
                self.set_state(&self.labels(), run.state.as_str());
                self.updates.fetch_add(1, Ordering::SeqCst);
            }
            RunEvent::Environment(_)
            | RunEvent::VersionSeen { .. }
            | RunEvent::SuiteStarted { .. }
            | RunEvent::Interrupted { .. }
            | RunEvent::CriterionJudged { .. } => {}
        }
        Ok(())
    }

    fn request_observer(&self, suite: &str) -> Option<Arc<dyn RequestObserver>> {
        let l = self.labels();
        Some(Arc::new(SuiteObserver {
            labels: [
                l.system,
                l.release,
                l.stage,
                l.environment,
                suite.to_string(),
            ],
            seen: Mutex::new(std::collections::HashSet::new()),
            requests: self.requests.clone(),
            duration: self.duration.clone(),
            checks: self.checks.clone(),
            check_failures: self.check_failures.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::{CriterionResult, GateOutcome, GateVerdict};
    use crate::ledger::{RunRow, RunState};
    use crate::measure::{ErrorKind, Measurements, RequestSample, SecurityCounts};
    use crate::stage::StageId;
    use std::time::Duration;

    fn run_row(state: RunState) -> RunRow {
        RunRow {
            id: 7,
            system: "dichvucong".into(),
            release: "1.0.0".into(),
            stage: StageId::TrialTest,
            environment: "test".into(),
            run_by: "qa".into(),
            started_at: "2026-01-01T00:00:00.000Z".into(),
            finished_at: None,
            state,
            pid: 1,
            pid_start: None,
            host: "h".into(),
            files_digest: "d".into(),
            approvals_required: 1,
            allow_self_approval: false,
            version_seen: None,
            verdict: None,
            measurements: None,
            report_dir: None,
            abort_reason: None,
            roster: String::new(),
            signer: String::new(),
            approver_roles: Vec::new(),
            required_roles: Default::default(),
        }
    }

    fn started(m: &RunMetrics) {
        let plan_free_row = run_row(RunState::Running);
        m.started(&plan_free_row);
    }

    fn finished(m: &RunMetrics, state: RunState, verdict: GateVerdict, measurements: Measurements) {
        let record = crate::run::RunRecord {
            run: run_row(state),
            verdict,
            measurements,
            findings: vec![],
            security_checks: vec![],
            stopped: None,
            baseline: None,
            report_dir: "r".into(),
            release: crate::ledger::ReleaseContext {
                system: "dichvucong".into(),
                release: "1.0.0".into(),
                stages: vec![],
                approvals: vec![],
                people: Default::default(),
            },
        };
        m.finished(&record);
    }

    /// The value of the one series of `name` that has every label in `labels`.
    fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
        let run = [
            ("system", "dichvucong"),
            ("release", "1.0.0"),
            ("stage", "trial-test"),
            ("environment", "test"),
        ];
        let found: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with(&format!("{name}{{")))
            .filter(|l| {
                run.iter()
                    .chain(labels)
                    .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
            })
            .collect();
        assert_eq!(found.len(), 1, "{name} {labels:?} in\n{text}");
        found[0].rsplit(' ').next().unwrap().parse().unwrap()
    }

    #[test]
    fn events_and_requests_become_labelled_series() {
        let m = RunMetrics::new().unwrap();
        started(&m);
        let observer = m.request_observer("tai").unwrap();
        for (ms, error) in [(5, None), (150, None), (20, Some(ErrorKind::Status))] {
            observer.observe(&RequestSample {
                user: 0,
                transaction: "tai/tra-cuu",
                latency: Duration::from_millis(ms),
                error,
                checks: 2,
                failed_checks: if error.is_some() {
                    vec!["b1: status".into()]
                } else {
                    vec![]
                },
                error_text: None,
            });
        }
        let live = m.encode().unwrap();
        let tx = [("suite", "tai"), ("transaction", "tra-cuu")];
        assert_eq!(
            value(
                &live,
                "stagegate_requests_total",
                &[tx[0], tx[1], ("outcome", "ok")]
            ),
            2.0
        );
        assert_eq!(
            value(
                &live,
                "stagegate_requests_total",
                &[tx[0], tx[1], ("outcome", "status")]
            ),
            1.0
        );
        // Outcomes not seen yet exist at 0, so error panels show 0 rather than nothing.
        assert_eq!(
            value(
                &live,
                "stagegate_requests_total",
                &[tx[0], tx[1], ("outcome", "timeout")]
            ),
            0.0
        );
        assert_eq!(
            value(
                &live,
                "stagegate_request_duration_seconds_bucket",
                &[tx[0], tx[1], ("le", "0.1")]
            ),
            2.0
        );
        assert_eq!(value(&live, "stagegate_check_failures_total", &tx), 1.0);
        assert_eq!(value(&live, "stagegate_checks_total", &tx), 6.0);
        assert_eq!(
            value(&live, "stagegate_run_state", &[("state", "running")]),
            1.0
        );

        let verdict = GateVerdict {
            outcome: GateOutcome::Failed,
            results: vec![CriterionResult {
                criterion: "latency-p95 < 200.0ms".into(),
                metric: "latency-p95".into(),
                value: Some(350.0),
                shown: "350.0ms".into(),
                pass: "< 200.0ms".into(),
                warn: None,
                status: CriterionStatus::Fail,
                reason: String::new(),
                cause: crate::gate::Reason::Missed,
            }],
            warnings: 0,
            warnings_block: false,
            acceptances: Vec::new(),
        };
        let mut measurements = Measurements::default();
        let mut security = SecurityCounts::default();
        security
            .findings
            .insert(crate::vocabulary::Severity::High, 2);
        measurements.security = Some(security);
        finished(&m, RunState::Failed, verdict, measurements);
        let done = m.encode().unwrap();
        let p95 = ("criterion", "latency-p95");
        assert_eq!(
            value(&done, "stagegate_gate_criterion_value", &[p95]),
            350.0
        );
        assert_eq!(
            value(
                &done,
                "stagegate_gate_criterion_status",
                &[p95, ("outcome", "fail")]
            ),
            1.0
        );
        assert_eq!(
            value(
                &done,
                "stagegate_gate_criterion_status",
                &[p95, ("outcome", "pass")]
            ),
            0.0
        );
        assert_eq!(
            value(
                &done,
                "stagegate_security_findings",
                &[("severity", "high")]
            ),
            2.0
        );
        assert_eq!(
            value(&done, "stagegate_security_findings", &[("severity", "low")]),
            0.0
        );
        assert_eq!(
            value(&done, "stagegate_run_state", &[("state", "failed")]),
            1.0
        );
        assert_eq!(
            value(&done, "stagegate_run_state", &[("state", "running")]),
            0.0
        );
        assert_eq!(m.final_updates(), 1);
    }

    /// The catalogue of live metrics (names, types, help), pinned: a rename breaks
    /// dashboards and alerts, so it must show up in review.
    #[test]
    fn the_metric_catalogue_is_stable() {
        let m = RunMetrics::new().unwrap();
        started(&m);
        let observer = m.request_observer("tai").unwrap();
        observer.observe(&RequestSample {
            user: 0,
            transaction: "tai/tra-cuu",
            latency: Duration::from_millis(5),
            error: None,
            checks: 1,
            failed_checks: vec![],
            error_text: None,
        });
        m.event(RunEvent::SuiteProgress {
            suite: "tai",
            tick: &crate::load::LoadTick {
                elapsed: Duration::from_secs(1),
                planned: Duration::from_secs(5),
                users: 1,
                snapshot: crate::measure::recorder::LiveSnapshot {
                    active_users: 1,
                    ..Default::default()
                },
            },
        })
        .unwrap();
        let measurements = Measurements {
            security: Some(SecurityCounts::default()),
            ..Measurements::default()
        };
        let verdict = GateVerdict {
            outcome: GateOutcome::Passed,
            results: vec![CriterionResult {
                criterion: "requests >= 1".into(),
                metric: "requests".into(),
                value: Some(1.0),
                shown: "1".into(),
                pass: ">= 1".into(),
                warn: None,
                status: CriterionStatus::Pass,
                reason: String::new(),
                cause: crate::gate::Reason::Met,
            }],
            warnings: 0,
            warnings_block: false,
            acceptances: Vec::new(),
        };
        finished(&m, RunState::Passed, verdict, measurements);
        let catalogue: Vec<String> = m
            .encode()
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("# "))
            .map(String::from)
            .collect();
        insta::assert_snapshot!(catalogue.join("\n"));
    }
}
