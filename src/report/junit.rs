//! Takes a [`RunSummary`], gives `junit.xml` for CI servers: one test suite for the
//! gate (one test case per criterion; a failed criterion is a failure with its reason)
//! and one for security (one test case per check or probe; a finding is a failure
//! with the finding, a check that could not run is an error).

use super::RunSummary;
use crate::gate::CriterionStatus;
use crate::ledger::RunState;
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use std::fmt::Write as _;

/// The JUnit XML of a run.
pub fn run_junit(summary: &RunSummary) -> Result<String, quick_junit::SerializeError> {
    let mut report = Report::new(format!(
        "stagegate {} {} {} run #{}",
        summary.system, summary.release, summary.stage, summary.run_id
    ));
    let class = format!("{}.{}.{}", summary.system, summary.release, summary.stage);

    let mut gate = TestSuite::new(format!("{} gate", summary.stage));
    gate.add_property(Property::new("run", summary.run_id.to_string()));
    gate.add_property(Property::new("files-digest", summary.files_digest.clone()));
    gate.add_property(Property::new(
        "outcome",
        summary.verdict.outcome.to_string(),
    ));
    // A run stopped before its gate was evaluated has no criteria to show why.
    if summary.state == RunState::Aborted && summary.verdict.results.is_empty() {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status.set_message(format!(
            "run aborted: {}",
            summary
                .abort_reason
                .as_deref()
                .unwrap_or("stopped before it finished")
        ));
        status.set_type("aborted");
        let mut case = TestCase::new("run completed", status);
        case.set_classname(format!("{class}.gate"));
        gate.add_test_case(case);
    }
    for result in &summary.verdict.results {
        let status = match result.status {
            CriterionStatus::Fail => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(result.reason.clone());
                status.set_type("gate-criterion");
                status.set_description(format!(
                    "value {} · pass {} · warn {}",
                    result.shown,
                    result.pass,
                    result.warn.as_deref().unwrap_or("-")
                ));
                status
            }
            CriterionStatus::Pass | CriterionStatus::Warn => TestCaseStatus::success(),
        };
        let mut case = TestCase::new(result.criterion.clone(), status);
        case.set_classname(format!("{class}.gate"));
        if result.status == CriterionStatus::Warn {
            // Warnings do not fail the gate (unless the plan says so, which makes the
            // gate's own outcome fail): shown where CI servers show test output.
            case.set_system_out(format!("warning: {}", result.reason));
        }
        gate.add_test_case(case);
    }
    report.add_test_suite(gate);

    if !summary.security_checks.is_empty() {
        let mut security = TestSuite::new(format!("{} security", summary.stage));
        for check in &summary.security_checks {
            let findings: Vec<_> = summary
                .findings
                .iter()
                .filter(|f| f.check == check.check)
                .collect();
            let status = if let Some(reason) = &check.skipped {
                let mut status = TestCaseStatus::skipped();
                status.set_message(reason.clone());
                status
            } else if let Some(reason) = &check.not_applicable {
                let mut status = TestCaseStatus::skipped();
                status.set_message(format!("not applicable: {reason}"));
                status
            } else if let Some(error) = &check.error {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                status.set_message(format!("could not run: {error}"));
                status.set_type("check-error");
                status
            } else if !findings.is_empty() || check.findings > 0 {
                let mut message = format!("{} finding(s)", findings.len().max(check.findings));
                let mut description = String::new();
                for f in &findings {
                    let _ = write!(message, "; [{}] {} at {}", f.severity, f.name, f.url);
                    let _ = writeln!(
                        description,
                        "[{}] {} at {}\n{}\nremediation: {}\n",
                        f.severity, f.name, f.url, f.evidence, f.remediation
                    );
                }
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(message);
                status.set_type("security-finding");
                status.set_description(description);
                status
            } else {
                TestCaseStatus::success()
            };
            let mut case = TestCase::new(check.check.clone(), status);
            case.set_classname(format!("{class}.security"));
            security.add_test_case(case);
        }
        report.add_test_suite(security);
    }
    report.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::suite::Severity;
    use crate::gate::{CriterionResult, GateOutcome, GateVerdict};
    use crate::report::{SecurityCheckResult, SUMMARY_FORMAT};
    use crate::security::Finding;

    fn criterion(name: &str, status: CriterionStatus, reason: &str) -> CriterionResult {
        CriterionResult {
            criterion: name.into(),
            metric: "m".into(),
            value: None,
            shown: "1".into(),
            pass: "< 2".into(),
            warn: None,
            status,
            reason: reason.into(),
            cause: crate::gate::Reason::Unrecorded,
        }
    }

    pub(crate) fn sample() -> RunSummary {
        RunSummary {
            format: SUMMARY_FORMAT.into(),
            system: "dichvucong".into(),
            release: "1.0.0".into(),
            stage: "trial-test".into(),
            stage_number: 1,
            environment: "test".into(),
            tier: "test".into(),
            run_id: 7,
            run_by: "qa".into(),
            started_at: "t0".into(),
            finished_at: Some("t1".into()),
            state: RunState::Failed,
            version_seen: Some("1.0.0".into()),
            files_digest: "abc".into(),
            suites: vec![],
            verdict: GateVerdict {
                outcome: GateOutcome::Failed,
                results: vec![
                    criterion("error-rate < 1%", CriterionStatus::Pass, "ok"),
                    criterion(
                        "latency-p95 < 200ms",
                        CriterionStatus::Fail,
                        "latency-p95 is 350.0ms, must be < 200.0ms",
                    ),
                    criterion("throughput >= 20/s", CriterionStatus::Warn, "slow-ish"),
                ],
                warnings: 1,
                warnings_block: false,
            },
            measurements: Default::default(),
            findings: vec![Finding {
                check: "exposure.git".into(),
                name: "Git repository exposed".into(),
                severity: Severity::High,
                url: "http://127.0.0.1/.git/HEAD".into(),
                evidence: "GET → 200 <ref>".into(),
                remediation: "do not deploy .git".into(),
                rule: Default::default(),
            }],
            abort_reason: None,
            security_checks: vec![
                SecurityCheckResult {
                    check: "exposure.git".into(),
                    ran: true,
                    error: None,
                    skipped: None,
                    not_applicable: None,
                    findings: 1,
                },
                SecurityCheckResult {
                    check: "header.csp".into(),
                    ran: true,
                    error: None,
                    skipped: None,
                    not_applicable: None,
                    findings: 0,
                },
                SecurityCheckResult {
                    check: "exposure.env".into(),
                    ran: false,
                    error: Some("timed out".into()),
                    skipped: None,
                    not_applicable: None,
                    findings: 0,
                },
            ],
            baseline: None,
            production_writes: vec![],
        }
    }

    #[test]
    fn one_case_per_criterion_and_check_with_failures_and_errors() {
        let xml = run_junit(&sample()).unwrap();
        assert_eq!(xml.matches("<testcase ").count(), 6, "{xml}");
        assert_eq!(xml.matches("<failure ").count(), 2, "{xml}");
        assert_eq!(xml.matches("<error ").count(), 1, "{xml}");
        assert!(
            xml.contains("latency-p95 is 350.0ms, must be &lt; 200.0ms"),
            "{xml}"
        );
        assert!(xml.contains("[high] Git repository exposed"), "{xml}");
    }

    #[test]
    fn junit_xml_of_a_failed_run() {
        insta::assert_snapshot!(run_junit(&sample()).unwrap());
    }
}
