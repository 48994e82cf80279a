//! Takes a `postgres://` URL, gives the ledger's storage on a PostgreSQL server. The
//! writer lock is a row lock on the one row of `ledger_writer`, taken first in every
//! writing transaction (READ COMMITTED: every statement after it sees what the previous
//! writer committed).
//!
//! Why a row lock and not SERIALIZABLE with retries: every write appends to the single
//! hash chain, so two writers can never both succeed on the same head; under
//! SERIALIZABLE one of them would fail at commit and redo its work, and a decision would
//! have to be re-signed by its author each time. Queuing on one row gives the same
//! order with no failed work, and the unique constraint on `audit.prev_hash` still
//! refuses a second successor should anything bypass the lock.
//!
//! The synchronous `postgres` client runs its own async runtime and cannot be called
//! from a thread that is inside one (the command line is async), so the connection
//! lives on its own thread and statements travel to it over a channel.

use super::{pg_config, Backend, Row, Storage, StoreError, Value};
use bytes::BytesMut;
use postgres::types::{IsNull, ToSql, Type};
use std::sync::mpsc;
use std::thread::JoinHandle;

/// How long a writer waits for the writer lock before giving up: the same bound as
/// SQLite's busy timeout; a decision or a run start holds it for milliseconds.
const LOCK_TIMEOUT: &str = "30s";

/// An arbitrary constant naming stagegate's migration lock among advisory locks.
const MIGRATION_LOCK: i64 = 0x5354_4147_4547_4154; // "STAGEGAT"

enum Request {
    Query(
        String,
        Vec<Value>,
        mpsc::Sender<Result<Vec<Row>, StoreError>>,
    ),
    Execute(String, Vec<Value>, mpsc::Sender<Result<u64, StoreError>>),
    Batch(String, mpsc::Sender<Result<(), StoreError>>),
}

/// A PostgreSQL ledger: a connection on its own thread.
pub(super) struct PostgresStore {
    requests: Option<mpsc::Sender<Request>>,
    worker: Option<JoinHandle<()>>,
}

impl PostgresStore {
    pub(super) fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let location = super::location::redact(url);
        let fail = |reason: String| StoreError::Connect {
            location: location.clone(),
            reason,
        };
        let settings = pg_config::settings(url).map_err(&fail)?;
        let (requests, inbox) = mpsc::channel::<Request>();
        let (ready, connected) = mpsc::channel::<Result<(), String>>();
        let worker = std::thread::Builder::new()
            .name("ledger-postgres".into())
            .spawn(move || serve(settings, inbox, ready))
            .map_err(|e| fail(format!("cannot start the connection thread: {e}")))?;
        let outcome = connected
            .recv()
            .unwrap_or_else(|_| Err("the connection thread stopped".into()));
        let store = PostgresStore {
            requests: Some(requests),
            worker: Some(worker),
        };
        outcome.map_err(fail)?;
        Ok(store)
    }

    fn send<T>(
        &self,
        make: impl FnOnce(mpsc::Sender<Result<T, StoreError>>) -> Request,
    ) -> Result<T, StoreError> {
        let (reply, answer) = mpsc::channel();
        let gone = || StoreError::Postgres("the connection to the server was lost".into());
        self.requests
            .as_ref()
            .ok_or_else(gone)?
            .send(make(reply))
            .map_err(|_| gone())?;
        answer.recv().map_err(|_| gone())?
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // Closing the channel ends the thread, which closes the connection.
        self.requests = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

fn connect(settings: pg_config::PgSettings) -> Result<postgres::Client, String> {
    let client = match settings.tls {
        Some(tls) => settings.config.connect(tls),
        None => settings.config.connect(postgres::NoTls),
    };
    let mut client = client.map_err(|e| describe(&e))?;
    client
        .batch_execute(&format!("SET lock_timeout = '{LOCK_TIMEOUT}'"))
        .map_err(|e| describe(&e))?;
    Ok(client)
}

fn serve(
    settings: pg_config::PgSettings,
    inbox: mpsc::Receiver<Request>,
    ready: mpsc::Sender<Result<(), String>>,
) {
    let mut client = match connect(settings) {
        Ok(c) => {
            let _ = ready.send(Ok(()));
            c
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    // A reply nobody waits for any more is dropped: the caller went away.
    for request in inbox {
        match request {
            Request::Query(sql, params, reply) => {
                let _ = reply.send(query(&mut client, &sql, &params));
            }
            Request::Execute(sql, params, reply) => {
                let refs: Vec<&(dyn ToSql + Sync)> =
                    params.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
                let result = client
                    .execute(numbered(&sql).as_str(), &refs)
                    .map_err(|e| StoreError::Postgres(describe(&e)));
                let _ = reply.send(result);
            }
            Request::Batch(sql, reply) => {
                let result = client
                    .batch_execute(&sql)
                    .map_err(|e| StoreError::Postgres(describe(&e)));
                let _ = reply.send(result);
            }
        }
    }
}

fn query(
    client: &mut postgres::Client,
    sql: &str,
    params: &[Value],
) -> Result<Vec<Row>, StoreError> {
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
    let rows = client
        .query(numbered(sql).as_str(), &refs)
        .map_err(|e| StoreError::Postgres(describe(&e)))?;
    rows.iter()
        .map(|r| {
            (0..r.len())
                .map(|i| value_at(r, i))
                .collect::<Result<Vec<_>, _>>()
                .map(Row)
        })
        .collect()
}

fn value_at(row: &postgres::Row, i: usize) -> Result<Value, StoreError> {
    let ty = row.columns()[i].type_().clone();
    let bad = |e: postgres::Error| StoreError::Decode(e.to_string());
    Ok(match ty {
        Type::INT8 => row.try_get::<_, Option<i64>>(i).map_err(bad)?.into(),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)
            .map_err(bad)?
            .map(i64::from)
            .into(),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)
            .map_err(bad)?
            .map(i64::from)
            .into(),
        Type::BOOL => row.try_get::<_, Option<bool>>(i).map_err(bad)?.into(),
        Type::TEXT | Type::VARCHAR | Type::NAME | Type::BPCHAR => {
            row.try_get::<_, Option<String>>(i).map_err(bad)?.into()
        }
        other => {
            return Err(StoreError::Decode(format!(
                "column {i} has type {other}, which the ledger does not use"
            )))
        }
    })
}

/// The error's text; a database error gives its message and detail (never the
/// connection settings).
fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        },
        None => {
            // The cause (a TLS certificate refused, a connection refused) is in the
            // source chain; the top error only says which step failed.
            let mut text = e.to_string();
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                text.push_str(&format!(": {c}"));
                cause = c.source();
            }
            text
        }
    }
}

