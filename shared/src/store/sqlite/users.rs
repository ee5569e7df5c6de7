//! Accounts on SQLite: unique emails by index, the last-admin rule inside one transaction.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, ToSql, params};

use super::activity::bump;
use super::{SqliteStore, counted, exec, immediate, map_err, one};
use crate::domain::{
    Access, AdminCount, DisplayName, Email, InviteRefusal, Provider, ProviderAccount, Tally,
    UnixTime, User, UserId, UserQuery, UserSort, is_active_admin,
};
use crate::store::{
    Counted, LinkStore, Page, StoreError, StoreResult, UserChange, UserChangeOutcome, UserFilter,
    UserStore,
};

pub(super) const COLUMNS: &str = "id, email, name, provider, accesses, avatar_url, is_active, password_hash, created_at, updated_at, email_verified_at, signup_pending";

pub(super) fn row_to_user(r: &Row<'_>) -> rusqlite::Result<User> {
    let id: String = r.get("id")?;
    let email: Option<String> = r.get("email")?;
    let provider: String = r.get("provider")?;
    let accesses: String = r.get("accesses")?;
    let corrupt = |what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("bad {what}").into(),
        )
    };
    Ok(User {
        id: UserId::parse(&id).map_err(|_| corrupt("id"))?,
        email: email
            .map(|e| Email::parse(&e))
            .transpose()
            .map_err(|_| corrupt("email"))?,
        name: DisplayName::from_trusted(r.get("name")?),
        provider: Provider::parse(&provider).ok_or_else(|| corrupt("provider"))?,
        accesses: serde_json::from_str::<Vec<String>>(&accesses)
            .map_err(|_| corrupt("accesses"))?
            .iter()
            .filter_map(|a| Access::parse(a))
            .collect(),
        avatar_url: r.get("avatar_url")?,
        is_active: r.get("is_active")?,
        password_hash: r.get("password_hash")?,
        email_verified_at: r.get("email_verified_at")?,
        signup_pending: r.get("signup_pending")?,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
    })
}

