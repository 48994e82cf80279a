//! Takes an opened storage, gives it the ledger schema of this binary: versioned
//! migrations, each written once per dialect, applied in order when a ledger is opened
//! and recorded in `stagegate_schema`. A ledger whose version is newer than this binary
//! knows is refused, never changed. A SQLite ledger written before versions were kept
//! (by stagegate with signatures but without this table) is version 0 and takes every
//! migration: the first one only creates what does not exist yet.

use super::{Backend, Storage, StoreError, Transaction};

/// One schema change.
pub struct Migration {
    /// Its version: the schema's version once it is applied.
    pub version: i64,
    /// What it does, for a person reading `stagegate_schema`.
    pub what: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// The schema version this binary writes.
pub const CURRENT: i64 = 2;

/// Every migration, oldest first; `MIGRATIONS[i].version == i + 1`.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        what: "signed ledger: releases, runs, approvals, promotions, rosters, audit chain",
        sqlite: SQLITE_V1,
        postgres: POSTGRES_V1,
    },
    Migration {
        version: 2,
        what: "one successor per event: the chain stays a single line",
        sqlite: "CREATE UNIQUE INDEX IF NOT EXISTS audit_one_successor ON audit (prev_hash);",
        postgres: "CREATE UNIQUE INDEX IF NOT EXISTS audit_one_successor ON audit (prev_hash);",
    },
];

/// What opening found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaState {
    /// Current (after applying what was missing).
    Current,
    /// Written by a newer stagegate: version found.
    Newer(i64),
    /// Written by a stagegate older than signatures: cannot be migrated.
    Unsigned,
}

/// The version recorded in the storage (0 when none is).
pub fn version(store: &dyn Storage) -> Result<i64, StoreError> {
    if store.columns("stagegate_schema")?.is_empty() {
        return Ok(0);
    }
    store
        .query(
            "SELECT COALESCE(MAX(version), 0) FROM stagegate_schema",
            &[],
        )?
        .first()
        .map_or(Ok(0), |r| r.int(0))
}

/// Brings the storage to [`CURRENT`], or says why it cannot.
pub fn apply(store: &dyn Storage) -> Result<SchemaState, StoreError> {
    let found = version(store)?;
    if found == CURRENT {
        return Ok(SchemaState::Current);
    }
    if found > CURRENT {
        return Ok(SchemaState::Newer(found));
    }
    let audit = store.columns("audit")?;
    if !audit.is_empty() && !audit.iter().any(|c| c == "signature") {
        return Ok(SchemaState::Unsigned);
    }
    let tx = Transaction::migration(store)?;
    tx.batch(
        "CREATE TABLE IF NOT EXISTS stagegate_schema (
            version BIGINT PRIMARY KEY,
            what TEXT NOT NULL,
            applied_at TEXT NOT NULL
        );",
    )?;
    // Asked again under the lock: another process may have migrated meanwhile.
    let found = version(&*tx)?;
    if found > CURRENT {
        return Ok(SchemaState::Newer(found));
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > found) {
        tx.batch(match tx.backend() {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        })?;
        tx.execute(
            "INSERT INTO stagegate_schema (version, what, applied_at) VALUES (?1, ?2, ?3)",
            super::args![m.version, m.what, crate::ledger::now()],
        )?;
    }
    tx.commit()?;
    Ok(SchemaState::Current)
}

