//! Accounts on DynamoDB: the profile item, the email claim that keeps emails unique, the
//! admins' list index and the active-admin counter.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValue, TransactWriteItem, Update,
};

use super::invites::{INVITE, invite_pk};
use super::item::{Item, get_bool, get_list_s, get_n, get_s, n, opt_bool, opt_n, opt_s, s};
use super::keys::TALLIED;
use super::keys::{PROFILE, decode_cursor, encode_cursor, token_sk, user_pk};
use super::links::{LINKS, ListedUnchanged};
use super::{DynamoStore, applied, failed_conditions, is_condition_failed, map_sdk};
use crate::domain::{
    Access, AdminCount, DisplayName, Email, InviteRefusal, Metric, Provider, ProviderAccount,
    Tally, TokenPurpose, UnixTime, User, UserId, UserQuery, is_active_admin,
};
use crate::store::{
    Counted, LINKED, LinkStore, Page, StoreError, StoreResult, UserChange, UserChangeOutcome,
    UserFilter, UserStore,
};

fn email_pk(email: &Email) -> AttributeValue {
    s(format!("EMAIL#{email}"))
}

fn to_item(u: &User) -> Item {
    let mut item = Item::from([
        ("pk".to_string(), user_pk(&u.id)),
        ("sk".to_string(), s(PROFILE)),
        ("id".to_string(), s(u.id.as_str())),
        ("name".to_string(), s(u.name.as_str())),
        ("provider".to_string(), s(u.provider.as_str())),
        (
            "accesses".to_string(),
            AttributeValue::L(u.accesses.iter().map(|a| s(a.as_str())).collect()),
        ),
        ("isActive".to_string(), AttributeValue::Bool(u.is_active)),
        (TALLIED.to_string(), AttributeValue::Bool(true)),
        ("createdAt".to_string(), n(u.created_at)),
        ("updatedAt".to_string(), n(u.updated_at)),
    ]);
    if let Some(e) = &u.email {
        item.insert("email".into(), s(e.as_str()));
    }
    if let Some(a) = &u.avatar_url {
        item.insert("avatarUrl".into(), s(a));
    }
    if let Some(h) = &u.password_hash {
        item.insert("passwordHash".into(), s(h));
    }
    // 0 = unconfirmed; items from before verification lack it (confirmed at creation).
    item.insert(VERIFIED_AT.into(), n(u.email_verified_at.unwrap_or(0)));
    if u.signup_pending {
        item.insert(PENDING.into(), AttributeValue::Bool(true));
    }
    // Every user once, newest first: the admins' list.
    item.insert("gsi3pk".into(), s(USERS));
    item.insert(
        "gsi3sk".into(),
        s(format!("{:020}#{}", u.created_at.max(0), u.id)),
    );
    item
}

/// When the address was confirmed; 0 while it is not.
pub(super) const VERIFIED_AT: &str = "emailVerifiedAt";
/// Present (true) on a sign-up awaiting confirmation.
pub(super) const PENDING: &str = "signupPending";
/// The partition listing pending sign-ups by creation (`{createdAt:020}#{id}`), so the sweep
/// reads only them.
pub(super) const SIGNUPS: &str = "SIGNUPS";

pub(super) fn signup_sk(u: &User) -> AttributeValue {
    s(format!("{:020}#{}", u.created_at.max(0), u.id))
}

/// `gsi3pk` of every user.
const USERS: &str = "USERS";
/// The count of active admins, kept in the same transactions that change one, so the last
/// admin can never be demoted or deactivated.
pub(super) const ADMINS: &str = "ADMINS";

