//! Issue 11: people, roles and signed decisions. Every test drives the real CLI against
//! a real ledger file; signatures are checked both ways with this machine's `ssh-keygen`.
//! Here: decisions judged by their key, people with several keys, look-alike people; the
//! hash chain against forgery and cut tails is in `identity_chain`, signing through
//! OpenSSH's own `ssh-agent` in `identity_agent`. The helpers below serve all three.

use crate::support::{
    key, quick_traffic, run, stage_cmd_in, stagegate, text, Project, Sample, SYSTEM,
};
use std::path::Path;
use std::process::{Command, Output};

pub(crate) fn project(sample: &Sample) -> Project {
    let project = Project::new(&sample.url, "http://127.0.0.1:9");
    quick_traffic(&project, "trial-test", 2, "1s");
    project
}

pub(crate) fn run_trial(project: &Project) -> Output {
    let out = run(&mut stage_cmd_in(
        project.root(),
        "1.0.0",
        "trial-test",
        "qa.an",
    ));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    out
}

/// `stagegate approve dichvucong --release 1.0.0 --stage trial-test` plus `extra`.
pub(crate) fn approve(project: &Project, extra: &[&str]) -> Output {
    run(stagegate(project.root())
        .args([
            "approve",
            SYSTEM,
            "--release",
            "1.0.0",
            "--stage",
            "trial-test",
            "--note",
            "đã xem bằng chứng",
        ])
        .args(extra))
}

pub(crate) fn ssh_keygen(args: &[&str]) -> Output {
    Command::new("ssh-keygen")
        .args(args)
        .output()
        .expect("ssh-keygen runs")
}

pub(crate) fn path_str(p: &Path) -> String {
    p.display().to_string()
}

