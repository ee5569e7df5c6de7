//! Reading a Bedrud database, read-only: its SQLite file or its PostgreSQL server. Every table
//! comes back as rows of column → JSON value (PostgreSQL's `row_to_json` shape; SQLite's
//! values turned into the same shape), so one mapping serves both variants.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::{Map, Value};

pub type Row = Map<String, Value>;

/// Where the Bedrud database is (`--from`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum From {
    Sqlite(PathBuf),
    Postgres(String),
}

impl std::str::FromStr for From {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        if let Some(path) = raw.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err("sqlite: needs a path (sqlite:/var/lib/bedrud/bedrud.db)".into());
            }
            return Ok(From::Sqlite(PathBuf::from(path)));
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(From::Postgres(raw.to_string()));
        }
        Err(format!(
            "{raw}: expected sqlite:PATH or postgres://user:password@host/dbname"
        ))
    }
}

/// An open Bedrud database, holding one read-only snapshot for the whole import, and the
/// tables its variant has (listed once, at open).
pub struct Source {
    db: Db,
    tables: BTreeSet<String>,
}

enum Db {
    Sqlite(rusqlite::Connection),
    Postgres(tokio_postgres::Client),
}

/// The tables whose presence says "this is Bedrud's database".
const REQUIRED: [&str; 3] = ["users", "rooms", "room_participants"];

impl Source {
    pub async fn open(from: &From) -> Result<Self, String> {
        let db = match from {
            From::Sqlite(path) => {
                if !path.is_file() {
                    return Err(format!("{}: no such file", path.display()));
                }
                // Read-only: never creates, migrates or checkpoints the operator's file. The
                // transaction below pins one snapshot (WAL content included).
                let c = rusqlite::Connection::open_with_flags(
                    path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(|e| format!("{}: cannot open: {e}", path.display()))?;
                c.execute_batch("BEGIN")
                    .and_then(|()| {
                        c.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
                    })
                    .map_err(|e| format!("{}: not an SQLite database: {e}", path.display()))?;
                Db::Sqlite(c)
            }
            From::Postgres(url) => {
                let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .map_err(|e| format!("cannot connect to PostgreSQL: {e}"))?;
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::warn!("PostgreSQL connection: {e}");
                    }
                });
                // A read-only snapshot: the server refuses any write, and every table is read
                // as of one moment even if Bedrud is still running.
                client
                    .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await
                    .map_err(|e| format!("PostgreSQL: {e}"))?;
                Db::Postgres(client)
            }
        };
        let tables = db.tables().await?;
        let missing: Vec<_> = REQUIRED.iter().filter(|t| !tables.contains(**t)).collect();
        if !missing.is_empty() {
            return Err(format!(
                "not a Bedrud database: no {} table",
                missing
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Ok(Self { db, tables })
    }

    /// Every row of `table` (empty if Bedrud's variant has no such table).
    pub async fn rows(&self, table: &'static str) -> Result<Vec<Row>, String> {
        if !self.tables.contains(table) {
            return Ok(Vec::new());
        }
        match &self.db {
            Db::Sqlite(c) => sqlite_rows(c, table).map_err(|e| format!("{table}: {e}")),
            Db::Postgres(c) => {
                let sql = format!("SELECT row_to_json(t)::text FROM {table} t");
                let rows = c.query(&sql, &[]).await.map_err(pg_err)?;
                rows.iter()
                    .map(|r| match serde_json::from_str(&r.get::<_, String>(0)) {
                        Ok(Value::Object(m)) => Ok(m),
                        _ => Err(format!("{table}: a row is not a JSON object")),
                    })
                    .collect()
            }
        }
    }

    /// How many rows `table` holds (0 if the variant has no such table), counted by the
    /// database: the tables that are only reported can be large (jobs, history).
    pub async fn count(&self, table: &'static str) -> Result<u64, String> {
        if !self.tables.contains(table) {
            return Ok(0);
        }
        let sql = format!("SELECT count(*) FROM \"{table}\"");
        match &self.db {
            Db::Sqlite(c) => c
                .query_row(&sql, [], |r| r.get::<_, i64>(0))
                .map(|n| n.max(0) as u64)
                .map_err(sqlite_err),
            Db::Postgres(c) => c
                .query_one(&sql, &[])
                .await
                .map(|r| r.get::<_, i64>(0).max(0) as u64)
                .map_err(pg_err),
        }
    }
}

impl Db {
    async fn tables(&self) -> Result<BTreeSet<String>, String> {
        match self {
            Db::Sqlite(c) => {
                let mut st = c
                    .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
                    .map_err(sqlite_err)?;
                let names = st
                    .query_map([], |r| r.get::<_, String>(0))
                    .map_err(sqlite_err)?
                    .collect::<Result<_, _>>()
                    .map_err(sqlite_err)?;
                Ok(names)
            }
            Db::Postgres(c) => Ok(c
                .query(
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = current_schema()",
                    &[],
                )
                .await
                .map_err(pg_err)?
                .iter()
                .map(|r| r.get::<_, String>(0))
                .collect()),
        }
    }
}

fn sqlite_rows(c: &rusqlite::Connection, table: &str) -> rusqlite::Result<Vec<Row>> {
    use rusqlite::types::ValueRef;
    let mut st = c.prepare(&format!("SELECT * FROM \"{table}\""))?;
    let names: Vec<String> = st.column_names().iter().map(|s| s.to_string()).collect();
    let mut out = Vec::new();
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let mut m = Map::new();
        for (i, name) in names.iter().enumerate() {
            let v = match r.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(n) => Value::from(n),
                ValueRef::Real(f) => Value::from(f),
                ValueRef::Text(t) => Value::from(String::from_utf8_lossy(t).into_owned()),
                // PostgreSQL's JSON spelling of bytea, so both read alike.
                ValueRef::Blob(b) => Value::from(format!("\\x{}", hex(b))),
            };
            m.insert(name.clone(), v);
        }
        out.push(m);
    }
    Ok(out)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn sqlite_err(e: rusqlite::Error) -> String {
    format!("SQLite: {e}")
}

fn pg_err(e: tokio_postgres::Error) -> String {
    format!("PostgreSQL: {e}")
}
