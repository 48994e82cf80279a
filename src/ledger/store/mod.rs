//! Takes SQL text and parameter values, gives rows of values: the ledger's storage, and
//! nothing else. The rollout rules, the event chain and the signatures live above this
//! module and are the same for every backend; a backend only runs statements, opens and
//! closes transactions, and says how to read an integer out of a JSON column.
//!
//! Two backends: SQLite ([`sqlite`], a file; the default) and PostgreSQL ([`postgres`],
//! a server a team shares). The SQL the ledger writes is the common subset of both
//! dialects with `?N` placeholders; the PostgreSQL backend numbers them `$N`.
//!
//! Concurrency: every write to the ledger appends to one hash chain, so writers are
//! serial by nature. Each backend makes that explicit at [`Storage::begin_write`]:
//! SQLite takes its database write lock (`BEGIN IMMEDIATE`), PostgreSQL takes a row lock
//! on the one row of `ledger_writer` (`SELECT … FOR UPDATE`). The rules read the ledger
//! after taking the lock, so what they judge is what the transaction commits on.

mod location;
pub mod migrations;
mod pg_config;
mod postgres;
mod sqlite;

pub use location::{LedgerLocation, LocationError};

use std::fmt;

/// One value in a row or a parameter. The ledger's schema holds only text and 64-bit
/// integers (booleans are 0 and 1), so both backends store the same things.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A 64-bit integer.
    Int(i64),
    /// UTF-8 text.
    Text(String),
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}

impl From<u32> for Value {
    fn from(v: u32) -> Value {
        Value::Int(i64::from(v))
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Int(i64::from(v))
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_string())
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Text(v.clone())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

impl<T: Clone + Into<Value>> From<&Option<T>> for Value {
    fn from(v: &Option<T>) -> Value {
        v.clone().map_or(Value::Null, Into::into)
    }
}

/// Parameter values for a statement: `args![a, b]`.
macro_rules! args {
    ($($v:expr),* $(,)?) => { &[$($crate::ledger::store::Value::from($v)),*][..] };
}
pub(crate) use args;

/// One row of a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row(pub Vec<Value>);

impl Row {
    fn value(&self, i: usize) -> Result<&Value, StoreError> {
        self.0
            .get(i)
            .ok_or_else(|| StoreError::Decode(format!("no column {i} in the row")))
    }

    /// Column `i` as text.
    pub fn text(&self, i: usize) -> Result<String, StoreError> {
        self.opt_text(i)?
            .ok_or_else(|| StoreError::Decode(format!("column {i} is NULL, text expected")))
    }

    /// Column `i` as text or NULL.
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.value(i)? {
            Value::Null => Ok(None),
            Value::Text(t) => Ok(Some(t.clone())),
            Value::Int(n) => Err(StoreError::Decode(format!(
                "column {i} holds the integer {n}, text expected"
            ))),
        }
    }

    /// Column `i` as an integer.
    pub fn int(&self, i: usize) -> Result<i64, StoreError> {
        self.opt_int(i)?
            .ok_or_else(|| StoreError::Decode(format!("column {i} is NULL, integer expected")))
    }

    /// Column `i` as an integer or NULL.
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.value(i)? {
            Value::Null => Ok(None),
            Value::Int(n) => Ok(Some(*n)),
            Value::Text(t) => Err(StoreError::Decode(format!(
                "column {i} holds the text `{t}`, integer expected"
            ))),
        }
    }

    /// Column `i` as a boolean stored as 0 or 1.
    pub fn flag(&self, i: usize) -> Result<bool, StoreError> {
        Ok(self.int(i)? != 0)
    }
}

/// Which backend a store is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        })
    }
}

/// What can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed (the message never holds a password).
    #[error("PostgreSQL: {0}")]
    Postgres(String),
    /// The server cannot be reached or the connection settings are wrong.
    #[error("cannot connect to the PostgreSQL ledger {location}: {reason}")]
    Connect {
        /// The ledger, password redacted.
        location: String,
        /// Why.
        reason: String,
    },
    /// A value is not of the type the ledger expects.
    #[error("unexpected value: {0}")]
    Decode(String),
}

/// A ledger's storage: statements, transactions, and the few things that differ in SQL
/// between the backends. Methods take `&self` so the rules can read and write through
/// one handle inside and outside a transaction.
pub trait Storage: Send {
    /// Which backend this is.
    fn backend(&self) -> Backend;
    /// Runs a statement that returns rows.
    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError>;
    /// Runs a statement, giving the number of rows changed.
    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, StoreError>;
    /// Runs several statements without parameters (schema changes).
    fn batch(&self, sql: &str) -> Result<(), StoreError>;
    /// Starts a transaction that writes: it holds the ledger's one writer lock until
    /// commit or rollback (see the module documentation).
    fn begin_write(&self) -> Result<(), StoreError>;
    /// Starts the transaction that applies migrations, safe against another process
    /// opening the same new ledger at the same moment.
    fn begin_migration(&self) -> Result<(), StoreError>;
    /// Commits the open transaction.
    fn commit(&self) -> Result<(), StoreError>;
    /// Rolls the open transaction back.
    fn rollback(&self) -> Result<(), StoreError>;
    /// The columns of a table (empty when it does not exist).
    fn columns(&self, table: &str) -> Result<Vec<String>, StoreError>;
    /// An SQL expression reading the integer `field` of the JSON text in `column`.
    fn json_int(&self, column: &str, field: &str) -> String;
}

/// Opens the storage at `location` (creating a SQLite file when needed).
pub fn open(location: &LedgerLocation) -> Result<Box<dyn Storage>, StoreError> {
    match location {
        LedgerLocation::Sqlite(path) => Ok(Box::new(sqlite::SqliteStore::open(path)?)),
        LedgerLocation::Postgres(url) => Ok(Box::new(postgres::PostgresStore::connect(url)?)),
    }
}

/// A transaction: rolled back when dropped without [`Transaction::commit`].
pub struct Transaction<'a> {
    store: &'a dyn Storage,
    open: bool,
}

impl<'a> Transaction<'a> {
    /// Starts a writing transaction ([`Storage::begin_write`]).
    pub fn write(store: &'a dyn Storage) -> Result<Transaction<'a>, StoreError> {
        store.begin_write()?;
        Ok(Transaction { store, open: true })
    }

    /// Starts the migration transaction ([`Storage::begin_migration`]).
    pub fn migration(store: &'a dyn Storage) -> Result<Transaction<'a>, StoreError> {
        store.begin_migration()?;
        Ok(Transaction { store, open: true })
    }

    /// Commits.
    pub fn commit(mut self) -> Result<(), StoreError> {
        self.open = false;
        self.store.commit()
    }
}

impl<'a> std::ops::Deref for Transaction<'a> {
    type Target = dyn Storage + 'a;

    fn deref(&self) -> &Self::Target {
        self.store
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if self.open {
            // Nothing more can be done about a failed rollback: the connection is closed
            // with the ledger, which rolls back whatever is open.
            let _ = self.store.rollback();
        }
    }
}
