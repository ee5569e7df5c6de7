//! One-time account links on DynamoDB: the link is an item in its user's partition
//! (`TOKEN#verify`, `TOKEN#reset`; one each, a new link overwrites), expiring by the table's
//! TTL too. Each use is one transaction: the link's delete (conditional on its hash, expiry
//! and address) with the profile's update (conditional on that address), so it acts once.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem, Update};

use super::item::{Item, get_s, n, s};
use super::keys::{PROFILE, TALLIED, token_sk, user_pk};
use super::links::ListedUnchanged;
use super::users::{PENDING, SIGNUPS, VERIFIED_AT, from_item, signup_sk};
use super::{DynamoStore, failed_conditions, map_sdk};
use crate::domain::{AccountToken, TokenPurpose, UnixTime, User, UserId, is_active_admin};
use crate::store::{AccountStore, StoreResult};

fn tx_delete(d: aws_sdk_dynamodb::types::builders::DeleteBuilder) -> TransactWriteItem {
    TransactWriteItem::builder()
        .delete(d.build().expect("complete delete"))
        .build()
}

fn tx_update(u: aws_sdk_dynamodb::types::builders::UpdateBuilder) -> TransactWriteItem {
    TransactWriteItem::builder()
        .update(u.build().expect("complete update"))
        .build()
}

impl DynamoStore {
    /// Deletes the user's `purpose` link if it is `hash`, unexpired and sent to `email`.
    fn consume(
        &self,
        user: &User,
        purpose: TokenPurpose,
        hash: &str,
        email: &str,
        now: UnixTime,
    ) -> TransactWriteItem {
        tx_delete(
            Delete::builder()
                .table_name(&self.table)
                .key("pk", user_pk(&user.id))
                .key("sk", token_sk(purpose))
                .condition_expression("tokenHash = :h AND expiresAt > :now AND email = :email")
                .expression_attribute_values(":h", s(hash))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":email", s(email)),
        )
    }

    /// Confirms the address (keeping an earlier confirmation's time) and ends a pending
    /// sign-up, if the account still has `email`; `set` adds assignments (`#x = :x`).
    fn confirm(
        &self,
        user: &User,
        email: &str,
        now: UnixTime,
        set: Option<(&str, AttributeValue)>,
    ) -> Vec<TransactWriteItem> {
        let mut expr = "SET #ev = :ev, updatedAt = :now".to_string();
        let mut u = Update::builder()
            .table_name(&self.table)
            .key("pk", user_pk(&user.id))
            .key("sk", s(PROFILE))
            .condition_expression("email = :email")
            .expression_attribute_names("#ev", VERIFIED_AT)
            .expression_attribute_values(":ev", n(user.email_verified_at.unwrap_or(now)))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":email", s(email));
        if let Some((attr, value)) = set {
            expr.push_str(", #set = :set");
            u = u
                .expression_attribute_names("#set", attr)
                .expression_attribute_values(":set", value);
        }
        if user.signup_pending {
            expr.push_str(" REMOVE #pending");
            u = u.expression_attribute_names("#pending", PENDING);
        }
        let mut items = vec![tx_update(u.update_expression(expr))];
        if user.signup_pending {
            items.push(tx_delete(
                Delete::builder()
                    .table_name(&self.table)
                    .key("pk", s(SIGNUPS))
                    .key("sk", signup_sk(user)),
            ));
        }
        items
    }

    /// Reads the user, then runs `writes(user, email)` as one transaction: the user after,
    /// or `None` if there is no user (or address) or a condition failed.
    async fn use_link(
        &self,
        id: &UserId,
        writes: impl FnOnce(&User, &str) -> Vec<TransactWriteItem>,
        after: impl FnOnce(User) -> User,
    ) -> StoreResult<Option<User>> {
        let Some(item) = self.get_user_item(id).await? else {
            return Ok(None);
        };
        let user = from_item(&item)?;
        let Some(email) = user.email.clone() else {
            return Ok(None);
        };
        match self.transact(writes(&user, email.as_str())).await {
            Ok(()) => Ok(Some(after(user))),
            Err(e) if failed_conditions(&e).is_some() => Ok(None),
            Err(e) => Err(map_sdk(e)),
        }
    }
}

fn confirmed(mut user: User, now: UnixTime) -> User {
    user.email_verified_at = user.email_verified_at.or(Some(now));
    user.signup_pending = false;
    user.updated_at = now;
    user
}

