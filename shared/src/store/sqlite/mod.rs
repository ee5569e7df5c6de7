//! Embedded store on one SQLite file: WAL, migrations compiled into the binary, one writer
//! connection (SQLite serialises writers anyway; holding it avoids busy retries) and a small
//! pool of readers. All calls run on the blocking pool so the async runtime never waits on disk.

mod accounts;
mod activity;
mod admin;
mod counters;
mod invites;
pub mod jobs;
mod recordings;
mod rooms;
mod sessions;
mod settings;
mod users;
mod webhooks;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::{Health, StoreError, StoreResult};

const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_auth.sql"),
    include_str!("migrations/0002_jobs.sql"),
    include_str!("migrations/0003_rooms.sql"),
    include_str!("migrations/0004_presence.sql"),
    include_str!("migrations/0005_recordings.sql"),
    include_str!("migrations/0006_admission.sql"),
    include_str!("migrations/0007_room_settings.sql"),
    include_str!("migrations/0008_settings.sql"),
    include_str!("migrations/0009_invites.sql"),
    include_str!("migrations/0010_archived_by_owner.sql"),
    include_str!("migrations/0011_activity.sql"),
    include_str!("migrations/0012_accounts.sql"),
];
const MAX_IDLE_READERS: usize = 8;

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> StoreResult<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Other(format!("cannot create {}: {e}", dir.display())))?;
        }
        let mut writer = connect(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )?;
        // WAL lets readers run beside the writer. NORMAL sync in WAL mode is durable across
        // process crashes; only an OS crash can lose the last commits.
        writer
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(map_err)?;
        migrate(&mut writer)?;
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Runs `f` on the writer connection; `f` opens its own transaction where it needs one.
    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner.writer.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Other(format!("store task failed: {e}")))?
    }

    /// Runs `f` on a pooled read-only connection, in place. In WAL mode a reader never waits
    /// for the writer, and a read of cached pages takes a few microseconds: less than handing
    /// it to the blocking pool and back (join throughput 12.6k/s with the hand-off, 15.9k/s
    /// without: `docs/benchmarks.md`). Reads here are point lookups and bounded pages.
    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let pooled = self
            .inner
            .readers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop();
        let conn = match pooled {
            Some(c) => c,
            None => connect(&self.inner.path, OpenFlags::SQLITE_OPEN_READ_ONLY)?,
        };
        let out = f(&conn);
        let mut idle = self.inner.readers.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        out
    }
}

fn connect(path: &Path, flags: OpenFlags) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| StoreError::Other(format!("cannot open {}: {e}", path.display())))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(map_err)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(map_err)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(map_err)?;
    Ok(conn)
}

/// Applies the migrations the file has not seen, each in its own transaction.
fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let applied: usize = conn
        .pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))
        .map_err(map_err)? as usize;
    if applied > MIGRATIONS.len() {
        return Err(StoreError::Other(format!(
            "database schema version {applied} is newer than this binary ({}); upgrade bedrud",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction().map_err(map_err)?;
        tx.execute_batch(sql).map_err(map_err)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)
            .map_err(map_err)?;
        tx.commit().map_err(map_err)?;
    }
    Ok(())
}

/// Maps SQLite failures onto the port's errors; constraint names decide which conflict.
pub(crate) fn map_err(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, msg) => match f.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                StoreError::Unavailable(e.to_string())
            }
            ErrorCode::ConstraintViolation => {
                let m = msg.as_deref().unwrap_or_default();
                if m.contains("users.email") {
                    StoreError::Conflict("email already registered")
                } else if m.contains("users.id") {
                    StoreError::Conflict("user id taken")
                } else {
                    StoreError::Conflict("conflicting write")
                }
            }
            _ => StoreError::Other(e.to_string()),
        },
        _ => StoreError::Other(e.to_string()),
    }
}

#[async_trait]
impl Health for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.read(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(map_err))
            .await
    }
}

/// A write transaction that takes the write lock at once, so what it reads stays true
/// until it commits.
pub(super) fn immediate(c: &mut Connection) -> StoreResult<rusqlite::Transaction<'_>> {
    c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(map_err)
}

/// A numbered page: how many rows `SELECT … FROM {from_where}` holds, and `limit` of them
/// after `offset` in `order`. `args` bind `?1..?n` of `from_where`.
#[allow(clippy::too_many_arguments)]
pub(super) fn counted<T>(
    c: &Connection,
    columns: &str,
    from_where: &str,
    order: &str,
    args: &[&dyn rusqlite::ToSql],
    limit: u32,
    offset: u32,
    row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> StoreResult<crate::store::Counted<T>> {
    let total: i64 = c
        .query_row(&format!("SELECT count(*) FROM {from_where}"), args, |r| {
            r.get(0)
        })
        .map_err(map_err)?;
    let n = args.len();
    let mut page_args = args.to_vec();
    page_args.extend([&limit as &dyn rusqlite::ToSql, &offset]);
    let items = c
        .prepare_cached(&format!(
            "SELECT {columns} FROM {from_where} ORDER BY {order} LIMIT ?{} OFFSET ?{}",
            n + 1,
            n + 2
        ))
        .map_err(map_err)?
        .query_map(&page_args[..], row)
        .map_err(map_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(map_err)?;
    Ok(crate::store::Counted {
        total: total as u64,
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopening_keeps_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/bedrud.db");
        drop(SqliteStore::open(&path).unwrap());
        let s = SqliteStore::open(&path).unwrap();
        let v: i64 = s
            .inner
            .writer
            .lock()
            .unwrap()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v as usize, MIGRATIONS.len());
        let mode: String = s
            .inner
            .writer
            .lock()
            .unwrap()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
}
