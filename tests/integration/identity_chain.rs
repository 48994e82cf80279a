//! Issue 11: the signed hash chain holds against an insider. A chain rewritten with a
//! recomputed hash (by the documented rules, docs/signatures.md) fails at the first
//! forged signature; a cut-off tail shows against a published head and an earlier
//! evidence archive.

use crate::identity::{approve, path_str, project, run_trial, seq_of, ssh_keygen};
use crate::support::{key, run, stagegate, text, Project, Sample, SYSTEM};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
