//! `findings.sarif` next to a run's other reports, as a consumer of the run's events:
//! the SARIF 2.1.0 log of the run's security findings and checks (for GitHub code
//! scanning and GitLab), written when the run is recorded and only when the run had
//! security checks. Built from the [`RunRecord`] alone, never from the runner.

use crate::plan::Plan;
use crate::run::{ConsumerError, RunConsumer, RunEvent};
use crate::security::sarif;

/// The file's name in the run's folder.
pub const SARIF_FILE: &str = "findings.sarif";

/// Writes `findings.sarif`.
pub struct FindingsSarif;

impl RunConsumer for FindingsSarif {
    fn event(&self, event: RunEvent<'_>) -> Result<(), ConsumerError> {
        let RunEvent::RunFinished { plan, record } = event else {
            return Ok(());
        };
        if record.security_checks.is_empty() {
            return Ok(());
        }
        let path = record.report_dir.join(SARIF_FILE);
        let failed = |source| ConsumerError {
            what: SARIF_FILE.into(),
            path: path.clone(),
            source,
        };
        let log = sarif::log(
            &record.findings,
            &record.security_checks,
            properties(plan, record.run.id),
        );
        let text =
            serde_json::to_string_pretty(&log).map_err(|e| failed(std::io::Error::other(e)))?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(failed)?;
        }
        std::fs::write(&path, text + "\n").map_err(failed)
    }
}

/// What the SARIF run is: the system, release, stage, environment and run id.
fn properties(plan: &Plan, run_id: i64) -> serde_json::Value {
    serde_json::json!({
        "system": plan.system,
        "release": plan.release,
        "stage": plan.stage.as_str(),
        "environment": plan.environment.name,
        "run": run_id,
        "target": plan.environment.reach.base_url().map(|u| u.to_string()),
    })
}
