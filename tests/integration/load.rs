//! Load scenarios on goose through the binary: journeys with extraction, checks,
//! feeders, caps, abort on breach, accuracy and the ad-hoc `load` command (issue 3).

use crate::support::{
    quick_traffic, run, stage_cmd_in, stagegate, stagegate_bin, text, Project, Sample,
};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

const SYSTEM: &str = "dichvucong";

fn summary(project: &Project, release: &str, stage: &str, run_id: u32) -> serde_json::Value {
    let path = project.path(&format!(
        ".stagegate/runs/dichvucong/{release}/{stage}/run-{run_id}/summary.json"
    ));
    serde_json::from_str(&std::fs::read_to_string(path).expect("summary")).expect("JSON")
}

/// trial-test with only the load suite, on `sample`.
fn load_only_project(sample: &Sample, users: u32, duration: &str) -> Project {
    let project = Project::new(&sample.url, "http://127.0.0.1:9");
    quick_traffic(&project, "trial-test", users, duration);
    project.edit(
        "scenarios/dichvucong/rollout.toml",
        "suites = [\"tra-cuu-va-nop-ho-so\", \"bao-mat-co-ban\"]\ntraffic = { users = ",
        "suites = [\"tra-cuu-va-nop-ho-so\"]\ntraffic = { users = ",
    );
    project.edit("scenarios/dichvucong/rollout.toml", "  { metric = \"security-high\", pass = \"== 0\" },\n  { metric = \"security-critical\", pass = \"== 0\" },\n]\napproval = { approvers = 1, roles = [\"release-manager\"] }\n\n# 2.", "]\napproval = { approvers = 1, roles = [\"release-manager\"] }\n\n# 2.");
    project
}

fn run_trial(project: &Project) -> std::process::Output {
    run(&mut stage_cmd_in(
        project.root(),
        "1.0.0",
        "trial-test",
        "qa.an",
    ))
}

#[test]
fn a_journey_with_extraction_passes_and_feeder_names_arrive_byte_exact() {
    let sample = Sample::start(&[]);
    let project = load_only_project(&sample, 4, "3s");
    let out = run_trial(&project);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let s = summary(&project, "1.0.0", "trial-test", 1);
    let m = &s["measurements"];
    assert_eq!(m["check_failures"], 0, "{m}");
    assert_eq!(m["errors"], 0, "{m}");
    // Every step of the journey ran: the status read used the id the submission returned.
    let tx: Vec<&str> = m["transactions"]
        .as_array()
        .expect("tx")
        .iter()
        .map(|t| t["name"].as_str().unwrap_or(""))
        .collect();
    assert!(
        tx.contains(&"tra-cuu-va-nop-ho-so/nop-ho-so")
            && tx.contains(&"tra-cuu-va-nop-ho-so/tra-cuu-thu-tuc"),
        "{tx:?}"
    );

    let names: Vec<String> = reqwest_get_json(&format!("{}/__mau/ten-da-nhan", sample.url));
    let csv =
        std::fs::read_to_string(project.path("scenarios/dichvucong/data/cong_dan_thu_nghiem.csv"))
            .expect("csv");
    let expected: std::collections::BTreeSet<&str> = csv
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(2))
        .collect();
    assert!(!names.is_empty(), "no dossier reached the server: {m}");
    for name in &names {
        assert!(
            expected.contains(name.as_str()),
            "`{name}` is not a name from the feeder, byte for byte"
        );
    }
    assert!(
        names.iter().any(|n| n.chars().any(|c| {
            "ăâđêôơưáàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ"
                .contains(c.to_lowercase().next().unwrap_or(c))
        })),
        "{names:?}"
    );
}

fn reqwest_get_json<T: serde::de::DeserializeOwned>(url: &str) -> T {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        reqwest::get(url)
            .await
            .expect("get")
            .json::<T>()
            .await
            .expect("json")
    })
}

