//! `run --shards 3 --launcher docker` (issue 16): three worker containers, each its own
//! host on a private Docker network, against the sample system in a container on that
//! network. The sample counts requests by client address: three workers, three
//! addresses, each address's count equal to what its worker measured, and their sum
//! equal to the merged figures the gate judged.

use crate::support::{quick_traffic, run, stage_cmd_in, stagegate_bin, text, Project};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::process::Command;
use std::time::{Duration, Instant};

const SAMPLE_IMAGE: &str = "stagegate-sample:dev";
const WORKER_IMAGE: &str = "stagegate-worker:dev";

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("docker runs");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The test's network and sample container, removed on drop.
struct Setup {
    network: String,
    sample: String,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", &self.sample])
            .output();
        let _ = Command::new("docker")
            .args(["network", "rm", &self.network])
            .output();
    }
}

/// A plain HTTP GET (the test needs no client library for one request).
fn get(host: &str, path: &str) -> Option<String> {
    let mut stream = std::net::TcpStream::connect(host).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut body = String::new();
    stream.read_to_string(&mut body).ok()?;
    body.starts_with("HTTP/1.1 200")
        .then(|| body.split_once("\r\n\r\n").map(|(_, b)| b.to_string()))
        .flatten()
}

/// `sample_http_requests_by_client_total` by client address.
fn requests_by_client(metrics: &str) -> BTreeMap<String, u64> {
    metrics
        .lines()
        .filter_map(|l| l.strip_prefix("sample_http_requests_by_client_total{client=\""))
        .filter_map(|l| {
            let (client, rest) = l.split_once("\"}")?;
            Some((client.to_string(), rest.trim().parse().ok()?))
        })
        .collect()
}

#[test]
fn three_worker_containers_each_reach_the_target_from_their_own_address_and_add_up() {
    // The worker image holds the binary under test (rebuilt only when it changed).
    let built = Command::new(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/build-worker-image"),
    )
    .arg(stagegate_bin())
    .env("STAGEGATE_WORKER_IMAGE", WORKER_IMAGE)
    .output()
    .expect("scripts/build-worker-image runs");
    assert!(built.status.success(), "{}", text(&built));
    docker(&["image", "inspect", SAMPLE_IMAGE]);

    let name = format!("shards-dock-{}", std::process::id());
    docker(&["network", "create", &name]);
    let setup = Setup {
        network: name.clone(),
        sample: docker(&[
            "run",
            "-d",
            "--network",
            &name,
            "--name",
            &format!("{name}-sample"),
            SAMPLE_IMAGE,
        ]),
    };
    let ip = docker(&[
        "inspect",
        "-f",
        &format!("{{{{(index .NetworkSettings.Networks \"{name}\").IPAddress}}}}"),
        &setup.sample,
    ]);
    let gateway = docker(&[
        "network",
        "inspect",
        "-f",
        "{{(index .IPAM.Config 0).Gateway}}",
        &name,
    ]);
    let target = format!("{ip}:8080");
    let started = Instant::now();
    while get(&target, "/api/phien-ban").is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the sample container never answered at {target}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // trial-test runs the load suite alone, 6 users (2 a shard), for 4 seconds.
    let project = Project::new(&format!("http://{target}"), "http://127.0.0.1:9");
    quick_traffic(&project, "trial-test", 6, "4s");
    project.edit(
        "scenarios/dichvucong/rollout.toml",
        "suites = [\"tra-cuu-va-nop-ho-so\", \"bao-mat-co-ban\"]",
        "suites = [\"tra-cuu-va-nop-ho-so\"]",
    );
    project.edit("scenarios/dichvucong/rollout.toml", "  { metric = \"security-high\", pass = \"== 0\" },\n  { metric = \"security-critical\", pass = \"== 0\" },\n]\napproval = { approvers = 1, roles = [\"release-manager\"] }\n\n# 2.", "]\napproval = { approvers = 1, roles = [\"release-manager\"] }\n\n# 2.");
    let samples = tempfile::tempdir().expect("samples dir");
    let out = run(stage_cmd_in(project.root(), "1.0.0", "trial-test", "qa.an")
        .args([
            "--shards",
            "3",
            "--launcher",
            "docker",
            "--worker-image",
            WORKER_IMAGE,
            "--docker-network",
            &name,
        ])
        .env("STAGEGATE_SHARD_SAMPLES", samples.path()));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            project.path(".stagegate/runs/dichvucong/1.0.0/trial-test/run-1/summary.json"),
        )
        .expect("summary"),
    )
    .expect("JSON");
    let total = summary["measurements"]["requests"]
        .as_u64()
        .expect("requests");

    // What each worker measured, written by the worker in its container.
    let mut per_worker: Vec<u64> = (0..3)
        .map(|i| {
            std::fs::read_to_string(samples.path().join(format!("shard-{i}.txt")))
                .expect("worker samples")
                .lines()
                .count() as u64
        })
        .collect();
    // What the target saw, by client address; the host (the release check, this
    // test's own requests) comes from the network's gateway.
    let metrics = get(&target, "/metrics").expect("the sample's metrics");
    let by_client = requests_by_client(&metrics);
    let workers: BTreeMap<&String, &u64> =
        by_client.iter().filter(|(c, _)| **c != gateway).collect();
    assert_eq!(workers.len(), 3, "three worker addresses: {by_client:?}");
    let mut seen: Vec<u64> = workers.values().map(|n| **n).collect();
    seen.sort_unstable();
    per_worker.sort_unstable();
    assert!(per_worker.iter().all(|n| *n > 0), "{per_worker:?}");
    assert_eq!(seen, per_worker, "each address's count is one worker's");
    assert_eq!(per_worker.iter().sum::<u64>(), total, "{summary}");

    // No worker container is left on the network, and the network is the test's own.
    let left = docker(&["ps", "-aq", "--filter", &format!("network={name}")]);
    assert_eq!(left.lines().count(), 1, "only the sample remains: {left}");
    drop(setup);
}

