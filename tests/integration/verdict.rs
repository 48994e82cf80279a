//! The gate judges everything a stage ran (issue 13): security findings of high and
//! critical severity fail a stage whose gate has no security criterion, unless an
//! unexpired acceptance covers them.

use crate::support::{quick_traffic, run, stagegate, text, Project, Sample};
use std::process::Output;

const ROLLOUT: &str = "scenarios/dichvucong/rollout.toml";
const SECURITY_CRITERIA: &str = "  { metric = \"security-high\", pass = \"== 0\" },\n  { metric = \"security-critical\", pass = \"== 0\" },\n]\napproval = { approvers = 1, roles = [\"release-manager\"] }\n\n# 2.";

/// A project whose trial-test stage runs the security suite with no security criterion,
/// against a sample exposing its `.env` (a critical finding), plus `accept` lines.
fn project_without_security_criteria(sample: &Sample, accept: &str) -> Project {
    let project = Project::new(&sample.url, &sample.url);
    quick_traffic(&project, "trial-test", 2, "1s");
    project.edit(
        ROLLOUT,
        SECURITY_CRITERIA,
        &format!(
            "]\n{accept}approval = {{ approvers = 1, roles = [\"release-manager\"] }}\n\n# 2."
        ),
    );
    project
}

fn run_trial(project: &Project) -> Output {
    run(stagegate(project.root()).args([
        "run",
        "dichvucong",
        "--release",
        "1.0.0",
        "--stage",
        "trial-test",
        "--as",
        "qa.nguyen",
        "--key",
        &crate::support::key_in(project.root(), "qa.nguyen"),
    ]))
}

fn summary(project: &Project) -> serde_json::Value {
    let path = project.path(".stagegate/runs/dichvucong/1.0.0/trial-test/run-1/summary.json");
    serde_json::from_slice(&std::fs::read(path).expect("summary.json")).expect("json")
}

fn accept_line(expires: chrono::NaiveDate) -> String {
    format!(
        "gate.accept = [{{ check = \"exposure.env\", reason = \"the file holds only dummy values on this test host\", by = \"Trần Thị Bình\", expires = \"{expires}\" }}]\n"
    )
}

#[test]
fn a_critical_finding_fails_a_gate_without_security_criteria_unless_accepted_until_it_expires() {
    let sample = Sample::start(&["--flaw", "exposed-env"]);

    // No criterion, no acceptance: the critical finding fails the gate, and plan says so.
    let project = project_without_security_criteria(&sample, "");
    let plan = run(stagegate(project.root()).args([
        "plan",
        "dichvucong",
        "--release",
        "1.0.0",
        "--stage",
        "trial-test",
    ]));
    assert!(
        text(&plan).contains("security-critical == 0 (implied: the stage ran a security suite)"),
        "{}",
        text(&plan)
    );
    let validate = run(stagegate(project.root()).arg("validate"));
    assert!(
        text(&validate).contains("no security criterion"),
        "{}",
        text(&validate)
    );
    let out = run_trial(&project);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let s = summary(&project);
    let failed: Vec<&serde_json::Value> = s["verdict"]["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["status"] == "fail")
        .collect();
    assert_eq!(failed.len(), 1, "{s:#}");
    let reason = failed[0]["reason"].as_str().expect("reason");
    assert!(
        reason.contains("unaccepted critical finding") && reason.contains("exposure.env"),
        "{reason}"
    );

    // Accepted until a day ahead: passes, and the acceptance is in the verdict.
    let today = chrono::Utc::now().date_naive();
    let project =
        project_without_security_criteria(&sample, &accept_line(today + chrono::Days::new(30)));
    let plan = run(stagegate(project.root()).args([
        "plan",
        "dichvucong",
        "--release",
        "1.0.0",
        "--stage",
        "trial-test",
    ]));
    assert!(
        text(&plan).contains("accepted     exposure.env accepted by Trần Thị Bình"),
        "{}",
        text(&plan)
    );
    let out = run_trial(&project);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let s = summary(&project);
    let uses = &s["verdict"]["acceptances"];
    assert_eq!(uses[0]["findings"], 1, "{s:#}");
    assert_eq!(uses[0]["expired"], false, "{s:#}");

    // Expired yesterday: it no longer applies and the gate fails again.
    let project =
        project_without_security_criteria(&sample, &accept_line(today - chrono::Days::new(1)));
    let out = run_trial(&project);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let s = summary(&project);
    assert_eq!(s["verdict"]["acceptances"][0]["expired"], true, "{s:#}");
}

#[test]
fn an_acceptance_without_reason_or_with_a_bad_date_is_refused_at_its_text() {
    let sample = Sample::start(&[]);
    let project = project_without_security_criteria(
        &sample,
        "gate.accept = [{ check = \"exposure.env\", reason = \" \", by = \"An\", expires = \"31/12/2026\" }]\n",
    );
    let out = run(stagegate(project.root()).arg("validate"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("needs a written `reason`"), "{t}");
    assert!(t.contains("bad expiry date `31/12/2026`"), "{t}");
    assert!(t.contains("rollout.toml:"), "{t}");
}

/// A server that answers at once, except that it freezes for the last second of every
/// five: a request arriving then waits until the freeze ends.
fn freezing_server() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let started = std::time::Instant::now();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut buf = [0u8; 4096];
                let mut pending = Vec::new();
                loop {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => pending.extend_from_slice(&buf[..n]),
                    }
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        pending.drain(..end + 4);
                        let phase = started.elapsed().as_millis() % 5000;
                        if phase >= 4000 {
                            std::thread::sleep(std::time::Duration::from_millis(
                                (5000 - phase) as u64,
                            ));
                        }
                        if stream
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                            .is_err()
                        {
                            return;
                        }
                    }
                }
            });
        }
    });
    format!("http://{addr}/")
}

#[test]
fn a_server_freezing_one_second_in_five_shows_its_stalls_and_a_corrected_tail() {
    let _alone = crate::support::timing_guard();
    let url = freezing_server();
    let out = run(
        std::process::Command::new(crate::support::stagegate_bin()).args([
            "load",
            &url,
            "--users",
            "10",
            "--duration",
            "7s",
            "--output",
            "json",
        ]),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let corrected = json["latency_ms"]["p99"].as_f64().expect("p99");
    let raw = json["latency_ms_uncorrected"]["p99"]
        .as_f64()
        .expect("raw p99");
    // The gate judges `latency_ms`: `latency-p99 < 500ms` fails on the corrected figure.
    assert!(corrected >= 500.0, "corrected p99 {corrected}: {json:#}");
    assert!(raw < corrected, "raw {raw} corrected {corrected}");
    let stalls = json["stalls"].as_array().expect("stalls");
    assert!(
        stalls
            .iter()
            .any(|s| s["duration_ms"].as_f64() > Some(500.0) && s["waiting"].as_u64() >= Some(2)),
        "{json:#}"
    );
}
