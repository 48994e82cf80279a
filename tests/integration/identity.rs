//! Issue 11: people, roles and signed decisions. Every test drives the real CLI against
//! a real ledger file; signatures are checked both ways with this machine's `ssh-keygen`,
//! and one test signs through OpenSSH's own `ssh-agent`.

use crate::support::{key, quick_traffic, run, stagegate, text, Project, Sample};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SYSTEM: &str = "dichvucong";

fn project(sample: &Sample) -> Project {
    let project = Project::new(&sample.url, "http://127.0.0.1:9");
    quick_traffic(&project, "trial-test", 2, "1s");
    project
}

fn run_trial(project: &Project) -> Output {
    let out = run(stagegate(project.root()).args([
        "run",
        SYSTEM,
        "--release",
        "1.0.0",
        "--stage",
        "trial-test",
        "--key",
        &key(project, "qa.an"),
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    out
}

/// `stagegate approve dichvucong --release 1.0.0 --stage trial-test` plus `extra`.
fn approve(project: &Project, extra: &[&str]) -> Output {
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

fn ssh_keygen(args: &[&str]) -> Output {
    Command::new("ssh-keygen")
        .args(args)
        .output()
        .expect("ssh-keygen runs")
}

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

/// Replaces person `id`'s `keys = [...]` line in people.toml.
fn set_keys(project: &Project, id: &str, keys: &[String]) {
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

fn public_key(path: &Path) -> String {
    std::fs::read_to_string(format!("{}.pub", path.display())).expect("public key")
}

/// Events of the ledger as `history --output json` shows them.
fn events(project: &Project) -> Vec<serde_json::Value> {
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

fn seq_of(project: &Project, kind: &str) -> i64 {
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

/// H(fields): SHA-256 over each field's UTF-8 length (u64 big-endian) and bytes, as
/// docs/signatures.md §4 says.
fn doc_hash(fields: &[&str]) -> String {
    let mut h = Sha256::new();
    for f in fields {
        h.update((f.len() as u64).to_be_bytes());
        h.update(f.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Recomputes `prev_hash` and `hash` of every event from `from` on, following the
/// documented rules (what a forger with write access would do).
fn rechain(db: &Path, from: i64) {
    let conn = rusqlite::Connection::open(db).expect("open");
    conn.execute_batch("DROP TRIGGER IF EXISTS audit_no_update;")
        .expect("drop trigger");
    let mut prev: String = conn
        .query_row("SELECT hash FROM audit WHERE seq = ?1", [from - 1], |r| {
            r.get(0)
        })
        .expect("previous hash");
    let rows: Vec<Vec<String>> = {
        let mut stmt = conn
            .prepare("SELECT seq, at, kind, system, release, coalesce(stage, ''), actor, payload, roster, signer, statement, signature FROM audit WHERE seq >= ?1 ORDER BY seq")
            .expect("prepare");
        stmt.query_map([from], |r| {
            (0..12)
                .map(|i| {
                    if i == 0 {
                        r.get::<_, i64>(0).map(|v| v.to_string())
                    } else {
                        r.get::<_, String>(i)
                    }
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
    };
    for f in rows {
        let hash = doc_hash(&[
            &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &prev, &f[8], &f[9], &f[10],
            &f[11],
        ]);
        conn.execute(
            "UPDATE audit SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
            rusqlite::params![prev, hash, f[0].parse::<i64>().expect("seq")],
        )
        .expect("update");
        prev = hash;
    }
}

fn snapshot(project: &Project, to: &Path) {
    let conn = rusqlite::Connection::open(project.ledger()).expect("open");
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .expect("checkpoint");
    std::fs::copy(project.ledger(), to).expect("copy ledger");
}

fn verify_ledger(db: &Path, extra: &[&str]) -> Output {
    run(Command::new(crate::support::stagegate_bin())
        .arg("--ledger")
        .arg(db)
        .args(["ledger", "verify"])
        .args(extra))
}

#[test]
fn issue_11_a_rewritten_chain_fails_at_the_first_forged_signature() {
    let sample = Sample::start(&[]);
    let project = project(&sample);
    // Anyone in the roster may approve here, so that the forged approval below fails on
    // the self-approval rule alone.
    project.edit(
        "scenarios/dichvucong/rollout.toml",
        "approval = { approvers = 1, roles = [\"release-manager\"] }",
        "approval = { approvers = 1 }",
    );
    run_trial(&project);
    let tmp = tempfile::tempdir().expect("tmp");
    let before_approval = tmp.path().join("before.db");
    snapshot(&project, &before_approval);
    let out = approve(&project, &["--key", &key(&project, "rm.binh")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let approval_seq = seq_of(&project, "approval");

    // 1. The approval's note edited in its row and its event, the chain recomputed.
    let edited = tmp.path().join("edited.db");
    snapshot(&project, &edited);
    {
        let conn = rusqlite::Connection::open(&edited).expect("open");
        conn.execute_batch(
            "DROP TRIGGER audit_no_update;
             UPDATE approvals SET note = 'ok, không cần xem';
             UPDATE audit SET payload = replace(payload, 'đã xem bằng chứng', 'ok, không cần xem') WHERE kind = 'approval';",
        )
        .expect("tamper");
    }
    rechain(&edited, approval_seq);
    let out = verify_ledger(&edited, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(&format!(
            "event #{approval_seq}: the decision it records is not the one rm.binh signed"
        )),
        "{}",
        text(&out)
    );

    // 2. A forged self-approval: qa.an signs, with their own key, an approval of their
    //    own run, and inserts it with a correctly recomputed chain.
    let conn = rusqlite::Connection::open(&before_approval).expect("open");
    let (head_seq, head): (i64, String) = conn
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("head");
    let (evidence, roster): (String, String) = conn
        .query_row(
            "SELECT hash, roster FROM audit WHERE kind = 'run-finished'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("result event");
    let at = "2026-11-29T01:00:00.000Z";
    let statement = format!(
        "{{\"at\":\"{at}\",\"decision\":\"approve\",\"evidence\":\"{evidence}\",\"format\":\"stagegate.decision/v1\",\"note\":\"tự duyệt\",\"person\":\"qa.an\",\"previous\":\"{head}\",\"release\":\"1.0.0\",\"run\":1,\"stage\":\"trial-test\",\"system\":\"dichvucong\"}}\n"
    );
    let file = tmp.path().join("forged");
    std::fs::write(&file, &statement).expect("write");
    let signed = ssh_keygen(&[
        "-Y",
        "sign",
        "-q",
        "-f",
        &key(&project, "qa.an"),
        "-n",
        "stagegate",
        &path_str(&file),
    ]);
    assert!(signed.status.success(), "{}", text(&signed));
    let signature = std::fs::read_to_string(tmp.path().join("forged.sig")).expect("sig");
    let fp_out = ssh_keygen(&[
        "-l",
        "-E",
        "sha256",
        "-f",
        &format!("{}.pub", key(&project, "qa.an")),
    ]);
    let fingerprint = String::from_utf8_lossy(&fp_out.stdout)
        .split_whitespace()
        .nth(1)
        .expect("fingerprint")
        .to_string();
    let row = format!(
        "{{\"id\":1,\"run_id\":1,\"system\":\"dichvucong\",\"release\":\"1.0.0\",\"stage\":\"trial-test\",\"actor\":\"qa.an\",\"decision\":\"approve\",\"note\":\"tự duyệt\",\"at\":\"{at}\",\"signer\":\"{fingerprint}\"}}"
    );
    let seq = head_seq + 1;
    let hash = doc_hash(&[
        &seq.to_string(),
        at,
        "approval",
        "dichvucong",
        "1.0.0",
        "trial-test",
        "qa.an",
        &row,
        &head,
        &roster,
        &fingerprint,
        &statement,
        &signature,
    ]);
    conn.execute(
        "INSERT INTO approvals (id, run_id, system, release, stage, actor, decision, note, at, signer) VALUES (1, 1, 'dichvucong', '1.0.0', 'trial-test', 'qa.an', 'approve', 'tự duyệt', ?1, ?2)",
        rusqlite::params![at, fingerprint],
    )
    .expect("insert approval");
    conn.execute(
        "INSERT INTO audit (seq, at, kind, system, release, stage, actor, payload, prev_hash, roster, signer, statement, signature, hash) VALUES (?1, ?2, 'approval', 'dichvucong', '1.0.0', 'trial-test', 'qa.an', ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        rusqlite::params![seq, at, row, head, roster, fingerprint, statement, signature, hash],
    )
    .expect("insert event");
    drop(conn);
    let out = verify_ledger(&before_approval, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("event #{seq}: the rules refuse it: qa.an ran stage `trial-test` (run #1) and cannot approve it")),
        "{}",
        text(&out)
    );
}

#[test]
fn issue_11_a_cut_tail_shows_against_a_published_head_and_an_earlier_archive() {
    let sample = Sample::start(&[]);
    let project = project(&sample);
    run_trial(&project);
    let out = approve(&project, &["--key", &key(&project, "rm.binh")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let head = run(stagegate(project.root()).args(["ledger", "head"]));
    assert_eq!(head.status.code(), Some(0), "{}", text(&head));
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
    let approval_seq = seq_of(&project, "approval");
    assert!(
        head.starts_with(&format!("{}:", approval_seq + 1)),
        "{head}"
    );
    let archive = project.path("evidence.tar.gz");
    let out = run(stagegate(project.root()).args([
        "evidence",
        SYSTEM,
        "--release",
        "1.0.0",
        "-o",
        &path_str(&archive),
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // The approval and the promotion cut off, with their rows: consistent, but short.
    let tmp = tempfile::tempdir().expect("tmp");
    let cut = tmp.path().join("cut.db");
    snapshot(&project, &cut);
    rusqlite::Connection::open(&cut)
        .expect("open")
        .execute_batch(&format!(
            "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq >= {approval_seq};
             DELETE FROM promotions; DELETE FROM approvals;"
        ))
        .expect("cut");
    let plain = verify_ledger(&cut, &[]);
    assert_eq!(
        plain.status.code(),
        Some(0),
        "a cut tail alone is consistent: {}",
        text(&plain)
    );
    let out = verify_ledger(&cut, &["--expect-head", &head]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(&format!(
            "the published head #{} is missing: the ledger ends at event #{}",
            approval_seq + 1,
            approval_seq - 1
        )),
        "{}",
        text(&out)
    );
    let whole = verify_ledger(&project.ledger(), &["--expect-head", &head]);
    assert_eq!(whole.status.code(), Some(0), "{}", text(&whole));

    let against = |db: &PathBuf| {
        run(Command::new(crate::support::stagegate_bin())
            .arg("--ledger")
            .arg(db)
            .args(["evidence", "verify"])
            .arg(&archive))
    };
    let out = against(&cut);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("the ledger's tail is missing"),
        "{}",
        text(&out)
    );
    let out = against(&project.ledger());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("signatures valid"), "{}", text(&out));
}

/// OpenSSH's agent on a socket of its own, killed on drop.
struct Agent {
    pid: String,
    socket: PathBuf,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(&self.pid).status();
    }
}

#[test]
fn issue_11_approve_signs_through_a_real_ssh_agent_and_a_passphrase_key_needs_it() {
    let sample = Sample::start(&[]);
    let project = project(&sample);
    let protected = project.path("keys/rm.cuong-protected");
    let passphrase = "mật khẩu của Cường";
    assert!(ssh_keygen(&[
        "-q",
        "-t",
        "ed25519",
        "-N",
        passphrase,
        "-C",
        "rm.cuong",
        "-f",
        &path_str(&protected)
    ])
    .status
    .success());
    set_keys(&project, "rm.cuong", &[public_key(&protected)]);
    run_trial(&project);

    let out = approve(&project, &["--key", &path_str(&protected)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("is protected by a passphrase and no ssh-agent holds it"),
        "{}",
        text(&out)
    );

    let socket = project.path("agent.sock");
    let started = Command::new("ssh-agent")
        .arg("-a")
        .arg(&socket)
        .arg("-s")
        .output()
        .expect("ssh-agent starts");
    let pid = String::from_utf8_lossy(&started.stdout)
        .split("SSH_AGENT_PID=")
        .nth(1)
        .and_then(|s| s.split(';').next())
        .expect("agent pid")
        .to_string();
    let agent = Agent { pid, socket };
    let askpass = project.path("askpass.sh");
    std::fs::write(&askpass, format!("#!/bin/sh\necho '{passphrase}'\n")).expect("askpass");
    std::fs::set_permissions(
        &askpass,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .expect("chmod");
    let added = Command::new("ssh-add")
        .arg(&protected)
        .env("SSH_AUTH_SOCK", &agent.socket)
        .env("SSH_ASKPASS", &askpass)
        .env("SSH_ASKPASS_REQUIRE", "force")
        .env("DISPLAY", ":0")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("ssh-add");
    assert!(added.status.success(), "{}", text(&added));

    // No --key, no --as: the agent's key says who signs.
    let out = run(stagegate(project.root())
        .args([
            "approve",
            SYSTEM,
            "--release",
            "1.0.0",
            "--stage",
            "trial-test",
            "--note",
            "qua agent",
        ])
        .env("SSH_AUTH_SOCK", &agent.socket));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let fp = ssh_keygen(&[
        "-l",
        "-E",
        "sha256",
        "-f",
        &format!("{}.pub", path_str(&protected)),
    ]);
    let fp = String::from_utf8_lossy(&fp.stdout)
        .split_whitespace()
        .nth(1)
        .expect("fingerprint")
        .to_string();
    assert!(
        text(&out).contains(&format!(
            "signed by Lê Văn Cường (rm.cuong, release-manager) key {fp}"
        )),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("PROMOTED"), "{}", text(&out));
    let verify = run(stagegate(project.root()).args(["ledger", "verify"]));
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify));
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
