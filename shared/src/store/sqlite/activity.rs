//! Tallies, meeting connections and the room events log on SQLite. Writers elsewhere call
//! `bump` and `log_event` inside their own transactions, so a change and its count commit
//! together.

use async_trait::async_trait;
use rusqlite::{Connection, Row, params};

use super::{SqliteStore, counted, exec, immediate, map_err};
use crate::domain::{
    Attendance, EVENT_RETENTION_SECS, EventQuery, Metric, RoomEvent, RoomEventKind, RoomId,
    RoomName, Scope, Tallies, Tally, UserId,
};
use crate::store::{ActivityStore, Counted, StoreResult};

/// Adds `tally` to the stored metrics (inside the caller's transaction).
pub(super) fn bump(c: &Connection, tally: &Tally) -> StoreResult<()> {
    let mut stmt = c
        .prepare_cached(
            "INSERT INTO tallies (scope, metric, n) VALUES (?1, ?2, ?3) \
             ON CONFLICT DO UPDATE SET n = n + excluded.n",
        )
        .map_err(map_err)?;
    for (scope, metric, n) in tally.changes() {
        stmt.execute(params![scope.as_str(), metric.name(), n])
            .map_err(map_err)?;
    }
    Ok(())
}

/// Logs an event once (its key decides); true if it was new. Now and then drops events
/// older than the retention window.
pub(super) fn log_event(c: &Connection, e: &RoomEvent) -> StoreResult<bool> {
    let added = c
        .prepare_cached(
            "INSERT INTO room_events (key, at, kind, room_id, room_name, user_id, user_name) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(key) DO NOTHING",
        )
        .map_err(map_err)?
        .execute(params![
            e.key,
            e.at,
            e.kind.as_str(),
            e.room_id.as_str(),
            e.room_name,
            e.user_id.as_ref().map(|u| u.as_str()),
            e.user_name,
        ])
        .map_err(map_err)?;
    if added == 1 && rand::random::<u8>() == 0 {
        exec(
            c,
            "DELETE FROM room_events WHERE at < ?1",
            [crate::domain::now() - EVENT_RETENTION_SECS],
        )
        .map_err(map_err)?;
    }
    Ok(added == 1)
}

fn corrupt(what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("bad stored {what}").into(),
    )
}

fn row_to_attendance(r: &Row<'_>) -> rusqlite::Result<Attendance> {
    Ok(Attendance {
        session: r.get("session")?,
        user_id: UserId::parse(&r.get::<_, String>("user_id")?).map_err(|_| corrupt("user"))?,
        user_name: r.get("user_name")?,
        room_id: RoomId::parse(&r.get::<_, String>("room_id")?).map_err(|_| corrupt("room"))?,
        room_name: RoomName::parse(&r.get::<_, String>("room_name")?)
            .map_err(|_| corrupt("room name"))?,
        joined_at: r.get("joined_at")?,
        left_at: r.get("left_at")?,
    })
}

fn row_to_event(r: &Row<'_>) -> rusqlite::Result<RoomEvent> {
    Ok(RoomEvent {
        kind: RoomEventKind::parse(&r.get::<_, String>("kind")?).ok_or_else(|| corrupt("kind"))?,
        at: r.get("at")?,
        key: r.get("key")?,
        room_id: RoomId::parse(&r.get::<_, String>("room_id")?).map_err(|_| corrupt("room"))?,
        room_name: r.get("room_name")?,
        user_id: r
            .get::<_, Option<String>>("user_id")?
            .map(|u| UserId::parse(&u).map_err(|_| corrupt("user")))
            .transpose()?,
        user_name: r.get("user_name")?,
    })
}

#[async_trait]
impl ActivityStore for SqliteStore {
    async fn count(&self, tally: &Tally) -> StoreResult<()> {
        let tally = tally.clone();
        self.write(move |c| bump(c, &tally)).await
    }

    async fn attend(&self, a: &Attendance) -> StoreResult<bool> {
        let a = a.clone();
        self.write(move |c| attend_in(c, &a)).await
    }
}

/// What only the admin console reads or does (`AdminStore`, `admin.rs`).
impl SqliteStore {
    pub(super) async fn tallies(&self, scopes: &[Scope]) -> StoreResult<Tallies> {
        let scopes: std::collections::BTreeSet<String> =
            scopes.iter().map(|s| s.as_str().to_string()).collect();
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached("SELECT metric, n FROM tallies WHERE scope = ?1")
                .map_err(map_err)?;
            let mut out = Tallies::default();
            for scope in scopes {
                let rows = stmt
                    .query_map([&scope], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                    })
                    .map_err(map_err)?;
                for row in rows {
                    let (metric, n) = row.map_err(map_err)?;
                    if let Some(m) = Metric::parse(&metric) {
                        out.set(Scope::from_key(&scope), m, n);
                    }
                }
            }
            Ok(out)
        })
        .await
    }

    pub(super) async fn attendance(
        &self,
        user: &UserId,
        offset: u32,
        limit: u32,
    ) -> StoreResult<Counted<Attendance>> {
        let user = user.as_str().to_string();
        self.read(move |c| {
            counted(
                c,
                "*",
                "attendance WHERE user_id = ?1",
                "joined_at DESC, session DESC",
                &[&user],
                limit,
                offset,
                row_to_attendance,
            )
        })
        .await
    }

    pub(super) async fn room_events(&self, q: &EventQuery) -> StoreResult<Counted<RoomEvent>> {
        let q = q.clone();
        self.read(move |c| {
            // ?1 kind or '', ?2 lower-case text or '', ?3..?4 the span.
            let filter = "(?1 = '' OR kind = ?1) AND at BETWEEN ?3 AND ?4 AND (?2 = '' OR \
                 instr(lower(room_name), ?2) > 0 OR instr(lower(COALESCE(user_name, '')), ?2) > 0)";
            let kind = q.kind.map(|k| k.as_str()).unwrap_or_default();
            let text = q.text.clone().unwrap_or_default();
            // Older events may linger until the next sweep; they are not shown.
            let from = q.from.max(crate::domain::now() - EVENT_RETENTION_SECS);
            counted(
                c,
                "*",
                &format!("room_events WHERE {filter}"),
                "at DESC, id DESC",
                params![kind, text, from, q.to],
                q.limit,
                q.offset,
                row_to_event,
            )
        })
        .await
    }
}

/// Records a seated connection (once per LiveKit session; a later report adds its end).
/// A part of some write ([`SqliteStore::write`]).
pub(super) fn attend_in(c: &mut Connection, a: &Attendance) -> StoreResult<bool> {
    let tx = immediate(c)?;
    let created = exec(
        &tx,
        "INSERT INTO attendance (session, user_id, user_name, room_id, room_name, \
                 joined_at, left_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                 ON CONFLICT(session) DO NOTHING",
        params![
            a.session,
            a.user_id.as_str(),
            a.user_name,
            a.room_id.as_str(),
            a.room_name.as_str(),
            a.joined_at,
            a.left_at,
        ],
    )
    .map_err(map_err)?
        == 1;
    if created {
        log_event(&tx, &a.event())?;
        bump(
            &tx,
            &Tally::new().add(&Scope::day(a.joined_at), Metric::Joins, 1),
        )?;
    } else if let Some(left) = a.left_at {
        exec(
            &tx,
            "UPDATE attendance SET left_at = ?2 WHERE session = ?1 AND left_at IS NULL",
            params![a.session, left],
        )
        .map_err(map_err)?;
    }
    tx.commit().map_err(map_err)?;
    Ok(created)
}
