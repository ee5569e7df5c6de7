//! Invite tokens on DynamoDB: one item per token (`INVITE#<token>`), listed newest first
//! through `gsi3` (`INVITES`); registration consumes one inside its own transaction (see
//! `users.rs`).

use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{Item, get_n, get_s, n, opt_n, opt_s, s};
use super::{DynamoStore, map_sdk};
use crate::domain::{Email, InviteToken, UserId};
use crate::store::{StoreError, StoreResult};

pub(super) const INVITE: &str = "INVITE";
/// `gsi3pk` of every invite.
const INVITES: &str = "INVITES";

pub(super) fn invite_pk(token: &str) -> AttributeValue {
    s(format!("INVITE#{token}"))
}

fn to_item(t: &InviteToken) -> Item {
    let mut item = Item::from([
        ("pk".to_string(), invite_pk(&t.token)),
        ("sk".to_string(), s(INVITE)),
        ("id".to_string(), s(t.id.as_str())),
        ("token".to_string(), s(t.token.as_str())),
        ("createdBy".to_string(), s(t.created_by.as_str())),
        ("createdAt".to_string(), n(t.created_at)),
        ("expiresAt".to_string(), n(t.expires_at)),
        ("gsi3pk".to_string(), s(INVITES)),
        (
            "gsi3sk".to_string(),
            s(format!("{:020}#{}", t.created_at.max(0), t.id)),
        ),
    ]);
    if let Some(e) = &t.email {
        item.insert("email".into(), s(e.as_str()));
    }
    item
}

fn from_item(item: &Item) -> StoreResult<InviteToken> {
    let bad = |what: &str| StoreError::Other(format!("stored invite has a bad {what}"));
    Ok(InviteToken {
        id: get_s(item, "id")?,
        token: get_s(item, "token")?,
        email: opt_s(item, "email")
            .map(|e| Email::parse(&e))
            .transpose()
            .map_err(|_| bad("email"))?,
        created_by: UserId::parse(&get_s(item, "createdBy")?).map_err(|_| bad("createdBy"))?,
        created_at: get_n(item, "createdAt")?,
        expires_at: get_n(item, "expiresAt")?,
        used_at: opt_n(item, "usedAt"),
        used_by: opt_s(item, "usedBy")
            .map(|u| UserId::parse(&u))
            .transpose()
            .map_err(|_| bad("usedBy"))?,
    })
}

impl DynamoStore {
    pub(super) async fn invite(&self, token: &str) -> StoreResult<Option<InviteToken>> {
        self.get(invite_pk(token), s(INVITE))
            .await?
            .as_ref()
            .map(from_item)
            .transpose()
    }
}

/// The admin console's invites (`AdminStore`, `admin.rs`).
impl DynamoStore {
    pub(super) async fn insert_invite(&self, t: &InviteToken) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(t)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map(|_| ())
            .map_err(map_sdk)
    }

    pub(super) async fn invites(&self) -> StoreResult<Vec<InviteToken>> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("gsi3")
                .key_condition_expression("gsi3pk = :all")
                .expression_attribute_values(":all", s(INVITES))
                .scan_index_forward(false)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(map_sdk)?;
            for item in page.items() {
                out.push(from_item(item)?);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(out);
            }
        }
    }

    pub(super) async fn delete_invite(&self, id: &str) -> StoreResult<()> {
        // Admins delete by id; the item is keyed by token.
        if let Some(t) = self.invites().await?.into_iter().find(|t| t.id == id) {
            self.client
                .delete_item()
                .table_name(&self.table)
                .key("pk", invite_pk(&t.token))
                .key("sk", s(INVITE))
                .send()
                .await
                .map_err(map_sdk)?;
        }
        Ok(())
    }
}
