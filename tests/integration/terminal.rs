//! Issue 15: the command line on a terminal, in a pipe and in a CI log: colour only on
//! a terminal and never with `NO_COLOR`; a live line that redraws in place within 80
//! columns and leaves nothing behind; `--quiet`; `--lang vi`; `load`'s summary on
//! SIGINT and SIGTERM. Terminals are real pseudo-terminals (`script` from util-linux)
//! and the screen is rendered by a terminal emulator (vt100) as a person would see it.

use crate::pipeline::trial_project;
use crate::support::{run, stagegate, stagegate_bin, text, Sample};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ESC: &str = "\x1b[";

/// Runs `args` (a `stagegate` command line) in a pseudo-terminal of 80×24, as a person
/// at a terminal would; gives everything the terminal received.
fn in_terminal(args: &[&str], env: &[(&str, &str)]) -> String {
    let quoted: Vec<String> = std::iter::once(stagegate_bin().display().to_string())
        .chain(args.iter().map(|a| a.to_string()))
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    let line = format!("stty cols 80 rows 24; {}", quoted.join(" "));
    let mut cmd = Command::new("script");
    cmd.args(["-qefc", &line, "/dev/null"])
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("STAGEGATE_LANG")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("script (util-linux) runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The screen after `raw` was written to an 80×24 terminal.
fn screen(raw: &str) -> Vec<String> {
    let mut parser = vt100::Parser::new(24, 80, 0);
    parser.process(
        raw.replace('\n', "\r\n")
            .replace("\r\r\n", "\r\n")
            .as_bytes(),
    );
    parser
        .screen()
        .rows(0, 80)
        .map(|r| r.trim_end().to_string())
        .collect()
}

#[test]
fn issue_15_colour_on_a_terminal_none_with_no_color_or_in_a_pipe() {
    let empty = tempfile::tempdir().expect("tempdir");
    let root = empty.path().display().to_string();
    let args = ["--root", root.as_str(), "status"];
    let coloured = in_terminal(&args, &[]);
    assert!(coloured.contains("no ledger"), "{coloured:?}");
    assert!(
        coloured.contains(ESC),
        "a terminal gets colour: {coloured:?}"
    );

    let no_color = in_terminal(&args, &[("NO_COLOR", "1")]);
    assert!(no_color.contains("error: no ledger"), "{no_color:?}");
    assert!(!no_color.contains(ESC), "NO_COLOR: {no_color:?}");

    let piped = run(stagegate(empty.path()).arg("status").env_remove("NO_COLOR"));
    assert_eq!(piped.status.code(), Some(2), "{}", text(&piped));
    assert!(
        text(&piped).contains("error: no ledger"),
        "{}",
        text(&piped)
    );
    assert!(!text(&piped).contains(ESC), "a pipe: {:?}", text(&piped));
}

/// A server answering every request at once, counting them.
fn counting_server() -> (String, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let count = Arc::new(AtomicU64::new(0));
    let counter = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let counter = counter.clone();
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
                        counter.fetch_add(1, Ordering::Relaxed);
                        // A few ms, so that two users make a few hundred requests a second.
                        std::thread::sleep(Duration::from_millis(5));
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
    (format!("http://{addr}/"), count)
}

#[test]
fn issue_15_the_load_line_redraws_in_place_at_80_columns_and_the_summary_stands_alone() {
    let (url, _) = counting_server();
    // A long URL makes the live line and the summary wider than 80 columns.
    let url = format!("{url}{}", "duong-dan-rat-dai/".repeat(4));
    let raw = in_terminal(&["load", &url, "--users", "2", "--duration", "3s"], &[]);
    assert!(raw.contains("req/s"), "the live line was drawn: {raw:?}");
    let rows = screen(&raw);
    let shown = rows.join("\n");
    assert!(
        !rows.iter().any(|r| r.contains("req/s")),
        "no live line is left behind:\n{shown}"
    );
    let heading = rows
        .iter()
        .position(|r| r.contains("2 users for"))
        .unwrap_or_else(|| panic!("summary heading:\n{shown}"));
    assert!(
        !rows[heading].contains("left"),
        "the summary is not glued to the live line:\n{shown}"
    );
    assert!(
        rows.iter().any(|r| r.trim_start().starts_with("requests")),
        "{shown}"
    );
}

/// Starts `load` for 60 s, waits until the server saw requests, sends `signal`, and
/// gives the exit code and the JSON summary.
fn interrupted_load(signal: i32, output: &str) -> (Option<i32>, String, String, Duration) {
    let (url, count) = counting_server();
    let mut child = Command::new(stagegate_bin())
        .args([
            "load",
            &url,
            "--users",
            "2",
            "--duration",
            "60s",
            "--output",
            output,
        ])
        .env_remove("STAGEGATE_LANG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("load starts");
    let started = Instant::now();
    while count.load(Ordering::Relaxed) < 20 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no traffic arrived"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
    let signalled = Instant::now();
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .expect("read stdout");
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    let status = child.wait().expect("load ends");
    (status.code(), stdout, stderr, signalled.elapsed())
}

#[test]
fn issue_15_load_prints_its_partial_summary_on_sigint_and_sigterm_and_exits_4() {
    for (signal, name) in [(libc::SIGINT, "SIGINT"), (libc::SIGTERM, "SIGTERM")] {
        let (code, stdout, stderr, stop) = interrupted_load(signal, "json");
        assert_eq!(code, Some(4), "{name}: {stdout}{stderr}");
        let json: serde_json::Value = serde_json::from_str(&stdout).expect("JSON summary");
        assert_eq!(json["schema"], "stagegate.load/v1", "{json}");
        assert_eq!(json["interrupted"], name, "{json}");
        assert!(json["requests"].as_u64().unwrap_or(0) >= 20, "{json}");
        assert!(json["duration_s"].as_f64().unwrap_or(60.0) < 55.0, "{json}");
        assert!(
            stderr.contains(&format!("interrupted by {name}")),
            "{stderr}"
        );
        // The runner's grace for a load to stop is 10 s; goose stops within a second or two.
        assert!(
            stop < Duration::from_secs(15),
            "{name}: stopped after {stop:?}"
        );
    }
    let (code, stdout, _, _) = interrupted_load(libc::SIGTERM, "text");
    assert_eq!(code, Some(4), "{stdout}");
    assert!(stdout.contains("interrupted by SIGTERM"), "{stdout}");
    assert!(stdout.contains("requests"), "{stdout}");
}

#[test]
fn issue_15_lang_vi_prints_the_vietnamese_verdict_table_and_quiet_keeps_only_results() {
    let sample = Sample::start(&[]);
    let project = trial_project(&sample);
    let key = crate::support::key_in(project.root(), "qa.an");
    let stage = [
        "run",
        "dichvucong",
        "--release",
        "1.0.0",
        "--stage",
        "trial-test",
        "--as",
        "qa.an",
        "--key",
        &key,
    ];
    let out = run(stagegate(project.root())
        .args(stage)
        .arg("-v")
        .env("STAGEGATE_LANG", "vi"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    for words in [
        "tiêu chí",
        "giá trị",
        "kết quả",
        "lý do",
        "cổng kiểm soát ĐẠT",
        "ký bởi",
    ] {
        assert!(stdout.contains(words), "`{words}` missing:\n{stdout}");
    }
    assert!(
        !stdout.contains("criterion") && !stdout.contains("gate PASSED"),
        "no English table words:\n{stdout}"
    );
    assert!(stderr.contains("lượt chạy #1"), "{stderr}");
    // The run's lines and, with `-v`, each criterion as judged: Vietnamese too.
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("  bộ kịch bản ") && l.contains(": "))
            && !stderr.contains("  suite "),
        "{stderr}"
    );
    assert!(
        stderr.lines().any(|l| l.trim_start().starts_with("đạt ")),
        "verbose:\n{stderr}"
    );
    assert!(!stdout.contains(ESC) && !stderr.contains(ESC), "a pipe");

    // `--quiet`: the verdict, and nothing about the run's progress.
    let out = run(stagegate(project.root()).args(stage).arg("--quiet"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("gate PASSED"));
    assert!(
        !stderr.contains("suite") && !stderr.contains("run #"),
        "quiet:\n{stderr}"
    );
    // `-v`: each criterion as it is judged.
    let out = run(stagegate(project.root()).args(stage).arg("-v"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.lines().any(|l| l.trim_start().starts_with("pass ")),
        "verbose:\n{stderr}"
    );
}

/// Runs a command of the trial's project; gives its exit code, stdout and all output.
fn in_trial(trial: &crate::reports::TrialRun, args: &[&str]) -> (Option<i32>, String, String) {
    let out = run(stagegate(trial.project.root()).args(args));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        text(&out),
    )
}

#[test]
fn issue_15_approve_ledger_verify_and_evidence_verify_print_versioned_json() {
    let trial = crate::reports::TrialRun::start(&[]);
    assert_eq!(trial.code, 0);
    let root = trial.project.root();
    let key = crate::support::key_in(root, "rm.binh");
    let decision = [
        "approve",
        "dichvucong",
        "--release",
        "1.0.0",
        "--stage",
        "trial-test",
        "--as",
        "rm.binh",
        "--key",
        &key,
        "--note",
        "ổn",
    ];
    // `-o` without `--output json` is refused before anything is recorded.
    let mut refused = decision.to_vec();
    refused.extend(["-o", "x.json"]);
    let (code, _, all) = in_trial(&trial, &refused);
    assert_eq!(code, Some(2), "{all}");
    let mut json = decision.to_vec();
    json.extend(["--output", "json"]);
    let (code, stdout, all) = in_trial(&trial, &json);
    assert_eq!(code, Some(0), "{all}");
    let d: serde_json::Value = serde_json::from_str(&stdout).expect("decision JSON");
    assert_eq!(d["schema"], "stagegate.decision/v1", "{d}");
    assert_eq!(d["decision"], "approve", "{d}");
    assert_eq!(
        (d["run"].as_i64(), d["person"].as_str()),
        (Some(1), Some("rm.binh"))
    );
    assert_eq!(d["promoted"], true, "{d}");
    assert!(
        d["fingerprint"]
            .as_str()
            .is_some_and(|f| f.starts_with("SHA256:")),
        "{d}"
    );

    // `ledger verify` into a file, standard output left free.
    let file = trial.project.path("verify.json");
    let file_arg = file.display().to_string();
    let (code, stdout, all) = in_trial(
        &trial,
        &["ledger", "verify", "--output", "json", "-o", &file_arg],
    );
    assert_eq!(code, Some(0), "{all}");
    assert!(stdout.trim().is_empty(), "{stdout}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("written")).expect("JSON");
    assert_eq!(
        (v["schema"].as_str(), v["ok"].as_bool()),
        (Some("stagegate.ledger-verify/v1"), Some(true)),
        "{v}"
    );
    let events = v["events"].as_i64().expect("events");
    assert_eq!(v["head"]["seq"].as_i64(), Some(events), "{v}");
    assert_eq!(v["rosters"][0]["current"], true, "{v}");
    let (code, stdout, all) = in_trial(
        &trial,
        &[
            "ledger",
            "verify",
            "--expect-head",
            &format!("{}:{}", events + 5, "0".repeat(64)),
            "--output",
            "json",
        ],
    );
    assert_eq!(code, Some(1), "{all}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(v["ok"], false, "{v}");
    assert!(
        v["problem"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("missing")),
        "{v}"
    );

    // `evidence verify`: a good archive, then a damaged one.
    let archive = trial.project.path("evidence.tar.gz").display().to_string();
    let (code, _, all) = in_trial(
        &trial,
        &[
            "evidence",
            "dichvucong",
            "--release",
            "1.0.0",
            "-o",
            &archive,
        ],
    );
    assert_eq!(code, Some(0), "{all}");
    let (code, stdout, all) = in_trial(
        &trial,
        &["evidence", "verify", &archive, "--output", "json"],
    );
    assert_eq!(code, Some(0), "{all}");
    let e: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(
        (e["schema"].as_str(), e["ok"].as_bool()),
        (Some("stagegate.evidence-verify/v1"), Some(true)),
        "{e}"
    );
    assert!(
        e["files"].as_u64().unwrap_or(0) > 5 && e["problems"] == serde_json::json!([]),
        "{e}"
    );
    std::fs::write(&archive, b"not an archive").expect("damage");
    let (code, stdout, all) = in_trial(
        &trial,
        &["evidence", "verify", &archive, "--output", "json"],
    );
    assert_eq!(code, Some(1), "{all}");
    let e: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(e["ok"], false, "{e}");
    assert_eq!(e["problems"].as_array().map(Vec::len), Some(1), "{e}");

    // `status` and `history` into files too.
    let status = trial.project.path("status.json").display().to_string();
    let (code, _, all) = in_trial(&trial, &["status", "--output", "json", "--out", &status]);
    assert_eq!(code, Some(0), "{all}");
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&status).expect("written")).expect("JSON");
    assert_eq!(s["schema"], "stagegate.status/v1", "{s}");
    assert!(
        s["releases"].as_array().is_some_and(|a| !a.is_empty()),
        "{s}"
    );
}