#[test]
fn a_failed_check_is_counted_and_named() {
    let sample = Sample::start(&[]);
    let project = load_only_project(&sample, 2, "2s");
    project.edit(
        "scenarios/dichvucong/tra-cuu-va-nop-ho-so.toml",
        "{ kind = \"body-contains\", text = \"Đăng ký khai sinh\" }",
        "{ kind = \"body-contains\", text = \"Đăng ký khai tử\" }",
    );
    let out = run_trial(&project);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let s = summary(&project, "1.0.0", "trial-test", 1);
    let failed = s["measurements"]["failed_checks"]
        .as_object()
        .expect("failed checks");
    let key =
        "tra-cuu-va-nop-ho-so/tra-cuu-thu-tuc/tim-khai-sinh: body contains \"Đăng ký khai tử\"";
    assert!(
        failed.get(key).and_then(|v| v.as_u64()).unwrap_or(0) > 0,
        "{failed:?}"
    );
    assert!(
        s["measurements"]["errors_by_kind"]["check"]
            .as_u64()
            .unwrap_or(0)
            > 0
    );
    let result = s["verdict"]["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["metric"] == "check-failure-rate")
        .cloned()
        .expect("criterion");
    assert_eq!(result["status"], "fail");
}

#[test]
fn a_profile_above_the_environment_cap_is_refused() {
    let project = Project::new("http://127.0.0.1:9", "http://127.0.0.1:9");
    quick_traffic(&project, "real-test", 150, "10s");
    project.edit("scenarios/dichvucong/rollout.toml", "traffic = { users = 2, ramp-up = \"1s\", duration = \"4s\", max-rps = 20 }", "traffic = { profile = \"spike\", users = 40, ramp-up = \"1s\", duration = \"4s\", max-rps = 20 }");
    let out = run(stagegate(project.root()).args(["plan", SYSTEM, "--release", "1.0.0"]));
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("150 virtual users exceed `max-users = 100` of environment `test`"),
        "{all}"
    );
    assert!(
        all.contains("40 virtual users exceed `max-users = 10` of environment `production`"),
        "{all}"
    );
}

#[test]
fn a_breach_aborts_the_load_within_two_seconds_and_records_why() {
    let _alone = crate::support::timing_guard();
    let sample = Sample::start(&["--error-rate", "0.3"]);
    let project = load_only_project(&sample, 4, "30s");
    project.edit(
        "scenarios/dichvucong/rollout.toml",
        "approval = { approvers = 1, roles = [\"release-manager\"] }\n\n# 2.",
        "approval = { approvers = 1, roles = [\"release-manager\"] }\nabort = [{ metric = \"error-rate\", pass = \"< 5%\" }]\n\n# 2.",
    );
    let started = std::time::Instant::now();
    let out = run_trial(&project);
    let wall = started.elapsed();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(4), "{all}");
    assert!(all.contains("ABORTED"), "{all}");
    let s = summary(&project, "1.0.0", "trial-test", 1);
    assert_eq!(s["state"], "aborted");
    let reason = s["abort_reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("abort criterion `error-rate < 5.00%` breached"),
        "{reason}"
    );
    let value: f64 = reason
        .split("breached: ")
        .nth(1)
        .and_then(|r| r.split('%').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    assert!(
        (20.0..=40.0).contains(&value),
        "the breaching value is recorded: {reason}"
    );
    // The first second breaches; traffic must stop within 2 seconds of that.
    let load_seconds = s["measurements"]["duration_s"].as_f64().unwrap_or(f64::MAX);
    // 4 s, not 2: a loaded two-core machine running other tests may be a second late.
    assert!(
        load_seconds < 4.0,
        "load ran {load_seconds}s after a breach in its first second"
    );
    assert!(wall < Duration::from_secs(15), "{wall:?}");
    let last_second = s["measurements"]["series"]
        .as_array()
        .map_or(0, |a| a.len());
    assert!(
        last_second <= 3,
        "requests were still completing in second {last_second}"
    );
}

#[test]
fn production_stages_must_declare_abort_criteria() {
    let project = Project::new("http://127.0.0.1:9", "http://127.0.0.1:9");
    project.edit(
        "scenarios/dichvucong/rollout.toml",
        "abort = [\n  { metric = \"error-rate\", pass = \"< 5%\", for = \"2s\" },\n  { metric = \"latency-p95\", pass = \"< 2s\", for = \"2s\" },\n]\n",
        "",
    );
    let out = run(stagegate(project.root()).arg("validate"));
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("--> scenarios/dichvucong/rollout.toml:38:15")
            && all.contains("declares no abort criteria"),
        "{all}"
    );
}

