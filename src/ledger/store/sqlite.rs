//! Takes a file path, gives the ledger's storage in a SQLite file: one connection, WAL
//! so readers (status, dashboards) run while a stage writes, and the database write lock
//! (`BEGIN IMMEDIATE`) as the ledger's writer lock.

use super::{Backend, Row, Storage, StoreError, Value};
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use std::path::Path;
use std::time::Duration;

/// How long a writer waits for another process's transaction: approvals racing from
/// several processes queue instead of failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// A SQLite ledger file.
pub(super) struct SqliteStore {
    conn: Connection,
}

impl SqliteStore {
    pub(super) fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        Ok(SqliteStore { conn })
    }
}

fn to_sql(v: &Value) -> rusqlite::types::Value {
    match v {
        Value::Null => rusqlite::types::Value::Null,
        Value::Int(n) => rusqlite::types::Value::Integer(*n),
        Value::Text(t) => rusqlite::types::Value::Text(t.clone()),
    }
}

fn from_sql(v: ValueRef<'_>) -> Result<Value, StoreError> {
    match v {
        ValueRef::Null => Ok(Value::Null),
        ValueRef::Integer(n) => Ok(Value::Int(n)),
        ValueRef::Text(t) => std::str::from_utf8(t)
            .map(|s| Value::Text(s.to_string()))
            .map_err(|e| StoreError::Decode(format!("text that is not UTF-8: {e}"))),
        ValueRef::Real(x) => Err(StoreError::Decode(format!("a real number {x}"))),
        ValueRef::Blob(_) => Err(StoreError::Decode("a blob".into())),
    }
}

impl Storage for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let width = stmt.column_count();
        let values: Vec<rusqlite::types::Value> = params.iter().map(to_sql).collect();
        let mut rows = stmt.query(rusqlite::params_from_iter(values))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let row = (0..width)
                .map(|i| from_sql(r.get_ref(i)?))
                .collect::<Result<Vec<_>, StoreError>>()?;
            out.push(Row(row));
        }
        Ok(out)
    }

    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let values: Vec<rusqlite::types::Value> = params.iter().map(to_sql).collect();
        let n = self
            .conn
            .prepare_cached(sql)?
            .execute(rusqlite::params_from_iter(values))?;
        Ok(n as u64)
    }

    fn batch(&self, sql: &str) -> Result<(), StoreError> {
        Ok(self.conn.execute_batch(sql)?)
    }

    fn begin_write(&self) -> Result<(), StoreError> {
        Ok(self.conn.execute_batch("BEGIN IMMEDIATE")?)
    }

    fn begin_migration(&self) -> Result<(), StoreError> {
        self.begin_write()
    }

    fn commit(&self) -> Result<(), StoreError> {
        Ok(self.conn.execute_batch("COMMIT")?)
    }

    fn rollback(&self) -> Result<(), StoreError> {
        Ok(self.conn.execute_batch("ROLLBACK")?)
    }

    fn columns(&self, table: &str) -> Result<Vec<String>, StoreError> {
        self.query("SELECT name FROM pragma_table_info(?1)", &[table.into()])?
            .iter()
            .map(|r| r.text(0))
            .collect()
    }

    fn json_int(&self, column: &str, field: &str) -> String {
        format!("json_extract({column}, '$.{field}')")
    }
}
