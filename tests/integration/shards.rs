//! Sharded load through the binary (issue 16): `run --shards 4 --launcher local` against
//! a counting target: requests add up, every `unique` feeder row is used exactly once,
//! the merged percentiles equal the union's, and a killed worker fails the run.

use crate::support::{run, stage_cmd_in, stagegate, text, with_descriptor_limit, Project};
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ROWS: usize = 200;

/// A target that counts requests, keeps each `row` it was sent, and answers after a
/// delay that depends on the row (so the latencies spread over 0-19 ms).
pub(crate) struct Target {
    pub(crate) url: String,
    pub(crate) requests: Arc<AtomicU64>,
    pub(crate) rows: Arc<Mutex<Vec<u32>>>,
}

fn start_target() -> Target {
    start_failing_target(|_| false)
}

/// The same target, answering 500 to the rows for which `fails` holds.
pub(crate) fn start_failing_target(fails: fn(u32) -> bool) -> Target {
    let requests = Arc::new(AtomicU64::new(0));
    let rows = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let (count, seen) = (requests.clone(), rows.clone());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let app = axum::Router::new()
                .route(
                    "/api/phien-ban",
                    axum::routing::get(|| async {
                        axum::Json(serde_json::json!({"version": "1.0.0"}))
                    }),
                )
                .route(
                    "/r",
                    axum::routing::get(
                        move |axum::extract::Query(q): axum::extract::Query<
                            BTreeMap<String, String>,
                        >| {
                            let (count, seen) = (count.clone(), seen.clone());
                            async move {
                                count.fetch_add(1, Ordering::SeqCst);
                                let row: u32 =
                                    q.get("row").and_then(|r| r.parse().ok()).unwrap_or(0);
                                seen.lock().expect("rows").push(row);
                                tokio::time::sleep(Duration::from_millis(u64::from(row % 20)))
                                    .await;
                                if fails(row) {
                                    (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "failed")
                                } else {
                                    (axum::http::StatusCode::OK, "ok")
                                }
                            }
                        },
                    ),
                );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr")).expect("send");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    let addr = rx.recv().expect("target address");
    Target {
        url: format!("http://{addr}"),
        requests,
        rows,
    }
}

/// trial-test runs only `shard-load`: one GET per iteration with a unique row.
fn project(target: &Target, traffic: &str) -> Project {
    project_with_rows(target, traffic, ROWS)
}

/// As [`project`], with `rows` unique rows.
pub(crate) fn project_with_rows(target: &Target, traffic: &str, rows: usize) -> Project {
    let project = Project::new(&target.url, "http://127.0.0.1:9");
    let csv: String = std::iter::once("id\n".to_string())
        .chain((1..=rows).map(|i| format!("{i}\n")))
        .collect();
    project.write("scenarios/dichvucong/data/rows.csv", &csv);
    project.write(
        "scenarios/dichvucong/shard-load.toml",
        r#"version = 1
kind = "load"
description = "One request per unique row"

[[feeders]]
name = "rows"
file = "data/rows.csv"
mode = "unique"

[[transactions]]
name = "get-row"

[[transactions.steps]]
name = "get"
method = "GET"
path = "/r?row={{rows.id}}"
checks = [{ kind = "status", equals = 200 }]
"#,
    );
    project.edit(
        "scenarios/dichvucong/rollout.toml",
        "suites = [\"tra-cuu-va-nop-ho-so\", \"bao-mat-co-ban\"]\ntraffic = { users = 4, ramp-up = \"1s\", duration = \"4s\" }",
        &format!("suites = [\"shard-load\"]\ntraffic = {traffic}"),
    );
    project.edit("scenarios/dichvucong/rollout.toml", "  { metric = \"security-high\", pass = \"== 0\" },\n  { metric = \"security-critical\", pass = \"== 0\" },\n]\napproval = { approvers = 1, roles = [\"release-manager\"] }\n\n# 2.", "]\napproval = { approvers = 1, roles = [\"release-manager\"] }\n\n# 2.");
    project
}

pub(crate) fn run_command(project: &Project, shards: &str) -> Command {
    let mut cmd = stage_cmd_in(project.root(), "1.0.0", "trial-test", "qa.an");
    cmd.args(["--shards", shards, "--launcher", "local"]);
    cmd
}

/// The value at quantile `q` of sorted samples, as HdrHistogram defines it (the
/// sample at rank ceil(q·n)).
fn at_quantile(sorted: &[u64], q: f64) -> u64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
    sorted[rank - 1]
}

