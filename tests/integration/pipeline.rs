//! The four-stage pipeline end to end through the binary, against the sample system
//! on loopback (issue 2).

use crate::support::{
    decide, quick_traffic, run, run_stage, stage_cmd_in, stagegate, text, Project, Sample, SYSTEM,
};
use std::process::Stdio;

fn status_json(project: &Project) -> serde_json::Value {
    let out = run(stagegate(project.root()).args(["status", "--output", "json"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    serde_json::from_slice(&out.stdout).expect("status JSON")
}

fn stage_state(project: &Project, release: &str, stage: &str) -> String {
    let status = status_json(project);
    let release = status["releases"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["release"] == release))
        .cloned()
        .unwrap_or_default();
    release["stages"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["stage"] == stage))
        .map(|s| s["state"].as_str().unwrap_or_default().to_string())
        .unwrap_or_else(|| "not-run".into())
}

/// A project whose test environment is `sample`, with trial-test shortened.
pub(crate) fn trial_project(sample: &Sample) -> Project {
    let project = Project::new(&sample.url, "http://127.0.0.1:9");
    quick_traffic(&project, "trial-test", 3, "2s");
    quick_traffic(&project, "real-test", 3, "2s");
    project
}

#[test]
fn a_clean_release_passes_stage_one_and_is_promoted_by_an_approver() {
    let sample = Sample::start(&[]);
    let project = trial_project(&sample);
    let out = run_stage(&project, "1.0.0", "trial-test", "qa.an");
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("gate PASSED"), "{all}");
    assert_eq!(
        stage_state(&project, "1.0.0", "trial-test"),
        "awaiting-approval"
    );

    let summary_path =
        project.path(".stagegate/runs/dichvucong/1.0.0/trial-test/run-1/summary.json");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary_path).expect("summary.json"))
            .expect("JSON");
    assert_eq!(summary["format"], "stagegate.run-summary/v1");
    assert_eq!(summary["state"], "passed");
    assert_eq!(summary["version_seen"], "1.0.0");
    assert!(
        summary["measurements"]["requests"].as_u64().unwrap_or(0) > 10,
        "{summary}"
    );

    let approve = decide(&project, "approve", "1.0.0", "trial-test", "rm.binh");
    assert_eq!(approve.status.code(), Some(0), "{}", text(&approve));
    assert!(text(&approve).contains("PROMOTED"));
    assert_eq!(stage_state(&project, "1.0.0", "trial-test"), "promoted");
}

#[test]
fn a_stage_out_of_order_is_refused_before_any_traffic() {
    let sample = Sample::start(&[]);
    let project = trial_project(&sample);
    let out = run_stage(&project, "1.0.0", "real-test", "qa.an");
    let all = text(&out);
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(
        all.contains("previous stage `trial-test` has not run"),
        "{all}"
    );

    // Passed but not approved is still not enough.
    assert_eq!(
        run_stage(&project, "1.0.0", "trial-test", "qa.an")
            .status
            .code(),
        Some(0)
    );
    let out = run_stage(&project, "1.0.0", "real-test", "qa.an");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("passed but is not approved yet"),
        "{}",
        text(&out)
    );
}

#[test]
fn self_approval_is_refused_and_a_failed_stage_cannot_be_approved() {
    let sample = Sample::start(&[]);
    let project = trial_project(&sample);
    project.edit(
        "scenarios/dichvucong/rollout.toml",
        "approval = { approvers = 1, roles = [\"release-manager\"] }",
        "approval = { approvers = 1 }",
    );
    assert_eq!(
        decide(&project, "approve", "1.0.0", "trial-test", "rm.binh")
            .status
            .code(),
        Some(3),
        "nothing has run yet"
    );
    assert_eq!(
        run_stage(&project, "1.0.0", "trial-test", "qa.an")
            .status
            .code(),
        Some(0)
    );
    // Self-approval is judged by key: qa.an's own key, even where the plan lets anyone in
    // the roster approve, cannot approve qa.an's run.
    let own = decide(&project, "approve", "1.0.0", "trial-test", "qa.an");
    assert_eq!(own.status.code(), Some(3), "{}", text(&own));
    assert!(
        text(&own).contains("qa.an ran stage `trial-test`"),
        "{}",
        text(&own)
    );
    assert_eq!(
        stage_state(&project, "1.0.0", "trial-test"),
        "awaiting-approval"
    );

    // A rejected run cannot then be approved by someone else.
    assert_eq!(
        decide(&project, "reject", "1.0.0", "trial-test", "rm.binh")
            .status
            .code(),
        Some(0)
    );
    let after = decide(&project, "approve", "1.0.0", "trial-test", "rm.cuong");
    assert_eq!(after.status.code(), Some(3), "{}", text(&after));
    assert!(text(&after).contains("was rejected by rm.binh"));
}

