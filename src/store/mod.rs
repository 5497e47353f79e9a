//! SQLite storage: opening the database, applying migrations, and one file
//! per table group. Everything here is synchronous; the daemon calls it from
//! blocking tasks.

pub(crate) mod audit;
pub(crate) mod credentials;
pub(crate) mod join_tokens;
pub(crate) mod nodes;
pub(crate) mod tokens;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::Connection;

/// The migrations, in order. Append only: the position of a file is its
/// schema version, recorded in `PRAGMA user_version`.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_initial.sql",
        include_str!("../../migrations/0001_initial.sql"),
    ),
    (
        "0002_token_delivery.sql",
        include_str!("../../migrations/0002_token_delivery.sql"),
    ),
    (
        "0003_join_tokens.sql",
        include_str!("../../migrations/0003_join_tokens.sql"),
    ),
    (
        "0004_audit.sql",
        include_str!("../../migrations/0004_audit.sql"),
    ),
];

/// Name of the database file inside the data dir.
pub(crate) const DB_FILE: &str = "llmlb.db";

#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "the database {path} has schema version {found}, newer than this llmlbd knows ({known}); \
         run a newer llmlbd or restore a backup"
    )]
    TooNew {
        path: PathBuf,
        found: usize,
        known: usize,
    },
    #[error("stored value in {table}.{column} is not valid: {value:?}")]
    Corrupt {
        table: &'static str,
        column: &'static str,
        value: String,
    },
}

pub(crate) type Result<T, E = StoreError> = std::result::Result<T, E>;

/// An open database.
pub(crate) struct Store {
    conn: Connection,
    /// A second connection that only checkpoints the WAL, so that the copy
    /// into the database file never stalls a commit (none for in-memory).
    checkpointer: Option<Connection>,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema
    /// up to date.
    pub(crate) fn open(path: &Path) -> Result<Store> {
        // Create the file private before SQLite does; its -wal and -shm files
        // take the same mode.
        if !path.exists() {
            use std::os::unix::fs::OpenOptionsExt;
            let _ = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path);
        }
        let conn = Connection::open(path)?;
        Self::setup(conn, path)
    }

    /// An in-memory database, for unit tests.
    #[cfg(test)]
    pub(crate) fn open_in_memory() -> Result<Store> {
        Self::setup(Connection::open_in_memory()?, Path::new(":memory:"))
    }

    fn setup(conn: Connection, path: &Path) -> Result<Store> {
        conn.busy_timeout(Duration::from_secs(5))?;
        // Small pages for a new database (an existing one keeps its own):
        // a registration changes about a dozen pages in scattered B-trees,
        // and each goes whole into the WAL and later through a checkpoint.
        // 1 KiB pages cut that from ~50 KB to ~16 KB, which is what keeps
        // commits clear of the disk's write-back under a registration storm.
        conn.pragma_update(None, "page_size", 1024)?;
        // WAL lets readers (backups, sqlite3 shells) work while the daemon
        // writes; NORMAL is durable across process crashes in WAL mode.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let checkpointer = if path == Path::new(":memory:") {
            None
        } else {
            // Commits no longer checkpoint by themselves; `checkpoint` does,
            // from the write-behind task.
            conn.pragma_update(None, "wal_autocheckpoint", 0)?;
            // Once checkpointed, a WAL file larger than this is cut back.
            conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
            let c = Connection::open(path)?;
            c.busy_timeout(Duration::from_secs(5))?;
            Some(c)
        };
        let mut store = Store { conn, checkpointer };
        store.migrate(path)?;
        Ok(store)
    }

    fn migrate(&mut self, path: &Path) -> Result<()> {
        let version: usize = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > MIGRATIONS.len() {
            return Err(StoreError::TooNew {
                path: path.to_path_buf(),
                found: version,
                known: MIGRATIONS.len(),
            });
        }
        for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(version) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i + 1)?;
            tx.commit()?;
            tracing::info!(migration = name, "applied database migration");
        }
        Ok(())
    }

    /// Copies what the WAL holds into the database file, as far as possible
    /// without waiting for anyone (a passive checkpoint).
    pub(crate) fn checkpoint(checkpointer: &Connection) -> Result<()> {
        checkpointer.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Takes the checkpointing connection out, to use it without the store
    /// lock.
    pub(crate) fn take_checkpointer(&mut self) -> Option<Connection> {
        self.checkpointer.take()
    }

    /// The schema version now in force.
    #[cfg(test)]
    pub(crate) fn schema_version(&self) -> Result<usize> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// Runs `f` in one transaction, committed when it returns `Ok`.
    pub(crate) fn transaction<T, E>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let tx = self.conn.transaction().map_err(StoreError::from)?;
        let value = f(&tx)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(value)
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }
}