#[test]
fn four_local_workers_add_up_use_each_unique_row_once_and_merge_percentiles_exactly() {
    let target = start_target();
    let project = project(
        &target,
        "{ users = 8, ramp-up = \"1s\", duration = \"1s\", iterations = 25 }",
    );
    let samples = tempfile::tempdir().expect("samples dir");
    let out = run(run_command(&project, "4").env("STAGEGATE_SHARD_SAMPLES", samples.path()));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let summary_path =
        project.path(".stagegate/runs/dichvucong/1.0.0/trial-test/run-1/summary.json");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(summary_path).expect("summary"))
            .expect("JSON");
    let m = &summary["measurements"];

    // What each worker measured, written by the worker itself.
    let mut union = Vec::new();
    let mut per_worker = Vec::new();
    for i in 0..4 {
        let file = std::fs::read_to_string(samples.path().join(format!("shard-{i}.txt")))
            .expect("worker samples");
        let mine: Vec<u64> = file.lines().map(|l| l.parse().expect("µs")).collect();
        per_worker.push(mine.len() as u64);
        union.extend(mine);
    }
    let at_server = target.requests.load(Ordering::SeqCst);
    // The release check is one request to the version endpoint, not to /r.
    let rows_seen = target.rows.lock().expect("rows").clone();
    assert_eq!(per_worker, vec![50, 50, 50, 50], "{m}");
    assert_eq!(
        m["requests"].as_u64(),
        Some(per_worker.iter().sum::<u64>()),
        "{m}"
    );
    assert_eq!(at_server, ROWS as u64, "{m}");
    assert_eq!(m["requests"].as_u64(), Some(at_server), "{m}");
    let mut sorted_rows = rows_seen;
    sorted_rows.sort_unstable();
    assert_eq!(
        sorted_rows,
        (1..=ROWS as u32).collect::<Vec<_>>(),
        "each row exactly once"
    );

    union.sort_unstable();
    for (name, q) in [("p50", 0.50), ("p95", 0.95), ("p99", 0.99)] {
        let expected_ms = at_quantile(&union, q) as f64 / 1000.0;
        let got = m["latency_ms"][name].as_f64().expect("percentile");
        // 3 significant figures: within 0.1% (plus the µs the histogram rounds to).
        assert!(
            (got - expected_ms).abs() <= expected_ms * 0.001 + 0.001,
            "{name}: merged {got} ms, union of samples {expected_ms} ms"
        );
    }
}

/// Children of `pid` whose command line runs `stagegate worker`.
fn workers_of(pid: u32) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // The parent pid is the second field after the parenthesised command name.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        let cmdline = std::fs::read_to_string(format!("/proc/{child}/cmdline")).unwrap_or_default();
        if ppid == Some(pid) && cmdline.split('\0').any(|a| a == "worker") {
            found.push(child);
        }
    }
    found
}