/// A target on every host address that counts `/r` requests by client address.
fn start_counting_target() -> (u16, std::sync::Arc<std::sync::Mutex<BTreeMap<String, u64>>>) {
    use std::sync::{Arc, Mutex};
    let by_client: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let seen = by_client.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
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
                        move |axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<
                            std::net::SocketAddr,
                        >| {
                            let seen = seen.clone();
                            async move {
                                *seen
                                    .lock()
                                    .expect("counts")
                                    .entry(peer.ip().to_string())
                                    .or_default() += 1;
                                "ok"
                            }
                        },
                    ),
                );
            let listener = tokio::net::TcpListener::bind("0.0.0.0:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr").port())
                .expect("send");
            let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
            axum::serve(listener, app).await.expect("serve");
        });
    });
    (rx.recv().expect("port"), by_client)
}

/// This machine's address on its default route (not loopback: containers reach it).
fn host_address() -> String {
    let out = Command::new("ip")
        .args(["-4", "route", "get", "1.1.1.1"])
        .output()
        .expect("ip runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.split_whitespace()
        .skip_while(|w| *w != "src")
        .nth(1)
        .expect("a source address")
        .to_string()
}

#[test]
fn without_a_network_the_run_makes_a_private_one_and_removes_it() {
    let built = Command::new(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/build-worker-image"),
    )
    .arg(stagegate_bin())
    .env("STAGEGATE_WORKER_IMAGE", WORKER_IMAGE)
    .output()
    .expect("scripts/build-worker-image runs");
    assert!(built.status.success(), "{}", text(&built));
    let (port, by_client) = start_counting_target();
    let host = host_address();
    let url = format!("http://{host}:{port}");
    let target = crate::shards::Target {
        url: url.clone(),
        requests: Default::default(),
        rows: Default::default(),
    };
    let project = crate::shards::project_with_rows(
        &target,
        "{ users = 2, ramp-up = \"0s\", duration = \"1s\", iterations = 15 }",
        30,
    );
    let out = run(
        stage_cmd_in(project.root(), "1.0.0", "trial-test", "qa.an").args([
            "--shards",
            "2",
            "--launcher",
            "docker",
        ]),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Two workers, two addresses on the run's own network, 15 rows each.
    let counts = by_client.lock().expect("counts").clone();
    assert_eq!(counts.len(), 2, "{counts:?}");
    assert!(
        counts
            .keys()
            .all(|ip| *ip != host && !ip.starts_with("127.")),
        "{counts:?}"
    );
    assert_eq!(counts.values().copied().collect::<Vec<_>>(), vec![15, 15]);
    // The network the run made carried its project's label and is gone.
    let root = std::fs::canonicalize(project.root()).expect("root");
    let left = docker(&[
        "network",
        "ls",
        "-q",
        "--filter",
        &format!("label=io.stagegate.project={}", root.display()),
    ]);
    assert!(left.is_empty(), "networks left: {left}");
    let containers = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=io.stagegate.project={}", root.display()),
    ]);
    assert!(containers.is_empty(), "containers left: {containers}");
}
