//! Embedded store on one SQLite file: WAL, migrations compiled into the binary, one writer
//! thread owning the write connection (SQLite serialises writers anyway) and a small pool of
//! readers used in place.
//!
//! Group commit: the writer takes every write waiting in its channel (up to [`BATCH`]), runs
//! each in its own savepoint inside one transaction (a failing write rolls back only itself),
//! commits once, then answers every caller. A caller hears back only after the commit that
//! holds its write, so durability is as before, at one fsync-free WAL commit per batch
//! instead of per write, and with no blocking-pool hop or lock hand-off per write.

mod accounts;
mod activity;
mod admin;
mod counters;
mod invites;
pub mod jobs;
mod passkeys;
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
    include_str!("migrations/0013_links.sql"),
    include_str!("migrations/0014_passkeys.sql"),
];
const MAX_IDLE_READERS: usize = 8;
/// Most writes committed together.
const BATCH: usize = 256;
/// Prepared statements each connection keeps.
const STATEMENTS: usize = 256;

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

/// A write as the writer thread runs it: the caller's closure, whose outcome is held back
/// (the returned answer) until the batch's commit is known.
type Write = Box<dyn FnOnce(&mut Connection) -> Answer + Send>;
/// Whether the write succeeded, and how to tell its caller once the commit's outcome is known.
type Answer = (bool, Box<dyn FnOnce(Option<&StoreError>) + Send>);

struct Inner {
    path: PathBuf,
    writes: std::sync::mpsc::Sender<Write>,
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
        let (writes, queue) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || write_loop(writer, queue))
            .map_err(|e| StoreError::Other(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                writes,
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Runs `f` on the writer connection, inside the batch's transaction and its own
    /// savepoint (its own [`immediate`] nests inside); answered once the batch commits.
    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let started = std::time::Instant::now();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let write: Write = Box::new(move |conn| {
            let out = f(conn);
            let ok = out.is_ok();
            let answer = move |commit: Option<&StoreError>| {
                let _ = tx.send(match commit {
                    Some(e) if ok => Err(StoreError::Unavailable(format!("commit failed: {e}"))),
                    _ => out,
                });
            };
            (ok, Box::new(answer))
        });
        self.inner
            .writes
            .send(write)
            .map_err(|_| StoreError::Other("the store's writer has stopped".into()))?;
        let out = rx
            .await
            .map_err(|_| StoreError::Other("the store's writer failed on this write".into()))
            .and_then(|r| r);
        crate::metrics::store("sqlite", "write", started.elapsed(), !is_failure(&out));
        out
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
        let started = std::time::Instant::now();
        let out = f(&conn);
        crate::metrics::store("sqlite", "read", started.elapsed(), !is_failure(&out));
        let mut idle = self.inner.readers.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        out
    }
}

/// A store error, as the metrics count it: a refused condition (`Conflict`) is an answer.
fn is_failure<T>(r: &StoreResult<T>) -> bool {
    matches!(r, Err(StoreError::Unavailable(_) | StoreError::Other(_)))
}

/// The writer thread: batches of waiting writes, one transaction each, until every handle
/// to the store is gone. A write that is not run (the batch could not begin) or panics is
/// dropped, and its caller told the write failed.
fn write_loop(mut conn: Connection, queue: std::sync::mpsc::Receiver<Write>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match queue.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        if let Err(e) = run_cached(&conn, "BEGIN IMMEDIATE") {
            tracing::warn!(error = %e, writes = batch.len(), "store write batch could not begin");
            continue;
        }
        let answers: Vec<Answer> = batch.into_iter().map(|w| run_one(&mut conn, w)).collect();
        let committed = run_cached(&conn, "COMMIT").map_err(map_err);
        if committed.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for (_, answer) in answers {
            answer(committed.as_ref().err());
        }
    }
}

/// One write in its own savepoint: kept if it succeeded, rolled back if it failed or
/// panicked.
fn run_one(conn: &mut Connection, write: Write) -> Answer {
    let Ok(step) = Step::begin(conn, &WRITE) else {
        drop(write);
        return (false, Box::new(|_| {}));
    };
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| write(conn)));
    if matches!(&run, Ok((true, _))) {
        let _ = step.commit_on(conn);
    } else {
        step.undo_on(conn);
    }
    run.unwrap_or_else(|_| (false, Box::new(|_| {})))
}

/// A savepoint through cached statements (rusqlite's own re-parses its SQL each time: a
/// measurable share of a write under load). Nested ones may share a name: `RELEASE` and
/// `ROLLBACK TO` act on the innermost.
struct Step(&'static [&'static str; 3]);

/// Each write's savepoint, and the one a write opens for itself ([`immediate`]).
const WRITE: [&str; 3] = ["SAVEPOINT w", "RELEASE w", "ROLLBACK TO w"];
const OWN: [&str; 3] = ["SAVEPOINT s", "RELEASE s", "ROLLBACK TO s"];