/// `?N` placeholders as PostgreSQL's `$N`. The ledger's SQL holds no `?` elsewhere.
fn numbered(sql: &str) -> String {
    sql.replace('?', "$")
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(n) => match *ty {
                Type::INT8 => n.to_sql(ty, out),
                Type::INT4 => i32::try_from(*n)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*n)?.to_sql(ty, out),
                Type::BOOL => (*n != 0).to_sql(ty, out),
                _ => n.to_string().to_sql(ty, out),
            },
            Value::Text(t) => t.as_str().to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        matches!(
            *ty,
            Type::INT8
                | Type::INT4
                | Type::INT2
                | Type::BOOL
                | Type::TEXT
                | Type::VARCHAR
                | Type::NAME
                | Type::BPCHAR
                | Type::UNKNOWN
        )
    }

    postgres::types::to_sql_checked!();
}

impl Storage for PostgresStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        self.send(|reply| Request::Query(sql.to_string(), params.to_vec(), reply))
    }

    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        self.send(|reply| Request::Execute(sql.to_string(), params.to_vec(), reply))
    }

    fn batch(&self, sql: &str) -> Result<(), StoreError> {
        self.send(|reply| Request::Batch(sql.to_string(), reply))
    }

    fn begin_write(&self) -> Result<(), StoreError> {
        self.batch("BEGIN; SELECT id FROM ledger_writer WHERE id = 1 FOR UPDATE")
    }

    fn begin_migration(&self) -> Result<(), StoreError> {
        self.batch(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"
        ))
    }

    fn commit(&self) -> Result<(), StoreError> {
        self.batch("COMMIT")
    }

    fn rollback(&self) -> Result<(), StoreError> {
        self.batch("ROLLBACK")
    }

    fn columns(&self, table: &str) -> Result<Vec<String>, StoreError> {
        self.query(
            "SELECT column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = ?1 ORDER BY ordinal_position",
            &[table.into()],
        )?
        .iter()
        .map(|r| r.text(0))
        .collect()
    }

    fn json_int(&self, column: &str, field: &str) -> String {
        format!("CAST(CAST({column} AS jsonb) ->> '{field}' AS BIGINT)")
    }
}