#[test]
fn two_required_approvers_must_be_two_distinct_people() {
    let sample = Sample::start(&[]);
    let project = trial_project(&sample);
    project.edit(
        "scenarios/dichvucong/rollout.toml",
        "approval = { approvers = 1, roles = [\"release-manager\"] }",
        "approval = { approvers = 2, roles = [\"release-manager\"] }",
    );
    assert_eq!(
        run_stage(&project, "1.0.0", "trial-test", "qa.an")
            .status
            .code(),
        Some(0)
    );
    let first = decide(&project, "approve", "1.0.0", "trial-test", "rm.binh");
    assert_eq!(first.status.code(), Some(0));
    assert!(text(&first).contains("1/2 approvals"), "{}", text(&first));
    let again = decide(&project, "approve", "1.0.0", "trial-test", "rm.binh");
    assert_eq!(again.status.code(), Some(3));
    assert!(text(&again).contains("distinct people"), "{}", text(&again));
    assert_eq!(
        stage_state(&project, "1.0.0", "trial-test"),
        "awaiting-approval"
    );
    let second = decide(&project, "approve", "1.0.0", "trial-test", "rm.cuong");
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    assert!(text(&second).contains("PROMOTED"));
}

#[test]
fn a_latency_regression_fails_the_gate_naming_the_criterion() {
    let _alone = crate::support::timing_guard();
    let fast = Sample::start(&[]);
    let project = trial_project(&fast);
    project.edit(
        "scenarios/dichvucong/rollout.toml",
        "{ metric = \"latency-p95\", pass = \"< 1s\", warn = \"< 250ms\" },",
        "{ metric = \"latency-p95\", pass = \"< 1s\", warn = \"< 250ms\" },\n  { metric = \"latency-p95\", max-regression = \"50%\" },",
    );
    let first = run_stage(&project, "1.0.0", "trial-test", "qa.an");
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    assert!(
        text(&first).contains("no baseline"),
        "the first release has nothing to compare with\n{}",
        text(&first)
    );

    // Release 1.1.0 is deployed with 300 ms more latency on every API call.
    drop(fast);
    let slow = Sample::start(&["--release", "1.1.0", "--latency-ms", "300"]);
    project.edit("environments/test.toml", &url_of(&project), &slow.url);
    let out = run_stage(&project, "1.1.0", "trial-test", "qa.an");
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("gate FAILED"), "{all}");
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            project.path(".stagegate/runs/dichvucong/1.1.0/trial-test/run-2/summary.json"),
        )
        .expect("summary"),
    )
    .expect("JSON");
    let failed: Vec<&serde_json::Value> = summary["verdict"]["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["status"] == "fail")
        .collect();
    assert_eq!(failed.len(), 1, "{summary}");
    assert_eq!(failed[0]["metric"], "latency-p95");
    // A trial run has too few requests to measure a p95 (issue 13): the statistical
    // judge says inconclusive, which fails the gate as surely, and says what would settle
    // it; with enough requests it says regressed (tests/integration/verdict.rs).
    let reason = failed[0]["reason"].as_str().unwrap_or_default();
    assert!(
        (reason.starts_with("regression: latency-p95 is ")
            || reason.starts_with("inconclusive: latency-p95 is "))
            && reason.contains("in 1.0.0"),
        "{reason}"
    );
    // Approving a failed stage is refused.
    assert_eq!(
        decide(&project, "approve", "1.1.0", "trial-test", "rm.binh")
            .status
            .code(),
        Some(3)
    );
}

fn url_of(project: &Project) -> String {
    let text = std::fs::read_to_string(project.path("environments/test.toml")).expect("env");
    let start = text.find("base-url = \"").expect("base-url") + 12;
    text[start..start + text[start..].find('"').expect("quote")].to_string()
}

