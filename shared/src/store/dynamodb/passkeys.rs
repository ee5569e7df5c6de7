//! Passkeys on DynamoDB: one item per credential (`CRED#<credential id, base64url>`), so the
//! id is unique by key and the counter moves by compare-and-set on it; the owner's list is
//! `gsi1` (`PASSKEYS#<user>`). The profile lists its credentials (`passkeys`), so deleting the
//! account deletes them in the same transaction, as with its provider links (and those made
//! before profiles listed them, found by `gsi1`). Ceremonies are single items deleted as they
//! are read, with TTL.

use async_trait::async_trait;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValue, TransactWriteItem, Update,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::item::{Item, get_n, get_s, n, opt_n, opt_s, s};
use super::keys::{PROFILE, user_pk};
use super::links::{CRED, PASSKEYS};
use super::pages::Range;
use super::{DynamoStore, applied, failed_conditions, is_condition_failed, map_sdk};
use crate::domain::{Ceremony, Passkey, PendingCeremony, Tally, UnixTime, User, UserId};
use crate::store::{PASSKEY_TAKEN, PasskeyStore, StoreError, StoreResult};

const CEREMONY: &str = "CEREMONY";

/// A credential id as the profile lists it, and in its item's key.
fn cred_key(credential_id: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(credential_id)
}

fn cred_pk(credential_id: &[u8]) -> AttributeValue {
    super::links::cred_pk(&cred_key(credential_id))
}

/// The owner's list: `gsi1` (`PASSKEYS#<user>`, by creation).
fn owner_pk(user: &UserId) -> String {
    format!("PASSKEYS#{user}")
}

fn bytes(item: &Item, name: &str) -> StoreResult<Vec<u8>> {
    item.get(name)
        .and_then(|v| v.as_b().ok())
        .map(|b| b.as_ref().to_vec())
        .ok_or_else(|| StoreError::Other(format!("stored passkey lacks {name}")))
}

fn to_item(p: &Passkey) -> Item {
    let mut item = Item::from([
        ("pk".to_string(), cred_pk(&p.credential_id)),
        ("sk".to_string(), s(CRED)),
        ("id".to_string(), s(&p.id)),
        ("userId".to_string(), s(p.user_id.as_str())),
        (
            "credentialId".to_string(),
            AttributeValue::B(Blob::new(p.credential_id.clone())),
        ),
        (
            "publicKey".to_string(),
            AttributeValue::B(Blob::new(p.public_key.clone())),
        ),
        ("algorithm".to_string(), n(p.algorithm)),
        ("signCount".to_string(), n(i64::from(p.sign_count))),
        ("name".to_string(), s(&p.name)),
        ("createdAt".to_string(), n(p.created_at)),
        ("gsi1pk".to_string(), s(owner_pk(&p.user_id))),
        (
            "gsi1sk".to_string(),
            s(format!("{:020}#{}", p.created_at.max(0), p.id)),
        ),
    ]);
    if let Some(at) = p.last_used_at {
        item.insert("lastUsedAt".into(), n(at));
    }
    item
}

fn from_item(item: &Item) -> StoreResult<Passkey> {
    let bad = |what: &str| StoreError::Other(format!("stored passkey has a bad {what}"));
    Ok(Passkey {
        id: get_s(item, "id")?,
        user_id: UserId::parse(&get_s(item, "userId")?).map_err(|_| bad("userId"))?,
        credential_id: bytes(item, "credentialId")?,
        public_key: bytes(item, "publicKey")?,
        algorithm: get_n(item, "algorithm")?,
        sign_count: u32::try_from(get_n(item, "signCount")?).map_err(|_| bad("signCount"))?,
        name: get_s(item, "name")?,
        created_at: get_n(item, "createdAt")?,
        last_used_at: opt_n(item, "lastUsedAt"),
    })
}

impl DynamoStore {
    /// The credential's item, written only if the credential id is new.
    fn passkey_put(&self, p: &Passkey) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(p)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("complete put");
        TransactWriteItem::builder().put(put).build()
    }

    /// The profile's list with the credential added (or, `add` false, removed), if the
    /// profile exists.
    fn passkey_listing(&self, user: &UserId, credential_id: &[u8], add: bool) -> TransactWriteItem {
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", user_pk(user))
            .key("sk", s(PROFILE))
            .update_expression(if add { "ADD #p :key" } else { "DELETE #p :key" })
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#p", PASSKEYS)
            .expression_attribute_values(":key", AttributeValue::Ss(vec![cred_key(credential_id)]))
            .build()
            .expect("complete update");
        TransactWriteItem::builder().update(update).build()
    }
}

impl DynamoStore {
    /// The credentials of `user`'s passkeys that its profile `item` does not list: made
    /// before profiles listed them (found by the owner index), deleted with the account all
    /// the same.
    pub(super) async fn unlisted_passkeys(
        &self,
        user: &UserId,
        item: &Item,
    ) -> StoreResult<Vec<String>> {
        let listed = super::links::listed(item, PASSKEYS);
        Ok(self
            .user_passkeys(user)
            .await?
            .iter()
            .map(|p| cred_key(&p.credential_id))
            .filter(|key| !listed.contains(key))
            .collect())
    }
}

