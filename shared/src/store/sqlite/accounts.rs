//! One-time account links on SQLite: each use is one transaction that deletes the link only
//! if it matches, and acts only if it did.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::activity::bump;
use super::users::{COLUMNS, row_to_user, user_row};
use super::{SqliteStore, exec, immediate, map_err, one};
use crate::domain::{AccountToken, Tally, TokenPurpose, UnixTime, User, UserId, is_active_admin};
use crate::store::{AccountStore, StoreResult};

/// Deletes the user's `purpose` link if it is `hash`, unexpired and addressed to the
/// account's current email; whether it did (inside the caller's transaction).
fn consume(
    c: &Connection,
    user: &str,
    purpose: TokenPurpose,
    hash: &str,
    now: UnixTime,
) -> StoreResult<bool> {
    exec(
        c,
        "DELETE FROM account_tokens WHERE user_id = ?1 AND purpose = ?2 AND token_hash = ?3 \
         AND expires_at > ?4 AND email = (SELECT email FROM users WHERE id = ?1)",
        params![user, purpose.as_str(), hash, now],
    )
    .map(|n| n == 1)
    .map_err(map_err)
}

/// Confirms the address (if not yet) and ends a pending sign-up; the user after.
fn confirm(c: &Connection, user: &str, now: UnixTime) -> StoreResult<Option<User>> {
    one(
        c,
        &format!(
            "UPDATE users SET email_verified_at = COALESCE(email_verified_at, ?2), \
             signup_pending = 0, updated_at = ?2 WHERE id = ?1 AND email IS NOT NULL \
             RETURNING {COLUMNS}"
        ),
        params![user, now],
        row_to_user,
    )
    .optional()
    .map_err(map_err)
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn put_token(&self, token: &AccountToken) -> StoreResult<()> {
        let t = token.clone();
        self.write(move |c| {
            exec(
                c,
                "INSERT INTO account_tokens (user_id, purpose, token_hash, email, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (user_id, purpose) DO UPDATE SET \
                 token_hash = excluded.token_hash, email = excluded.email, \
                 expires_at = excluded.expires_at",
                params![
                    t.user_id.as_str(),
                    t.purpose.as_str(),
                    t.hash,
                    t.email.as_str(),
                    t.expires_at
                ],
            )
            .map(|_| ())
            .map_err(map_err)
        })
        .await
    }

    async fn use_verify_token(
        &self,
        user: &UserId,
        hash: &str,
        now: UnixTime,
    ) -> StoreResult<Option<User>> {
        let (user, hash) = (user.as_str().to_string(), hash.to_string());
        self.write(move |c| {
            let tx = immediate(c)?;
            if !consume(&tx, &user, TokenPurpose::VerifyEmail, &hash, now)? {
                return Ok(None);
            }
            let after = confirm(&tx, &user, now)?;
            tx.commit().map_err(map_err)?;
            Ok(after)
        })
        .await
    }

    async fn use_reset_token(
        &self,
        user: &UserId,
        hash: &str,
        password_hash: &str,
        now: UnixTime,
    ) -> StoreResult<Option<User>> {
        let (user, hash, password) = (
            user.as_str().to_string(),
            hash.to_string(),
            password_hash.to_string(),
        );
        self.write(move |c| {
            let tx = immediate(c)?;
            if !consume(&tx, &user, TokenPurpose::ResetPassword, &hash, now)? {
                return Ok(None);
            }
            exec(
                &tx,
                "UPDATE users SET password_hash = ?2 WHERE id = ?1",
                params![user, password],
            )
            .map_err(map_err)?;
            let after = confirm(&tx, &user, now)?;
            tx.commit().map_err(map_err)?;
            Ok(after)
        })
        .await
    }

    async fn mark_verified(&self, user: &UserId, now: UnixTime) -> StoreResult<Option<User>> {
        let user = user.as_str().to_string();
        self.write(move |c| {
            let tx = immediate(c)?;
            let after = confirm(&tx, &user, now)?;
            exec(
                &tx,
                "DELETE FROM account_tokens WHERE user_id = ?1 AND purpose = 'verify'",
                [&user],
            )
            .map_err(map_err)?;
            tx.commit().map_err(map_err)?;
            Ok(after)
        })
        .await
    }

    async fn pending_signups(&self, cutoff: UnixTime, limit: u32) -> StoreResult<Vec<UserId>> {
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT id FROM users WHERE signup_pending = 1 AND created_at < ?1 \
                     ORDER BY created_at LIMIT ?2",
                )
                .map_err(map_err)?;
            let ids = stmt
                .query_map(params![cutoff, limit], |r| r.get::<_, String>(0))
                .map_err(map_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(map_err)?;
            Ok(ids.iter().filter_map(|id| UserId::parse(id).ok()).collect())
        })
        .await
    }

    async fn remove_pending_signup(&self, user: &UserId, cutoff: UnixTime) -> StoreResult<bool> {
        let id = user.as_str().to_string();
        self.write(move |c| {
            let tx = immediate(c)?;
            let Some(before) = user_row(&tx, &id)? else {
                return Ok(false);
            };
            let still_pending = before.signup_pending
                && before.email_verified_at.is_none()
                && before.created_at < cutoff
                && !is_active_admin(before.is_active, &before.accesses);
            if !still_pending {
                return Ok(false);
            }
            // Its sessions and links go with it (ON DELETE CASCADE).
            exec(&tx, "DELETE FROM users WHERE id = ?1", [&id]).map_err(map_err)?;
            bump(&tx, &Tally::user(Some(&before), None))?;
            tx.commit().map_err(map_err)?;
            Ok(true)
        })
        .await
    }
}
