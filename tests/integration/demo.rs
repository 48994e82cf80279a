//! `stagegate demo`: one release through all four stages and the regression stopped,
//! with nothing installed.

use crate::support::{run, text};
use std::process::Command;

#[test]
fn the_demo_takes_one_release_through_and_stops_the_regression() {
    let dir = tempfile::tempdir().expect("tmp");
    // `--quick`: the same stages, gates and decisions with each load but real-test's a
    // quarter as long (the demo's own rollout.toml says so; its unit tests pin the lines).
    let out = run(Command::new(crate::support::stagegate_bin())
        .args(["demo", "--quick", "--dir"])
        .arg(dir.path()));
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("dichvucong   1.0.0     promoted            promoted            promoted            promoted"), "{all}");
    assert!(
        all.contains("dichvucong   1.1.0     promoted            failed              not-run"),
        "{all}"
    );
    assert!(
        all.contains("latency-p95 is ") && all.contains("must be < 200.0ms"),
        "{all}"
    );
    assert!(all.contains("ledger verified"), "{all}");
    // Issue 11: the demo signs with its people's keys and shows the QA key refused.
    assert!(
        all.contains("qa.nguyen-van-an tries to approve with their own key: REFUSED")
            && all.contains("may not decide on stage `trial-test`"),
        "{all}"
    );
    assert!(
        all.contains("signed by Trần Thị Bình (rm.tran-thi-binh, release-manager) key SHA256:"),
        "{all}"
    );
    for id in ["qa.nguyen-van-an", "rm.tran-thi-binh", "rm.le-van-cuong"] {
        assert!(dir.path().join("keys").join(id).exists(), "{id}");
    }
    let verify = run(Command::new(crate::support::stagegate_bin())
        .arg("--root")
        .arg(dir.path())
        .args(["ledger", "verify"]));
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify));
    assert!(
        !all.contains("users launched"),
        "goose's own output must not leak\n{all}"
    );
    assert!(dir.path().join(".stagegate/ledger.db").exists());

    // CI servers read the promoted release's junit.xml as green (issue 13): info
    // findings are output, not failures; every case has a stable name and a time.
    let runs = dir.path().join(".stagegate/runs/dichvucong/1.0.0");
    let mut files = 0;
    for stage in std::fs::read_dir(&runs).expect("runs") {
        for run_dir in std::fs::read_dir(stage.expect("stage").path()).expect("run dirs") {
            let xml = std::fs::read_to_string(run_dir.expect("run").path().join("junit.xml"))
                .expect("junit.xml");
            files += 1;
            assert!(xml.contains("failures=\"0\" errors=\"0\""), "{xml}");
            assert!(
                !xml.contains("<failure") && !xml.contains("1.0.0."),
                "{xml}"
            );
            assert!(xml.contains("timestamp=\""), "{xml}");
            assert_eq!(
                xml.matches("<testcase ").count(),
                xml.matches("<testcase name=\"").count(),
            );
        }
    }
    assert_eq!(files, 4);

    // Read as CI servers read them: junitparser counts no failure, and every
    // <testsuite> is valid against the vendored Surefire XSD (scripts/check-junit).
    let junit: Vec<std::path::PathBuf> = std::fs::read_dir(&runs)
        .expect("runs")
        .flat_map(|stage| std::fs::read_dir(stage.expect("stage").path()).expect("run dirs"))
        .map(|run| run.expect("run").path().join("junit.xml"))
        .collect();
    let check = run(Command::new("/usr/bin/python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/check-junit"))
        .arg("--expect-no-failures")
        .args(&junit));
    let report = text(&check);
    assert_eq!(check.status.code(), Some(0), "{report}");
    assert_eq!(
        report
            .matches("0 failures, 0 errors, surefire schema: valid")
            .count(),
        4,
        "{report}"
    );
}
