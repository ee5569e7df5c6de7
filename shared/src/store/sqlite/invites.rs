//! Invite tokens on SQLite; registration consumes one inside its own transaction (see
//! `users.rs`).

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{SqliteStore, exec, map_err, one};
use crate::domain::{Email, InviteToken, UserId};
use crate::store::StoreResult;

const COLUMNS: &str = "id, token, email, created_by, created_at, expires_at, used_at, used_by";

fn row_to_invite(r: &Row<'_>) -> rusqlite::Result<InviteToken> {
    let bad = |what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("bad stored invite {what}").into(),
        )
    };
    Ok(InviteToken {
        id: r.get("id")?,
        token: r.get("token")?,
        email: r
            .get::<_, Option<String>>("email")?
            .map(|e| Email::parse(&e))
            .transpose()
            .map_err(|_| bad("email"))?,
        created_by: UserId::parse(&r.get::<_, String>("created_by")?)
            .map_err(|_| bad("created_by"))?,
        created_at: r.get("created_at")?,
        expires_at: r.get("expires_at")?,
        used_at: r.get("used_at")?,
        used_by: r
            .get::<_, Option<String>>("used_by")?
            .map(|u| UserId::parse(&u))
            .transpose()
            .map_err(|_| bad("used_by"))?,
    })
}

/// The invite with this token, read on the given connection (a transaction's too).
pub(super) fn by_token(c: &Connection, token: &str) -> StoreResult<Option<InviteToken>> {
    one(
        c,
        &format!("SELECT {COLUMNS} FROM invite_tokens WHERE token = ?1"),
        [token],
        row_to_invite,
    )
    .optional()
    .map_err(map_err)
}

/// The admin console's invites (`AdminStore`, `admin.rs`).
impl SqliteStore {
    pub(super) async fn insert_invite(&self, t: &InviteToken) -> StoreResult<()> {
        let t = t.clone();
        self.write(move |c| {
            exec(c,
                &format!("INSERT INTO invite_tokens ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, NULL)"),
                params![
                    t.id,
                    t.token,
                    t.email.as_ref().map(|e| e.as_str()),
                    t.created_by.as_str(),
                    t.created_at,
                    t.expires_at
                ],
            )
            .map(|_| ())
            .map_err(map_err)
        })
        .await
    }

    pub(super) async fn invites(&self) -> StoreResult<Vec<InviteToken>> {
        self.read(|c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM invite_tokens ORDER BY created_at DESC, id DESC"
                ))
                .map_err(map_err)?;
            stmt.query_map([], row_to_invite)
                .map_err(map_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(map_err)
        })
        .await
    }

    pub(super) async fn delete_invite(&self, id: &str) -> StoreResult<()> {
        let id = id.to_string();
        self.write(move |c| {
            exec(c, "DELETE FROM invite_tokens WHERE id = ?1", [id])
                .map(|_| ())
                .map_err(map_err)
        })
        .await
    }
}