/// A server answering every request after exactly `delay`, tiny and fast even unoptimised.
fn fixed_latency_server(delay: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
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
                        std::thread::sleep(delay);
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

fn adhoc(args: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let out = run(Command::new(stagegate_bin())
        .arg("load")
        .args(args)
        .args(["--output", "json"]));
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code(), json, text(&out))
}

/// The reported p50 of a server that answers in exactly 50 ms. It can never be below
/// 50 ms (a measurement that is would be wrong on any machine); above, a loaded two-core
/// machine running other tests adds scheduling delay, so the bound is loose here and the
/// accuracy itself is a figure of the benchmark (`benches/load-compare.sh`).
#[test]
fn reported_p50_of_a_fixed_50ms_server_is_never_below_it_and_close_above() {
    let _alone = crate::support::timing_guard();
    let url = fixed_latency_server(Duration::from_millis(50));
    let (code, json, all) = adhoc(&[&url, "--users", "8", "--duration", "4s"]);
    assert_eq!(code, Some(0), "{all}");
    let p50 = json["latency_ms"]["p50"].as_f64().expect("p50");
    assert!((49.5..=80.0).contains(&p50), "p50 {p50} ms\n{all}");
    for key in ["requests", "errors", "error_rate", "rps"] {
        assert!(json[key].is_number(), "{key} missing: {json}");
    }
    for key in ["p50", "p90", "p95", "p99", "max"] {
        assert!(
            json["latency_ms"][key].is_number(),
            "latency_ms.{key} missing: {json}"
        );
    }
}

#[test]
fn one_failure_in_twenty_reports_five_percent() {
    let sample = Sample::start(&["--error-rate", "0.05"]);
    let (code, json, all) = adhoc(&[
        &format!("{}/api/thu-tuc?q=sinh", sample.url),
        "--users",
        "4",
        "--duration",
        "3s",
    ]);
    assert_eq!(code, Some(0), "{all}");
    let rate = json["error_rate"].as_f64().expect("error_rate");
    assert!((rate - 0.05).abs() <= 0.01, "error rate {rate}\n{json}");
    assert!(json["requests"].as_u64().unwrap_or(0) >= 100, "{json}");
}

/// A target rate is a ceiling on any machine (the pacer never sends more than asked:
/// production's safety depends on it), and is held closely when the client has the CPU
/// for it; how closely is a figure of the benchmark, since a loaded two-core machine
/// running other tests can starve the client. The shortfall is always the one measured.
#[test]
fn a_target_rate_is_never_exceeded_and_is_held_when_the_system_keeps_up() {
    let _alone = crate::support::timing_guard();
    let url = fixed_latency_server(Duration::from_millis(5));
    let (code, json, all) = adhoc(&[&url, "--users", "30", "--duration", "5s", "--rate", "100"]);
    assert_eq!(code, Some(0), "{all}");
    let achieved = json["rate"]["achieved_rps"].as_f64().expect("achieved");
    assert!(
        (60.0..=105.0).contains(&achieved),
        "achieved {achieved}/s\n{json}"
    );
    let shortfall = json["rate"]["shortfall"].as_f64().unwrap_or(1.0);
    assert!(
        (shortfall - (1.0 - achieved / 100.0).max(0.0)).abs() < 1e-9,
        "shortfall {shortfall} for {achieved}/s\n{json}"
    );
}

#[test]
fn a_shortfall_is_reported_when_the_system_cannot_keep_up() {
    let _alone = crate::support::timing_guard();
    // 2 users at 100 ms each can do about 20 requests/s: 100/s cannot be reached.
    let url = fixed_latency_server(Duration::from_millis(100));
    let (code, json, all) = adhoc(&[&url, "--users", "2", "--duration", "3s", "--rate", "100"]);
    assert_eq!(code, Some(0), "{all}");
    let shortfall = json["rate"]["shortfall"].as_f64().expect("shortfall");
    assert!(shortfall > 0.6, "shortfall {shortfall}\n{json}");
}