#[test]
fn a_run_against_a_dead_port_fails_and_never_passes() {
    // A port nothing listens on, and nothing else in the test run can take.
    let port = crate::support::reserved_port();
    let project = Project::new(&format!("http://127.0.0.1:{port}"), "http://127.0.0.1:9");
    quick_traffic(&project, "trial-test", 2, "1s");
    let out = run_stage(&project, "1.0.0", "trial-test", "qa.an");
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("gate FAILED")
            && all.contains("no data")
            && all.contains("connection refused"),
        "{all}"
    );
    assert_every_criterion_failed(&project, 1, &all);
    assert_eq!(stage_state(&project, "1.0.0", "trial-test"), "failed");

    // Without a version endpoint the load itself meets the dead port: still no pass.
    project.edit("environments/test.toml", "[version-endpoint]", "[unused]");
    project.edit(
        "environments/test.toml",
        "[unused]\npath = \"/api/phien-ban\"\njson-pointer = \"/version\"\n",
        "",
    );
    let out = run_stage(&project, "1.0.0", "trial-test", "qa.an");
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("no data: no request succeeded (connection refused"),
        "{all}"
    );
    assert_every_criterion_failed(&project, 2, &all);
}

fn assert_every_criterion_failed(project: &Project, run: u32, output: &str) {
    let path = project.path(&format!(
        ".stagegate/runs/dichvucong/1.0.0/trial-test/run-{run}/summary.json"
    ));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("summary")).expect("JSON");
    let results = summary["verdict"]["results"].as_array().expect("results");
    assert!(!results.is_empty());
    for r in results {
        assert_eq!(
            r["status"], "fail",
            "no criterion may pass without data: {r}\n{output}"
        );
    }
}

#[test]
fn a_target_serving_another_release_is_refused_and_recorded() {
    let sample = Sample::start(&["--release", "0.9.0"]);
    let project = trial_project(&sample);
    let out = run_stage(&project, "1.0.0", "trial-test", "qa.an");
    let all = text(&out);
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(all.contains("serves release 0.9.0, not 1.0.0"), "{all}");
    let history = run(stagegate(project.root()).args([
        "history",
        SYSTEM,
        "--release",
        "1.0.0",
        "--output",
        "json",
    ]));
    let events: serde_json::Value = serde_json::from_slice(&history.stdout).expect("history JSON");
    let aborted = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["kind"] == "run-aborted")
        .expect("aborted event");
    // Issue 15: a versioned shape, and the payload is an object, not a JSON string.
    assert_eq!(events["schema"], "stagegate.history/v1");
    assert!(aborted["payload"].is_object(), "{aborted}");
    assert_eq!(aborted["payload"]["version_seen"], "0.9.0");
}

#[test]
fn a_plan_that_breaks_production_limits_is_refused() {
    let project = Project::new("http://127.0.0.1:9", "http://127.0.0.1:9");
    project.edit(
        "scenarios/dichvucong/rollout.toml",
        "suites = [\"giam-sat-tong-hop\", \"bao-mat-co-ban\"]\ntraffic = { users = 2, ramp-up = \"1s\", duration = \"4s\", max-rps = 20 }",
        "suites = [\"giam-sat-tong-hop\", \"bao-mat-xam-nhap\"]\ntraffic = { users = 2, ramp-up = \"1s\", duration = \"4s\", max-rps = 80 }",
    );
    let out = run(stagegate(project.root()).args([
        "plan",
        SYSTEM,
        "--release",
        "1.0.0",
        "--stage",
        "trial-production",
    ]));
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("suite `bao-mat-xam-nhap` is tagged `intrusive`, which environment `production` forbids"), "{all}");
    assert!(all.contains("80 requests/s exceed `max-rps = 50`"), "{all}");
    // The test stages are still fine to plan.
    let ok = run(stagegate(project.root()).args([
        "plan",
        SYSTEM,
        "--release",
        "1.0.0",
        "--stage",
        "real-test",
    ]));
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    assert!(text(&ok).contains("bao-mat-xam-nhap (security) [intrusive]"));
}

