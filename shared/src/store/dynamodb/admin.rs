//! The admin console's port on this store: each method is written beside the items or
//! tables it reads (`users.rs`, `rooms.rs`, `activity.rs`); this is the one trait impl.

use async_trait::async_trait;

use super::DynamoStore;
use crate::domain::{
    Attendance, EventQuery, InviteToken, Room, RoomEvent, RoomQuery, Scope, Tallies, UnixTime,
    User, UserId, UserQuery,
};
use crate::store::{
    AdminStore, Counted, Page, RoomFilter, StoreResult, UserChange, UserChangeOutcome, UserFilter,
};

#[async_trait]
impl AdminStore for DynamoStore {
    async fn user_table(&self, q: &UserQuery) -> StoreResult<Counted<User>> {
        DynamoStore::user_table(self, q).await
    }

    async fn list_users(
        &self,
        filter: &UserFilter,
        limit: u32,
        after: Option<&str>,
    ) -> StoreResult<Page<User>> {
        DynamoStore::list_users(self, filter, limit, after).await
    }

    async fn change_user(
        &self,
        id: &UserId,
        change: &UserChange,
        now: UnixTime,
    ) -> StoreResult<UserChangeOutcome> {
        DynamoStore::change_user(self, id, change, now).await
    }

    async fn insert_invite(&self, invite: &InviteToken) -> StoreResult<()> {
        DynamoStore::insert_invite(self, invite).await
    }

    async fn invites(&self) -> StoreResult<Vec<InviteToken>> {
        DynamoStore::invites(self).await
    }

    async fn delete_invite(&self, id: &str) -> StoreResult<()> {
        DynamoStore::delete_invite(self, id).await
    }

    async fn delete_user(&self, id: &UserId) -> StoreResult<UserChangeOutcome> {
        DynamoStore::delete_user(self, id).await
    }

    async fn room_table(&self, q: &RoomQuery) -> StoreResult<Counted<Room>> {
        DynamoStore::room_table(self, q).await
    }

    async fn all_rooms(
        &self,
        filter: &RoomFilter,
        limit: u32,
        after: Option<&str>,
    ) -> StoreResult<Page<Room>> {
        DynamoStore::all_rooms(self, filter, limit, after).await
    }

    async fn stale_rooms(&self, before: UnixTime) -> StoreResult<u64> {
        DynamoStore::stale_rooms(self, before).await
    }

    async fn tallies(&self, scopes: &[Scope]) -> StoreResult<Tallies> {
        DynamoStore::tallies(self, scopes).await
    }

    async fn attendance(
        &self,
        user: &UserId,
        offset: u32,
        limit: u32,
    ) -> StoreResult<Counted<Attendance>> {
        DynamoStore::attendance(self, user, offset, limit).await
    }

    async fn room_events(&self, q: &EventQuery) -> StoreResult<Counted<RoomEvent>> {
        DynamoStore::room_events(self, q).await
    }
}
