//! Takes the ledger, gives its state as Prometheus metrics for the rollout board:
//! every release's stage states, how far each release got, the last gate result of
//! every stage, approvals still pending, and when each stage last ran. Read fresh on
//! every scrape by `stagegate serve`.

use super::MetricsError;
use crate::gate::{CriterionStatus, GateOutcome, GateVerdict};
use crate::ledger::{Decision, Ledger, RunRow, RunState};
use crate::measure::Measurements;
use crate::stage::StageId;
use prometheus::{GaugeVec, IntGaugeVec, Opts, Registry, TextEncoder};

/// Every state a stage of a release can be in, as `stagegate status` shows them.
const STAGE_STATES: [&str; 6] = [
    "not-run",
    "running",
    "failed",
    "aborted",
    "awaiting-approval",
    "promoted",
];

struct LedgerMetrics {
    registry: Registry,
    stage_state: IntGaugeVec,
    current_stage: IntGaugeVec,
    gate_passed: IntGaugeVec,
    criterion_status: IntGaugeVec,
    approvals_pending: IntGaugeVec,
    last_run: GaugeVec,
    last_run_age: GaugeVec,
    findings: IntGaugeVec,
}

impl LedgerMetrics {
    fn new() -> Result<LedgerMetrics, MetricsError> {
        let registry = Registry::new();
        let stage_state = IntGaugeVec::new(
            Opts::new("stagegate_stage_state", "1 for the stage's state (not-run, running, failed, aborted, awaiting-approval, promoted), 0 for the others."),
            &["system", "release", "stage", "state"],
        )?;
        let current_stage = IntGaugeVec::new(
            Opts::new("stagegate_release_promoted_stage", "Number (1-4) of the last stage the release was promoted through; 0 before the first."),
            &["system", "release"],
        )?;
        let gate_passed = IntGaugeVec::new(
            Opts::new(
                "stagegate_last_gate_passed",
                "1 when the stage's last finished run passed its gate, 0 when it did not.",
            ),
            &["system", "release", "stage"],
        )?;
        let criterion_status = IntGaugeVec::new(
            Opts::new("stagegate_last_gate_criterion_status", "1 for each criterion's result in the stage's last finished run (outcome pass, warn or fail), 0 for the others."),
            &["system", "release", "stage", "criterion", "outcome"],
        )?;
        let approvals_pending = IntGaugeVec::new(
            Opts::new(
                "stagegate_approvals_pending",
                "Approvals still needed before a passed stage is promoted.",
            ),
            &["system", "release", "stage"],
        )?;
        let last_run = GaugeVec::new(
            Opts::new(
                "stagegate_last_run_timestamp_seconds",
                "When the stage's last run started, seconds since the Unix epoch.",
            ),
            &["system", "release", "stage"],
        )?;
        let last_run_age = GaugeVec::new(
            Opts::new(
                "stagegate_last_run_age_seconds",
                "Seconds since the last run of the system started.",
            ),
            &["system"],
        )?;
        let findings = IntGaugeVec::new(
            Opts::new(
                "stagegate_last_run_security_findings",
                "Security findings of the stage's last finished run, by severity.",
            ),
            &["system", "release", "stage", "severity"],
        )?;
        for collector in [
            Box::new(stage_state.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(current_stage.clone()),
            Box::new(gate_passed.clone()),
            Box::new(criterion_status.clone()),
            Box::new(approvals_pending.clone()),
            Box::new(last_run.clone()),
            Box::new(last_run_age.clone()),
            Box::new(findings.clone()),
        ] {
            registry.register(collector)?;
        }
        Ok(LedgerMetrics {
            registry,
            stage_state,
            current_stage,
            gate_passed,
            criterion_status,
            approvals_pending,
            last_run,
            last_run_age,
            findings,
        })
    }
}

fn seconds_of(timestamp: &str) -> Option<f64> {
    chrono::DateTime::parse_from_rfc3339(timestamp)
        .ok()
        .map(|t| t.timestamp_millis() as f64 / 1000.0)
}

/// The ledger at `path` (a SQLite file or a PostgreSQL server) as Prometheus text.
pub fn render(path: &crate::ledger::LedgerLocation) -> Result<String, MetricsError> {
    let ledger = Ledger::open(path).map_err(|e| MetricsError::Ledger(e.to_string()))?;
    let text = render_ledger(&ledger)?;
    Ok(text)
}

/// The state of `ledger` as Prometheus text.
pub fn render_ledger(ledger: &Ledger) -> Result<String, MetricsError> {
    let m = LedgerMetrics::new()?;
    let err = |e: crate::ledger::LedgerError| MetricsError::Ledger(e.to_string());
    let runs = ledger.runs(None, None).map_err(err)?;
    let promotions = ledger.promotions(None).map_err(err)?;
    let now = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
    let mut newest_by_system: std::collections::BTreeMap<&str, f64> =
        std::collections::BTreeMap::new();
    for (system, release) in ledger.releases(None).map_err(err)? {
        let approvals = ledger.approvals(&system, &release).map_err(err)?;
        let mut promoted_through = 0;
        for stage in StageId::ALL {
            let labels = [system.as_str(), release.as_str(), stage.as_str()];
            let of_stage: Vec<&RunRow> = runs
                .iter()
                .filter(|r| r.system == system && r.release == release && r.stage == stage)
                .collect();
            let last = of_stage.last().copied();
            let promoted = promotions
                .iter()
                .any(|p| p.system == system && p.release == release && p.stage == stage);
            if promoted {
                promoted_through = stage.number();
            }
            let state = crate::ledger::stage_state(promoted, last.map(|r| r.state)).as_str();
            for candidate in STAGE_STATES {
                m.stage_state
                    .with_label_values(&[labels[0], labels[1], labels[2], candidate])
                    .set(i64::from(candidate == state));
            }
            let Some(last) = last else { continue };
            if let Some(t) = seconds_of(&last.started_at) {
                m.last_run.with_label_values(&labels).set(t);
                let newest = newest_by_system.entry(last.system.as_str()).or_insert(t);
                *newest = newest.max(t);
            }
            let pending = if state == "awaiting-approval" {
                let given = approvals
                    .iter()
                    .filter(|a| a.run_id == last.id && a.decision == Decision::Approve)
                    .count() as i64;
                (i64::from(last.approvals_required) - given).max(0)
            } else {
                0
            };
            m.approvals_pending.with_label_values(&labels).set(pending);
            // The gate result of the last run that finished (a running run has none yet).
            let Some(finished) = of_stage.iter().rev().find(|r| r.state != RunState::Running)
            else {
                continue;
            };
            if let Some(verdict) = finished
                .verdict
                .as_deref()
                .and_then(|v| serde_json::from_str::<GateVerdict>(v).ok())
            {
                m.gate_passed
                    .with_label_values(&labels)
                    .set(i64::from(verdict.outcome == GateOutcome::Passed));
                for result in &verdict.results {
                    for (status, name) in [
                        (CriterionStatus::Pass, "pass"),
                        (CriterionStatus::Warn, "warn"),
                        (CriterionStatus::Fail, "fail"),
                    ] {
                        m.criterion_status
                            .with_label_values(&[
                                labels[0],
                                labels[1],
                                labels[2],
                                &result.metric,
                                name,
                            ])
                            .set(i64::from(result.status == status));
                    }
                }
            }
            if let Some(security) = finished
                .measurements
                .as_deref()
                .and_then(|v| serde_json::from_str::<Measurements>(v).ok())
                .and_then(|m| m.security)
            {
                for severity in crate::config::suite::Severity::ALL {
                    let n = security.findings.get(&severity).copied().unwrap_or(0);
                    m.findings
                        .with_label_values(&[labels[0], labels[1], labels[2], severity.as_str()])
                        .set(n as i64);
                }
            }
        }
        m.current_stage
            .with_label_values(&[system.as_str(), release.as_str()])
            .set(promoted_through as i64);
    }
    for (system, newest) in newest_by_system {
        m.last_run_age
            .with_label_values(&[system])
            .set((now - newest).max(0.0));
    }
    Ok(TextEncoder::new().encode_to_string(&m.registry.gather())?)
}
