//! Abort criteria of a sharded load are judged on the merged per-second figures at the
//! coordinator (issue 16): a shard that alone would breach does not stop a stage whose
//! whole is within bounds, and a breach of the whole stops every shard, named as the
//! merged figure.

use crate::shards::{project_with_rows, run_command, start_failing_target};
use crate::support::{run, text, Project};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The target fails rows whose id ends in 1, 3, 5 or 7. Unique rows are dealt round
/// the shards by position, so with 2 shards shard 0 sends the odd ids (80% of them fail)
/// and shard 1 the even ones (none fail): the stage as a whole is at 40%.
fn fails(row: u32) -> bool {
    matches!(row % 10, 1 | 3 | 5 | 7)
}

fn with_abort(project: &Project, abort: &str) {
    project.edit(
        "scenarios/dichvucong/rollout.toml",
        "]\napproval = { approvers = 1, roles = [\"release-manager\"] }\n\n# 2.",
        &format!("]\napproval = {{ approvers = 1, roles = [\"release-manager\"] }}\nabort = [{abort}]\n\n# 2."),
    );
    // The gate itself tolerates the planted errors: only the abort criterion is tested.
    // (The first occurrences are trial-test's.)
    for metric in ["error-rate", "check-failure-rate"] {
        project.edit(
            "scenarios/dichvucong/rollout.toml",
            &format!("{{ metric = \"{metric}\", pass = \"< 1%\" }}"),
            &format!("{{ metric = \"{metric}\", pass = \"< 50%\" }}"),
        );
    }
}

fn summary(project: &Project) -> serde_json::Value {
    let path = project.path(".stagegate/runs/dichvucong/1.0.0/trial-test/run-1/summary.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("summary")).expect("JSON")
}

#[test]
fn a_shard_that_alone_would_breach_does_not_stop_a_stage_whose_merged_figures_hold() {
    let target = start_failing_target(fails);
    let project = project_with_rows(
        &target,
        "{ users = 4, ramp-up = \"0s\", duration = \"6s\", rate = 40 }",
        1000,
    );
    // Shard 0 alone is at 80% errors every second; the whole is at 40%.
    with_abort(
        &project,
        "{ metric = \"error-rate\", pass = \"< 60%\", for = \"2s\" }",
    );
    let out = run(&mut run_command(&project, "2"));
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    let s = summary(&project);
    assert_eq!(s["state"], "passed", "{s}");
    let m = &s["measurements"];
    let (requests, errors) = (
        m["requests"].as_u64().unwrap_or(0),
        m["errors"].as_u64().unwrap_or(0),
    );
    // The load ran its course at about 40 requests a second, 40% of them failing.
    assert!(requests >= 150, "{m}");
    let rate = errors as f64 / requests as f64;
    assert!((0.3..=0.5).contains(&rate), "merged error rate {rate}: {m}");
}

#[test]
fn a_breach_of_the_merged_figures_stops_every_shard_and_is_named_as_such() {
    let target = start_failing_target(fails);
    let project = project_with_rows(
        &target,
        "{ users = 4, ramp-up = \"0s\", duration = \"30s\", rate = 40 }",
        2000,
    );
    with_abort(
        &project,
        "{ metric = \"error-rate\", pass = \"< 10%\", for = \"2s\" }",
    );
    let started = Instant::now();
    let out = run(&mut run_command(&project, "2"));
    let wall = started.elapsed();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(4), "{all}");
    let s = summary(&project);
    assert_eq!(s["state"], "aborted", "{s}");
    let reason = s["abort_reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("abort criterion `error-rate < 10.00% for 2s` breached")
            && reason.contains("on the merged figures of 2 shards"),
        "{reason}"
    );
    // Confirmed after 2 breaching seconds, the stop reaches both shards within about a
    // second: far from the planned 30 s (25 s leaves room for the workers' start on a
    // loaded machine).
    assert!(wall < Duration::from_secs(25), "{wall:?}");
    // Every shard stopped: nothing reaches the target once the run has ended.
    let at_end = target.requests.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(target.requests.load(Ordering::SeqCst), at_end);
    // Both shards' requests are in the figures (each sent its share before stopping).
    let rows = target.rows.lock().expect("rows").clone();
    assert!(rows.iter().any(|r| r % 2 == 0) && rows.iter().any(|r| r % 2 == 1));
}
