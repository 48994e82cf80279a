//! `run --launcher kubernetes` and the workers' live metrics (issue 16). There is no
//! cluster on this machine: the launcher is tested through a stand-in `kubectl` on PATH
//! that records its arguments and standard input and answers `get pods` with a failed
//! pod. That tests the invocation (what is applied, how, what is deleted) and the
//! manifests (validated against the API schemas), not a cluster's behaviour.

use crate::shards::{project_with_rows, start_failing_target};
use crate::support::{reserved_port, run, stage_cmd_in, stagegate, text};
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Records `args` (one line per call, arguments separated by tabs) and, for `-f -`,
/// standard input; answers `get pods` with shard 0's pod failed, shard 1's running.
const FAKE_KUBECTL: &str = r#"#!/bin/sh
printf '%s' "$1" >> "$KUBECTL_LOG"; shift
for a in "$@"; do printf '\t%s' "$a" >> "$KUBECTL_LOG"; done
printf '\n' >> "$KUBECTL_LOG"
case " $* " in
  *" -f - "*) cat >> "$KUBECTL_STDIN" ;;
esac
if [ "$1" = "pods" ] || [ "$2" = "pods" ]; then
  echo '{"items":[{"metadata":{"annotations":{"batch.kubernetes.io/job-completion-index":"0"}},"status":{"phase":"Failed"}},{"metadata":{"annotations":{"batch.kubernetes.io/job-completion-index":"1"}},"status":{"phase":"Running"}}]}'
fi
"#;

#[test]
fn kubernetes_launcher_applies_the_job_and_a_token_secret_watches_its_pods_and_deletes_them() {
    let target = start_failing_target(|_| false);
    let project = project_with_rows(
        &target,
        "{ users = 4, ramp-up = \"0s\", duration = \"30s\" }",
        100,
    );
    let bin = tempfile::tempdir().expect("bin dir");
    let kubectl = bin.path().join("kubectl");
    std::fs::write(&kubectl, FAKE_KUBECTL).expect("write kubectl");
    std::fs::set_permissions(
        &kubectl,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let log = bin.path().join("calls.log");
    let stdin = bin.path().join("stdin.log");
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let started = Instant::now();
    let out = run(stage_cmd_in(project.root(), "1.0.0", "trial-test", "qa.an")
        .args([
            "--shards",
            "2",
            "--launcher",
            "kubernetes",
            "--worker-image",
            "registry.example/stagegate:1.0",
            "--namespace",
            "kiem-thu",
            "--coordinator-listen",
            "127.0.0.1:0",
            "--coordinator-url",
            "http://coordinator.example:7878",
        ])
        .env("PATH", &path)
        .env("KUBECTL_LOG", &log)
        .env("KUBECTL_STDIN", &stdin));
    let all = text(&out);
    // The failed pod fails the run with its reason, well before the planned 30 s.
    assert_eq!(out.status.code(), Some(4), "{all}");
    assert!(all.contains("shard 0/2 its pod failed"), "{all}");
    assert!(started.elapsed() < Duration::from_secs(25));

    let calls: Vec<Vec<String>> = std::fs::read_to_string(&log)
        .expect("kubectl was called")
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect();
    let line = |c: &Vec<String>| c.join(" ");
    // 1. The run's token, as a Secret on standard input: never an argument.
    assert_eq!(line(&calls[0]), "apply -n kiem-thu -f -", "{calls:?}");
    let secret: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stdin).expect("stdin")).expect("JSON");
    assert_eq!(secret["kind"], "Secret");
    let token = secret["stringData"]["token"].as_str().expect("token");
    assert_eq!(token.len(), 64, "{secret}");
    assert!(calls.iter().all(|c| !line(c).contains(token)));
    let secret_name = secret["metadata"]["name"].as_str().expect("name");
    // 2. The manifests, from a file kept with the project.
    assert_eq!(
        &calls[1][..4],
        ["apply", "-n", "kiem-thu", "-f"],
        "{calls:?}"
    );
    let manifest = std::path::PathBuf::from(&calls[1][4]);
    assert!(manifest.starts_with(project.root().join(".stagegate/k8s")));
    let yaml = std::fs::read_to_string(&manifest).expect("manifest");
    assert!(
        !yaml.contains(token),
        "the token is not in the manifest file"
    );
    let docs: Vec<serde_json::Value> = yaml
        .split("---\n")
        .filter(|d| !d.trim().is_empty())
        .map(|d| serde_json::from_str(d).expect("JSON document"))
        .collect();
    let job = docs.iter().find(|d| d["kind"] == "Job").expect("a Job");
    let job_name = job["metadata"]["name"].as_str().expect("job name");
    assert_eq!(job["spec"]["completions"], 2);
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "registry.example/stagegate:1.0");
    let args: Vec<&str> = container["args"]
        .as_array()
        .expect("args")
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert!(
        args.windows(2)
            .any(|w| w == ["--coordinator", "http://coordinator.example:7878"]),
        "{args:?}"
    );
    assert!(
        args.windows(2).any(|w| w == ["--suite", "shard-load"]),
        "{args:?}"
    );
    assert!(container["env"]
        .as_array()
        .expect("env")
        .iter()
        .any(|e| e["valueFrom"]["secretKeyRef"]["name"] == secret_name));
    let validate = Command::new("kubernetes-validate")
        .arg("--strict")
        .arg(&manifest)
        .output()
        .expect("kubernetes-validate is installed (scripts/test installs it from PyPI)");
    assert!(validate.status.success(), "{}", text(&validate));
    // 3. The Job's pods are watched, 4. and everything applied is deleted.
    let selector = format!("job-name={job_name}");
    assert!(calls
        .iter()
        .any(|c| c[..2] == ["get", "pods"] && c.contains(&selector)));
    let last = calls.last().expect("calls");
    assert_eq!(
        &last[..5],
        [
            "delete",
            "-n",
            "kiem-thu",
            "--ignore-not-found",
            "--wait=false"
        ]
    );
    for object in [format!("job/{job_name}"), format!("secret/{secret_name}")] {
        assert!(last.contains(&object), "{last:?}");
    }
    assert!(last.iter().any(|o| o.starts_with("configmap/")), "{last:?}");
}