pub(super) fn from_item(item: &Item) -> StoreResult<User> {
    let bad = |what: &str| StoreError::Other(format!("stored user has a bad {what}"));
    Ok(User {
        id: UserId::parse(&get_s(item, "id")?).map_err(|_| bad("id"))?,
        email: opt_s(item, "email")
            .map(|e| Email::parse(&e))
            .transpose()
            .map_err(|_| bad("email"))?,
        name: DisplayName::from_trusted(get_s(item, "name")?),
        provider: Provider::parse(&get_s(item, "provider")?).ok_or_else(|| bad("provider"))?,
        accesses: get_list_s(item, "accesses")?
            .iter()
            .filter_map(|a| Access::parse(a))
            .collect(),
        avatar_url: opt_s(item, "avatarUrl"),
        is_active: get_bool(item, "isActive")?,
        password_hash: opt_s(item, "passwordHash"),
        email_verified_at: match opt_n(item, VERIFIED_AT) {
            Some(0) => None,
            Some(at) => Some(at),
            None if item.contains_key("email") => Some(get_n(item, "createdAt")?),
            None => None,
        },
        signup_pending: opt_bool(item, PENDING).unwrap_or(false),
        created_at: get_n(item, "createdAt")?,
        updated_at: get_n(item, "updatedAt")?,
    })
}

/// A failed account insert: which condition (the id, the email claim) says why.
pub(super) fn insert_failure(
    e: aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
    >,
) -> StoreError {
    match failed_conditions(&e) {
        Some(failed) if failed.contains(&1) => StoreError::Conflict("email already registered"),
        Some(failed) if failed.contains(&0) => StoreError::Conflict("user id taken"),
        Some(_) => StoreError::Conflict("conflicting write"),
        None => map_sdk(e),
    }
}

impl DynamoStore {
    /// The writes that create an account: the user, its email claim, the admin count.
    pub(super) fn user_insert(&self, user: &User) -> Vec<TransactWriteItem> {
        self.user_insert_listing(user, None)
    }

    /// `user_insert`, with the account's first provider identity or passkey listed on its
    /// profile: `(list, key)`, the list [`LINKS`] or [`super::links::PASSKEYS`] (the caller
    /// adds the listed item).
    pub(super) fn user_insert_listing(
        &self,
        user: &User,
        first: Option<(&str, String)>,
    ) -> Vec<TransactWriteItem> {
        let mut item = to_item(user);
        if let Some((list, key)) = first {
            item.insert(list.into(), AttributeValue::Ss(vec![key]));
        }
        let put_user = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("complete put");
        let mut items = vec![TransactWriteItem::builder().put(put_user).build()];
        if let Some(email) = &user.email {
            let claim = Put::builder()
                .table_name(&self.table)
                .item("pk", email_pk(email))
                .item("sk", s("EMAIL"))
                .item("userId", s(user.id.as_str()))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .expect("complete put");
            items.push(TransactWriteItem::builder().put(claim).build());
        }
        if user.signup_pending {
            let listed = Put::builder()
                .table_name(&self.table)
                .item("pk", s(SIGNUPS))
                .item("sk", signup_sk(user))
                .item("userId", s(user.id.as_str()))
                .build()
                .expect("complete put");
            items.push(TransactWriteItem::builder().put(listed).build());
        }
        if is_active_admin(user.is_active, &user.accesses) {
            let count = Update::builder()
                .table_name(&self.table)
                .key("pk", s(ADMINS))
                .key("sk", s(ADMINS))
                .update_expression("ADD admins :one")
                .expression_attribute_values(":one", n(1))
                .build()
                .expect("complete update");
            items.push(TransactWriteItem::builder().update(count).build());
        }
        items
    }

    pub(super) async fn get_user_item(&self, id: &UserId) -> StoreResult<Option<Item>> {
        self.get(user_pk(id), s(PROFILE)).await
    }

    /// Sets one attribute of an existing user (and `updatedAt`); false if there is no user.
    async fn set_user_attribute(
        &self,
        id: &UserId,
        attribute: &str,
        value: AttributeValue,
        now: UnixTime,
    ) -> StoreResult<bool> {
        applied(
            self.client
                .update_item()
                .table_name(&self.table)
                .key("pk", user_pk(id))
                .key("sk", s(PROFILE))
                .update_expression("SET #attr = :value, updatedAt = :now")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_names("#attr", attribute)
                .expression_attribute_values(":value", value)
                .expression_attribute_values(":now", n(now))
                .send()
                .await,
        )
    }

