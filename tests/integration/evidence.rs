//! The evidence archive of a release and `evidence verify`: an untouched archive
//! verifies; a changed byte, an edited threshold, an edited gate in the files as run and
//! an edited ledger event are each named; an aborted run has reports and verifies.

use crate::browser::visible_text;
use crate::reports::TrialRun;
use crate::support::{quick_traffic, run, stagegate, text};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const SYSTEM: &str = "dichvucong";
const RELEASE: &str = "1.0.0";

/// A trial run, approved, and its evidence archive.
fn evidence_archive() -> (TrialRun, PathBuf) {
    let trial = TrialRun::start(&[]);
    assert_eq!(trial.code, 0);
    assert!(trial.approve("rm.tran-thi-binh").status.success());
    let archive = trial.project.path("evidence.tar.gz");
    let out = run(stagegate(trial.project.root())
        .args(["evidence", SYSTEM, "--release", RELEASE, "-o"])
        .arg(&archive));
    assert!(out.status.success(), "{}", text(&out));
    (trial, archive)
}

fn verify(root: &Path, archive: &Path) -> std::process::Output {
    run(stagegate(root).args(["evidence", "verify"]).arg(archive))
}

type Entries = BTreeMap<String, Vec<u8>>;

fn unpack(archive: &Path) -> Entries {
    stagegate::evidence::archive::read(archive).expect("archive reads")
}

fn repack(archive: &Path, entries: &Entries) {
    stagegate::evidence::archive::write(archive, entries).expect("archive writes");
}

/// Recomputes the manifest's SHA-256 of every file, as a forger would.
fn forge_manifest(entries: &mut Entries) {
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&entries["manifest.json"]).expect("manifest");
    for file in manifest["files"].as_array_mut().expect("files") {
        let path = file["path"].as_str().expect("path").to_string();
        file["sha256"] = stagegate::evidence::sha256_hex(&entries[&path]).into();
    }
    entries.insert(
        "manifest.json".into(),
        serde_json::to_vec_pretty(&manifest).expect("json"),
    );
}

#[test]
fn evidence_verify_passes_on_an_untouched_archive() {
    let (trial, archive) = evidence_archive();
    let entries = unpack(&archive);
    for expected in [
        "manifest.json",
        "ledger/events.json",
        "ledger/chain.json",
        "runs/trial-test/run-1/summary.json",
        "runs/trial-test/run-1/junit.xml",
        "runs/trial-test/run-1/report.html",
        "runs/trial-test/run-1/report.vi.html",
        "runs/trial-test/run-1/files/scenarios/dichvucong/rollout.toml",
        "runs/trial-test/run-1/files/environments/test.toml",
        "reports/dichvucong-1.0.0.en.html",
        "reports/dichvucong-1.0.0.vi.html",
    ] {
        assert!(
            entries.contains_key(expected),
            "{expected} missing from {:?}",
            entries.keys().collect::<Vec<_>>()
        );
    }
    let unknown = run(stagegate(trial.project.root())
        .args(["evidence", SYSTEM, "--release", "9.9.9", "-o"])
        .arg(trial.project.path("x.tar.gz")));
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));
    let out = verify(trial.project.root(), &archive);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("1 gates (5 criteria) evaluated again"),
        "{}",
        text(&out)
    );

    // Leaving a run out (its folder and its manifest lines) is noticed from the events.
    let mut entries = entries;
    entries.retain(|path, _| !path.starts_with("runs/trial-test/run-1/"));
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&entries["manifest.json"]).expect("manifest");
    manifest["files"]
        .as_array_mut()
        .expect("files")
        .retain(|f| {
            !f["path"]
                .as_str()
                .unwrap_or("")
                .starts_with("runs/trial-test/run-1/")
        });
    entries.insert(
        "manifest.json".into(),
        serde_json::to_vec_pretty(&manifest).expect("json"),
    );
    repack(&archive, &entries);
    let out = verify(trial.project.root(), &archive);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(
            "run #1 (trial-test passed) is in the ledger's events but its reports are missing"
        ),
        "{}",
        text(&out)
    );
}

#[test]
fn evidence_verify_names_the_file_after_a_one_byte_change() {
    let (trial, archive) = evidence_archive();
    let mut entries = unpack(&archive);
    let target = "runs/trial-test/run-1/report.html";
    let bytes = entries.get_mut(target).expect("report in archive");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    repack(&archive, &entries);
    let out = verify(trial.project.root(), &archive);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("file `{target}` was changed")),
        "{}",
        text(&out)
    );
}

#[test]
fn evidence_verify_names_the_criterion_when_a_stored_threshold_is_edited() {
    let (trial, archive) = evidence_archive();
    let mut entries = unpack(&archive);
    let target = "runs/trial-test/run-1/summary.json";
    let mut summary: serde_json::Value = serde_json::from_slice(&entries[target]).expect("summary");
    let criterion = summary["verdict"]["results"]
        .as_array_mut()
        .expect("results")
        .iter_mut()
        .find(|r| r["metric"] == "latency-p95")
        .expect("latency criterion");
    assert_eq!(criterion["pass"], "< 1000.0ms");
    criterion["pass"] = "< 5000.0ms".into();
    entries.insert(
        target.into(),
        serde_json::to_vec_pretty(&summary).expect("json"),
    );
    // The forger also fixes the manifest: only the re-evaluation can notice.
    forge_manifest(&mut entries);
    repack(&archive, &entries);
    let out = verify(trial.project.root(), &archive);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let shown = text(&out);
    assert!(
        !shown.contains("was changed: its SHA-256"),
        "the manifest was forged to match: {shown}"
    );
    assert!(
        shown.contains(
            "criterion `latency-p95 < 1000.0ms`: the stored threshold (pass `< 5000.0ms`"
        ),
        "{shown}"
    );
    assert!(shown.contains("is not the gate as run"), "{shown}");
}

