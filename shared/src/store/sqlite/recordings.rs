//! Recordings on SQLite: the partial unique index keeps one live recording per room; a move
//! reads and writes inside one IMMEDIATE transaction.

use async_trait::async_trait;
use rusqlite::{Connection, Row, params};

use super::{SqliteStore, exec, immediate, map_err};
use crate::domain::{
    Recording, RecordingId, RecordingMove, RecordingStatus, RoomId, UnixTime, UserId,
};
use crate::store::{RecordingStore, StoreError, StoreResult};

const COLUMNS: &str = "id, room_id, room_name, started_by, status, egress_id, egress_key, key, \
    size, duration_ms, error, created_at, started_at, ended_at, updated_at";

fn bad(what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("bad stored recording {what}").into(),
    )
}

fn row_to_recording(r: &Row<'_>) -> rusqlite::Result<Recording> {
    let text = |c: &str| r.get::<_, String>(c);
    Ok(Recording {
        id: RecordingId::parse(&text("id")?).map_err(|_| bad("id"))?,
        room_id: RoomId::parse(&text("room_id")?).map_err(|_| bad("room id"))?,
        room_name: text("room_name")?,
        started_by: UserId::parse(&text("started_by")?).map_err(|_| bad("started_by"))?,
        status: RecordingStatus::parse(&text("status")?).ok_or_else(|| bad("status"))?,
        egress_id: r.get("egress_id")?,
        egress_key: text("egress_key")?,
        key: r.get("key")?,
        size: r.get("size")?,
        duration_ms: r.get("duration_ms")?,
        error: r.get("error")?,
        created_at: r.get("created_at")?,
        started_at: r.get("started_at")?,
        ended_at: r.get("ended_at")?,
        updated_at: r.get("updated_at")?,
    })
}

fn select(c: &Connection, filter: &str, arg: &str) -> StoreResult<Vec<Recording>> {
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM recordings WHERE {filter} ORDER BY created_at DESC, id"
        ))
        .map_err(map_err)?;
    stmt.query_map([arg], row_to_recording)
        .map_err(map_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(map_err)
}

fn write_all(c: &Connection, r: &Recording, insert: bool) -> rusqlite::Result<usize> {
    let sql = if insert {
        format!(
            "INSERT INTO recordings ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, \
             ?10, ?11, ?12, ?13, ?14, ?15)"
        )
    } else {
        "UPDATE recordings SET room_id = ?2, room_name = ?3, started_by = ?4, status = ?5, \
         egress_id = ?6, egress_key = ?7, key = ?8, size = ?9, duration_ms = ?10, error = ?11, \
         created_at = ?12, started_at = ?13, ended_at = ?14, updated_at = ?15 WHERE id = ?1"
            .to_string()
    };
    exec(
        c,
        &sql,
        params![
            r.id.as_str(),
            r.room_id.as_str(),
            r.room_name,
            r.started_by.as_str(),
            r.status.as_str(),
            r.egress_id,
            r.egress_key,
            r.key,
            r.size,
            r.duration_ms,
            r.error,
            r.created_at,
            r.started_at,
            r.ended_at,
            r.updated_at,
        ],
    )
}

#[async_trait]
impl RecordingStore for SqliteStore {
    async fn insert_recording(&self, r: &Recording) -> StoreResult<bool> {
        let r = r.clone();
        self.write(move |c| match write_all(c, &r, true) {
            Ok(_) => Ok(true),
            Err(e) => match map_err(e) {
                StoreError::Conflict(_) => Ok(false), // the room's live recording
                other => Err(other),
            },
        })
        .await
    }

    async fn recording(&self, room: &RoomId, id: &RecordingId) -> StoreResult<Option<Recording>> {
        let (room, id) = (room.clone(), id.as_str().to_string());
        self.read(move |c| {
            Ok(select(c, "id = ?1", &id)?
                .into_iter()
                .find(|r| r.room_id == room))
        })
        .await
    }

    async fn recording_by_egress(&self, egress_id: &str) -> StoreResult<Option<Recording>> {
        let egress_id = egress_id.to_string();
        self.read(move |c| Ok(select(c, "egress_id = ?1", &egress_id)?.pop()))
            .await
    }

    async fn room_recordings(&self, room: &RoomId) -> StoreResult<Vec<Recording>> {
        let room = room.as_str().to_string();
        self.read(move |c| select(c, "room_id = ?1", &room)).await
    }

    async fn move_recording(
        &self,
        r: &Recording,
        mv: &RecordingMove,
        now: UnixTime,
    ) -> StoreResult<Option<Recording>> {
        let (id, mv) = (r.id.as_str().to_string(), mv.clone());
        self.write(move |c| {
            let tx = immediate(c)?;
            let Some(current) = select(&tx, "id = ?1", &id)?.pop() else {
                return Ok(None);
            };
            if !mv.to.reachable_from().contains(&current.status) {
                return Ok(None);
            }
            let after = mv.apply(&current, now);
            write_all(&tx, &after, false).map_err(map_err)?;
            tx.commit().map_err(map_err)?;
            Ok(Some(after))
        })
        .await
    }

    async fn delete_recording(&self, r: &Recording) -> StoreResult<bool> {
        let id = r.id.as_str().to_string();
        self.write(move |c| {
            exec(
                c,
                "DELETE FROM recordings WHERE id = ?1 AND status IN ('completed', 'failed')",
                [id],
            )
            .map(|n| n == 1)
            .map_err(map_err)
        })
        .await
    }
}
