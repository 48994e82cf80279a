//! Hostile project files and bounded resources (issue 12), through the binary: too many
//! users for the descriptors, FIFOs and symlinked feeders, huge numbers, invalid UTF-8
//! and a 50 MB body, each refused at once with its location, or read in flat memory.

use crate::counting_server::Counter;
use crate::support::{run, stagegate, stagegate_bin, text, Project};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[test]
fn issue_12_more_users_than_descriptors_is_refused_at_once_with_the_limit() {
    let started = Instant::now();
    let mut cmd = Command::new(stagegate_bin());
    cmd.args([
        "load",
        "http://127.0.0.1:9/x",
        "--users",
        "25000",
        "--duration",
        "10s",
    ]);
    // SAFETY: setrlimit in the child before exec, on a local struct.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 1024,
                rlim_max: 1024,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("error: 25000 virtual users need more file descriptors than this process may open (1024, of which 960 can be connections); nothing was sent"), "{}", text(&out));
    assert!(started.elapsed() < Duration::from_secs(5));
}

fn validate_within_5s(project: &Project) -> String {
    let started = Instant::now();
    let out = run(stagegate(project.root()).arg("validate"));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "validate took {:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    text(&out)
}

#[test]
fn issue_12_a_fifo_in_the_system_folder_ends_validate_at_once_with_its_name() {
    let project = Project::new("http://127.0.0.1:9", "http://127.0.0.2:9");
    let fifo = project.path("scenarios/dichvucong/data/ong.csv");
    let c = std::ffi::CString::new(fifo.to_str().expect("utf-8 path")).expect("path");
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let t = validate_within_5s(&project);
    assert!(t.contains("error: cannot read this file: it is a FIFO (named pipe), not a regular file\n --> scenarios/dichvucong/data/ong.csv:1:1"), "{t}");
}

#[test]
fn issue_12_a_feeder_symlinked_to_dev_zero_or_outside_the_project_is_refused() {
    let project = Project::new("http://127.0.0.1:9", "http://127.0.0.2:9");
    let data = project.path("scenarios/dichvucong/data");
    let feeder = std::fs::read_dir(&data)
        .expect("data")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "csv"))
        .expect("a csv feeder");
    std::fs::remove_file(&feeder).expect("rm");
    std::os::unix::fs::symlink("/dev/zero", &feeder).expect("symlink");
    let t = validate_within_5s(&project);
    assert!(t.contains("it is outside the project folder"), "{t}");
    let outside = tempfile::tempdir().expect("dir");
    std::fs::write(outside.path().join("x.csv"), "a\n1\n").expect("write");
    std::fs::remove_file(&feeder).expect("rm");
    std::os::unix::fs::symlink(outside.path().join("x.csv"), &feeder).expect("symlink");
    let t = validate_within_5s(&project);
    assert!(t.contains("it is outside the project folder"), "{t}");
}

#[test]
fn issue_12_huge_numbers_are_located_errors_not_aborts() {
    let project = Project::new("http://127.0.0.1:9", "http://127.0.0.2:9");
    project.write(
        "scenarios/dichvucong/so-lon.toml",
        "version = 1\nkind = \"load\"\nthink-time = \"18446744073709551615s\"\n[[transactions]]\nname = \"t\"\nweight = 4000000000\n[[transactions.steps]]\nmethod = \"GET\"\npath = \"/x\"\n",
    );
    project.edit(
        "scenarios/dichvucong/rollout.toml",
        "traffic = { users = 4, ramp-up = \"1s\", duration = \"4s\" }",
        "traffic = { users = 4000000000, ramp-up = \"1s\", duration = \"18446744073709551615s\", rate = 1e300 }",
    );
    let t = validate_within_5s(&project);
    for expected in [
        "error: weight 4000000000 is out of range\n --> scenarios/dichvucong/so-lon.toml:6:10",
        "error: bad duration `18446744073709551615s`: ",
        "--> scenarios/dichvucong/so-lon.toml:3:14",
        "error: 4000000000 users is out of range\n  --> scenarios/dichvucong/rollout.toml:11:21",
        "error: `rate` is out of range\n  --> scenarios/dichvucong/rollout.toml:11:92",
    ] {
        assert!(t.contains(expected), "missing {expected:?} in\n{t}");
    }
}

