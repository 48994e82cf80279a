//! Security scenarios of issue 14: every new check family finds the sample's planted
//! flaw (right check, right severity, at the URL that shows it, found through the
//! crawl where a link leads there) and the clean sample shows nothing above info; a
//! target that is down makes every check "could not run"; every request says it is
//! stagegate's.

use crate::support::{run, stagegate_bin, text, Sample};
use std::io::{Read, Write};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One finding a flaw must show: check, severity, and the start of the URL after the
/// sample's base.
type Expected = (&'static str, &'static str, &'static str);

/// Each new family's flaw, and the findings it must show.
const FAMILIES: &[(&str, &[Expected])] = &[
    (
        "django-debug",
        &[("debug.django", "medium", "/stagegate-no-such-page-")],
    ),
    (
        "werkzeug-debugger",
        &[("debug.werkzeug", "critical", "/console")],
    ),
    (
        "exposed-server-status",
        &[("status.apache", "medium", "/server-status")],
    ),
    (
        "exposed-actuator",
        &[("status.actuator", "high", "/actuator")],
    ),
    (
        "admin-console",
        &[("admin.console", "high", "/manager/html")],
    ),
    ("default-page", &[("default.install-page", "low", "/")]),
    ("git-listing", &[("exposure.git", "high", "/.git/")]),
    (
        "vcs-leftovers",
        &[
            ("exposure.svn", "high", "/.svn/wc.db"),
            ("exposure.hg", "high", "/.hg/requires"),
            ("exposure.ds-store", "low", "/.DS_Store"),
        ],
    ),
    (
        "editor-leftovers",
        &[("exposure.editor-backup", "high", "/gioi-thieu.html.bak")],
    ),
    (
        "cors-api",
        &[
            ("cors.origin-reflection", "high", "/api/thu-tuc?q=khai+sinh"),
            ("cors.null-origin", "medium", "/api/thu-tuc?q=khai+sinh"),
        ],
    ),
    (
        "open-redirect",
        &[("redirect.open", "medium", "/chuyen-tiep?url=https")],
    ),
];

/// Findings above info of a passive scan (the sample's own `/metrics` out of scope).
fn scan(flaws: &[&str]) -> (serde_json::Value, Vec<(String, String, String, String)>) {
    let args: Vec<&str> = flaws.iter().flat_map(|f| ["--flaw", *f]).collect();
    let sample = Sample::start(&args);
    let out = run(Command::new(stagegate_bin()).args([
        "scan",
        &sample.url,
        "--out-of-scope",
        "/metrics",
        "--output",
        "json",
    ]));
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    let findings = report["findings"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|f| f["severity"] != "info")
        .map(|f| {
            let field = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            let url = field("url");
            let path = url
                .strip_prefix(&sample.url)
                .unwrap_or(url.as_str())
                .to_string();
            (field("check"), field("severity"), path, field("evidence"))
        })
        .collect();
    (report, findings)
}

#[test]
fn each_new_family_finds_its_flaw_and_the_clean_sample_stays_quiet() {
    let (report, clean) = scan(&[]);
    assert!(clean.is_empty(), "clean sample: {clean:#?}");
    let ran = report["checks"]
        .as_array()
        .map(|c| c.iter().filter(|x| x["status"]["status"] == "ran").count())
        .unwrap_or_default();
    assert!(ran >= 35, "{report:#}");
    let mut failures = Vec::new();
    for (flaw, expected) in FAMILIES {
        let (_, found) = scan(&[flaw]);
        for (check, severity, path) in *expected {
            let hit = found
                .iter()
                .find(|(c, s, p, _)| c == check && s == severity && p.starts_with(path));
            match hit {
                // Evidence starts with the request line naming the URL.
                Some((_, _, p, evidence))
                    if evidence.starts_with("GET ") && evidence.contains(p.as_str()) => {}
                _ => failures.push(format!(
                    "--flaw {flaw}: no {check} ({severity}) at {path}: {found:#?}"
                )),
            }
        }
        let unexpected: Vec<_> = found
            .iter()
            .filter(|(c, ..)| !expected.iter().any(|(e, ..)| e == c))
            .collect();
        if !unexpected.is_empty() {
            failures.push(format!("--flaw {flaw}: also found {unexpected:#?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A loopback HTTP server that answers every request with a small page and keeps each
/// request's `User-Agent`; it stops accepting after `limit` connections or 60 s.
fn recording_server(limit: usize) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    listener.set_nonblocking(true).expect("nonblocking");
    let agents = Arc::new(Mutex::new(Vec::new()));
    let seen = agents.clone();
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut served = 0;
        while served < limit && Instant::now() < deadline {
            let Ok((mut stream, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            served += 1;
            let _ = stream.set_nonblocking(false);
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buffer[..n]),
                }
            }
            let text = String::from_utf8_lossy(&request).to_string();
            let agent = text
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("user-agent")
                        .then(|| value.trim().to_string())
                })
                .unwrap_or_default();
            seen.lock().expect("lock").push(agent);
            let body = "<html><body>ok</body></html>";
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, agents)
}

#[test]
fn every_request_says_it_is_stagegate_or_what_it_was_told() {
    let (url, agents) = recording_server(500);
    let out = run(Command::new(stagegate_bin()).args(["scan", &url, "--output", "json"]));
    assert!(out.status.code().is_some(), "{}", text(&out));
    let seen = agents.lock().expect("lock").clone();
    let expected = format!("stagegate/{} (security scan)", env!("CARGO_PKG_VERSION"));
    assert!(seen.len() >= 10, "{seen:?}");
    assert!(seen.iter().all(|a| *a == expected), "{seen:?}");

    let (url, agents) = recording_server(500);
    let out = run(Command::new(stagegate_bin()).args([
        "scan",
        &url,
        "--user-agent",
        "kiem-tra-bao-mat/1.0",
        "--output",
        "json",
    ]));
    assert!(out.status.code().is_some(), "{}", text(&out));
    let seen = agents.lock().expect("lock").clone();
    assert!(
        !seen.is_empty() && seen.iter().all(|a| a == "kiem-tra-bao-mat/1.0"),
        "{seen:?}"
    );
}

#[test]
fn a_target_that_is_down_makes_every_check_could_not_run() {
    // A port that accepts and hangs up at once: nothing answers there (kept bound for
    // the whole test, so no other process can take the port in between).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    listener.set_nonblocking(true).expect("nonblocking");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopping = stop.clone();
    let closer = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !stopping.load(std::sync::atomic::Ordering::Relaxed) && Instant::now() < deadline {
            match listener.accept() {
                Ok((stream, _)) => drop(stream),
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    for scheme in ["http", "https"] {
        let url = format!("{scheme}://127.0.0.1:{port}");
        let out = run(Command::new(stagegate_bin()).args(["scan", &url, "--output", "json"]));
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let checks = report["checks"].as_array().cloned().unwrap_or_default();
        assert!(checks.len() >= 40, "{report:#}");
        for c in &checks {
            assert_eq!(c["status"]["status"], "error", "{c}");
            assert!(
                c["status"]["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("target unreachable")),
                "{c}"
            );
        }
        assert_eq!(report["findings"].as_array().map(Vec::len), Some(0));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = closer.join();
}