#[test]
fn killing_one_worker_fails_the_run_with_its_reason() {
    let target = start_target();
    let project = project(
        &target,
        "{ users = 4, ramp-up = \"0s\", duration = \"60s\" }",
    );
    let child = run_command(&project, "4")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run starts");
    let started = Instant::now();
    let workers = loop {
        let w = workers_of(child.id());
        if w.len() == 4 {
            break w;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "workers never started: {w:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    // Let the load start, then kill shard by pid.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(unsafe { libc::kill(workers[1], libc::SIGKILL) }, 0);
    let out = child.wait_with_output().expect("run ends");
    let all = text(&out);
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "the run waited for the dead shard"
    );
    assert_eq!(out.status.code(), Some(4), "{all}");
    assert!(
        all.contains("was killed (SIGKILL) before reporting"),
        "{all}"
    );
    assert!(all.contains("shard "), "{all}");
    // Nothing of the load is judged: the run is recorded as aborted, and no worker is left.
    let summary = std::fs::read_to_string(
        project.path(".stagegate/runs/dichvucong/1.0.0/trial-test/run-1/summary.json"),
    )
    .expect("summary");
    assert!(summary.contains("killed (SIGKILL)"), "{summary}");
    std::thread::sleep(Duration::from_millis(500));
    for pid in &workers {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = state.rsplit_once(')').map(|(_, r)| r.trim().chars().next());
        assert!(
            matches!(state, None | Some(Some('Z'))),
            "worker {pid} still runs: {state:?}"
        );
    }
}

#[test]
fn k8s_render_writes_an_indexed_job_and_the_files_that_validate_against_the_api_schemas() {
    let project = Project::new("http://127.0.0.1:9", "http://127.0.0.1:8");
    let manifest = project.path("stage.yaml");
    let secret_value = "khong-bao-gio-in-ra-7f3a";
    let out = run(stagegate(project.root())
        .args([
            "k8s",
            "render",
            "dichvucong",
            "--release",
            "1.0.0",
            "--stage",
            "trial-production",
            "--shards",
            "2",
            "-o",
        ])
        .arg(&manifest)
        .env("DVC_PROD_API_KEY", secret_value));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let yaml = std::fs::read_to_string(&manifest).expect("manifest");
    assert!(!yaml.contains(secret_value), "a secret's value was written");
    let docs: Vec<serde_json::Value> = yaml
        .split("---\n")
        .filter(|d| !d.trim().is_empty())
        .map(|d| serde_json::from_str(d).expect("each document is JSON"))
        .collect();
    let job = docs.iter().find(|d| d["kind"] == "Job").expect("a Job");
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    assert_eq!(
        (spec["completions"].as_u64(), spec["parallelism"].as_u64()),
        (Some(2), Some(2))
    );
    let container = &spec["template"]["spec"]["containers"][0];
    let env = container["env"].as_array().expect("env");
    assert!(env.iter().all(|e| e.get("value").is_none()), "{env:?}");
    assert!(
        env.iter().any(|e| e["name"] == "DVC_PROD_API_KEY"
            && e["valueFrom"]["secretKeyRef"]["key"] == "DVC_PROD_API_KEY"),
        "{env:?}"
    );
    assert!(container["resources"]["requests"]["memory"].is_string());
    // Each pod serves its live metrics (labelled with its shard) where Prometheus'
    // pod discovery looks, as the annotations say.
    let annotations = &spec["template"]["metadata"]["annotations"];
    assert_eq!(annotations["prometheus.io/scrape"], "true");
    assert_eq!(annotations["prometheus.io/path"], "/metrics");
    let port = annotations["prometheus.io/port"].as_str().expect("port");
    assert_eq!(container["ports"][0]["containerPort"].to_string(), port);
    let args: Vec<&str> = container["args"]
        .as_array()
        .expect("args")
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    let listen = format!("0.0.0.0:{port}");
    assert!(
        args.windows(2)
            .any(|w| w == ["--metrics-listen", listen.as_str()]),
        "{args:?}"
    );
    let files = docs
        .iter()
        .find(|d| d["kind"] == "ConfigMap")
        .expect("a ConfigMap");
    let rollout = std::fs::read_to_string(project.path("scenarios/dichvucong/rollout.toml"))
        .expect("rollout");
    assert!(files["data"]
        .as_object()
        .expect("data")
        .values()
        .any(|v| v == &serde_json::Value::String(rollout.clone())));

    let validate = Command::new("kubernetes-validate")
        .args(["--strict"])
        .arg(&manifest)
        .output()
        .expect("kubernetes-validate is installed (scripts/test installs it from PyPI)");
    assert!(validate.status.success(), "{}", text(&validate));
    // The validator does refuse: an Indexed Job with a string for `completions`.
    let broken = project.path("broken.yaml");
    std::fs::write(
        &broken,
        yaml.replacen("\"completions\": 2", "\"completions\": \"two\"", 1),
    )
    .expect("write");
    let refused = Command::new("kubernetes-validate")
        .arg("--strict")
        .arg(&broken)
        .output()
        .expect("runs");
    assert!(!refused.status.success(), "{}", text(&refused));
}

#[test]
fn issue_16_the_descriptor_check_counts_one_shards_users_each_worker_its_own_process() {
    // 100 users without think time need 2 × 100 descriptors in one process, more than
    // the 192 of a 256 limit that can be connections; two workers need 2 × 50 each.
    let target = start_target();
    let project = project_with_rows(
        &target,
        "{ users = 100, ramp-up = \"0s\", duration = \"1s\" }",
        100,
    );
    let alone = stage_cmd_in(project.root(), "1.0.0", "trial-test", "qa.an");
    let out = run(&mut with_descriptor_limit(alone, 256));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("100 virtual users of suite `shard-load` need more file descriptors than this process may open (256, of which 192 can be connections)"),
        "{}",
        text(&out)
    );
    assert_eq!(
        target.requests.load(Ordering::SeqCst),
        0,
        "nothing was sent"
    );

    let out = run(&mut with_descriptor_limit(run_command(&project, "2"), 256));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        target.requests.load(Ordering::SeqCst),
        100,
        "every row was sent, by workers of 50 users each under the same limit"
    );

    // Four times the users: one shard's share (200) is over the limit, and the refusal
    // says it is one shard's.
    project.edit(
        "scenarios/dichvucong/rollout.toml",
        "users = 100,",
        "users = 400,",
    );
    project.edit(
        "environments/test.toml",
        "max-users = 100",
        "max-users = 1000",
    );
    let out = run(&mut with_descriptor_limit(run_command(&project, "2"), 256));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("200 virtual users of suite `shard-load` (one shard's share, of 2) need more file descriptors than each worker may open (256, of which 192 can be connections)"),
        "{}",
        text(&out)
    );
    assert_eq!(
        target.requests.load(Ordering::SeqCst),
        100,
        "nothing more was sent"
    );
}