    /// Name-only update: one conditional UpdateItem.
    async fn rename(
        &self,
        id: &UserId,
        name: &DisplayName,
        now: UnixTime,
    ) -> StoreResult<Option<User>> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", user_pk(id))
            .key("sk", s(PROFILE))
            .update_expression("SET #name = :name, updatedAt = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":name", s(name.as_str()))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match out {
            Ok(o) => o.attributes.as_ref().map(from_item).transpose(),
            Err(e) if is_condition_failed(&e) => Ok(None),
            Err(e) => Err(map_sdk(e)),
        }
    }
}

#[async_trait]
impl UserStore for DynamoStore {
    /// The user item and, for accounts, an `EMAIL#` claim item, written in one transaction
    /// that fails if either exists.
    async fn insert_user(&self, user: &User) -> StoreResult<()> {
        let mut items = self.user_insert(user);
        items.extend(self.tally_writes(&Tally::user(None, Some(user))));
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(e) => Err(insert_failure(e)),
        }
    }

    /// The account and the invite's use in one transaction: the invite's condition (unused,
    /// unexpired) and the unique email hold together, so a double click or a race uses an
    /// invite once.
    async fn insert_user_with_invite(
        &self,
        user: &User,
        token: &str,
        now: UnixTime,
    ) -> StoreResult<Result<(), InviteRefusal>> {
        let Some(email) = &user.email else {
            return Ok(Err(InviteRefusal::Invalid));
        };
        let Some(invite) = self.invite(token).await? else {
            return Ok(Err(InviteRefusal::Invalid));
        };
        if let Err(refused) = invite.check(email, now) {
            return Ok(Err(refused));
        }
        let mut items = self.user_insert(user);
        let at = items.len();
        let consume = Update::builder()
            .table_name(&self.table)
            .key("pk", invite_pk(token))
            .key("sk", s(INVITE))
            .update_expression("SET usedAt = :now, usedBy = :by")
            .condition_expression("attribute_not_exists(usedAt) AND expiresAt > :now")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":by", s(user.id.as_str()))
            .build()
            .expect("complete update");
        items.push(TransactWriteItem::builder().update(consume).build());
        items.extend(self.tally_writes(&Tally::user(None, Some(user))));
        match self.transact(items).await {
            Ok(()) => Ok(Ok(())),
            Err(e) if failed_conditions(&e).is_some_and(|f| f.contains(&at)) => {
                // Used or expired meanwhile: say which.
                Ok(Err(match self.invite(token).await? {
                    Some(i) if i.used_at.is_some() => InviteRefusal::Used,
                    _ => InviteRefusal::Invalid,
                }))
            }
            Err(e) => Err(insert_failure(e)),
        }
    }

    async fn user_by_id(&self, id: &UserId) -> StoreResult<Option<User>> {
        self.get_user_item(id)
            .await?
            .as_ref()
            .map(from_item)
            .transpose()
    }

    /// Two consistent reads: the email claim, then the user it names.
    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        let claim = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", email_pk(email))
            .key("sk", s("EMAIL"))
            .consistent_read(true)
            .send()
            .await
            .map_err(map_sdk)?;
        let Some(claim) = claim.item else {
            return Ok(None);
        };
        let id = UserId::parse(&get_s(&claim, "userId")?)
            .map_err(|_| StoreError::Other("bad email claim".into()))?;
        self.user_by_id(&id).await
    }

    /// A new email moves the claim in one transaction: claim the new address (fails if
    /// taken), release the old one, update the user only if its email is still the one read.
    async fn update_profile(
        &self,
        id: &UserId,
        name: &DisplayName,
        email: Option<&Email>,
        now: UnixTime,
    ) -> StoreResult<Option<User>> {
        let Some(new_email) = email else {
            return self.rename(id, name, now).await;
        };
        let Some(item) = self.get_user_item(id).await? else {
            return Ok(None);
        };
        let mut user = from_item(&item)?;
        if user.email.as_ref() == Some(new_email) {
            return self.rename(id, name, now).await;
        }
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("pk", user_pk(id))
            .key("sk", s(PROFILE))
            .update_expression("SET #name = :name, email = :new, updatedAt = :now, #ev = :zero")
            .expression_attribute_names("#name", "name")
            .expression_attribute_names("#ev", VERIFIED_AT)
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":name", s(name.as_str()))
            .expression_attribute_values(":new", s(new_email.as_str()))
            .expression_attribute_values(":now", n(now));
        update = match &user.email {
            Some(old) => update
                .condition_expression("email = :old")
                .expression_attribute_values(":old", s(old.as_str())),
            None => {
                update.condition_expression("attribute_exists(pk) AND attribute_not_exists(email)")
            }
        };
        let claim = Put::builder()
            .table_name(&self.table)
            .item("pk", email_pk(new_email))
            .item("sk", s("EMAIL"))
            .item("userId", s(id.as_str()))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("complete put");
        let mut tx = self
            .client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .update(update.build().expect("complete update"))
                    .build(),
            )
            .transact_items(TransactWriteItem::builder().put(claim).build());
        if let Some(old) = &user.email {
            let release = Delete::builder()
                .table_name(&self.table)
                .key("pk", email_pk(old))
                .key("sk", s("EMAIL"))
                .build()
                .expect("complete delete");
            tx = tx.transact_items(TransactWriteItem::builder().delete(release).build());
        }
        match tx.send().await {
            Ok(_) => {
                user.name = name.clone();
                user.email = Some(new_email.clone());
                user.email_verified_at = None;
                user.updated_at = now;
                Ok(Some(user))
            }
            Err(e) => match failed_conditions(&e) {
                Some(failed) if failed.contains(&1) => {
                    Err(StoreError::Conflict("email already registered"))
                }
                Some(_) => Err(StoreError::Conflict("profile changed concurrently")),
                None => Err(map_sdk(e)),
            },
        }
    }

    async fn set_password_hash(&self, id: &UserId, hash: &str, now: UnixTime) -> StoreResult<bool> {
        self.set_user_attribute(id, "passwordHash", s(hash), now)
            .await
    }

    async fn preferences(&self, id: &UserId) -> StoreResult<Option<String>> {
        Ok(self
            .get_user_item(id)
            .await?
            .and_then(|i| opt_s(&i, "preferencesJson")))
    }

    async fn set_preferences(&self, id: &UserId, json: &str, now: UnixTime) -> StoreResult<()> {
        match self
            .set_user_attribute(id, "preferencesJson", s(json), now)
            .await?
        {
            true => Ok(()),
            false => Err(StoreError::Other("preferences for a missing user".into())),
        }
    }
}

