//! The ledger's audit chain: editing any stored field makes `ledger verify` fail and
//! name the event.

use crate::pipeline::trial_project;
use crate::support::{decide, run_stage};
use crate::support::{run, text, Sample};
use std::process::Command;

#[test]
fn editing_any_stored_field_makes_ledger_verify_fail_and_name_the_event() {
    let sample = Sample::start(&[]);
    let project = trial_project(&sample);
    assert_eq!(
        run_stage(&project, "1.0.0", "trial-test", "qa.an")
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        decide(&project, "approve", "1.0.0", "trial-test", "rm.binh")
            .status
            .code(),
        Some(0)
    );
    let verify = |p: &std::path::Path| {
        run(Command::new(crate::support::stagegate_bin())
            .arg("--ledger")
            .arg(p)
            .args(["ledger", "verify"]))
    };
    let clean = verify(&project.ledger());
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean));

    let tamperings = [
        ("UPDATE runs SET state = 'passed', verdict = replace(verdict, 'fail', 'pass') WHERE id = 1", "run 1 was changed"),
        ("UPDATE runs SET run_by = 'someone.else' WHERE id = 1", "field `run_by`"),
        ("UPDATE approvals SET actor = 'qa.an' WHERE id = 1", "approval 1 was changed after this event recorded it (field `actor`)"),
        ("UPDATE approvals SET note = 'ok' WHERE id = 1", "field `note`"),
        ("DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'rm.khac' WHERE seq = 4", "event #4: its content does not match its hash"),
        ("DROP TRIGGER audit_no_update; UPDATE audit SET payload = replace(payload, 'qa.an', 'qa.khac') WHERE seq = 3", "event #3"),
        ("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 2", "event #3: expected event #2 here"),
        ("DROP TRIGGER promotions_no_update; UPDATE promotions SET at = '2020-01-01T00:00:00Z'", "promotion dichvucong/1.0.0/trial-test was changed"),
        ("DELETE FROM promotions", "is missing from the ledger"),
        ("INSERT INTO releases VALUES ('dichvucong', '9.9.9', '2020-01-01')", "no audit event recorded it"),
    ];
    for (sql, expected) in tamperings {
        let copy = tempfile::tempdir().expect("tmp");
        let db = copy.path().join("ledger.db");
        // Checkpoint the WAL so the copy holds everything.
        {
            let conn = rusqlite::Connection::open(project.ledger()).expect("open");
            conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
                .expect("checkpoint");
        }
        std::fs::copy(project.ledger(), &db).expect("copy ledger");
        rusqlite::Connection::open(&db)
            .expect("open copy")
            .execute_batch(sql)
            .expect("tamper");
        let out = verify(&db);
        let all = text(&out);
        assert_eq!(out.status.code(), Some(1), "{sql}\n{all}");
        assert!(
            all.contains("ledger verification FAILED") && all.contains(expected),
            "{sql}: expected {expected:?}\n{all}"
        );
    }
}