/// Replaces person `id`'s `keys = [...]` line in people.toml.
pub(crate) fn set_keys(project: &Project, id: &str, keys: &[String]) {
    let path = project.path("people.toml");
    let text = std::fs::read_to_string(&path).expect("people.toml");
    let start = text
        .find(&format!("id = \"{id}\""))
        .expect("person present");
    let line = start + text[start..].find("keys = [").expect("keys line");
    let end = line + text[line..].find('\n').expect("newline");
    let list = keys
        .iter()
        .map(|k| format!("\"{}\"", k.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let new = format!("{}keys = [{list}]{}", &text[..line], &text[end..]);
    std::fs::write(&path, new).expect("write people.toml");
}

pub(crate) fn public_key(path: &Path) -> String {
    std::fs::read_to_string(format!("{}.pub", path.display())).expect("public key")
}

/// Events of the ledger as `history --output json` shows them.
pub(crate) fn events(project: &Project) -> Vec<serde_json::Value> {
    let out = run(stagegate(project.root()).args([
        "history",
        SYSTEM,
        "--release",
        "1.0.0",
        "--output",
        "json",
    ]));
    let history: serde_json::Value = serde_json::from_slice(&out.stdout).expect("history JSON");
    history["events"].as_array().expect("events").clone()
}

pub(crate) fn seq_of(project: &Project, kind: &str) -> i64 {
    events(project)
        .iter()
        .find(|e| e["kind"] == kind)
        .and_then(|e| e["seq"].as_i64())
        .expect("event present")
}

#[test]
fn issue_11_a_decision_is_judged_by_its_key_and_interoperates_with_ssh_keygen() {
    let sample = Sample::start(&[]);
    let project = project(&sample);
    run_trial(&project);

    // Another person's id with one's own key.
    let out = approve(
        &project,
        &["--as", "rm.binh", "--key", &key(&project, "rm.cuong")],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("`--as rm.binh` does not match the key")
            && text(&out).contains("belongs to rm.cuong"),
        "{}",
        text(&out)
    );
    // A look-alike id (zero-width space) names nobody.
    let out = approve(
        &project,
        &[
            "--as",
            "rm.binh\u{200b}",
            "--key",
            &key(&project, "rm.binh"),
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("nobody with that id"), "{}", text(&out));
    // A key nobody holds.
    let stranger = project.path("stranger");
    assert!(
        ssh_keygen(&["-q", "-t", "ed25519", "-N", "", "-f", &path_str(&stranger)])
            .status
            .success()
    );
    let out = approve(&project, &["--key", &path_str(&stranger)]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("is not in people.toml"),
        "{}",
        text(&out)
    );
    // A QA engineer's key (not the runner's): the plan lets only release managers decide.
    let out = approve(&project, &["--key", &key(&project, "qa.nguyen")]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("qa.nguyen (qa) may not decide on stage `trial-test`"),
        "{}",
        text(&out)
    );

    // A payload printed for rm.binh but signed elsewhere with rm.cuong's key.
    let payload = project.path("decision");
    let printed = approve(&project, &["--as", "rm.binh", "--print-payload"]);
    assert_eq!(printed.status.code(), Some(0), "{}", text(&printed));
    std::fs::write(&payload, &printed.stdout).expect("write payload");
    let signed = ssh_keygen(&[
        "-Y",
        "sign",
        "-q",
        "-f",
        &key(&project, "rm.cuong"),
        "-n",
        "stagegate",
        &path_str(&payload),
    ]);
    assert!(signed.status.success(), "{}", text(&signed));
    let sig = path_str(&project.path("decision.sig"));
    let out = approve(&project, &["--signature", &sig]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("signed as rm.binh, but key SHA256:")
            && text(&out).contains("belongs to rm.cuong"),
        "{}",
        text(&out)
    );

    // The same payload signed by rm.binh with stock ssh-keygen is accepted.
    std::fs::remove_file(project.path("decision.sig")).expect("remove sig");
    let signed = ssh_keygen(&[
        "-Y",
        "sign",
        "-q",
        "-f",
        &key(&project, "rm.binh"),
        "-n",
        "stagegate",
        &path_str(&payload),
    ]);
    assert!(signed.status.success(), "{}", text(&signed));
    let out = approve(&project, &["--signature", &sig]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("PROMOTED"), "{}", text(&out));
    assert!(
        text(&out).contains("signed by Trần Văn Bình (rm.binh, release-manager) key SHA256:"),
        "{}",
        text(&out)
    );

    // stagegate's own signatures are accepted by `ssh-keygen -Y verify`, with the
    // allowed_signers file stagegate prints.
    let signers = run(stagegate(project.root()).args(["ledger", "signers"]));
    assert_eq!(signers.status.code(), Some(0), "{}", text(&signers));
    let allowed = project.path("allowed_signers");
    std::fs::write(&allowed, &signers.stdout).expect("write allowed_signers");
    for (kind, person) in [("run-started", "qa.an"), ("approval", "rm.binh")] {
        let dir = project.path(&format!("export-{kind}"));
        let seq = seq_of(&project, kind).to_string();
        let out = run(stagegate(project.root()).args([
            "ledger",
            "export-event",
            &seq,
            "--dir",
            &path_str(&dir),
        ]));
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let verify = Command::new("ssh-keygen")
            .args([
                "-Y",
                "verify",
                "-f",
                &path_str(&allowed),
                "-I",
                person,
                "-n",
                "stagegate",
                "-s",
            ])
            .arg(dir.join("event.sig"))
            .stdin(std::fs::File::open(dir.join("event.payload")).expect("payload"))
            .output()
            .expect("ssh-keygen verify");
        assert!(verify.status.success(), "{kind}: {}", text(&verify));
        assert!(
            text(&verify).contains(&format!("Good \"stagegate\" signature for {person}")),
            "{}",
            text(&verify)
        );
        // The wrong person is not accepted.
        let wrong = Command::new("ssh-keygen")
            .args([
                "-Y",
                "verify",
                "-f",
                &path_str(&allowed),
                "-I",
                "rm.cuong",
                "-n",
                "stagegate",
                "-s",
            ])
            .arg(dir.join("event.sig"))
            .stdin(std::fs::File::open(dir.join("event.payload")).expect("payload"))
            .output()
            .expect("ssh-keygen verify");
        assert!(!wrong.status.success(), "{}", text(&wrong));
    }
    let verify = run(stagegate(project.root()).args(["ledger", "verify"]));
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify));
    assert!(
        text(&verify).contains("signatures valid"),
        "{}",
        text(&verify)
    );
}

#[test]
fn issue_11_one_person_with_two_keys_counts_once_and_run_n_must_be_the_latest() {
    let sample = Sample::start(&[]);
    let project = project(&sample);
    project.edit(
        "scenarios/dichvucong/rollout.toml",
        "approval = { approvers = 1, roles = [\"release-manager\"] }",
        "approval = { approvers = 2, roles = [\"release-manager\"] }",
    );
    let second = project.path("keys/rm.binh-2");
    assert!(
        ssh_keygen(&["-q", "-t", "ed25519", "-N", "", "-f", &path_str(&second)])
            .status
            .success()
    );
    let first = project.path("keys/rm.binh");
    set_keys(
        &project,
        "rm.binh",
        &[public_key(&first), public_key(&second)],
    );
    // rm.mallory's key is revoked: still listed, may no longer sign.
    let fresh = project.path("keys/rm.mallory-2");
    assert!(
        ssh_keygen(&["-q", "-t", "ed25519", "-N", "", "-f", &path_str(&fresh)])
            .status
            .success()
    );
    let old = public_key(&project.path("keys/rm.mallory"));
    set_keys(&project, "rm.mallory", &[public_key(&fresh)]);
    project.edit(
        "people.toml",
        &format!("keys = [\"{}\"]", public_key(&fresh).trim()),
        &format!(
            "keys = [\"{}\"]\nrevoked-keys = [\"{}\"]",
            public_key(&fresh).trim(),
            old.trim()
        ),
    );
    run_trial(&project);
    run_trial(&project);
    let out = approve(&project, &["--key", &key(&project, "rm.mallory")]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("of rm.mallory is revoked"),
        "{}",
        text(&out)
    );

    let out = approve(
        &project,
        &["--run", "1", "--key", &key(&project, "rm.binh")],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("run #1 is not the latest run of stage `trial-test`"),
        "{}",
        text(&out)
    );
    let out = approve(
        &project,
        &["--run", "2", "--key", &key(&project, "rm.binh")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("(1/2 approvals)"), "{}", text(&out));
    // Same person, other key: still the same person.
    let out = approve(&project, &["--key", &path_str(&second)]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("rm.binh already approved run #2"),
        "{}",
        text(&out)
    );
    let out = approve(&project, &["--key", &key(&project, "rm.cuong")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("PROMOTED"), "{}", text(&out));
}

#[test]
fn issue_11_look_alike_people_and_unheld_roles_are_refused_where_they_are_written() {
    let project = Project::new("http://127.0.0.1:9", "http://127.0.0.1:9");
    // A Cyrillic `а` in an id, written as the character itself.
    project.edit("people.toml", "id = \"rm.binh\"", "id = \"rm.bin\u{0430}\"");
    project.edit(
        "people.toml",
        "name = \"Lê Văn Cường\"",
        "name = \"Lê Văn\u{200b}Cường\"",
    );
    project.edit(
        "scenarios/dichvucong/rollout.toml",
        "approval = { approvers = 1, roles = [\"release-manager\"] }",
        "approval = { approvers = 1, roles = [\"release-manger\"] }",
    );
    let out = run(stagegate(project.root()).arg("validate"));
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    let people = std::fs::read_to_string(project.path("people.toml")).expect("people");
    let line = people
        .lines()
        .position(|l| l.contains("rm.bin\u{0430}"))
        .expect("line")
        + 1;
    assert!(all.contains(&format!("--> people.toml:{line}:13")), "{all}");
    assert!(
        all.contains("id mixes scripts at `\u{0430}` (U+0430)"),
        "{all}"
    );
    assert!(
        all.contains("display name contains an invisible character (zero-width space U+200B)"),
        "{all}"
    );
    // With a valid roster, the rollout's roles are checked against it.
    project.edit("people.toml", "id = \"rm.bin\u{0430}\"", "id = \"rm.binh\"");
    project.edit("people.toml", "Lê Văn\u{200b}Cường", "Lê Văn Cường");
    let out = run(stagegate(project.root()).arg("validate"));
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("nobody in people.toml holds the role `release-manger`"),
        "{all}"
    );
    assert!(
        all.contains("--> scenarios/dichvucong/rollout.toml:19:38"),
        "{all}"
    );
}
