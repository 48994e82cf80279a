//! Reports: junit.xml read by an independent JUnit library, report.html opened in
//! headless Chromium with no network, the Vietnamese go-live dossier, and approvals
//! pinned to the files as run. (The evidence archive: `evidence.rs`.)

use crate::browser::{
    assert_png, assert_self_contained, chromium, page_requests, screenshot_path, visible_text,
};
use crate::support::{quick_traffic, run, stage_cmd_in, stagegate, text, Project, Sample};
use std::collections::BTreeMap;

use std::path::PathBuf;
use std::process::Command;

const SYSTEM: &str = "dichvucong";
const RELEASE: &str = "1.0.0";

/// A sample system and a project whose trial-test stage has run once (short load).
pub(crate) struct TrialRun {
    _sample: Sample,
    pub(crate) project: Project,
    /// Exit code of `stagegate run`.
    pub(crate) code: i32,
}

impl TrialRun {
    pub(crate) fn start(sample_args: &[&str]) -> TrialRun {
        TrialRun::start_with(sample_args, |_| {})
    }

    /// Starts the sample, lets `prepare` edit the project, runs trial-test.
    pub(crate) fn start_with(sample_args: &[&str], prepare: impl Fn(&Project)) -> TrialRun {
        let sample = Sample::start(sample_args);
        let project = Project::new(&sample.url, &sample.url);
        quick_traffic(&project, "trial-test", 2, "1s");
        prepare(&project);
        let out = run(&mut stage_cmd_in(
            project.root(),
            RELEASE,
            "trial-test",
            "qa.nguyen",
        ));
        let code = out.status.code().unwrap_or(-1);
        // 0 passed, 1 failed, 4 aborted: the run completed and has its reports.
        assert!(
            [0, 1, 4].contains(&code),
            "run did not complete: {}",
            text(&out)
        );
        TrialRun {
            _sample: sample,
            project,
            code,
        }
    }

    /// The run's report folder (run #1 of the fresh ledger).
    pub(crate) fn report_dir(&self) -> PathBuf {
        self.project
            .path(".stagegate/runs/dichvucong/1.0.0/trial-test/run-1")
    }

    pub(crate) fn summary(&self) -> serde_json::Value {
        serde_json::from_slice(
            &std::fs::read(self.report_dir().join("summary.json")).expect("summary.json"),
        )
        .expect("json")
    }

    pub(crate) fn approve(&self, actor: &str) -> std::process::Output {
        run(stagegate(self.project.root()).args([
            "approve",
            SYSTEM,
            "--release",
            RELEASE,
            "--stage",
            "trial-test",
            "--as",
            actor,
            "--key",
            &crate::support::key_in(self.project.root(), actor),
            "--note",
            "đã xem xét bằng chứng, đồng ý",
        ]))
    }
}