#[async_trait]
impl PasskeyStore for DynamoStore {
    /// The credential and its entry in the profile's list, if the profile exists, in one
    /// transaction.
    async fn insert_passkey(&self, passkey: &Passkey) -> StoreResult<bool> {
        let items = vec![
            self.passkey_put(passkey),
            self.passkey_listing(&passkey.user_id, &passkey.credential_id, true),
        ];
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(e) => match failed_conditions(&e) {
                Some(f) if f.contains(&0) => Err(StoreError::Conflict(PASSKEY_TAKEN)),
                Some(_) => Ok(false),
                None => Err(map_sdk(e)),
            },
        }
    }

    async fn insert_user_with_passkey(&self, user: &User, passkey: &Passkey) -> StoreResult<()> {
        let first = (PASSKEYS, cred_key(&passkey.credential_id));
        let mut items = self.user_insert_listing(user, Some(first));
        let at = items.len();
        items.push(self.passkey_put(passkey));
        items.extend(self.tally_writes(&Tally::user(None, Some(user))));
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(e) if failed_conditions(&e).is_some_and(|f| f.contains(&at)) => {
                Err(StoreError::Conflict(PASSKEY_TAKEN))
            }
            Err(e) => Err(super::users::insert_failure(e)),
        }
    }

    async fn passkey_by_credential(&self, credential_id: &[u8]) -> StoreResult<Option<Passkey>> {
        self.get(cred_pk(credential_id), s(CRED))
            .await?
            .as_ref()
            .map(from_item)
            .transpose()
    }

    async fn user_passkeys(&self, user: &UserId) -> StoreResult<Vec<Passkey>> {
        let pk = owner_pk(user);
        let oldest_first = Range {
            newest_first: false,
            ..Range::index("gsi1", "gsi1pk", "gsi1sk", &pk)
        };
        let items = self.all_in_range(&oldest_first).await?;
        items.iter().map(from_item).collect()
    }

    async fn delete_passkey(&self, user: &UserId, id: &str) -> StoreResult<bool> {
        let Some(p) = self
            .user_passkeys(user)
            .await?
            .into_iter()
            .find(|p| p.id == id)
        else {
            return Ok(false);
        };
        let credential = Delete::builder()
            .table_name(&self.table)
            .key("pk", cred_pk(&p.credential_id))
            .key("sk", s(CRED))
            .condition_expression("userId = :uid AND id = :id")
            .expression_attribute_values(":uid", s(user.as_str()))
            .expression_attribute_values(":id", s(id))
            .build()
            .expect("complete delete");
        let items = vec![
            TransactWriteItem::builder().delete(credential).build(),
            self.passkey_listing(user, &p.credential_id, false),
        ];
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(e) if failed_conditions(&e).is_some() => Ok(false),
            Err(e) => Err(map_sdk(e)),
        }
    }

    async fn passkey_used(
        &self,
        credential_id: &[u8],
        from: u32,
        to: u32,
        at: UnixTime,
    ) -> StoreResult<bool> {
        applied(
            self.client
                .update_item()
                .table_name(&self.table)
                .key("pk", cred_pk(credential_id))
                .key("sk", s(CRED))
                .update_expression("SET signCount = :to, lastUsedAt = :at")
                .condition_expression("signCount = :from")
                .expression_attribute_values(":from", n(i64::from(from)))
                .expression_attribute_values(":to", n(i64::from(to)))
                .expression_attribute_values(":at", n(at))
                .send()
                .await,
        )
    }

    async fn put_ceremony(&self, p: &PendingCeremony) -> StoreResult<()> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("CEREMONY#{}", p.id)))
            .item("sk", s(CEREMONY))
            .item("ceremony", s(p.ceremony.as_str()))
            .item("state", s(&p.state))
            .item("expiresAt", n(p.expires_at))
            // DynamoDB's TTL removes what nobody finished.
            .item("ttl", n(p.expires_at));
        if let Some(u) = &p.user_id {
            put = put.item("userId", s(u.as_str()));
        }
        put.send().await.map_err(map_sdk)?;
        Ok(())
    }

    /// One conditional delete returning the item: a second take, or a late one, finds none.
    async fn take_ceremony(&self, id: &str, now: UnixTime) -> StoreResult<Option<PendingCeremony>> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(format!("CEREMONY#{id}")))
            .key("sk", s(CEREMONY))
            .condition_expression("attribute_exists(pk) AND expiresAt > :now")
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        let item = match out {
            Ok(o) => o.attributes,
            Err(e) if is_condition_failed(&e) => None,
            Err(e) => return Err(map_sdk(e)),
        };
        let Some(item) = item else { return Ok(None) };
        let bad = || StoreError::Other("stored ceremony is malformed".into());
        Ok(Some(PendingCeremony {
            id: id.to_string(),
            ceremony: Ceremony::parse(&get_s(&item, "ceremony")?).ok_or_else(bad)?,
            user_id: opt_s(&item, "userId")
                .map(|u| UserId::parse(&u).map_err(|_| bad()))
                .transpose()?,
            state: get_s(&item, "state")?,
            expires_at: get_n(&item, "expiresAt")?,
        }))
    }
}
