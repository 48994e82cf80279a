//! The ad-hoc `scan` command against the sample (issues 4 and 14): the passive profile
//! sends only GET/HEAD/OPTIONS within its stated bound, counted at the server with the
//! crawl on; the clean portal's one real finding and honest "not applicable"; exit
//! codes on bad arguments.

use crate::support::{run, stagegate_bin, text, Sample};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::process::Command;

/// A plain HTTP/1.1 GET on loopback, body returned.
pub(crate) fn http_get(base: &str, path: &str) -> String {
    let host = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}

/// Requests the sample served, by method, from its own metrics.
pub(crate) fn served_by_method(base: &str) -> BTreeMap<String, u64> {
    let metrics = http_get(base, "/metrics");
    metrics
        .lines()
        .filter_map(|l| l.strip_prefix("sample_http_requests_by_method_total{method=\""))
        .filter_map(|rest| {
            let (method, value) = rest.split_once("\"} ")?;
            Some((method.to_string(), value.trim().parse::<f64>().ok()? as u64))
        })
        .collect()
}

/// The bound the README states for `scan --profile passive`.
const PASSIVE_BOUND: u64 = stagegate::security::catalogue::PASSIVE_BOUND as u64;

#[test]
fn passive_scan_sends_only_get_head_options_within_its_bound() {
    let flaws = [
        "exposed-git",
        "cors-api",
        "open-redirect",
        "trace-enabled",
        "verbose-errors",
        "directory-listing",
    ];
    let args: Vec<&str> = flaws.iter().flat_map(|f| ["--flaw", *f]).collect();
    let sample = Sample::start(&args);
    let out = run(Command::new(stagegate_bin()).args([
        "scan",
        &sample.url,
        "--profile",
        "passive",
        "--output",
        "json",
    ]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    let git = report["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|x| x["check"] == "exposure.git"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(git["severity"], "high", "{report:#}");
    assert_eq!(git["url"], format!("{}/.git/config", sample.url));
    assert!(git["evidence"]
        .as_str()
        .is_some_and(|e| e.starts_with("GET ") && e.contains("repositoryformatversion")));
    let checks: Vec<&str> = report["findings"]
        .as_array()
        .map(|f| f.iter().filter_map(|x| x["check"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        !checks.contains(&"method.trace") && !checks.contains(&"disclosure.verbose-errors"),
        "{checks:?}"
    );
    // The crawl is on: CORS judged on an API path linked from the home page, an open
    // redirect on a parameter found there, a listing of a folder only a link names.
    let found_at = |check: &str| -> Vec<String> {
        report["findings"]
            .as_array()
            .map(|f| {
                f.iter()
                    .filter(|x| x["check"] == check)
                    .filter_map(|x| x["url"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        found_at("cors.origin-reflection"),
        [format!("{}/api/thu-tuc?q=khai+sinh", sample.url)],
        "{report:#}"
    );
    assert!(
        found_at("redirect.open")
            .iter()
            .all(|u| u.starts_with(&format!("{}/chuyen-tiep?url=https", sample.url)))
            && found_at("redirect.open").len() == 1,
        "{report:#}"
    );
    assert!(
        found_at("exposure.directory-listing").contains(&format!("{}/tai-lieu/", sample.url)),
        "{report:#}"
    );

    let served = served_by_method(&sample.url);
    let total: u64 = served.values().sum();
    let unsafe_methods: u64 = served
        .iter()
        .filter(|(m, _)| !matches!(m.as_str(), "GET" | "HEAD" | "OPTIONS"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(unsafe_methods, 0, "passive scan sent {served:?}");
    assert!(
        total <= PASSIVE_BOUND,
        "passive scan sent {total} requests, bound {PASSIVE_BOUND}"
    );
    assert!(total >= 10, "the scan did its work: {served:?}");
    assert_eq!(
        report["requests"].as_u64(),
        Some(total),
        "the scanner's own count agrees with the server's"
    );

    // The same server counts the other methods when the full profile sends them.
    let out = run(Command::new(stagegate_bin()).args(["scan", &sample.url, "--profile", "full"]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let served = served_by_method(&sample.url);
    assert!(
        served.get("TRACE").copied().unwrap_or(0) >= 1
            && served.get("POST").copied().unwrap_or(0) >= 1,
        "{served:?}"
    );
}

#[test]
fn scan_exit_codes_clean_and_bad_arguments() {
    let sample = Sample::start(&[]);
    // The sample serves its Prometheus metrics at /metrics for its own scraper: scanned,
    // that is the one real finding of the clean portal (low), named at its URL.
    let out = run(Command::new(stagegate_bin()).args(["scan", &sample.url, "--output", "json"]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    let above_info: Vec<(&str, &str, &str)> = report["findings"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter(|x| x["severity"] != "info")
                .map(|x| {
                    (
                        x["check"].as_str().unwrap_or(""),
                        x["severity"].as_str().unwrap_or(""),
                        x["url"].as_str().unwrap_or(""),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let metrics_url = format!("{}/metrics", sample.url);
    assert_eq!(
        above_info,
        [("status.prometheus-metrics", "low", metrics_url.as_str())],
        "{report:#}"
    );
    // Declared out of scope, as a suite would, the clean portal shows nothing above info.
    let out = run(Command::new(stagegate_bin()).args([
        "scan",
        &sample.url,
        "--out-of-scope",
        "/metrics",
        "--output",
        "json",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    let severities: Vec<&str> = report["findings"]
        .as_array()
        .map(|f| f.iter().filter_map(|x| x["severity"].as_str()).collect())
        .unwrap_or_default();
    assert!(severities.iter().all(|s| *s == "info"), "{report:#}");
    // Checks whose precondition is absent say so, not "ran, 0 findings".
    let status_of = |id: &str| {
        report["checks"]
            .as_array()
            .and_then(|c| c.iter().find(|x| x["check"] == id))
            .map(|x| x["status"]["status"].as_str().unwrap_or("").to_string())
            .unwrap_or_default()
    };
    for id in ["tls.certificate", "header.hsts", "content.mixed"] {
        assert_eq!(status_of(id), "not-applicable", "{id}: {report:#}");
    }
    assert_eq!(status_of("header.cookie-flags"), "ran");
    for bad in ["ftp://127.0.0.1/", "khong-phai-url", "http://"] {
        let out = run(Command::new(stagegate_bin()).args(["scan", bad]));
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", text(&out));
    }
    let out =
        run(Command::new(stagegate_bin()).args(["scan", &sample.url, "--profile", "aggressive"]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

/// Validates a JSON document against a JSON Schema (Draft 4) with Python's `jsonschema`,
/// an implementation independent of stagegate; gives the errors, one a line.
fn schema_errors(schema: &std::path::Path, document: &serde_json::Value) -> String {
    let script = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1], encoding="utf-8"))
doc = json.load(open(sys.argv[2], encoding="utf-8"))
jsonschema.Draft4Validator.check_schema(schema)
validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.path))):
    print("/".join(map(str, e.path)) + ": " + e.message)
"#;
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), document.to_string()).expect("write");
    let python = ["/usr/bin/python3", "python3"]
        .into_iter()
        .find(|p| {
            Command::new(p)
                .args(["-c", "import jsonschema"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("a python3 with jsonschema (hint: scripts/test installs the Debian package `python3-jsonschema`)");
    let out = Command::new(python)
        .args(["-c", script])
        .arg(schema)
        .arg(file.path())
        .output()
        .expect("python runs");
    assert!(out.status.success(), "validator failed: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn scan_writes_sarif_that_the_official_schema_accepts() {
    let sample = Sample::start(&["--flaw", "exposed-git", "--flaw", "werkzeug-debugger"]);
    let out = run(Command::new(stagegate_bin()).args([
        "scan",
        &sample.url,
        "--out-of-scope",
        "/metrics",
        "--output",
        "sarif",
    ]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let log: serde_json::Value = serde_json::from_slice(&out.stdout).expect("SARIF is JSON");
    let schema = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sarif/sarif-schema-2.1.0.json");
    let errors = schema_errors(&schema, &log);
    assert!(errors.is_empty(), "SARIF 2.1.0 schema errors:\n{errors}");

    let run0 = &log["runs"][0];
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(run0["tool"]["driver"]["name"], "stagegate");
    let results = run0["results"].as_array().cloned().unwrap_or_default();
    let git = results
        .iter()
        .find(|r| r["ruleId"] == "exposure.git")
        .expect("the exposed .git is a result");
    assert_eq!(git["level"], "error");
    assert_eq!(
        git["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        format!("{}/.git/config", sample.url)
    );
    let debugger = results
        .iter()
        .find(|r| r["ruleId"] == "debug.werkzeug")
        .expect("the debugger is a result");
    let rules = run0["tool"]["driver"]["rules"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let rule = &rules[debugger["ruleIndex"].as_u64().unwrap_or(0) as usize];
    assert_eq!(rule["id"], "debug.werkzeug");
    assert_eq!(rule["properties"]["security-severity"], "9.5");
    assert!(rule["properties"]["tags"]
        .as_array()
        .is_some_and(|t| t.iter().any(|x| x == "external/cwe/cwe-489")));

    // The validator is not a rubber stamp: a level SARIF does not know is refused.
    let mut broken = log.clone();
    broken["runs"][0]["results"][0]["level"] = serde_json::json!("fatal");
    assert!(
        schema_errors(&schema, &broken).contains("level"),
        "the schema must refuse an unknown level"
    );
}

#[test]
fn every_run_with_security_checks_writes_findings_sarif_next_to_its_reports() {
    let trial = crate::reports::TrialRun::start(&["--flaw", "exposed-git"]);
    assert_eq!(trial.code, 1, "an exposed .git fails the trial-test gate");
    let path = trial.report_dir().join("findings.sarif");
    let log: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("findings.sarif written"))
            .expect("SARIF is JSON");
    let schema = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sarif/sarif-schema-2.1.0.json");
    let errors = schema_errors(&schema, &log);
    assert!(errors.is_empty(), "SARIF 2.1.0 schema errors:\n{errors}");
    // The same findings as summary.json, each a result of its check's rule.
    let summary = trial.summary();
    let mut in_summary: Vec<(String, String)> = summary["findings"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|f| (f["check"].to_string(), f["url"].to_string()))
        .collect();
    let mut in_sarif: Vec<(String, String)> = log["runs"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                r["ruleId"].to_string(),
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].to_string(),
            )
        })
        .collect();
    in_summary.sort();
    in_sarif.sort();
    assert!(!in_sarif.is_empty());
    assert_eq!(in_sarif, in_summary);
    assert_eq!(log["runs"][0]["properties"]["stage"], "trial-test");
}

#[test]
fn issue_15_scan_shows_progress_on_stderr_and_keeps_its_result_whole_on_stdout() {
    use std::sync::atomic::{AtomicBool, Ordering};
    // The start page answers after 6 s: longer than the plain progress interval (5 s),
    // shorter than the scanner's 10 s timeout, so one "still running" line must appear
    // however loaded the machine is.
    let slow = AtomicBool::new(true);
    let server = crate::counting_server::Counter::start(move |seen| {
        if seen.path == "/" && slow.swap(false, Ordering::SeqCst) {
            std::thread::sleep(std::time::Duration::from_secs(6));
        }
        (200, vec![], "{}".into())
    });
    let out = run(Command::new(stagegate_bin()).args(["scan", &server.url, "--output", "json"]));
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("  suite scan-passive (security) ..."),
        "{stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("    scan-passive:")
                && l.ends_with("s  checks and probes running")),
        "no plain progress line: {stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("  suite scan-passive: ") && l.contains(" checks, ")),
        "{stderr}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("standard output is one JSON object");
    assert_eq!(json["schema"], "stagegate.scan/v1", "{json:#}");

    // `--quiet`: no progress; the SARIF log alone on standard output.
    let out =
        run(Command::new(stagegate_bin()).args(["-q", "scan", &server.url, "--output", "sarif"]));
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("scan-passive"), "{stderr}");
    let sarif: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("standard output is the SARIF log");
    assert_eq!(sarif["version"], "2.1.0", "{sarif:#}");
}
