//! Takes a [`RunSummary`] and the severity from which findings fail, gives `junit.xml`
//! for CI servers: one test suite for the gate (one test case per criterion; a failed
//! criterion is a failure with its reason) and one for security (one test case per
//! check or probe; an unaccepted finding at or above the severity is a failure, those
//! below or accepted are output, a check that could not run is an error). Test names
//! are stable across releases (`latency-p95`, `exposure.env`); the release, thresholds
//! and values are properties. Suites carry `timestamp` and `time`.

use super::RunSummary;
use crate::config::security_suite::RuleAction;
use crate::config::suite::Severity;
use crate::gate::{AcceptanceUse, CriterionResult, CriterionStatus, IMPLIED};
use crate::ledger::RunState;
use crate::security::Finding;
use chrono::{DateTime, FixedOffset};
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Duration;

/// The JUnit XML of a run; findings from `fail_from` up fail their check's test case.
pub fn run_junit(
    summary: &RunSummary,
    fail_from: Severity,
) -> Result<String, quick_junit::SerializeError> {
    let mut report = Report::new(format!("stagegate {} {}", summary.system, summary.stage));
    let class = format!("{}.{}", summary.system, summary.stage);
    let (started, took) = when(summary);
    // The start goes on the root: the Surefire schema each suite follows has no
    // `timestamp`, and GitLab and Jenkins read it there.
    if let Some(t) = started {
        report.set_timestamp(t);
    }
    if let Some(d) = took {
        report.set_time(d);
    }

    let mut gate = TestSuite::new(format!("{} gate", summary.stage));
    if let Some(d) = took {
        gate.set_time(d);
    }
    gate.add_property(Property::new("release", summary.release.clone()));
    gate.add_property(Property::new("run", summary.run_id.to_string()));
    gate.add_property(Property::new("files-digest", summary.files_digest.clone()));
    gate.add_property(Property::new(
        "outcome",
        summary.verdict.outcome.to_string(),
    ));
    gate.add_property(Property::new("junit-failures-from", fail_from.to_string()));
    for (i, u) in summary.verdict.acceptances.iter().enumerate() {
        gate.add_property(Property::new(
            format!("accepted.{}", i + 1),
            format!(
                "{}{}",
                u.acceptance,
                if u.expired { " (expired)" } else { "" }
            ),
        ));
    }
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
        case.set_time(took.unwrap_or_default());
        gate.add_test_case(case);
    }
    let mut names = BTreeSet::new();
    for result in &summary.verdict.results {
        let name = unique(&mut names, stable_name(result));
        gate.add_property(Property::new(
            format!("{name}.criterion"),
            result.criterion.clone(),
        ));
        gate.add_property(Property::new(format!("{name}.value"), result.shown.clone()));
        let status = match result.status {
            CriterionStatus::Fail => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(result.reason.clone());
                status.set_type("gate-criterion");
                status.set_description(format!(
                    "{} · value {} · pass {} · warn {}",
                    result.criterion,
                    result.shown,
                    result.pass,
                    result.warn.as_deref().unwrap_or("-")
                ));
                status
            }
            CriterionStatus::Pass | CriterionStatus::Warn => TestCaseStatus::success(),
        };
        let mut case = TestCase::new(name, status);
        case.set_classname(format!("{class}.gate"));
        // Every criterion rests on the whole run.
        case.set_time(took.unwrap_or_default());
        if result.status == CriterionStatus::Warn {
            // Warnings do not fail the gate (unless the plan says so, which makes the
            // gate's own outcome fail): shown where CI servers show test output.
            case.set_system_out(format!("warning: {}", result.reason));
        } else if result.status == CriterionStatus::Pass {
            case.set_system_out(format!("{}: {}", result.criterion, result.reason));
        }
        gate.add_test_case(case);
    }
    report.add_test_suite(gate);

    if !summary.security_checks.is_empty() {
        let mut security = TestSuite::new(format!("{} security", summary.stage));
        // Checks are not timed one by one.
        security.set_time(Duration::ZERO);
        security.add_property(Property::new("release", summary.release.clone()));
        for check in &summary.security_checks {
            let findings: Vec<&Finding> = summary
                .findings
                .iter()
                .filter(|f| f.check == check.check)
                .collect();
            let (failing, shown): (Vec<&Finding>, Vec<&Finding>) = findings
                .iter()
                .partition(|f| fails(f, fail_from, &summary.verdict.acceptances));
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
            } else if !failing.is_empty() {
                let mut message = format!("{} finding(s)", failing.len());
                let mut description = String::new();
                for f in &failing {
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
            case.set_time(Duration::ZERO);
            if !shown.is_empty() {
                let mut out = String::new();
                for f in &shown {
                    let _ = writeln!(
                        out,
                        "[{}] {} at {} ({})\n{}",
                        f.severity,
                        f.name,
                        f.url,
                        why_not_failing(f, fail_from, &summary.verdict.acceptances),
                        f.evidence
                    );
                }
                case.set_system_out(out);
            }
            security.add_test_case(case);
        }
        report.add_test_suite(security);
    }
    report.to_string()
}