/// Inserts the account and counts it (inside the caller's transaction).
pub(super) fn insert(c: &rusqlite::Connection, u: &User) -> StoreResult<()> {
    bump(c, &Tally::user(None, Some(u)))?;
    exec(c,
        &format!("INSERT INTO users ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
        params![
            u.id.as_str(),
            u.email.as_ref().map(|e| e.as_str()),
            u.name.as_str(),
            u.provider.as_str(),
            accesses_json(u),
            u.avatar_url,
            u.is_active,
            u.password_hash,
            u.created_at,
            u.updated_at,
            u.email_verified_at,
            u.signup_pending,
        ],
    )
    .map(|_| ())
    .map_err(map_err)
}

/// Links an identity to an account (inside the caller's transaction); false if there is no
/// such account.
fn link(c: &Connection, link: &ProviderAccount, user: &UserId, now: UnixTime) -> StoreResult<bool> {
    exec(
        c,
        "INSERT INTO account_links (link, user_id, created_at) \
         SELECT ?1, id, ?3 FROM users WHERE id = ?2",
        params![link.key(), user.as_str(), now],
    )
    .map(|n| n == 1)
    .map_err(map_err)
}

fn accesses_json(user: &User) -> String {
    serde_json::to_string(&user.accesses.iter().map(|a| a.as_str()).collect::<Vec<_>>())
        .expect("strings serialize")
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn insert_user(&self, user: &User) -> StoreResult<()> {
        let u = user.clone();
        self.write(move |c| {
            let tx = immediate(c)?;
            insert(&tx, &u)?;
            tx.commit().map_err(map_err)
        })
        .await
    }

    async fn insert_user_with_invite(
        &self,
        user: &User,
        token: &str,
        now: UnixTime,
    ) -> StoreResult<Result<(), InviteRefusal>> {
        let (u, token) = (user.clone(), token.to_string());
        self.write(move |c| {
            let tx = immediate(c)?;
            let Some(email) = &u.email else {
                return Ok(Err(InviteRefusal::Invalid));
            };
            let Some(invite) = super::invites::by_token(&tx, &token)? else {
                return Ok(Err(InviteRefusal::Invalid));
            };
            if let Err(refused) = invite.check(email, now) {
                return Ok(Err(refused));
            }
            insert(&tx, &u)?;
            exec(
                &tx,
                "UPDATE invite_tokens SET used_at = ?2, used_by = ?3 WHERE token = ?1",
                params![token, now, u.id.as_str()],
            )
            .map_err(map_err)?;
            tx.commit().map_err(map_err)?;
            Ok(Ok(()))
        })
        .await
    }

    async fn user_by_id(&self, id: &UserId) -> StoreResult<Option<User>> {
        let id = id.as_str().to_string();
        self.read(move |c| {
            one(
                c,
                &format!("SELECT {COLUMNS} FROM users WHERE id = ?1"),
                [id],
                row_to_user,
            )
            .optional()
            .map_err(map_err)
        })
        .await
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        let email = email.as_str().to_string();
        self.read(move |c| {
            one(
                c,
                &format!("SELECT {COLUMNS} FROM users WHERE email = ?1"),
                [email],
                row_to_user,
            )
            .optional()
            .map_err(map_err)
        })
        .await
    }

    async fn update_profile(
        &self,
        id: &UserId,
        name: &DisplayName,
        email: Option<&Email>,
        now: UnixTime,
    ) -> StoreResult<Option<User>> {
        let (id, name, email) = (
            id.as_str().to_string(),
            name.as_str().to_string(),
            email.map(|e| e.as_str().to_string()),
        );
        self.write(move |c| {
            one(
                c,
                &format!(
                    "UPDATE users SET name = ?2, updated_at = ?4, \
                     email_verified_at = CASE WHEN ?3 IS NULL OR ?3 IS email \
                     THEN email_verified_at END, email = COALESCE(?3, email) \
                     WHERE id = ?1 RETURNING {COLUMNS}"
                ),
                params![id, name, email, now],
                row_to_user,
            )
            .optional()
            .map_err(map_err)
        })
        .await
    }

    async fn set_password_hash(&self, id: &UserId, hash: &str, now: UnixTime) -> StoreResult<bool> {
        let (id, hash) = (id.as_str().to_string(), hash.to_string());
        self.write(move |c| {
            exec(
                c,
                "UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, hash, now],
            )
            .map(|n| n == 1)
            .map_err(map_err)
        })
        .await
    }

    async fn preferences(&self, id: &UserId) -> StoreResult<Option<String>> {
        let id = id.as_str().to_string();
        self.read(move |c| {
            one(
                c,
                "SELECT preferences_json FROM users WHERE id = ?1",
                [id],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(map_err)
        })
        .await
    }

    async fn set_preferences(&self, id: &UserId, json: &str, now: UnixTime) -> StoreResult<()> {
        let (id, json) = (id.as_str().to_string(), json.to_string());
        self.write(move |c| {
            match exec(
                c,
                "UPDATE users SET preferences_json = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, json, now],
            )
            .map_err(map_err)?
            {
                1 => Ok(()),
                _ => Err(StoreError::Other("preferences for a missing user".into())),
            }
        })
        .await
    }
}

/// What only the admin console reads or does (`AdminStore`, `admin.rs`).
impl SqliteStore {
    pub(super) async fn change_user(
        &self,
        id: &UserId,
        change: &UserChange,
        now: UnixTime,
    ) -> StoreResult<UserChangeOutcome> {
        let (id, change) = (id.as_str().to_string(), change.clone());
        self.write(move |c| {
            let tx = immediate(c)?;
            let Some(before) = user_row(&tx, &id)? else {
                return Ok(UserChangeOutcome::NotFound);
            };
            let user = change.apply(&before, now);
            if UserChange::admin_count(&before, &user) == AdminCount::Loses
                && other_active_admins(&tx, &id)? == 0
            {
                return Ok(UserChangeOutcome::LastAdmin);
            }
            exec(
                &tx,
                "UPDATE users SET is_active = ?2, accesses = ?3, updated_at = ?4 WHERE id = ?1",
                params![id, user.is_active, accesses_json(&user), now],
            )
            .map_err(map_err)?;
            tx.commit().map_err(map_err)?;
            Ok(UserChangeOutcome::Done(user))
        })
        .await
    }

    pub(super) async fn delete_user(&self, id: &UserId) -> StoreResult<UserChangeOutcome> {
        let id = id.as_str().to_string();
        self.write(move |c| {
            let tx = immediate(c)?;
            let Some(before) = user_row(&tx, &id)? else {
                return Ok(UserChangeOutcome::NotFound);
            };
            if is_active_admin(before.is_active, &before.accesses)
                && other_active_admins(&tx, &id)? == 0
            {
                return Ok(UserChangeOutcome::LastAdmin);
            }
            // Sessions go with it (ON DELETE CASCADE).
            exec(&tx, "DELETE FROM users WHERE id = ?1", [&id]).map_err(map_err)?;
            bump(&tx, &Tally::user(Some(&before), None))?;
            tx.commit().map_err(map_err)?;
            Ok(UserChangeOutcome::Done(before))
        })
        .await
    }

    pub(super) async fn list_users(
        &self,
        filter: &UserFilter,
        limit: u32,
        after: Option<&str>,
    ) -> StoreResult<Page<User>> {
        let text = filter.text.clone().unwrap_or_default();
        let access = filter
            .access
            .map(|a| format!("\"{}\"", a.as_str()))
            .unwrap_or_default();
        let active: i64 = filter.active.map_or(-1, i64::from);
        let (at, last) = match after.and_then(|c| c.split_once(':')) {
            Some((t, id)) => (t.parse::<i64>().unwrap_or(i64::MAX), id.to_string()),
            None => (i64::MAX, String::new()),
        };
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM users WHERE (?1 = '' OR instr(name, ?1) > 0 \
                     OR instr(coalesce(email, ''), ?1) > 0) AND (?2 = '' OR instr(accesses, ?2) > 0) \
                     AND (?3 = -1 OR is_active = ?3) AND (created_at < ?4 OR \
                     (created_at = ?4 AND id < ?5)) ORDER BY created_at DESC, id DESC LIMIT ?6"
                ))
                .map_err(map_err)?;
            let mut items = stmt
                .query_map(params![text, access, active, at, last, limit + 1], row_to_user)
                .map_err(map_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(map_err)?;
            let next = (items.len() > limit as usize).then(|| {
                items.truncate(limit as usize);
                let l = items.last().expect("limit is at least one");
                format!("{}:{}", l.created_at, l.id)
            });
            Ok(Page { items, next })
        })
        .await
    }

    pub(super) async fn user_table(&self, q: &UserQuery) -> StoreResult<Counted<User>> {
        let q = q.clone();
        self.read(move |c| {
            let filter = "(?1 = '' OR instr(lower(name), ?1) > 0 OR instr(coalesce(email, ''), ?1) > 0) \
                 AND (?2 = '' OR provider = ?2) \
                 AND (?3 = '' OR EXISTS (SELECT 1 FROM json_each(accesses) WHERE value = ?3)) \
                 AND (?4 = -1 OR is_active = ?4) AND (?5 = -1 OR (email IS NOT NULL AND email_verified_at IS NOT NULL) = ?5) \
                 AND created_at BETWEEN ?6 AND ?7 AND (?8 = 1 OR provider <> 'guest')";
            let dir = if q.descending { "DESC" } else { "ASC" };
            let key = match q.sort {
                UserSort::Created => String::new(),
                UserSort::Name => format!("lower(name) {dir}, "),
                UserSort::Email => format!("email {dir}, "),
                UserSort::Provider => format!("provider {dir}, "),
            };
            let text = q.text.clone().unwrap_or_default();
            let provider = q.provider.map(|p| p.as_str()).unwrap_or_default();
            let access = q.access.map(|a| a.as_str()).unwrap_or_default();
            let flag = |v: Option<bool>| v.map_or(-1, i64::from);
            let (from, to) = (
                q.created_from.unwrap_or(i64::MIN),
                q.created_to.unwrap_or(i64::MAX),
            );
            let (active, verified) = (flag(q.active), flag(q.verified));
            let filter_args: [&dyn ToSql; 8] = [
                &text, &provider, &access, &active, &verified, &from, &to, &q.guests,
            ];
            counted(
                c,
                COLUMNS,
                &format!("users WHERE {filter}"),
                &format!("{key}created_at {dir}, id {dir}"),
                &filter_args,
                q.limit,
                q.offset,
                row_to_user,
            )
        })
        .await
    }
}