#[test]
fn kubernetes_launcher_without_kubectl_says_so_and_sends_nothing() {
    let target = start_failing_target(|_| false);
    let project = project_with_rows(
        &target,
        "{ users = 2, ramp-up = \"0s\", duration = \"2s\" }",
        10,
    );
    let empty = tempfile::tempdir().expect("empty PATH dir");
    let out = run(stage_cmd_in(project.root(), "1.0.0", "trial-test", "qa.an")
        .args([
            "--shards",
            "2",
            "--launcher",
            "kubernetes",
            "--coordinator-listen",
            "127.0.0.1:0",
        ])
        .env("PATH", empty.path()));
    let all = text(&out);
    assert!(all.contains("`kubectl` is not on PATH"), "{all}");
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        target.rows.lock().expect("rows").is_empty(),
        "no load was sent"
    );
}

/// A coordinator that accepts everything: the worker under test needs one to report to.
fn accepting_coordinator() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer(stream));
        }
    });
    format!("http://{addr}")
}

fn answer(mut stream: std::net::TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    // Read the head, then as many body bytes as it announces.
    loop {
        let Ok(n) = stream.read(&mut chunk) else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            if body.len() >= length {
                break;
            }
        }
    }
    let body = "{\"stop\":null}";
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

#[test]
fn a_worker_serves_live_metrics_labelled_with_its_shard() {
    let target = start_failing_target(|_| false);
    let project = project_with_rows(
        &target,
        "{ users = 4, ramp-up = \"0s\", duration = \"4s\", rate = 20 }",
        1000,
    );
    let port = reserved_port();
    let mut worker = stagegate(project.root())
        .args([
            "worker",
            "dichvucong",
            "--release",
            "1.0.0",
            "--stage",
            "trial-test",
            "--suite",
            "shard-load",
            "--shard",
            "1/2",
            "--coordinator",
            &accepting_coordinator(),
            "--run",
            "r1",
            "--metrics-listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("STAGEGATE_RUN_TOKEN", "t")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("worker starts");
    let started = Instant::now();
    let mut scraped = String::new();
    while started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(300));
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = write!(
                s,
                "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            );
            let mut body = String::new();
            let _ = s.read_to_string(&mut body);
            if body.contains("stagegate_requests_total{") && body.contains("outcome=\"ok\"") {
                scraped = body;
                break;
            }
        }
    }
    let status = worker.wait().expect("worker ends");
    let mut stderr = String::new();
    if let Some(mut e) = worker.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    assert!(status.success(), "{stderr}");
    let line = scraped
        .lines()
        .find(|l| l.starts_with("stagegate_requests_total{") && l.contains("outcome=\"ok\""))
        .unwrap_or_else(|| panic!("no request series while the worker ran: {scraped}"));
    assert!(line.contains("shard=\"1\""), "{line}");
    assert!(
        line.contains("stage=\"trial-test\"") && line.contains("system=\"dichvucong\""),
        "{line}"
    );
}
