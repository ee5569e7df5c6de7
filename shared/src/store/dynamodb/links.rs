//! Sign-in providers' identities on DynamoDB. A `LINK#provider#subject` item names the account,
//! and the account's profile lists its links (`links`, a string set), so deleting the account
//! deletes them in the same transaction. Its passkeys are listed the same way (`passkeys`):
//! [`ListedUnchanged`] holds both lists for such a delete.

use aws_sdk_dynamodb::types::builders::DeleteBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};

use super::item::{Item, n, s};
use super::keys::{PROFILE, user_pk};
use super::{DynamoStore, failed_conditions, map_sdk};
use crate::domain::{ProviderAccount, UnixTime, UserId};
use crate::store::{LINKED, StoreError, StoreResult};

/// The profile's set of `provider#subject` keys.
pub(super) const LINKS: &str = "links";
/// The profile's set of its passkeys' credential ids (base64url).
pub(super) const PASSKEYS: &str = "passkeys";
const LINK: &str = "LINK";
/// A passkey's sort key (and its partition key's prefix).
pub(super) const CRED: &str = "CRED";

fn link_pk(key: &str) -> AttributeValue {
    s(format!("LINK#{key}"))
}

/// A passkey item's partition key, from the credential id as the profile lists it.
pub(super) fn cred_pk(key: &str) -> AttributeValue {
    s(format!("{CRED}#{key}"))
}

/// The keys a profile item lists in its set `set` ([`LINKS`], [`PASSKEYS`]).
pub(super) fn listed(item: &Item, set: &str) -> Vec<String> {
    item.get(set)
        .and_then(|v| v.as_ss().ok())
        .cloned()
        .unwrap_or_default()
}

/// Each list a profile holds: its name and value placeholders, and its attribute.
const LISTS: [(&str, &str, &str); 2] = [
    ("#links", ":links", LINKS),
    ("#passkeys", ":passkeys", PASSKEYS),
];

/// A condition that a profile still lists exactly the links and passkeys `item` listed, for
/// a delete that removes them: one added since would otherwise be left behind.
pub(super) struct ListedUnchanged<'a>(pub &'a Item);

impl ListedUnchanged<'_> {
    /// The condition, to be joined to the delete's own with `AND`.
    pub fn condition(&self) -> String {
        LISTS
            .iter()
            .map(|(name, value, set)| match self.0.contains_key(*set) {
                true => format!("{name} = {value}"),
                false => format!("attribute_not_exists({name})"),
            })
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// `delete` with the condition's names and values.
    pub fn bind(&self, mut delete: DeleteBuilder) -> DeleteBuilder {
        for (name, value, set) in LISTS {
            delete = delete.expression_attribute_names(name, set);
            if let Some(v) = self.0.get(set) {
                delete = delete.expression_attribute_values(value, v.clone());
            }
        }
        delete
    }
}

impl DynamoStore {
    /// The link item, written only if the identity is not linked yet.
    pub(super) fn link_put(&self, link: &ProviderAccount, user: &UserId, now: UnixTime) -> Put {
        Put::builder()
            .table_name(&self.table)
            .item("pk", link_pk(&link.key()))
            .item("sk", s(LINK))
            .item("userId", s(user.as_str()))
            .item("createdAt", n(now))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("complete put")
    }

    /// Deletes of every item the profile `item` lists: its links ([`LINKS`]) and its
    /// passkeys ([`PASSKEYS`], `CRED#<key>` / `CRED`).
    /// `unlisted` adds passkeys the profile does not list (made before profiles listed them).
    pub(super) fn listed_deletes(
        &self,
        item: &Item,
        unlisted: &[String],
    ) -> Vec<TransactWriteItem> {
        let links = listed(item, LINKS)
            .into_iter()
            .map(|key| (link_pk(&key), LINK));
        let passkeys = listed(item, PASSKEYS)
            .into_iter()
            .chain(unlisted.iter().cloned())
            .map(|key| (cred_pk(&key), CRED));
        links
            .chain(passkeys)
            .map(|(pk, sk)| {
                let d = Delete::builder()
                    .table_name(&self.table)
                    .key("pk", pk)
                    .key("sk", s(sk))
                    .build()
                    .expect("complete delete");
                TransactWriteItem::builder().delete(d).build()
            })
            .collect()
    }

    /// The profile of the account the identity is linked to.
    pub(super) async fn linked_profile(&self, link: &ProviderAccount) -> StoreResult<Option<Item>> {
        let Some(item) = self.get(link_pk(&link.key()), s(LINK)).await? else {
            return Ok(None);
        };
        let id = UserId::parse(&super::item::get_s(&item, "userId")?)
            .map_err(|_| StoreError::Other("stored link has a bad userId".into()))?;
        Ok(self
            .get_user_item(&id)
            .await?
            .filter(|profile| listed(profile, LINKS).contains(&link.key())))
    }

    /// The link item and its entry in the profile, in one transaction.
    pub(super) async fn add_link(
        &self,
        link: &ProviderAccount,
        user: &UserId,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let listed = Update::builder()
            .table_name(&self.table)
            .key("pk", user_pk(user))
            .key("sk", s(PROFILE))
            .update_expression("ADD #links :key")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#links", LINKS)
            .expression_attribute_values(":key", AttributeValue::Ss(vec![link.key()]))
            .build()
            .expect("complete update");
        let items = vec![
            TransactWriteItem::builder()
                .put(self.link_put(link, user, now))
                .build(),
            TransactWriteItem::builder().update(listed).build(),
        ];
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(e) => match failed_conditions(&e) {
                Some(f) if f.contains(&0) => Err(StoreError::Conflict(LINKED)),
                Some(_) => Ok(false),
                None => Err(map_sdk(e)),
            },
        }
    }
}