#[test]
fn adhoc_load_exit_codes_follow_the_table() {
    // A port nothing listens on, and nothing else in the test run can take.
    let port = crate::support::reserved_port();
    let (code, json, all) = adhoc(&[
        &format!("http://127.0.0.1:{port}/"),
        "--users",
        "2",
        "--duration",
        "1s",
    ]);
    assert_eq!(code, Some(1), "every request failed\n{all}");
    assert_eq!(json["error_rate"], 1.0, "{json}");
    let (code, _, all) = adhoc(&["not a url"]);
    assert_eq!(code, Some(2), "{all}");
    let (code, _, all) = adhoc(&["http://127.0.0.1:9/", "--users", "0"]);
    assert_eq!(code, Some(2), "{all}");
    let (code, _, all) = adhoc(&["http://127.0.0.1:9/", "-H", "no-colon"]);
    assert_eq!(code, Some(2), "{all}");
}

#[test]
fn goose_output_never_reaches_standard_output() {
    let url = fixed_latency_server(Duration::from_millis(1));
    let out = run(Command::new(stagegate_bin()).args([
        "load",
        &url,
        "--users",
        "3",
        "--duration",
        "1s",
        "--output",
        "json",
    ]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        serde_json::from_str::<serde_json::Value>(&stdout).is_ok(),
        "stdout must be exactly the JSON summary:\n{stdout}"
    );
}

/// `stagegate run` of trial-test as a child process, writing its events to `events`.
fn spawn_run_with_events(project: &Project, events: &std::path::Path) -> std::process::Child {
    stagegate(project.root())
        .args(["run", SYSTEM, "--release", "1.0.0", "--stage", "trial-test"])
        .args(["--as", "qa.an", "--key"])
        .arg(crate::support::key_in(project.root(), "qa.an"))
        .arg("--events")
        .arg(events)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn")
}

/// The event log's lines so far, each parsed.
fn events_of(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Waits (at most 60 s) until the run's load has completed requests, by its event log.
fn await_requests(path: &std::path::Path) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !events_of(path)
        .iter()
        .any(|e| e["event"] == "suite-progress" && e["requests"].as_u64().unwrap_or(0) > 0)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the load never got going"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn interrupt(child: &std::process::Child) {
    // SAFETY: sending SIGINT to our own child process.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
}

#[test]
fn issue_12_an_interrupted_run_is_recorded_as_aborted_with_what_was_measured() {
    let sample = Sample::start(&[]);
    let project = load_only_project(&sample, 2, "60s");
    let events = project.path("events.jsonl");
    let child = spawn_run_with_events(&project, &events);
    await_requests(&events);
    interrupt(&child);
    let started = std::time::Instant::now();
    let out = child.wait_with_output().expect("wait");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the run did not stop promptly"
    );
    let all = text(&out);
    // Exit 4: aborted or interrupted (issue 12's exit-code table).
    assert_eq!(out.status.code(), Some(4), "{all}");
    assert!(all.contains("SIGINT: stopping the load"), "{all}");
    let s = summary(&project, "1.0.0", "trial-test", 1);
    assert_eq!(s["state"], "aborted", "{s}");
    assert_eq!(s["abort_reason"], "interrupted by SIGINT", "{s}");
    assert!(
        s["measurements"]["requests"].as_u64().unwrap_or(0) > 0,
        "{s}"
    );
    // The signal is named in the verdict too, and the run never passes.
    assert_eq!(s["verdict"]["outcome"], "failed", "{s}");
    assert_eq!(
        s["verdict"]["results"][0]["cause"]["by"], "interrupted by SIGINT",
        "{s}"
    );
    let log = events_of(&events);
    let last = log.last().expect("events");
    assert_eq!(last["event"], "run-finished", "{last}");
    assert_eq!(last["stopped"]["signal"], "SIGINT", "{last}");
    assert!(log
        .iter()
        .any(|e| e["event"] == "interrupted" && e["signal"] == "SIGINT"));
}

#[test]
fn issue_12_a_second_interrupt_still_keeps_what_was_measured() {
    // Slow answers: the load has requests in flight when the signals come.
    let sample = Sample::start(&["--latency-ms", "400"]);
    let project = load_only_project(&sample, 4, "60s");
    let events = project.path("events.jsonl");
    let child = spawn_run_with_events(&project, &events);
    await_requests(&events);
    interrupt(&child);
    // Signals are not queued: the second is sent once the first was seen.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !events_of(&events)
        .iter()
        .any(|e| e["event"] == "interrupted")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the first signal was not seen"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    interrupt(&child);
    let out = child.wait_with_output().expect("wait");
    let all = text(&out);
    assert_eq!(out.status.code(), Some(4), "{all}");
    let s = summary(&project, "1.0.0", "trial-test", 1);
    assert_eq!(s["state"], "aborted", "{s}");
    assert_eq!(s["abort_reason"], "interrupted by SIGINT", "{s}");
    assert!(
        s["measurements"]["requests"].as_u64().unwrap_or(0) > 0,
        "{s}"
    );
}