#[async_trait]
impl AccountStore for DynamoStore {
    async fn put_token(&self, t: &AccountToken) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", user_pk(&t.user_id))
            .item("sk", token_sk(t.purpose))
            .item("tokenHash", s(&t.hash))
            .item("email", s(t.email.as_str()))
            .item("expiresAt", n(t.expires_at))
            .item("ttl", n(t.expires_at))
            .send()
            .await
            .map_err(map_sdk)?;
        Ok(())
    }

    async fn use_verify_token(
        &self,
        user: &UserId,
        hash: &str,
        now: UnixTime,
    ) -> StoreResult<Option<User>> {
        self.use_link(
            user,
            |u, email| {
                let mut items = vec![self.consume(u, TokenPurpose::VerifyEmail, hash, email, now)];
                items.extend(self.confirm(u, email, now, None));
                items
            },
            |u| confirmed(u, now),
        )
        .await
    }

    async fn use_reset_token(
        &self,
        user: &UserId,
        hash: &str,
        password_hash: &str,
        now: UnixTime,
    ) -> StoreResult<Option<User>> {
        self.use_link(
            user,
            |u, email| {
                let mut items =
                    vec![self.consume(u, TokenPurpose::ResetPassword, hash, email, now)];
                let set = Some(("passwordHash", s(password_hash)));
                items.extend(self.confirm(u, email, now, set));
                items
            },
            |mut u| {
                u.password_hash = Some(password_hash.to_string());
                confirmed(u, now)
            },
        )
        .await
    }

    async fn mark_verified(&self, user: &UserId, now: UnixTime) -> StoreResult<Option<User>> {
        self.use_link(
            user,
            |u, email| {
                let mut items = self.confirm(u, email, now, None);
                items.push(tx_delete(
                    Delete::builder()
                        .table_name(&self.table)
                        .key("pk", user_pk(&u.id))
                        .key("sk", token_sk(TokenPurpose::VerifyEmail)),
                ));
                items
            },
            |u| confirmed(u, now),
        )
        .await
    }

    async fn pending_signups(&self, cutoff: UnixTime, limit: u32) -> StoreResult<Vec<UserId>> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :p AND sk < :cutoff")
            .expression_attribute_values(":p", s(SIGNUPS))
            .expression_attribute_values(":cutoff", s(format!("{:020}", cutoff.max(0))))
            .limit(limit as i32)
            .send()
            .await
            .map_err(map_sdk)?;
        Ok(out
            .items()
            .iter()
            .filter_map(|i| UserId::parse(&get_s(i, "userId").ok()?).ok())
            .collect())
    }

    async fn remove_pending_signup(&self, id: &UserId, cutoff: UnixTime) -> StoreResult<bool> {
        let Some(item) = self.get_user_item(id).await? else {
            return Ok(false);
        };
        let before = from_item(&item)?;
        if !before.signup_pending
            || before.email_verified_at.is_some()
            || before.created_at >= cutoff
            || is_active_admin(before.is_active, &before.accesses)
        {
            return Ok(false);
        }
        self.remove_signup(&item, &before).await
    }
}

impl DynamoStore {
    /// The pending account and what goes with it (`account_leftovers`), in one transaction
    /// that holds only while it is still unconfirmed as read.
    async fn remove_signup(&self, item: &Item, before: &User) -> StoreResult<bool> {
        let tallied = item.contains_key(TALLIED);
        let listed = ListedUnchanged(item);
        let profile = Delete::builder()
            .table_name(&self.table)
            .key("pk", user_pk(&before.id))
            .key("sk", s(PROFILE))
            .condition_expression(format!(
                "#pending = :t AND #ev = :zero AND isActive = :act AND {} AND {}",
                if tallied {
                    "attribute_exists(#tl)"
                } else {
                    "attribute_not_exists(#tl)"
                },
                listed.condition()
            ))
            .expression_attribute_names("#pending", PENDING)
            .expression_attribute_names("#ev", VERIFIED_AT)
            .expression_attribute_names("#tl", TALLIED)
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":act", AttributeValue::Bool(before.is_active));
        let mut tx = vec![tx_delete(listed.bind(profile))];
        let unlisted = self.unlisted_passkeys(&before.id, item).await?;
        tx.extend(self.account_leftovers(before, item, &unlisted));
        match self.transact(tx).await {
            Ok(()) => Ok(true),
            Err(e) if failed_conditions(&e).is_some() => Ok(false),
            Err(e) => Err(map_sdk(e)),
        }
    }
}