impl DynamoStore {
    /// What goes with an account's profile item when it is removed (an admin's delete, the
    /// sweep of unconfirmed sign-ups): its email claim, its pending-sign-up listing, its
    /// one-time links, its provider links and passkeys, and its counts in the totals.
    /// `item` is its profile as read (the delete's condition holds it unchanged);
    /// `unlisted` are passkeys it does not list ([`DynamoStore::unlisted_passkeys`]).
    pub(super) fn account_leftovers(
        &self,
        before: &User,
        item: &Item,
        unlisted: &[String],
    ) -> Vec<TransactWriteItem> {
        let tallied = item.contains_key(TALLIED);
        let delete = |pk: AttributeValue, sk: AttributeValue| {
            Delete::builder()
                .table_name(&self.table)
                .key("pk", pk)
                .key("sk", sk)
        };
        let mut tx = Vec::new();
        if let Some(email) = &before.email {
            let claim = delete(email_pk(email), s("EMAIL"))
                .condition_expression("attribute_not_exists(pk) OR userId = :uid")
                .expression_attribute_values(":uid", s(before.id.as_str()));
            tx.push(claim);
        }
        if before.signup_pending {
            tx.push(delete(s(SIGNUPS), signup_sk(before)));
        }
        for purpose in [TokenPurpose::VerifyEmail, TokenPurpose::ResetPassword] {
            tx.push(delete(user_pk(&before.id), token_sk(purpose)));
        }
        let mut items: Vec<TransactWriteItem> = tx
            .into_iter()
            .map(|d| {
                TransactWriteItem::builder()
                    .delete(d.build().expect("complete delete"))
                    .build()
            })
            .collect();
        items.extend(self.listed_deletes(item, unlisted));
        if tallied {
            items.extend(self.tally_writes(&Tally::user(Some(before), None)));
        }
        items
    }
}