#[test]
fn issue_12_sigterm_is_named_sigterm_and_keeps_what_was_measured() {
    let sample = Sample::start(&[]);
    let project = load_only_project(&sample, 2, "60s");
    let events = project.path("events.jsonl");
    let child = spawn_run_with_events(&project, &events);
    await_requests(&events);
    // SAFETY: sending SIGTERM to our own child process.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let out = child.wait_with_output().expect("wait");
    let all = text(&out);
    assert_eq!(out.status.code(), Some(4), "{all}");
    assert!(all.contains("SIGTERM: stopping the load"), "{all}");
    assert!(!all.contains("Ctrl-C") && !all.contains("SIGINT"), "{all}");
    let s = summary(&project, "1.0.0", "trial-test", 1);
    assert_eq!(s["abort_reason"], "interrupted by SIGTERM", "{s}");
    assert!(
        s["measurements"]["requests"].as_u64().unwrap_or(0) > 0,
        "{s}"
    );
}

/// Issue 10: a new output is a consumer of the run's events. The event log is one JSON
/// object a line, each with its kind and time, from the start of the stage to its end.
#[test]
fn issue_10_the_event_log_holds_every_event_of_the_run_one_json_object_a_line() {
    let sample = Sample::start(&[]);
    let project = load_only_project(&sample, 2, "2s");
    let events = project.path("events.jsonl");
    let out = spawn_run_with_events(&project, &events)
        .wait_with_output()
        .expect("wait");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let text = std::fs::read_to_string(&events).expect("event log");
    let log: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect();
    let kinds: Vec<&str> = log
        .iter()
        .map(|e| e["event"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds.first(), Some(&"stage-started"), "{kinds:?}");
    assert_eq!(log[0]["format"], "stagegate.run-events/v1");
    assert_eq!(log[0]["run_id"], 1);
    assert_eq!(kinds.last(), Some(&"run-finished"), "{kinds:?}");
    assert!(log
        .iter()
        .all(|e| e["at"].as_str().is_some_and(|t| t.ends_with('Z'))));
    let s = summary(&project, "1.0.0", "trial-test", 1);
    let judged = kinds.iter().filter(|k| **k == "criterion-judged").count();
    assert_eq!(
        judged,
        s["verdict"]["results"].as_array().map_or(0, Vec::len)
    );
    let finished = log.last().expect("last");
    assert_eq!(finished["state"], "passed");
    assert_eq!(finished["requests"], s["measurements"]["requests"]);
    let suite = log
        .iter()
        .find(|e| e["event"] == "suite-finished")
        .expect("suite");
    assert_eq!(suite["outcome"]["kind"], "load");
    assert_eq!(suite["outcome"]["requests"], s["measurements"]["requests"]);
}

#[test]
fn the_rate_cap_holds_whatever_the_users_could_send() {
    // Twenty users against a fast server could send thousands of requests in 3 s; a cap
    // of 10/s lets about 30 through, never more than 10 in a second (give or take the
    // one a second boundary splits).
    let sample = Sample::start(&[]);
    let project = load_only_project(&sample, 20, "3s");
    project.edit(
        "scenarios/dichvucong/rollout.toml",
        "traffic = { users = 20, ramp-up = \"0s\", duration = \"3s\" }",
        "traffic = { users = 20, ramp-up = \"0s\", duration = \"3s\", max-rps = 10 }",
    );
    let out = run_trial(&project);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let s = summary(&project, "1.0.0", "trial-test", 1);
    let m = &s["measurements"];
    let requests = m["requests"].as_u64().expect("requests");
    assert!((15..=33).contains(&requests), "{requests} requests: {m}");
    let per_second: Vec<u64> = m["series"]
        .as_array()
        .expect("series")
        .iter()
        .map(|s| s["requests"].as_u64().expect("requests"))
        .collect();
    assert!(per_second.iter().all(|&n| n <= 12), "{per_second:?}");
}