/// The one database connection of a daemon, shared by the registry, the
/// credentials, the join tokens and the audit trail. Cheap to clone; every
/// clone holds the same lock (the *store lock*): whoever holds
/// [`Db::lock`] has the database to itself until it drops the guard, so a
/// check → commit → apply sequence done under one guard never interleaves
/// with another.
#[derive(Clone)]
pub(crate) struct Db(Arc<parking_lot::Mutex<Store>>);

impl Db {
    pub(crate) fn new(store: Store) -> Db {
        Db(Arc::new(parking_lot::Mutex::new(store)))
    }

    /// Takes the store lock.
    pub(crate) fn lock(&self) -> parking_lot::MutexGuard<'_, Store> {
        self.0.lock()
    }

    /// Runs `f` in one transaction under the store lock.
    pub(crate) fn transaction<T, E>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        self.lock().transaction(f)
    }

    /// Runs `f` on the connection under the store lock, outside any
    /// transaction (reads, single statements).
    pub(crate) fn with_conn<T>(&self, f: impl FnOnce(&Connection) -> T) -> T {
        f(self.lock().conn())
    }
}

/// Timestamps are stored as RFC 3339 text in UTC with a fixed nine fraction
/// digits, so that text order is time order.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

pub(crate) fn opt_ts(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(ts)
}

/// How a stored timestamp that cannot be read is taken: the Unix epoch, so
/// an expiry has passed (the key, session or token is expired) and an age is
/// as old as it gets (a runtime token is due for rotation).
pub(crate) const UNREADABLE_TS: DateTime<Utc> = DateTime::UNIX_EPOCH;

/// Reads a stored timestamp. The daemon wrote every one of them, so a value
/// that does not parse (say an expiry past the year 9999, which older
/// releases accepted from `POST /v0/api-keys`) must not stop it from
/// starting: it is logged with its table, column and row, and read as
/// `if_unreadable`. The row is left as it is.
pub(crate) fn read_ts(
    table: &'static str,
    column: &'static str,
    row: &str,
    s: Option<String>,
    if_unreadable: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    let s = s?;
    match DateTime::parse_from_rfc3339(&s) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(e) => {
            let shown: String = s.chars().take(64).collect();
            tracing::warn!(
                table,
                column,
                row,
                value = %shown,
                error = %e,
                read_as = %if_unreadable.map_or_else(|| "none".to_string(), ts),
                "a stored timestamp cannot be read; using read_as in its place (the Unix epoch \
                 counts as expired and oldest, none as not set); the row is left unchanged"
            );
            if_unreadable
        }
    }
}

/// [`read_ts`] for a column that is never empty: unreadable values are
/// [`UNREADABLE_TS`].
pub(crate) fn read_req_ts(
    table: &'static str,
    column: &'static str,
    row: &str,
    s: String,
) -> DateTime<Utc> {
    read_ts(table, column, row, Some(s), Some(UNREADABLE_TS)).unwrap_or(UNREADABLE_TS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_size(store: &Store) -> u32 {
        store
            .conn()
            .pragma_query_value(None, "page_size", |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn new_databases_get_small_pages_and_old_ones_keep_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("fresh.db");
        assert_eq!(page_size(&Store::open(&fresh).unwrap()), 1024);
        // Reopened, it is the same database with the same pages.
        assert_eq!(page_size(&Store::open(&fresh).unwrap()), 1024);

        // A database an older release created with 4 KiB pages.
        let old = dir.path().join("old.db");
        {
            let c = Connection::open(&old).unwrap();
            c.pragma_update(None, "page_size", 4096).unwrap();
            c.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
                .unwrap();
        }
        let store = Store::open(&old).unwrap();
        assert_eq!(page_size(&store), 4096);
        let x: i64 = store
            .conn()
            .query_row("SELECT x FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(x, 1, "the old data is still there");
    }
}