#[test]
fn evidence_verify_notices_an_edited_gate_in_the_files_as_run() {
    let (trial, archive) = evidence_archive();
    let mut entries = unpack(&archive);
    let target = "runs/trial-test/run-1/files/scenarios/dichvucong/rollout.toml";
    let rollout = String::from_utf8(entries[target].clone()).expect("utf-8");
    let edited = rollout.replacen(
        r#"{ metric = "latency-p95", pass = "< 1s", warn = "< 250ms" }"#,
        r#"{ metric = "latency-p95", pass = "< 1ms" }"#,
        1,
    );
    assert_ne!(edited, rollout, "fixture line not found");
    entries.insert(target.into(), edited.into_bytes());
    forge_manifest(&mut entries);
    repack(&archive, &entries);
    let out = verify(trial.project.root(), &archive);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let shown = text(&out);
    assert!(shown.contains("a file was changed"), "{shown}");
    assert!(
        shown.contains("criterion `latency-p95 < 1000.0ms`"),
        "{shown}"
    );
}

#[test]
fn evidence_verify_notices_an_edited_ledger_event() {
    let (trial, archive) = evidence_archive();
    let mut entries = unpack(&archive);
    // Rewrite who approved, in both copies of the event, and fix the manifest.
    for file in ["ledger/events.json", "ledger/chain.json"] {
        let edited = String::from_utf8(entries[file].clone())
            .expect("utf-8")
            .replace("rm.tran-thi-binh", "rm.mallory");
        entries.insert(file.into(), edited.into_bytes());
    }
    forge_manifest(&mut entries);
    repack(&archive, &entries);
    let out = verify(trial.project.root(), &archive);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("(approval by rm.mallory) does not match its hash: it was edited"),
        "{}",
        text(&out)
    );
}

#[test]
fn an_aborted_run_has_reports_and_its_evidence_verifies() {
    let trial = TrialRun::start_with(&["--error-rate", "0.5"], |project| {
        quick_traffic(project, "trial-test", 2, "10s");
        project.edit(
            "scenarios/dichvucong/rollout.toml",
            "approval = { approvers = 1, roles = [\"release-manager\"] }\n\n# 2.",
            "approval = { approvers = 1, roles = [\"release-manager\"] }\nabort = [{ metric = \"error-rate\", pass = \"< 5%\" }]\n\n# 2.",
        );
    });
    assert_eq!(trial.code, 4, "exit 4: aborted");
    assert_eq!(trial.summary()["state"], "aborted");
    let junit = std::fs::read_to_string(trial.report_dir().join("junit.xml")).expect("junit.xml");
    assert!(
        junit.contains("aborted: abort criterion `error-rate &lt; 5.00%` breached"),
        "{junit}"
    );
    let vi =
        std::fs::read_to_string(trial.report_dir().join("report.vi.html")).expect("report.vi.html");
    assert!(
        visible_text(&vi).contains("đã dừng tải: vi phạm tiêu chí dừng khẩn"),
        "the abort is said in Vietnamese"
    );

    let archive = trial.project.path("evidence.tar.gz");
    let out = run(stagegate(trial.project.root())
        .args(["evidence", SYSTEM, "--release", RELEASE, "-o"])
        .arg(&archive));
    assert!(out.status.success(), "{}", text(&out));
    let out = verify(trial.project.root(), &archive);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// Issue 12: a feeder outside the system's folder (but inside the project) is a file
/// the run reads: it is kept with the files as run and pinned by the digest, so editing
/// it after the run blocks the approval.
#[test]
fn issue_12_a_feeder_outside_the_system_folder_is_kept_and_pins_the_approval() {
    let trial = TrialRun::start_with(&[], |project| {
        std::fs::create_dir_all(project.path("du-lieu")).expect("mkdir");
        std::fs::copy(
            project.path("scenarios/dichvucong/data/cong_dan_thu_nghiem.csv"),
            project.path("du-lieu/cong-dan.csv"),
        )
        .expect("copy the feeder");
        project.edit(
            "scenarios/dichvucong/tra-cuu-va-nop-ho-so.toml",
            "file = \"data/cong_dan_thu_nghiem.csv\"",
            "file = \"../../du-lieu/cong-dan.csv\"",
        );
    });
    assert_eq!(trial.code, 0);
    let feeder = trial.project.path("du-lieu/cong-dan.csv");
    let original = std::fs::read(&feeder).expect("feeder");
    let kept = std::fs::read(trial.report_dir().join("files/du-lieu/cong-dan.csv"))
        .expect("the feeder is kept with the files as run");
    assert_eq!(kept, original);

    let mut edited = original.clone();
    if !edited.ends_with(b"\n") {
        edited.push(b'\n');
    }
    edited.extend_from_slice(
        "201,001099999999,Nguyễn Văn Mới,Nam,1990-01-01,Hà Nội,0900000000\n".as_bytes(),
    );
    std::fs::write(&feeder, &edited).expect("edit the feeder");
    let refused = trial.approve("rm.tran-thi-binh");
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused));
    assert!(
        text(&refused).contains("changed since run #1"),
        "{}",
        text(&refused)
    );
    std::fs::write(&feeder, &original).expect("restore");
    let approved = trial.approve("rm.tran-thi-binh");
    assert!(approved.status.success(), "{}", text(&approved));
}
