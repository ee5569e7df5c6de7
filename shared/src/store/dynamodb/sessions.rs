//! Sessions (refresh-token families) on DynamoDB, in their user's partition.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Put, ReturnValue, TransactWriteItem, Update,
};

use super::item::{Item, get_n, get_s, n, opt_n, s};
use super::keys;
use super::{DynamoStore, applied, failed_conditions, is_condition_failed, map_sdk};
use crate::domain::{Replay, Session, SessionId, UnixTime, UserId};
use crate::store::{DEACTIVATED, HashUpgrade, Rotation, SessionStore, StoreError, StoreResult};

/// Expired sessions linger a day before TTL removes them, so late replays still read as
/// "invalid" from a real record.
const TTL_GRACE: i64 = 24 * 3600;

pub(super) fn from_item(item: &Item) -> StoreResult<Session> {
    let user = get_s(item, "userId")?;
    Ok(Session {
        id: SessionId::from_trusted(get_s(item, "sessionId")?),
        user_id: UserId::parse(&user)
            .map_err(|_| StoreError::Other("stored session has a bad user id".into()))?,
        generation: get_n(item, "generation")? as u64,
        created_at: get_n(item, "createdAt")?,
        expires_at: get_n(item, "expiresAt")?,
        revoked: item.contains_key("revokedAt"),
        rotated_at: opt_n(item, "rotatedAt"),
    })
}

impl DynamoStore {
    /// Marks a session revoked unless it already is; true if this call revoked it.
    async fn revoke(&self, user: &UserId, id: &SessionId, now: UnixTime) -> StoreResult<bool> {
        let (pk, sk) = keys::session(user, id);
        applied(
            self.client
                .update_item()
                .table_name(&self.table)
                .key("pk", pk)
                .key("sk", sk)
                .update_expression("SET revokedAt = :now")
                .condition_expression("attribute_exists(pk) AND attribute_not_exists(revokedAt)")
                .expression_attribute_values(":now", n(now))
                .send()
                .await,
        )
    }
}

#[async_trait]
impl SessionStore for DynamoStore {
    /// One transaction: the session, and a check that its user is active. A deactivation
    /// writes the user item first, so a session either fails here or is revoked after it.
    /// The session and the account's "still active" check (with an upgrade: the hash's
    /// replacement, conditional on both) in one transaction.
    async fn insert_session(
        &self,
        session: &Session,
        upgrade: Option<&HashUpgrade>,
    ) -> StoreResult<()> {
        let (pk, sk) = keys::session(&session.user_id, &session.id);
        let put = Put::builder()
            .table_name(&self.table)
            .item("pk", pk)
            .item("sk", sk)
            .item("sessionId", s(session.id.as_str()))
            .item("userId", s(session.user_id.as_str()))
            .item("generation", n(session.generation as i64))
            .item("createdAt", n(session.created_at))
            .item("expiresAt", n(session.expires_at))
            .item("ttl", n(session.expires_at + TTL_GRACE))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("complete put");
        let active = match upgrade {
            None => TransactWriteItem::builder()
                .condition_check(
                    ConditionCheck::builder()
                        .table_name(&self.table)
                        .key("pk", keys::user_pk(&session.user_id))
                        .key("sk", s(keys::PROFILE))
                        .condition_expression("isActive = :t")
                        .expression_attribute_values(":t", AttributeValue::Bool(true))
                        .build()
                        .expect("complete check"),
                )
                .build(),
            Some(u) => TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name(&self.table)
                        .key("pk", keys::user_pk(&session.user_id))
                        .key("sk", s(keys::PROFILE))
                        .update_expression("SET passwordHash = :to")
                        .condition_expression("isActive = :t AND passwordHash = :from")
                        .expression_attribute_values(":t", AttributeValue::Bool(true))
                        .expression_attribute_values(":from", s(&u.from))
                        .expression_attribute_values(":to", s(&u.to))
                        .build()
                        .expect("complete update"),
                )
                .build(),
        };
        let sent = self
            .client
            .transact_write_items()
            .transact_items(active)
            .transact_items(TransactWriteItem::builder().put(put).build())
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            // Upgraded meanwhile by a concurrent sign-in: the session alone.
            Err(e) if upgrade.is_some() && failed_conditions(&e).is_some_and(|f| f == [0]) => {
                Box::pin(self.insert_session(session, None)).await
            }
            Err(e) => match failed_conditions(&e) {
                Some(f) if f.contains(&0) => Err(StoreError::Conflict(DEACTIVATED)),
                Some(_) => Err(StoreError::Conflict("session id taken")),
                None => Err(map_sdk(e)),
            },
        }
    }

    /// Compare-and-swap on `generation`; on failure one consistent read tells a replay
    /// (older generation of a live session) from a dead session.
    async fn rotate_session(
        &self,
        user: &UserId,
        id: &SessionId,
        generation: u64,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> StoreResult<Rotation> {
        let (pk, sk) = keys::session(user, id);
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", pk)
            .key("sk", sk)
            .update_expression(
                "SET generation = generation + :one, expiresAt = :exp, #ttl = :ttl, rotatedAt = :now",
            )
            .condition_expression(
                "generation = :gen AND attribute_not_exists(revokedAt) AND expiresAt > :now",
            )
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":gen", n(generation as i64))
            .expression_attribute_values(":exp", n(expires_at))
            .expression_attribute_values(":ttl", n(expires_at + TTL_GRACE))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match out {
            Ok(o) => {
                let item = o
                    .attributes
                    .ok_or_else(|| StoreError::Other("rotation returned nothing".into()))?;
                Ok(Rotation::Rotated(from_item(&item)?))
            }
            Err(e) if is_condition_failed(&e) => Ok(match self.session(user, id).await? {
                Some(current) => match current.replay(generation, now) {
                    Replay::Current => Rotation::Current(current),
                    Replay::Reused => Rotation::Reused,
                    Replay::Invalid => Rotation::Invalid,
                },
                None => Rotation::Invalid,
            }),
            Err(e) => Err(map_sdk(e)),
        }
    }

    async fn session(&self, user: &UserId, id: &SessionId) -> StoreResult<Option<Session>> {
        let (pk, sk) = keys::session(user, id);
        self.get(pk, sk).await?.as_ref().map(from_item).transpose()
    }

    async fn revoke_session(
        &self,
        user: &UserId,
        id: &SessionId,
        now: UnixTime,
    ) -> StoreResult<()> {
        self.revoke(user, id, now).await.map(|_| ())
    }

    /// The user's sessions share a partition: one consistent Query (paged), then a
    /// conditional revoke of each live one.
    async fn revoke_user_sessions(
        &self,
        user: &UserId,
        keep: Option<&SessionId>,
        now: UnixTime,
    ) -> StoreResult<u64> {
        let mut live = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .filter_expression("attribute_not_exists(revokedAt)")
                .expression_attribute_values(":pk", keys::user_pk(user))
                .expression_attribute_values(":prefix", s("SESSION#"))
                .projection_expression("sessionId")
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(map_sdk)?;
            for item in page.items() {
                live.push(SessionId::from_trusted(get_s(item, "sessionId")?));
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        let mut revoked = 0;
        for id in live.iter().filter(|id| Some(*id) != keep) {
            if self.revoke(user, id, now).await? {
                revoked += 1;
            }
        }
        Ok(revoked)
    }
}