/// What only the admin console reads or does (`AdminStore`, `admin.rs`).
impl DynamoStore {
    pub(super) async fn change_user(
        &self,
        id: &UserId,
        change: &UserChange,
        now: UnixTime,
    ) -> StoreResult<UserChangeOutcome> {
        for _ in 0..8 {
            let Some(item) = self.get_user_item(id).await? else {
                return Ok(UserChangeOutcome::NotFound);
            };
            let before = from_item(&item)?;
            let after = change.apply(&before, now);
            let admins = UserChange::admin_count(&before, &after);
            // Compare-and-set on what was read; the admin count moves in the same write.
            let accesses_of =
                |u: &User| AttributeValue::L(u.accesses.iter().map(|a| s(a.as_str())).collect());
            let update = Update::builder()
                .table_name(&self.table)
                .key("pk", user_pk(id))
                .key("sk", s(PROFILE))
                .update_expression("SET isActive = :act, accesses = :acc, updatedAt = :now")
                .condition_expression("isActive = :was_act AND accesses = :was_acc")
                .expression_attribute_values(":act", AttributeValue::Bool(after.is_active))
                .expression_attribute_values(":acc", accesses_of(&after))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":was_act", AttributeValue::Bool(before.is_active))
                .expression_attribute_values(":was_acc", accesses_of(&before))
                .build()
                .expect("complete update");
            let mut tx = vec![TransactWriteItem::builder().update(update).build()];
            if admins != AdminCount::Keeps {
                let count = Update::builder()
                    .table_name(&self.table)
                    .key("pk", s(ADMINS))
                    .key("sk", s(ADMINS))
                    .expression_attribute_values(":one", n(1));
                let count = if admins == AdminCount::Gains {
                    count.update_expression("ADD admins :one")
                } else {
                    count
                        .update_expression("SET admins = admins - :one")
                        .condition_expression("admins > :one")
                };
                tx.push(
                    TransactWriteItem::builder()
                        .update(count.build().expect("complete update"))
                        .build(),
                );
            }
            match self
                .client
                .transact_write_items()
                .set_transact_items(Some(tx))
                .send()
                .await
            {
                Ok(_) => return Ok(UserChangeOutcome::Done(after)),
                Err(e) => match failed_conditions(&e) {
                    Some(f) if f.contains(&1) => return Ok(UserChangeOutcome::LastAdmin),
                    Some(_) => continue, // the user changed meanwhile: read again
                    None => return Err(map_sdk(e)),
                },
            }
        }
        Err(StoreError::Unavailable("user kept changing".into()))
    }

    /// One transaction: the profile goes (if unchanged since read), the email claim with
    /// it, the admin count down (never below one), the totals by what it counted for.
    pub(super) async fn delete_user(&self, id: &UserId) -> StoreResult<UserChangeOutcome> {
        for _ in 0..8 {
            let Some(item) = self.get_user_item(id).await? else {
                return Ok(UserChangeOutcome::NotFound);
            };
            let before = from_item(&item)?;
            let tallied = if item.contains_key(TALLIED) {
                "attribute_exists(#t)"
            } else {
                "attribute_not_exists(#t)"
            };
            let accesses =
                AttributeValue::L(before.accesses.iter().map(|a| s(a.as_str())).collect());
            let listed = ListedUnchanged(&item);
            let profile = Delete::builder()
                .table_name(&self.table)
                .key("pk", user_pk(id))
                .key("sk", s(PROFILE))
                .condition_expression(format!(
                    "isActive = :was_act AND accesses = :was_acc AND {tallied} AND {}",
                    listed.condition()
                ))
                .expression_attribute_names("#t", TALLIED)
                .expression_attribute_values(":was_act", AttributeValue::Bool(before.is_active))
                .expression_attribute_values(":was_acc", accesses);
            let profile = listed.bind(profile).build().expect("complete delete");
            let mut tx = vec![TransactWriteItem::builder().delete(profile).build()];
            let admin = is_active_admin(before.is_active, &before.accesses);
            if admin {
                let count = Update::builder()
                    .table_name(&self.table)
                    .key("pk", s(ADMINS))
                    .key("sk", s(ADMINS))
                    .update_expression("SET admins = admins - :one")
                    .condition_expression("admins > :one")
                    .expression_attribute_values(":one", n(1))
                    .build()
                    .expect("complete update");
                tx.push(TransactWriteItem::builder().update(count).build());
            }
            let unlisted = self.unlisted_passkeys(id, &item).await?;
            tx.extend(self.account_leftovers(&before, &item, &unlisted));
            match self.transact(tx).await {
                Ok(()) => return Ok(UserChangeOutcome::Done(before)),
                Err(e) => match failed_conditions(&e) {
                    Some(f) if admin && f.contains(&1) => {
                        return Ok(UserChangeOutcome::LastAdmin);
                    }
                    Some(_) => continue,
                    None => return Err(map_sdk(e)),
                },
            }
        }
        Err(StoreError::Unavailable("user kept changing".into()))
    }

    pub(super) async fn list_users(
        &self,
        filter: &UserFilter,
        limit: u32,
        after: Option<&str>,
    ) -> StoreResult<Page<User>> {
        let start = after.map(decode_cursor).transpose()?;
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi3")
            .key_condition_expression("gsi3pk = :users")
            .expression_attribute_values(":users", s(USERS))
            .scan_index_forward(false)
            .limit(limit as i32)
            .set_exclusive_start_key(start);
        let mut conditions = Vec::new();
        if let Some(text) = filter.text.as_deref().filter(|t| !t.is_empty()) {
            conditions.push("(contains(#name, :q) OR contains(email, :q))");
            q = q
                .expression_attribute_names("#name", "name")
                .expression_attribute_values(":q", s(text));
        }
        if let Some(a) = filter.access {
            conditions.push("contains(accesses, :access)");
            q = q.expression_attribute_values(":access", s(a.as_str()));
        }
        if let Some(active) = filter.active {
            conditions.push("isActive = :active");
            q = q.expression_attribute_values(":active", AttributeValue::Bool(active));
        }
        if !conditions.is_empty() {
            q = q.filter_expression(conditions.join(" AND "));
        }
        let out = q.send().await.map_err(map_sdk)?;
        let items = out
            .items()
            .iter()
            .map(from_item)
            .collect::<StoreResult<_>>()?;
        let next = out.last_evaluated_key.as_ref().map(encode_cursor);
        Ok(Page { items, next })
    }

    /// The plain query (newest first, no filter) reads its page from the `USERS` index and
    /// its total from the tallies; any other reads the index partition and filters here.
    pub(super) async fn user_table(&self, q: &UserQuery) -> StoreResult<Counted<User>> {
        self.admin_table(USERS, q, &[Metric::Users, Metric::Guests], from_item)
            .await
    }
}

#[async_trait]
impl LinkStore for DynamoStore {
    async fn user_by_link(&self, link: &ProviderAccount) -> StoreResult<Option<User>> {
        self.linked_profile(link)
            .await?
            .as_ref()
            .map(from_item)
            .transpose()
    }

    async fn link_account(
        &self,
        link: &ProviderAccount,
        user: &UserId,
        now: UnixTime,
    ) -> StoreResult<bool> {
        self.add_link(link, user, now).await
    }

    /// The account (its profile listing the link), its claims and the link item, in one
    /// transaction.
    async fn insert_linked_user(&self, user: &User, link: &ProviderAccount) -> StoreResult<()> {
        let mut items = self.user_insert_listing(user, Some((LINKS, link.key())));
        let at = items.len();
        let put = self.link_put(link, &user.id, user.created_at);
        items.push(TransactWriteItem::builder().put(put).build());
        items.extend(self.tally_writes(&Tally::user(None, Some(user))));
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(e) if failed_conditions(&e).is_some_and(|f| f.contains(&at)) => {
                Err(StoreError::Conflict(LINKED))
            }
            Err(e) => Err(insert_failure(e)),
        }
    }
}
