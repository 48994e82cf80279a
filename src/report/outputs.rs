//! The run's report files as consumers of its events: `summary.json`, `junit.xml`, and
//! `report.html` with `report.vi.html`, each written when the run is recorded. Built
//! from the [`RunRecord`] alone, never from the runner.

use super::i18n::Lang;
use super::local_time::ReportZone;
use super::{html, junit, BaselineRecord, RunSummary, SecurityCheckResult, SUMMARY_FORMAT};
use super::{HTML_FILE, JUNIT_FILE, SUMMARY_FILE};
use crate::plan::Plan;
use crate::run::{ConsumerError, RunConsumer, RunEvent, RunRecord};
use std::path::PathBuf;

impl RunSummary {
    /// The summary of a recorded run of `plan`.
    pub fn of_record(plan: &Plan, record: &RunRecord) -> RunSummary {
        let run = &record.run;
        RunSummary {
            format: SUMMARY_FORMAT.into(),
            system: plan.system.clone(),
            release: plan.release.clone(),
            stage: plan.stage.as_str().into(),
            stage_number: plan.stage.number(),
            environment: plan.environment.name.clone(),
            tier: plan.environment.tier.as_str().into(),
            run_id: run.id,
            run_by: run.run_by.clone(),
            started_at: run.started_at.clone(),
            finished_at: run.finished_at.clone(),
            state: run.state,
            version_seen: run.version_seen.clone(),
            files_digest: run.files_digest.clone(),
            suites: plan.suites.iter().map(|s| s.name.clone()).collect(),
            verdict: record.verdict.clone(),
            measurements: record.measurements.clone(),
            findings: record.findings.clone(),
            abort_reason: record.stopped.as_ref().map(|r| r.to_string()),
            security_checks: record
                .security_checks
                .iter()
                .map(SecurityCheckResult::from)
                .collect(),
            baseline: record.baseline.as_ref().map(|b| BaselineRecord {
                release: b.baseline.release.clone(),
                run_id: b.run_id,
                measurements: b.baseline.measurements.clone(),
            }),
            production_writes: plan.production_writes.clone(),
        }
    }
}

fn write(what: &str, path: PathBuf, contents: &str) -> Result<(), ConsumerError> {
    let failed = |source| ConsumerError {
        what: what.to_string(),
        path: path.clone(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    std::fs::write(&path, contents).map_err(failed)
}

/// `summary.json`, format [`SUMMARY_FORMAT`].
pub struct SummaryJson;

impl RunConsumer for SummaryJson {
    fn event(&self, event: RunEvent<'_>) -> Result<(), ConsumerError> {
        let RunEvent::RunFinished { plan, record } = event else {
            return Ok(());
        };
        let path = record.report_dir.join(SUMMARY_FILE);
        let summary = RunSummary::of_record(plan, record);
        let json = serde_json::to_string_pretty(&summary).map_err(|e| ConsumerError {
            what: SUMMARY_FILE.into(),
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        write(SUMMARY_FILE, path, &(json + "\n"))
    }
}

/// `junit.xml`: one test case per criterion and per security check, for CI servers.
pub struct JunitXml;

impl RunConsumer for JunitXml {
    fn event(&self, event: RunEvent<'_>) -> Result<(), ConsumerError> {
        let RunEvent::RunFinished { plan, record } = event else {
            return Ok(());
        };
        let path = record.report_dir.join(JUNIT_FILE);
        let xml = junit::run_junit(
            &RunSummary::of_record(plan, record),
            plan.gate.junit_failures_from,
        )
        .map_err(|e| ConsumerError {
            what: JUNIT_FILE.into(),
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        write(JUNIT_FILE, path, &xml)
    }
}

/// `report.html` in the first language, and `report.<code>.html` in the other, so the
/// run's folder (and its evidence) holds both.
pub struct HtmlReports {
    /// The language of `report.html`.
    pub lang: Lang,
    /// The zone of local times, in the languages that write them.
    pub zone: ReportZone,
}

impl RunConsumer for HtmlReports {
    fn event(&self, event: RunEvent<'_>) -> Result<(), ConsumerError> {
        let RunEvent::RunFinished { plan, record } = event else {
            return Ok(());
        };
        let summary = RunSummary::of_record(plan, record);
        let other = match self.lang {
            Lang::En => Lang::Vi,
            Lang::Vi => Lang::En,
        };
        let page = |lang| html::run_page(&summary, &record.release, lang, &self.zone);
        write(
            HTML_FILE,
            record.report_dir.join(HTML_FILE),
            &page(self.lang),
        )?;
        let other_file = format!("report.{}.html", other.messages().code);
        write(
            &other_file,
            record.report_dir.join(&other_file),
            &page(other),
        )
    }
}

/// The report files every run writes: summary, JUnit, HTML (`lang` first, local times
/// in `zone`).
pub fn run_report_files(lang: Lang, zone: ReportZone) -> (SummaryJson, JunitXml, HtmlReports) {
    (SummaryJson, JunitXml, HtmlReports { lang, zone })
}