/// The Python interpreter that has the `junitparser` library (Debian's
/// `python3-junitparser` lives in /usr/bin/python3's path, pip's in any python3).
fn python_with_junitparser() -> String {
    for python in ["/usr/bin/python3", "python3"] {
        let ok = Command::new(python)
            .args(["-c", "import junitparser"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if ok {
            return python.to_string();
        }
    }
    panic!("no python3 with junitparser (hint: scripts/test installs the Debian package `junitparser`)");
}

#[test]
fn junit_xml_is_read_by_an_independent_consumer_with_the_right_counts() {
    let trial = TrialRun::start(&["--flaw", "exposed-git"]);
    assert_eq!(
        trial.code, 1,
        "an exposed .git must fail the trial-test gate"
    );
    let summary = trial.summary();
    let results = summary["verdict"]["results"].as_array().expect("results");
    let checks = summary["security_checks"]
        .as_array()
        .expect("security checks");
    let expected_tests = results.len() + checks.len();
    let expected_failures = results.iter().filter(|r| r["status"] == "fail").count()
        + checks
            .iter()
            .filter(|c| {
                // Findings below medium (the default `junit-failures-from`) are output,
                // not failures (issue 13).
                c["ran"] == true
                    && summary["findings"]
                        .as_array()
                        .expect("findings")
                        .iter()
                        .any(|f| {
                            f["check"] == c["check"]
                                && ["medium", "high", "critical"]
                                    .contains(&f["severity"].as_str().unwrap_or(""))
                        })
            })
            .count();
    // Checks that did not run are errors unless skipped or not applicable (TLS on http).
    let expected_errors = checks.iter().filter(|c| c["error"].is_string()).count();
    assert!(
        expected_failures >= 2,
        "the flaw gives a failed criterion and a failed check: {summary}"
    );

    let script = r#"
import sys
from junitparser import JUnitXml, Failure, Error
xml = JUnitXml.fromfile(sys.argv[1])
tests = failures = errors = 0
messages = []
for suite in xml:
    for case in suite:
        tests += 1
        for r in case.result:
            if isinstance(r, Failure):
                failures += 1
                messages.append(r.message)
            elif isinstance(r, Error):
                errors += 1
print(tests, failures, errors)
for m in messages:
    print(m)
"#;
    let junit = trial.report_dir().join("junit.xml");
    let out = Command::new(python_with_junitparser())
        .args(["-c", script])
        .arg(&junit)
        .output()
        .expect("python runs");
    assert!(out.status.success(), "junitparser failed: {}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut lines = stdout.lines();
    let counts: Vec<usize> = lines
        .next()
        .unwrap_or("")
        .split_whitespace()
        .map(|n| n.parse().expect("count"))
        .collect();
    assert_eq!(
        counts,
        vec![expected_tests, expected_failures, expected_errors],
        "junit.xml:\n{}",
        std::fs::read_to_string(&junit).unwrap_or_default()
    );
    let messages: Vec<&str> = lines.collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("security-high is 1, must be == 0")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("[high] Git repository exposed")),
        "{messages:?}"
    );
}

#[test]
fn run_report_opens_in_headless_chromium_with_no_network() {
    let trial = TrialRun::start(&[]);
    assert_eq!(trial.code, 0);
    let page = trial.report_dir().join("report.html");
    let html = std::fs::read_to_string(&page).expect("report.html");
    assert_self_contained(&html);

    let shot = screenshot_path("run-report-en.png");
    let _ = std::fs::remove_file(&shot);
    let out = chromium(&[&format!("--screenshot={}", shot.display())], &page);
    assert!(out.status.success(), "{}", text(&out));
    assert_png(&shot);

    let out = chromium(&["--dump-dom"], &page);
    assert!(out.status.success(), "{}", text(&out));
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        dom.contains(r#"id="pipeline""#),
        "pipeline missing from the DOM"
    );
    for stage in [
        "trial-test",
        "real-test",
        "trial-production",
        "real-production",
    ] {
        assert!(
            dom.contains(&format!(r#"data-stage="{stage}""#)),
            "stage {stage} missing from the pipeline"
        );
    }
    assert!(
        dom.contains(r#"data-stage="trial-test" data-state="awaiting-approval""#),
        "trial-test passed and awaits approval"
    );
    assert!(
        dom.contains(r#"<table class="gate" id="gate-table-1">"#),
        "gate table missing"
    );
    assert!(
        dom.contains("<td><code>error-rate &lt; 1.00%</code></td>"),
        "gate table has its criteria"
    );
    assert!(
        dom.contains(r#"<svg class="chart" id="throughput-1""#),
        "throughput chart missing"
    );
    assert!(
        dom.contains(r#"<svg class="chart" id="latency-percentiles-1""#),
        "latency chart missing"
    );
    assert!(dom.contains("<polyline"), "charts have lines");
    // A test-tier run has no production-writes section (see the production run below).
    assert!(
        !dom.contains("production-writes"),
        "a test run shows production writes"
    );

    assert_eq!(
        page_requests(&page),
        Vec::<String>::new(),
        "report.html asked the network for something"
    );
    // The same check sees a page that does load something.
    let dir = tempfile::tempdir().expect("dir");
    let leaky = dir.path().join("leaky.html");
    std::fs::write(
        &leaky,
        r#"<html><body><img src="http://example.invalid/x.png"></body></html>"#,
    )
    .expect("write");
    assert_eq!(
        page_requests(&leaky),
        vec!["http://example.invalid/x.png".to_string()]
    );
}

#[test]
fn the_vietnamese_release_report_is_complete_and_renders_diacritics() {
    let trial = TrialRun::start(&[]);
    assert_eq!(trial.code, 0);
    let approved = trial.approve("rm.tran-thi-binh");
    assert!(approved.status.success(), "{}", text(&approved));

    let mut pages = BTreeMap::new();
    for lang in ["en", "vi"] {
        let file = trial.project.path(&format!("dossier.{lang}.html"));
        let out = run(stagegate(trial.project.root())
            .args(["report", SYSTEM, "--release", RELEASE, "--lang", lang, "-o"])
            .arg(&file));
        assert!(out.status.success(), "{}", text(&out));
        pages.insert(
            lang,
            (
                file.clone(),
                std::fs::read_to_string(&file).expect("report written"),
            ),
        );
    }
    let unknown =
        run(stagegate(trial.project.root()).args(["report", SYSTEM, "--release", "9.9.9"]));
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));
    assert!(
        text(&unknown).contains("no release 9.9.9"),
        "{}",
        text(&unknown)
    );
    let (vi_path, vi) = &pages["vi"];
    let (_, en) = &pages["en"];
    assert!(
        en.contains("Go-live dossier") && en.contains(r#"<html lang="en">"#),
        "the English report is English"
    );
    assert_self_contained(vi);
    assert!(vi.contains(r#"<html lang="vi">"#));
    for phrase in [
        "Hồ sơ đưa vào vận hành",
        "Quy trình bốn giai đoạn",
        "Chạy thử trên môi trường thử nghiệm",
        "đã phê duyệt chuyển tiếp",
        "Cổng kiểm soát",
        "Phê duyệt",
    ] {
        assert!(
            vi.contains(phrase),
            "`{phrase}` missing from the Vietnamese report"
        );
    }
    // Complete, not a mix: no English phrase of the catalogue is visible in Vietnamese.
    let en_words = stagegate::report::i18n::EN.phrases();
    let shown = visible_text(vi);
    let mut checked = 0;
    for phrase in en_words.iter() {
        // Short lowercase words ("test", "ran") also occur inside names and ids.
        if phrase.chars().count() < 4
            || !(phrase.contains(' ') || phrase.chars().any(char::is_uppercase))
        {
            continue;
        }
        checked += 1;
        assert!(
            !shown.contains(phrase),
            "English `{phrase}` in the Vietnamese report"
        );
    }
    assert!(checked > 40, "only {checked} phrases checked");
    // The gate's English reasons are said in Vietnamese too.
    assert!(
        !shown.contains(" is ") && !shown.contains("must be"),
        "an English gate reason in the Vietnamese report"
    );
    assert!(shown.contains("đạt ngưỡng"), "gate reasons in Vietnamese");
    assert_local_times(&trial, vi, en);

    let shot = screenshot_path("release-report-vi.png");
    let _ = std::fs::remove_file(&shot);
    let out = chromium(&[&format!("--screenshot={}", shot.display())], vi_path);
    assert!(out.status.success(), "{}", text(&out));
    assert_png(&shot);
}

#[test]
fn an_approval_is_refused_when_the_files_changed_since_the_run() {
    let trial = TrialRun::start(&[]);
    assert_eq!(trial.code, 0);
    let rollout = "scenarios/dichvucong/rollout.toml";
    let original = std::fs::read_to_string(trial.project.path(rollout)).expect("rollout");
    trial
        .project
        .write(rollout, &format!("{original}\n# edited after the run\n"));
    let refused = trial.approve("rm.tran-thi-binh");
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused));
    assert!(
        text(&refused).contains("changed since run #1"),
        "{}",
        text(&refused)
    );

    // The files as run are kept: putting them back makes the approval acceptable.
    let kept = std::fs::read_to_string(trial.report_dir().join("files").join(rollout))
        .expect("rollout kept as run");
    assert_eq!(kept, original);
    trial.project.write(rollout, &kept);
    let approved = trial.approve("rm.tran-thi-binh");
    assert!(approved.status.success(), "{}", text(&approved));
}

/// Issue 15: the Vietnamese dossier writes the ledger's UTC times as local time in
/// Asia/Ho_Chi_Minh (or `--tz`), day first; the English one keeps them as recorded.
fn assert_local_times(trial: &TrialRun, vi: &str, en: &str) {
    let history = run(stagegate(trial.project.root()).args([
        "history",
        SYSTEM,
        "--release",
        RELEASE,
        "--output",
        "json",
    ]));
    let history: serde_json::Value = serde_json::from_slice(&history.stdout).expect("history");
    let recorded = history["events"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["kind"] == "approval"))
        .and_then(|e| e["at"].as_str())
        .expect("approval time")
        .to_string();
    let at = chrono::DateTime::parse_from_rfc3339(&recorded).expect("RFC 3339");
    let hanoi = (at + chrono::Duration::hours(7)).format("%d/%m/%Y %H:%M:%S (UTC+07:00)");
    assert!(
        vi.contains(&hanoi.to_string()),
        "`{hanoi}` missing from the Vietnamese dossier"
    );
    assert!(
        en.contains(&recorded),
        "the English dossier keeps `{recorded}`"
    );
    let iso = regex::Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:").expect("regex");
    assert!(
        !iso.is_match(&visible_text(vi)),
        "an ISO time in the Vietnamese dossier"
    );

    let file = trial.project.path("dossier.utc.vi.html");
    let out = run(stagegate(trial.project.root())
        .args([
            "report",
            SYSTEM,
            "--release",
            RELEASE,
            "--lang",
            "vi",
            "--tz",
            "UTC",
            "-o",
        ])
        .arg(&file));
    assert!(out.status.success(), "{}", text(&out));
    let utc = at.format("%d/%m/%Y %H:%M:%S (UTC+00:00)").to_string();
    let page = std::fs::read_to_string(&file).expect("report written");
    assert!(page.contains(&utc), "`{utc}` missing with --tz UTC");
    let out = run(stagegate(trial.project.root()).args([
        "report",
        SYSTEM,
        "--release",
        RELEASE,
        "--tz",
        "Mars/Olympus",
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("unknown time zone `Mars/Olympus`"),
        "{}",
        text(&out)
    );
}

/// A production run whose load suite is a declared production write: its report (run
/// page, and the release dossier in both languages) names the suite and its reason.
#[test]
fn a_production_run_report_shows_its_production_writes_with_their_reasons() {
    const REASON: &str = "nộp hồ sơ thử nghiệm TEST-1, được xoá sau mỗi đợt";
    let key = [("DVC_PROD_API_KEY", "khoa-bao-cao-san-xuat")];
    let test = Sample::start(&[]);
    let production = Sample::start_with_env(&["--api-key-env", key[0].0], &key);
    let project = Project::new(&test.url, &production.url);
    for stage in ["trial-test", "real-test", "trial-production"] {
        quick_traffic(&project, stage, 2, "1s");
    }
    // Stages 1-2 only have to pass to open stage 3: judged on errors, not on the speed
    // of a loaded test machine.
    for timing in [
        "  { metric = \"latency-p95\", pass = \"< 1s\", warn = \"< 250ms\" },\n",
        "  { metric = \"latency-p95\", pass = \"< 200ms\", warn = \"< 100ms\" },\n",
        "  { metric = \"throughput\", pass = \">= 20/s\" },\n",
    ] {
        project.edit("scenarios/dichvucong/rollout.toml", timing, "");
    }
    project.edit(
        "scenarios/dichvucong/tra-cuu-va-nop-ho-so.toml",
        "tags = [\"production-safe\"]",
        &format!("tags = [\"production-write\"]\nproduction-write-reason = \"{REASON}\""),
    );
    project.edit(
        "scenarios/dichvucong/rollout.toml",
        "suites = [\"giam-sat-tong-hop\", \"bao-mat-co-ban\"]",
        "suites = [\"tra-cuu-va-nop-ho-so\", \"bao-mat-co-ban\"]",
    );
    for stage in ["trial-test", "real-test", "trial-production"] {
        let out = run(
            crate::support::run_stage_cmd(&project, RELEASE, stage, "qa.nguyen")
                .env("DVC_PROD_API_KEY", key[0].1),
        );
        // Stage 3's report is what is read: passed, or failed on a slow machine.
        let done: &[i32] = if stage == "trial-production" {
            &[0, 1]
        } else {
            &[0]
        };
        assert!(
            out.status.code().is_some_and(|c| done.contains(&c)),
            "{stage}: {}",
            text(&out)
        );
        if stage != "trial-production" {
            let out = crate::support::decide(&project, "approve", RELEASE, stage, "rm.1");
            assert!(out.status.success(), "{stage}: {}", text(&out));
        }
    }
    let dir = project.path(".stagegate/runs/dichvucong/1.0.0/trial-production/run-3");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).expect("summary"))
            .expect("json");
    assert_eq!(
        summary["production_writes"],
        serde_json::json!([{ "suite": "tra-cuu-va-nop-ho-so", "reason": REASON }])
    );
    let out = chromium(&["--dump-dom"], &dir.join("report.html"));
    assert!(out.status.success(), "{}", text(&out));
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        dom.contains(r#"<section class="production-writes" id="production-writes-3"><h3>Production writes</h3>"#),
        "{dom}"
    );
    assert!(
        dom.contains(&format!(r#"<tr class="production-write" data-suite="tra-cuu-va-nop-ho-so"><td><code>tra-cuu-va-nop-ho-so</code></td><td>{REASON}</td></tr>"#)),
        "{dom}"
    );
    let file = project.path("dossier.vi.html");
    let out = run(stagegate(project.root())
        .args(["report", SYSTEM, "--release", RELEASE, "--lang", "vi", "-o"])
        .arg(&file));
    assert!(out.status.success(), "{}", text(&out));
    let out = chromium(&["--dump-dom"], &file);
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        dom.contains("<h3>Ghi dữ liệu vào môi trường thật</h3>"),
        "{dom}"
    );
    assert!(dom.contains(REASON), "{dom}");
    // Only the production run has the section; the two test runs do not.
    assert_eq!(dom.matches(r#"class="production-writes""#).count(), 1);
}