impl Step {
    fn begin(c: &Connection, sql: &'static [&'static str; 3]) -> rusqlite::Result<Self> {
        run_cached(c, sql[0])?;
        Ok(Self(sql))
    }

    fn commit_on(self, c: &Connection) -> rusqlite::Result<()> {
        run_cached(c, self.0[1])
    }

    fn undo_on(self, c: &Connection) {
        let _ = run_cached(c, self.0[2]);
        let _ = run_cached(c, self.0[1]);
    }
}

fn run_cached(c: &Connection, sql: &str) -> rusqlite::Result<()> {
    exec(c, sql, []).map(drop)
}

/// A write's own all-or-nothing step (from [`immediate`]): undone when dropped uncommitted.
pub(super) struct Tx<'c> {
    conn: &'c Connection,
    step: Option<Step>,
}

impl Tx<'_> {
    pub(super) fn commit(mut self) -> rusqlite::Result<()> {
        match self.step.take() {
            Some(step) => step.commit_on(self.conn),
            None => Ok(()),
        }
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if let Some(step) = self.step.take() {
            step.undo_on(self.conn);
        }
    }
}

fn connect(path: &Path, flags: OpenFlags) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| StoreError::Other(format!("cannot open {}: {e}", path.display())))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(map_err)?;
    // Every hot statement stays prepared ([`exec`], [`one`]; rusqlite keeps 16 by default).
    conn.set_prepared_statement_cache_capacity(STATEMENTS);
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(map_err)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(map_err)?;
    // Savepoint journals in memory: a batch's savepoints outgrow SQLite's 64 KiB in-memory
    // spill threshold, and each spill made, wrote and unlinked a temporary file (a third of
    // the writer thread's time under webhook load: `docs/benchmarks.md`).
    conn.pragma_update(None, "temp_store", "MEMORY")
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
                } else if m.contains("account_links.link") {
                    StoreError::Conflict(super::LINKED)
                } else if m.contains("passkeys.credential_id") {
                    StoreError::Conflict(super::PASSKEY_TAKEN)
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
        self.read(|c| one(c, "SELECT 1", [], |_| Ok(())).map_err(map_err))
            .await
    }
}

/// A write's own all-or-nothing step. Every write already runs inside the writer's
/// `BEGIN IMMEDIATE` batch (the write lock is held, so what it reads stays true until it
/// commits); this savepoint lets it undo its own statements on an early return.
pub(super) fn immediate(c: &mut Connection) -> StoreResult<Tx<'_>> {
    let step = Step::begin(c, &OWN).map_err(map_err)?;
    Ok(Tx {
        conn: c,
        step: Some(step),
    })
}

/// `execute` through the connection's statement cache (rusqlite's own `execute` parses the
/// SQL on every call).
pub(super) fn exec<P: rusqlite::Params>(
    c: &Connection,
    sql: &str,
    p: P,
) -> rusqlite::Result<usize> {
    c.prepare_cached(sql)?.execute(p)
}

/// `query_row` through the connection's statement cache.
pub(super) fn one<T, P: rusqlite::Params>(
    c: &Connection,
    sql: &str,
    p: P,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    c.prepare_cached(sql)?.query_row(p, f)
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
    let total: i64 = one(
        c,
        &format!("SELECT count(*) FROM {from_where}"),
        args,
        |r| r.get(0),
    )
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
        let _s = SqliteStore::open(&path).unwrap();
        let c = Connection::open(&path).unwrap();
        let v: i64 = c
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v as usize, MIGRATIONS.len());
        let mode: String = c
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    /// Savepoint journals stay in memory: no temporary file made, written and unlinked per
    /// batch (the load figures in `docs/benchmarks.md` depend on it).
    #[tokio::test]
    async fn the_writer_journals_savepoints_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("p.db")).unwrap();
        let temp_store = s
            .write(|c| {
                c.pragma_query_value(None, "temp_store", |r| r.get::<_, i64>(0))
                    .map_err(map_err)
            })
            .await
            .unwrap();
        assert_eq!(temp_store, 2, "temp_store = MEMORY");
    }

    /// Writes that wait together commit together, and one that fails in the batch leaves
    /// nothing of itself while the others stay.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_write_in_a_batch_undoes_only_itself() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("b.db")).unwrap();
        s.write(|c| {
            c.execute_batch("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)")
                .map_err(map_err)
        })
        .await
        .unwrap();
        let writes = (0..200).map(|k| {
            let s = s.clone();
            tokio::spawn(async move {
                s.write(move |c| {
                    c.execute("INSERT INTO t VALUES (?1, 'x')", [k * 2])
                        .map_err(map_err)?;
                    if k % 3 == 0 {
                        // A second statement that fails: the first must go too.
                        c.execute("INSERT INTO t VALUES (?1, NULL)", [k * 2 + 1])
                            .map_err(map_err)?;
                    }
                    Ok(())
                })
                .await
            })
        });
        let mut failed = 0;
        for w in writes.collect::<Vec<_>>() {
            failed += usize::from(w.await.unwrap().is_err());
        }
        assert_eq!(failed, 67);
        let n: i64 = s
            .read(|c| {
                c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                    .map_err(map_err)
            })
            .await
            .unwrap();
        assert_eq!(n, 133);
    }
}