/// The run's start and length, when its times can be read.
fn when(summary: &RunSummary) -> (Option<DateTime<FixedOffset>>, Option<Duration>) {
    let started = DateTime::parse_from_rfc3339(&summary.started_at).ok();
    let finished = summary
        .finished_at
        .as_deref()
        .and_then(|f| DateTime::parse_from_rfc3339(f).ok());
    let took = match (started, finished) {
        (Some(s), Some(f)) => (f - s).to_std().ok(),
        _ => None,
    };
    (started, took)
}

/// A criterion's test name, the same in every release: its metric (or query name),
/// `regression` for a regression rule, `(implied)` for a criterion a suite implies.
fn stable_name(result: &CriterionResult) -> String {
    let mut name = result.metric.clone();
    if result.pass.starts_with("regression") {
        name.push_str(" regression");
    }
    if result.criterion.ends_with(IMPLIED) {
        name.push_str(" (implied)");
    }
    name
}

/// `name`, or `name #2`, ... when a gate has two criteria on one metric.
fn unique(seen: &mut BTreeSet<String>, name: String) -> String {
    let mut candidate = name.clone();
    let mut n = 1;
    while !seen.insert(candidate.clone()) {
        n += 1;
        candidate = format!("{name} #{n}");
    }
    candidate
}

/// The unexpired acceptance covering `f`, if any.
fn accepted<'a>(f: &Finding, uses: &'a [AcceptanceUse]) -> Option<&'a AcceptanceUse> {
    uses.iter()
        .find(|u| !u.expired && u.acceptance.covers(&f.check, &f.url))
}

/// Whether a finding fails its test case: counted by the gate's rules, at or above
/// `fail_from`, and not accepted.
fn fails(f: &Finding, fail_from: Severity, uses: &[AcceptanceUse]) -> bool {
    f.rule == RuleAction::Fail && f.severity >= fail_from && accepted(f, uses).is_none()
}

fn why_not_failing(f: &Finding, fail_from: Severity, uses: &[AcceptanceUse]) -> String {
    if let Some(u) = accepted(f, uses) {
        format!(
            "accepted by {} until {}: {}",
            u.acceptance.by, u.acceptance.expires, u.acceptance.reason
        )
    } else if f.rule != RuleAction::Fail {
        "the suite's rules show it without counting it".into()
    } else {
        format!("below {fail_from}: shown, not a failure")
    }
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
            metric: name.split(' ').next().unwrap_or(name).into(),
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
                acceptances: Vec::new(),
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
        let xml = run_junit(&sample(), Severity::Medium).unwrap();
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
    fn findings_below_the_severity_or_accepted_are_output_not_failures() {
        let mut s = sample();
        s.findings[0].severity = Severity::Low;
        let xml = run_junit(&s, Severity::Medium).unwrap();
        assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");
        assert!(xml.contains("below medium: shown, not a failure"), "{xml}");
        // The same low finding fails when the gate asks for failures from low up.
        let xml = run_junit(&s, Severity::Low).unwrap();
        assert_eq!(xml.matches("<failure ").count(), 2, "{xml}");

        let mut s = sample();
        s.verdict.acceptances = vec![AcceptanceUse {
            acceptance: crate::config::acceptance::Acceptance {
                check: "exposure.git".into(),
                url: None,
                reason: "read-only mirror".into(),
                by: "An".into(),
                expires: chrono::NaiveDate::from_ymd_opt(2030, 1, 1).unwrap(),
            },
            findings: 1,
            expired: false,
        }];
        let xml = run_junit(&s, Severity::Medium).unwrap();
        assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");
        assert!(xml.contains("accepted by An until 2030-01-01"), "{xml}");
        s.verdict.acceptances[0].expired = true;
        let xml = run_junit(&s, Severity::Medium).unwrap();
        assert_eq!(xml.matches("<failure ").count(), 2, "{xml}");
    }

    #[test]
    fn test_names_do_not_carry_the_release_or_thresholds() {
        let mut s = sample();
        s.started_at = "2026-11-29T01:00:00+00:00".into();
        s.finished_at = Some("2026-11-29T01:00:12.5+00:00".into());
        let xml = run_junit(&s, Severity::Medium).unwrap();
        assert!(xml.contains("name=\"latency-p95\""), "{xml}");
        assert!(!xml.contains("testcase name=\"latency-p95 <"), "{xml}");
        assert!(!xml.contains("classname=\"dichvucong.1.0.0"), "{xml}");
        assert!(
            xml.contains("<property name=\"release\" value=\"1.0.0\""),
            "{xml}"
        );
        assert!(xml.contains("timestamp=\"2026-11-29T01:00:00"), "{xml}");
        assert!(xml.contains("time=\"12.5"), "{xml}");
    }

    #[test]
    fn junit_xml_of_a_failed_run() {
        insta::assert_snapshot!(run_junit(&sample(), Severity::Medium).unwrap());
    }
}
