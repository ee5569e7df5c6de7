//! Passkeys on SQLite: the credential id unique by index, the counter advanced by
//! compare-and-set, ceremonies taken out by one `DELETE … RETURNING`.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{SqliteStore, exec, immediate, map_err, one};
use crate::domain::{Ceremony, Passkey, PendingCeremony, UnixTime, User, UserId};
use crate::store::{PasskeyStore, StoreResult};

const COLUMNS: &str =
    "id, user_id, credential_id, public_key, algorithm, sign_count, name, created_at, last_used_at";

fn row_to_passkey(r: &Row<'_>) -> rusqlite::Result<Passkey> {
    let user: String = r.get("user_id")?;
    Ok(Passkey {
        id: r.get("id")?,
        user_id: UserId::parse(&user).map_err(|_| {
            rusqlite::Error::FromSqlConversionFailure(
                1,
                rusqlite::types::Type::Text,
                "bad user_id".into(),
            )
        })?,
        credential_id: r.get("credential_id")?,
        public_key: r.get("public_key")?,
        algorithm: r.get("algorithm")?,
        sign_count: r.get("sign_count")?,
        name: r.get("name")?,
        created_at: r.get("created_at")?,
        last_used_at: r.get("last_used_at")?,
    })
}

/// Inserts the credential if its account exists (inside the caller's transaction).
fn insert(c: &Connection, p: &Passkey) -> StoreResult<bool> {
    exec(
        c,
        &format!(
            "INSERT INTO passkeys ({COLUMNS}) \
             SELECT ?1, id, ?3, ?4, ?5, ?6, ?7, ?8, ?9 FROM users WHERE id = ?2"
        ),
        params![
            p.id,
            p.user_id.as_str(),
            p.credential_id,
            p.public_key,
            p.algorithm,
            p.sign_count,
            p.name,
            p.created_at,
            p.last_used_at
        ],
    )
    .map(|n| n == 1)
    .map_err(map_err)
}

#[async_trait]
impl PasskeyStore for SqliteStore {
    async fn insert_passkey(&self, passkey: &Passkey) -> StoreResult<bool> {
        let p = passkey.clone();
        self.write(move |c| insert(c, &p)).await
    }

    async fn insert_user_with_passkey(&self, user: &User, passkey: &Passkey) -> StoreResult<()> {
        let (u, p) = (user.clone(), passkey.clone());
        self.write(move |c| {
            let tx = immediate(c)?;
            super::users::insert(&tx, &u)?;
            insert(&tx, &p)?;
            tx.commit().map_err(map_err)
        })
        .await
    }

    async fn passkey_by_credential(&self, credential_id: &[u8]) -> StoreResult<Option<Passkey>> {
        let id = credential_id.to_vec();
        self.read(move |c| {
            one(
                c,
                &format!("SELECT {COLUMNS} FROM passkeys WHERE credential_id = ?1"),
                [id],
                row_to_passkey,
            )
            .optional()
            .map_err(map_err)
        })
        .await
    }

    async fn user_passkeys(&self, user: &UserId) -> StoreResult<Vec<Passkey>> {
        let user = user.as_str().to_string();
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM passkeys WHERE user_id = ?1 ORDER BY created_at, id"
                ))
                .map_err(map_err)?;
            stmt.query_map([user], row_to_passkey)
                .map_err(map_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(map_err)
        })
        .await
    }

    async fn delete_passkey(&self, user: &UserId, id: &str) -> StoreResult<bool> {
        let (user, id) = (user.as_str().to_string(), id.to_string());
        self.write(move |c| {
            exec(
                c,
                "DELETE FROM passkeys WHERE id = ?1 AND user_id = ?2",
                params![id, user],
            )
            .map(|n| n == 1)
            .map_err(map_err)
        })
        .await
    }

    async fn passkey_used(
        &self,
        credential_id: &[u8],
        from: u32,
        to: u32,
        at: UnixTime,
    ) -> StoreResult<bool> {
        let id = credential_id.to_vec();
        self.write(move |c| {
            exec(
                c,
                "UPDATE passkeys SET sign_count = ?3, last_used_at = ?4 \
                 WHERE credential_id = ?1 AND sign_count = ?2",
                params![id, from, to, at],
            )
            .map(|n| n == 1)
            .map_err(map_err)
        })
        .await
    }

    async fn put_ceremony(&self, p: &PendingCeremony) -> StoreResult<()> {
        let p = p.clone();
        self.write(move |c| {
            exec(
                c,
                "INSERT INTO passkey_ceremonies (id, ceremony, user_id, state, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    p.id,
                    p.ceremony.as_str(),
                    p.user_id.as_ref().map(|u| u.as_str()),
                    p.state,
                    p.expires_at
                ],
            )
            .map(|_| ())
            .map_err(map_err)
        })
        .await
    }

    async fn take_ceremony(&self, id: &str, now: UnixTime) -> StoreResult<Option<PendingCeremony>> {
        let id = id.to_string();
        self.write(move |c| {
            // Expired ones go whenever one is taken: nothing else reads them.
            exec(
                c,
                "DELETE FROM passkey_ceremonies WHERE expires_at <= ?1",
                [now],
            )
            .map_err(map_err)?;
            let taken = one(
                c,
                "DELETE FROM passkey_ceremonies WHERE id = ?1 \
                 RETURNING ceremony, user_id, state, expires_at",
                [&id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                },
            )
            .optional()
            .map_err(map_err)?;
            Ok(taken.and_then(|(ceremony, user, state, expires_at)| {
                Some(PendingCeremony {
                    id,
                    ceremony: Ceremony::parse(&ceremony)?,
                    user_id: match user {
                        Some(u) => Some(UserId::parse(&u).ok()?),
                        None => None,
                    },
                    state,
                    expires_at,
                })
            }))
        })
        .await
    }
}
