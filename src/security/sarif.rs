//! Takes a security outcome (findings and what each check did) and the target, gives a
//! SARIF 2.1.0 log: one run of the tool `stagegate`, a rule per check or probe that
//! took part (name, remediation as help, OWASP and CWE references as tags, the GitHub
//! `security-severity` score), a result per finding located at its URL, and each check
//! that could not run as a tool execution notification, so "nothing found" in a code
//! scanning view can never hide "nothing ran". A pure function: writing the file is the
//! caller's business.

use super::catalogue::{self, CheckInfo};
use super::outcome::{CheckRun, CheckStatus, Finding, SecurityOutcome};
use crate::config::suite::Severity;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The official schema id of SARIF 2.1.0 (OASIS Standard, errata 01).
pub const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// SARIF's result level for a severity: error blocks, warning asks for attention, note
/// informs (the three levels code-scanning tools sort by).
fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub code scanning's `security-severity` (a CVSS-like score it buckets as critical
/// above 9.0, high from 7.0, medium from 4.0, low above 0.0): the middle of each bucket.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// A rule for a built-in check, from the catalogue.
fn builtin_rule(info: &CheckInfo) -> Value {
    json!({
        "id": info.id.as_str(),
        "name": info.name,
        "shortDescription": { "text": info.name },
        "fullDescription": { "text": format!("{} ({}; CWE-{})", info.name, info.reference, info.cwe) },
        "help": {
            "text": info.remediation,
            "markdown": format!("{}\n\nReferences: {}; [CWE-{}](https://cwe.mitre.org/data/definitions/{}.html)", info.remediation, info.reference, info.cwe, info.cwe),
        },
        "helpUri": format!("https://cwe.mitre.org/data/definitions/{}.html", info.cwe),
        "defaultConfiguration": { "level": level(info.severity) },
        "properties": {
            "tags": ["security", format!("external/cwe/cwe-{}", info.cwe)],
            "security-severity": security_severity(info.severity),
            "precision": "high",
            "production-safe": info.production_safe,
        },
    })
}

/// A rule for a declarative probe (`probe.<name>`), from what its findings say.
fn probe_rule(id: &str, findings: &[Finding]) -> Value {
    let finding = findings.iter().find(|f| f.check == id);
    let name = finding.map_or(id, |f| f.name.as_str());
    let mut rule = json!({
        "id": id,
        "name": name,
        "shortDescription": { "text": name },
        "properties": { "tags": ["security", "probe"] },
    });
    if let Some(f) = finding {
        rule["help"] = json!({ "text": f.remediation });
        rule["defaultConfiguration"] = json!({ "level": level(f.severity) });
        rule["properties"]["security-severity"] = json!(security_severity(f.severity));
    }
    rule
}

/// The SARIF 2.1.0 log of one security outcome against `target` (the `scan` command).
pub fn to_sarif(outcome: &SecurityOutcome, target: &str) -> Value {
    log(
        &outcome.findings,
        &outcome.checks,
        json!({
            "target": target,
            "requests": outcome.requests,
            "requestBound": outcome.request_budget,
        }),
    )
}

/// The SARIF 2.1.0 log of findings and the checks that looked for them; `properties`
/// describe the run (target, stage, requests) and are kept as the SARIF run's own.
pub fn log(findings: &[Finding], checks: &[CheckRun], properties: Value) -> Value {
    let mut rule_ids: Vec<String> = Vec::new();
    for id in checks
        .iter()
        .map(|c| c.check.clone())
        .chain(findings.iter().map(|f| f.check.clone()))
    {
        if !rule_ids.contains(&id) {
            rule_ids.push(id);
        }
    }
    let rules: Vec<Value> = rule_ids
        .iter()
        .map(|id| match catalogue::lookup(id) {
            Some(info) => builtin_rule(info),
            None => probe_rule(id, findings),
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let index = rule_ids.iter().position(|r| *r == f.check).unwrap_or(0);
            let fingerprint = hex::encode(Sha256::digest(format!("{}\n{}", f.check, f.url)));
            json!({
                "ruleId": f.check,
                "ruleIndex": index,
                "level": level(f.severity),
                "message": { "text": format!("[{}] {} at {}", f.severity, f.name, f.url) },
                "locations": [{
                    "physicalLocation": { "artifactLocation": { "uri": f.url } },
                }],
                "partialFingerprints": { "stagegateFinding/v1": fingerprint },
                "properties": {
                    "severity": f.severity.as_str(),
                    "evidence": f.evidence,
                    "remediation": f.remediation,
                    "gate": f.rule,
                },
            })
        })
        .collect();
    let notifications: Vec<Value> = checks
        .iter()
        .filter_map(|c| match &c.status {
            CheckStatus::Error(reason) => Some(json!({
                "level": "error",
                "message": { "text": format!("check `{}` could not run: {reason}", c.check) },
                "associatedRule": { "id": c.check },
            })),
            CheckStatus::NotApplicable(reason) => Some(json!({
                "level": "note",
                "message": { "text": format!("check `{}` not applicable: {reason}", c.check) },
                "associatedRule": { "id": c.check },
            })),
            CheckStatus::Ran | CheckStatus::Skipped(_) => None,
        })
        .collect();
    let all_ran = !checks
        .iter()
        .any(|c| matches!(c.status, CheckStatus::Error(_)));
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "stagegate",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                },
            },
            "invocations": [{
                "executionSuccessful": all_ran,
                "toolExecutionNotifications": notifications,
            }],
            "properties": properties,
            "results": results,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::security_suite::RuleAction;

    #[test]
    fn findings_become_results_of_their_rules_and_errors_notifications() {
        let outcome = SecurityOutcome {
            findings: vec![Finding {
                check: "exposure.git".into(),
                name: "Git repository exposed".into(),
                severity: Severity::High,
                url: "http://127.0.0.1:1/.git/config".into(),
                evidence: "GET http://127.0.0.1:1/.git/config → 200".into(),
                remediation: "Do not deploy `.git`.".into(),
                rule: RuleAction::Fail,
            }],
            checks: vec![
                CheckRun {
                    check: "exposure.git".into(),
                    status: CheckStatus::Ran,
                    findings: 1,
                },
                CheckRun {
                    check: "tls.certificate".into(),
                    status: CheckStatus::Error("timed out".into()),
                    findings: 0,
                },
            ],
            requests: 3,
            request_budget: 10,
        };
        let log = to_sarif(&outcome, "http://127.0.0.1:1");
        assert_eq!(log["version"], "2.1.0");
        let run = &log["runs"][0];
        assert_eq!(
            run["tool"]["driver"]["rules"].as_array().map(Vec::len),
            Some(2)
        );
        assert_eq!(run["results"][0]["ruleId"], "exposure.git");
        assert_eq!(run["results"][0]["level"], "error");
        assert_eq!(
            run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "http://127.0.0.1:1/.git/config"
        );
        assert_eq!(run["invocations"][0]["executionSuccessful"], false);
        assert_eq!(
            run["invocations"][0]["toolExecutionNotifications"][0]["associatedRule"]["id"],
            "tls.certificate"
        );
    }
}