#[test]
fn issue_12_invalid_utf8_is_located_by_line_and_column() {
    let project = Project::new("http://127.0.0.1:9", "http://127.0.0.2:9");
    std::fs::write(
        project.path("scenarios/dichvucong/hong.toml"),
        b"version = 1\nkind = \"load\"\ndescription = \"Tra c\xff\xfeu\"\n",
    )
    .expect("write");
    let t = validate_within_5s(&project);
    assert!(
        t.contains("error: invalid UTF-8\n --> scenarios/dichvucong/hong.toml:3:21"),
        "{t}"
    );
}

/// The highest resident memory of a running process, in KiB (Linux `VmHWM`).
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[test]
fn issue_12_a_50_mb_body_is_read_to_its_end_in_flat_memory() {
    let body = Arc::new("x".repeat(50 << 20));
    let served = body.clone();
    let server = Counter::start(move |_| (200, vec![], served.as_str().to_string()));
    let mut child = Command::new(stagegate_bin())
        .args([
            "load",
            &format!("{}/lon", server.url),
            "--users",
            "5",
            "--duration",
            "3s",
            "--output",
            "json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("load starts");
    let pid = child.id();
    let mut peak = 0;
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        peak = peak.max(peak_rss_kib(pid).unwrap_or(0));
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the load did not end"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
    assert!(summary["requests"].as_u64().unwrap_or(0) >= 5, "{summary}");
    assert_eq!(summary["errors"], 0, "{summary}");
    // Five users each holding a 50 MB body would be 250 MB and more; read in chunks
    // and dropped, the process stays near its empty size.
    assert!(peak < 150 * 1024, "peak resident memory {peak} KiB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_12_a_tls_failure_is_named_with_the_certificates_names() {
    let (cert, key) =
        crate::security::tls_fixture::server_cert("cong.dichvucong.gov.vn", None, false);
    let (port, _server) = crate::security::tls_fixture::serve(cert, key).await;
    let out = tokio::task::spawn_blocking(move || {
        run(Command::new(stagegate_bin()).args([
            "load",
            &format!("https://127.0.0.1:{port}/"),
            // Several users fail at once: whichever failure is recorded first must be
            // named with the certificate's names (one user reads them for all).
            "--users",
            "4",
            "--duration",
            "1s",
            "--output",
            "json",
        ]))
    })
    .await
    .expect("load ran");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let first = summary["first_error"].as_str().unwrap_or_default();
    assert!(first.starts_with("TLS failure: "), "{first}");
    assert!(!first.contains("connection refused"), "{first}");
    assert!(
        first.ends_with("(the certificate names `cong.dichvucong.gov.vn`)"),
        "{first}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_12_evidence_is_redacted_before_it_is_cut() {
    use stagegate::config::diagnostic::{Diagnostics, SourceFile};
    use stagegate::config::suite::{self, SuiteBody};
    let key = "khoa-bi-mat-san-xuat-0123456789";
    // The key straddles the 300-character evidence cut: cut first, then redacted, its
    // first ten characters would survive.
    let server = Counter::start(move |seen| {
        let echoed = seen.headers.get("x-api-key").cloned().unwrap_or_default();
        (
            200,
            vec![],
            format!("{}{echoed} loi-chi-tiet", "a".repeat(290)),
        )
    });
    let file = SourceFile {
        path: "bao-mat.toml".into(),
        text: "version = 1\nkind = \"security\"\n[[probes]]\nname = \"vong\"\nseverity = \"high\"\npath = \"/vong\"\nmatchers = [{ kind = \"body-contains\", text = \"loi-chi-tiet\" }]\n".into(),
    };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut d = Diagnostics::default();
    let parsed = suite::parse(&file, "bao-mat", root, root, &mut d).expect("suite");
    let SuiteBody::Security(security) = parsed.body else {
        panic!("not a security suite")
    };
    let target =
        stagegate::plan::Target::without_secrets(&server.url).with_secret_header("X-Api-Key", key);
    let outcome = stagegate::security::run_suite(&security, &target).await;
    let json = serde_json::to_string(&outcome).expect("json");
    assert_eq!(outcome.findings.len(), 1, "{json}");
    assert!(outcome.findings[0].evidence.contains("***"), "{json}");
    assert!(!json.contains(&key[..10]), "{json}");
}