/// A user as stored, read inside the caller's transaction.
pub(super) fn user_row(c: &Connection, id: &str) -> StoreResult<Option<User>> {
    one(
        c,
        &format!("SELECT {COLUMNS} FROM users WHERE id = ?1"),
        [id],
        row_to_user,
    )
    .optional()
    .map_err(map_err)
}

/// Active admins other than `id` (the last-admin guard, inside the caller's transaction).
fn other_active_admins(c: &Connection, id: &str) -> StoreResult<i64> {
    one(
        c,
        "SELECT COUNT(*) FROM users WHERE id <> ?1 AND is_active = 1 AND \
         (instr(accesses, '\"admin\"') > 0 OR instr(accesses, '\"superadmin\"') > 0)",
        [id],
        |r| r.get(0),
    )
    .map_err(map_err)
}

/// Provider identities: a table keyed by `provider#subject`, deleted with the account.
#[async_trait]
impl LinkStore for SqliteStore {
    async fn user_by_link(&self, link: &ProviderAccount) -> StoreResult<Option<User>> {
        let key = link.key();
        self.read(move |c| {
            one(
                c,
                &format!(
                    "SELECT {COLUMNS} FROM users WHERE id = \
                     (SELECT user_id FROM account_links WHERE link = ?1)"
                ),
                [key],
                row_to_user,
            )
            .optional()
            .map_err(map_err)
        })
        .await
    }

    async fn link_account(
        &self,
        account: &ProviderAccount,
        user: &UserId,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let (account, user) = (account.clone(), user.clone());
        self.write(move |c| link(c, &account, &user, now)).await
    }

    async fn insert_linked_user(&self, user: &User, account: &ProviderAccount) -> StoreResult<()> {
        let (u, account) = (user.clone(), account.clone());
        self.write(move |c| {
            let tx = immediate(c)?;
            insert(&tx, &u)?;
            link(&tx, &account, &u.id, u.created_at)?;
            tx.commit().map_err(map_err)
        })
        .await
    }
}
