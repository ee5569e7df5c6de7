//! Sessions (refresh-token families) on SQLite.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};

use super::{SqliteStore, exec, immediate, map_err, one};
use crate::domain::{Replay, Session, SessionId, UnixTime, UserId};
use crate::store::{DEACTIVATED, HashUpgrade, Rotation, SessionStore, StoreError, StoreResult};

const COLUMNS: &str = "id, user_id, generation, created_at, expires_at, revoked_at, rotated_at";

/// The session, only while its user is active (`Conflict(DEACTIVATED)` otherwise).
fn insert_session_row(c: &rusqlite::Connection, s: &Session) -> StoreResult<()> {
    let inserted = exec(
        c,
        &format!(
            "INSERT INTO sessions ({COLUMNS}) SELECT ?1, ?2, ?3, ?4, ?5, NULL, NULL \
                 WHERE EXISTS (SELECT 1 FROM users WHERE id = ?2 AND is_active = 1)"
        ),
        params![
            s.id.as_str(),
            s.user_id.as_str(),
            s.generation as i64,
            s.created_at,
            s.expires_at
        ],
    )
    .map_err(map_err)?;
    if inserted == 0 {
        return Err(StoreError::Conflict(DEACTIVATED));
    }
    Ok(())
}

fn row_to_session(r: &Row<'_>) -> rusqlite::Result<Session> {
    let user: String = r.get("user_id")?;
    Ok(Session {
        id: SessionId::from_trusted(r.get("id")?),
        user_id: UserId::parse(&user).map_err(|_| {
            rusqlite::Error::FromSqlConversionFailure(
                1,
                rusqlite::types::Type::Text,
                "bad user id".into(),
            )
        })?,
        generation: r.get::<_, i64>("generation")? as u64,
        created_at: r.get("created_at")?,
        expires_at: r.get("expires_at")?,
        revoked: r.get::<_, Option<i64>>("revoked_at")?.is_some(),
        rotated_at: r.get("rotated_at")?,
    })
}

fn key(user: &UserId, id: &SessionId) -> (String, String) {
    (user.as_str().to_string(), id.as_str().to_string())
}

#[async_trait]
impl SessionStore for SqliteStore {
    /// Inserted only while the user is active, on the one writer: a deactivation either
    /// commits before (no row) or after (it revokes this row).
    async fn insert_session(&self, s: &Session, upgrade: Option<&HashUpgrade>) -> StoreResult<()> {
        let (s, upgrade) = (s.clone(), upgrade.cloned());
        self.write(move |c| match upgrade {
            // One statement: atomic on its own.
            None => insert_session_row(c, &s),
            Some(u) => {
                let tx = immediate(c)?;
                insert_session_row(&tx, &s)?;
                exec(
                    &tx,
                    "UPDATE users SET password_hash = ?3 WHERE id = ?1 AND password_hash = ?2",
                    params![s.user_id.as_str(), u.from, u.to],
                )
                .map_err(map_err)?;
                tx.commit().map_err(map_err)
            }
        })
        .await
    }

    async fn rotate_session(
        &self,
        user: &UserId,
        id: &SessionId,
        generation: u64,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> StoreResult<Rotation> {
        let (user, id) = key(user, id);
        self.write(move |c| {
            let tx = immediate(c)?;
            let rotated = one(
                &tx,
                &format!(
                    "UPDATE sessions SET generation = generation + 1, expires_at = ?3, \
                         rotated_at = ?4 WHERE id = ?1 AND user_id = ?5 AND generation = ?2 \
                         AND revoked_at IS NULL AND expires_at > ?4 RETURNING {COLUMNS}"
                ),
                params![id, generation as i64, expires_at, now, user],
                row_to_session,
            )
            .optional()
            .map_err(map_err)?;
            let outcome = match rotated {
                Some(s) => Rotation::Rotated(s),
                None => {
                    let current = one(
                        &tx,
                        &format!("SELECT {COLUMNS} FROM sessions WHERE id = ?1 AND user_id = ?2"),
                        [&id, &user],
                        row_to_session,
                    )
                    .optional()
                    .map_err(map_err)?;
                    match current {
                        Some(s) => match s.replay(generation, now) {
                            Replay::Current => Rotation::Current(s),
                            Replay::Reused => Rotation::Reused,
                            Replay::Invalid => Rotation::Invalid,
                        },
                        None => Rotation::Invalid,
                    }
                }
            };
            tx.commit().map_err(map_err)?;
            Ok(outcome)
        })
        .await
    }

    async fn session(&self, user: &UserId, id: &SessionId) -> StoreResult<Option<Session>> {
        let (user, id) = key(user, id);
        self.read(move |c| {
            one(
                c,
                &format!("SELECT {COLUMNS} FROM sessions WHERE id = ?1 AND user_id = ?2"),
                [id, user],
                row_to_session,
            )
            .optional()
            .map_err(map_err)
        })
        .await
    }

    async fn revoke_session(
        &self,
        user: &UserId,
        id: &SessionId,
        now: UnixTime,
    ) -> StoreResult<()> {
        let (user, id) = key(user, id);
        self.write(move |c| {
            exec(c,
                "UPDATE sessions SET revoked_at = ?2 WHERE id = ?1 AND user_id = ?3 AND revoked_at IS NULL",
                params![id, now, user],
            )
            .map(|_| ())
            .map_err(map_err)
        })
        .await
    }

    async fn revoke_user_sessions(
        &self,
        user: &UserId,
        keep: Option<&SessionId>,
        now: UnixTime,
    ) -> StoreResult<u64> {
        let (user, keep) = (
            user.as_str().to_string(),
            keep.map(|k| k.as_str().to_string()),
        );
        self.write(move |c| {
            exec(
                c,
                "UPDATE sessions SET revoked_at = ?3 \
                 WHERE user_id = ?1 AND revoked_at IS NULL AND (?2 IS NULL OR id <> ?2)",
                params![user, keep, now],
            )
            .map(|n| n as u64)
            .map_err(|e| match map_err(e) {
                StoreError::Conflict(_) => {
                    StoreError::Other("unexpected conflict revoking sessions".into())
                }
                other => other,
            })
        })
        .await
    }
}