const SQLITE_V1: &str = r#"
CREATE TABLE IF NOT EXISTS releases (
    system TEXT NOT NULL,
    release TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (system, release)
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    system TEXT NOT NULL,
    release TEXT NOT NULL,
    stage TEXT NOT NULL,
    environment TEXT NOT NULL,
    run_by TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    state TEXT NOT NULL CHECK (state IN ('running', 'passed', 'failed', 'aborted')),
    pid INTEGER NOT NULL,
    pid_start TEXT,
    host TEXT NOT NULL,
    files_digest TEXT NOT NULL,
    approvals_required INTEGER NOT NULL,
    allow_self_approval INTEGER NOT NULL,
    version_seen TEXT,
    verdict TEXT,
    measurements TEXT,
    report_dir TEXT,
    abort_reason TEXT,
    roster TEXT NOT NULL,
    signer TEXT NOT NULL,
    approver_roles TEXT NOT NULL,
    required_roles TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS approvals (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    system TEXT NOT NULL,
    release TEXT NOT NULL,
    stage TEXT NOT NULL,
    actor TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
    note TEXT NOT NULL,
    at TEXT NOT NULL,
    signer TEXT NOT NULL,
    UNIQUE (run_id, actor)
);
CREATE TABLE IF NOT EXISTS promotions (
    system TEXT NOT NULL,
    release TEXT NOT NULL,
    stage TEXT NOT NULL,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    at TEXT NOT NULL,
    PRIMARY KEY (system, release, stage)
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    system TEXT NOT NULL,
    release TEXT NOT NULL,
    stage TEXT,
    actor TEXT NOT NULL,
    payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    roster TEXT NOT NULL,
    signer TEXT NOT NULL,
    statement TEXT NOT NULL,
    signature TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rosters (
    digest TEXT PRIMARY KEY,
    roster TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS rosters_no_update BEFORE UPDATE ON rosters
BEGIN SELECT RAISE(ABORT, 'pinned rosters are final'); END;
CREATE TRIGGER IF NOT EXISTS promotions_no_update BEFORE UPDATE ON promotions
BEGIN SELECT RAISE(ABORT, 'promotions are final'); END;
"#;

const POSTGRES_V1: &str = r#"
CREATE TABLE releases (
    system TEXT NOT NULL,
    release TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (system, release)
);
CREATE TABLE runs (
    id BIGINT PRIMARY KEY,
    system TEXT NOT NULL,
    release TEXT NOT NULL,
    stage TEXT NOT NULL,
    environment TEXT NOT NULL,
    run_by TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    state TEXT NOT NULL CHECK (state IN ('running', 'passed', 'failed', 'aborted')),
    pid BIGINT NOT NULL,
    pid_start TEXT,
    host TEXT NOT NULL,
    files_digest TEXT NOT NULL,
    approvals_required BIGINT NOT NULL,
    allow_self_approval BIGINT NOT NULL,
    version_seen TEXT,
    verdict TEXT,
    measurements TEXT,
    report_dir TEXT,
    abort_reason TEXT,
    roster TEXT NOT NULL,
    signer TEXT NOT NULL,
    approver_roles TEXT NOT NULL,
    required_roles TEXT NOT NULL
);
CREATE TABLE approvals (
    id BIGINT PRIMARY KEY,
    run_id BIGINT NOT NULL REFERENCES runs(id),
    system TEXT NOT NULL,
    release TEXT NOT NULL,
    stage TEXT NOT NULL,
    actor TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
    note TEXT NOT NULL,
    at TEXT NOT NULL,
    signer TEXT NOT NULL,
    UNIQUE (run_id, actor)
);
CREATE TABLE promotions (
    system TEXT NOT NULL,
    release TEXT NOT NULL,
    stage TEXT NOT NULL,
    run_id BIGINT NOT NULL REFERENCES runs(id),
    at TEXT NOT NULL,
    PRIMARY KEY (system, release, stage)
);
CREATE TABLE audit (
    seq BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    system TEXT NOT NULL,
    release TEXT NOT NULL,
    stage TEXT,
    actor TEXT NOT NULL,
    payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    roster TEXT NOT NULL,
    signer TEXT NOT NULL,
    statement TEXT NOT NULL,
    signature TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE rosters (
    digest TEXT PRIMARY KEY,
    roster TEXT NOT NULL
);
CREATE TABLE ledger_writer (id BIGINT PRIMARY KEY);
INSERT INTO ledger_writer (id) VALUES (1);
CREATE FUNCTION stagegate_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION '%', TG_ARGV[0]; END
$$;
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
FOR EACH ROW EXECUTE FUNCTION stagegate_refuse_change('the audit log is append-only');
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
FOR EACH STATEMENT EXECUTE FUNCTION stagegate_refuse_change('the audit log is append-only');
CREATE TRIGGER rosters_no_update BEFORE UPDATE ON rosters
FOR EACH ROW EXECUTE FUNCTION stagegate_refuse_change('pinned rosters are final');
CREATE TRIGGER promotions_no_update BEFORE UPDATE ON promotions
FOR EACH ROW EXECUTE FUNCTION stagegate_refuse_change('promotions are final');
"#;