#[test]
fn a_production_run_without_its_secret_is_refused_before_anything_runs() {
    let project = Project::new("http://127.0.0.1:9", "http://127.0.0.1:9");
    let out = run(stagegate(project.root())
        .env_remove("DVC_PROD_API_KEY")
        .args([
            "run",
            SYSTEM,
            "--release",
            "1.0.0",
            "--stage",
            "trial-production",
            "--as",
            "qa.an",
            "--key",
            &crate::support::key_in(project.root(), "qa.an"),
        ]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("$DVC_PROD_API_KEY"), "{}", text(&out));
}

#[test]
fn eight_racing_approvals_make_exactly_one_promotion() {
    let sample = Sample::start(&[]);
    let project = trial_project(&sample);
    assert_eq!(
        run_stage(&project, "1.0.0", "trial-test", "qa.an")
            .status
            .code(),
        Some(0)
    );
    let children: Vec<std::process::Child> = (0..8)
        .map(|i| {
            stagegate(project.root())
                .args([
                    "approve",
                    SYSTEM,
                    "--release",
                    "1.0.0",
                    "--stage",
                    "trial-test",
                    "--as",
                    &format!("rm.{i}"),
                    "--key",
                    &crate::support::key_in(project.root(), &format!("rm.{i}")),
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn approve")
        })
        .collect();
    let outputs: Vec<std::process::Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait"))
        .collect();
    let promoted = outputs
        .iter()
        .filter(|o| o.status.code() == Some(0))
        .count();
    let refused = outputs
        .iter()
        .filter(|o| o.status.code() == Some(3) && text(o).contains("already promoted"))
        .count();
    assert_eq!(
        (promoted, refused),
        (1, 7),
        "{:?}",
        outputs.iter().map(text).collect::<Vec<_>>()
    );
    let ledger = stagegate::ledger::Ledger::open(&project.ledger().into()).expect("ledger");
    assert_eq!(
        ledger.promotions(Some(SYSTEM)).expect("promotions").len(),
        1
    );
    assert!(ledger.verify().expect("verify").is_ok());
}

#[test]
fn a_run_whose_process_died_is_marked_aborted_and_never_counts_as_passed() {
    let sample = Sample::start(&[]);
    let project = trial_project(&sample);
    quick_traffic(&project, "trial-test", 2, "60s");
    let mut child = stage_cmd_in(project.root(), "1.0.0", "trial-test", "qa.an")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn run");
    // Wait until the ledger shows the run in progress, then kill the process outright.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    // `status` refuses a missing ledger (issue 15): wait for the run to make it first.
    while !project.ledger().is_file() || stage_state(&project, "1.0.0", "trial-test") != "running" {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child.kill().expect("kill");
    let _ = child.wait();
    assert_eq!(stage_state(&project, "1.0.0", "trial-test"), "aborted");
    let approve = decide(&project, "approve", "1.0.0", "trial-test", "rm.binh");
    assert_eq!(approve.status.code(), Some(3), "{}", text(&approve));
    assert!(text(&approve).contains("aborted"), "{}", text(&approve));
    // Issue 11: the approve command recorded the dead run as aborted itself, signed by
    // its own signer, and the event says the tool recorded it.
    let history = run(stagegate(project.root()).args([
        "history",
        SYSTEM,
        "--release",
        "1.0.0",
        "--output",
        "json",
    ]));
    let history: serde_json::Value = serde_json::from_slice(&history.stdout).expect("JSON");
    let aborted = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["kind"] == "run-aborted")
        .expect("run-aborted event");
    assert_eq!(aborted["actor"], "rm.binh", "{aborted}");
    assert!(
        aborted["statement"]
            .as_str()
            .is_some_and(|s| s.contains("\"recorded-by-tool\":true")),
        "{aborted}"
    );
    let verify = run(stagegate(project.root()).args(["ledger", "verify"]));
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify));
}

#[test]
fn changed_files_after_a_run_block_its_approval() {
    let sample = Sample::start(&[]);
    let project = trial_project(&sample);
    assert_eq!(
        run_stage(&project, "1.0.0", "trial-test", "qa.an")
            .status
            .code(),
        Some(0)
    );
    project.edit(
        "scenarios/dichvucong/rollout.toml",
        "{ metric = \"error-rate\", pass = \"< 1%\" },",
        "{ metric = \"error-rate\", pass = \"< 50%\" },",
    );
    let out = decide(&project, "approve", "1.0.0", "trial-test", "rm.binh");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("changed since run #1"),
        "{}",
        text(&out)
    );
}
