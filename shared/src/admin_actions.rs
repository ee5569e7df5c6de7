//! What admins do to accounts and rooms for good or many at once: deleting an account (it is
//! deactivated first, so the last-admin guard holds and nobody signs in meanwhile; then its
//! rooms are archived, its sessions ended, and the account and its email freed), bans and
//! promotions of up to [`BULK_MAX`] accounts, and suspending, reactivating and closing rooms.
//! Each step is one guarded store write, so a retried request changes nothing twice.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::admin::{change_account, last_admin};
use crate::domain::policy::Caller;
use crate::domain::{Access, Room, RoomId, RoomPatch, User, UserId, now};
use crate::error::{Error, Result};
use crate::livekit::{LiveKit, found};
use crate::store::{RoomWrite, Stores, UserChange, UserChangeOutcome};

/// The most ids one bulk request may name.
pub const BULK_MAX: usize = 500;
/// Owned rooms archived per page while deleting an account.
const ROOM_PAGE: u32 = 100;

/// A bulk change of accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserBulk {
    Ban,
    /// To platform admin (superadmins only).
    Promote,
}

/// A bulk change of rooms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomBulk {
    Suspend,
    /// Ended for everyone and archived.
    Close,
}

/// What became of one id of a bulk request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemOutcome {
    pub success: bool,
    pub name: Option<String>,
    pub error: Option<String>,
}

/// How many ids of a bulk request were acted on, and how many were skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    pub done: usize,
    pub skipped: usize,
}

pub struct Actions {
    stores: Stores,
    livekit: Option<Arc<dyn LiveKit>>,
}

/// A bulk request's ids: 1 to `BULK_MAX`, each once.
pub fn bulk_ids(ids: &[String]) -> Result<Vec<String>> {
    if ids.is_empty() {
        return Err(Error::bad_request("ids must name at least one id"));
    }
    if ids.len() > BULK_MAX {
        return Err(Error::bad_request(format!(
            "ids may name at most {BULK_MAX} ids"
        )));
    }
    let mut seen = std::collections::BTreeSet::new();
    Ok(ids
        .iter()
        .filter(|i| seen.insert(i.as_str()))
        .cloned()
        .collect())
}

impl Actions {
    pub fn new(stores: &Stores, livekit: Option<Arc<dyn LiveKit>>) -> Self {
        Self {
            stores: stores.clone(),
            livekit,
        }
    }

    /// Deletes an account: deactivated (the last-admin guard, and no new sign-in), its
    /// active rooms closed, every session ended, then the account and its email claim
    /// removed. Returns how many rooms were closed.
    pub async fn delete_user(&self, caller: &Caller, id: &UserId) -> Result<usize> {
        change_account(&self.stores, caller, id, UserChange::Active(false)).await?;
        self.stores
            .sessions
            .revoke_user_sessions(id, None, now())
            .await?;
        let mut closed = 0;
        loop {
            let page = self.stores.rooms.owned_rooms(id, ROOM_PAGE, None).await?;
            if page.items.is_empty() {
                break;
            }
            for room in &page.items {
                self.close(room).await?;
                closed += 1;
            }
        }
        match self.stores.admin()?.delete_user(id).await? {
            UserChangeOutcome::Done(_) | UserChangeOutcome::NotFound => Ok(closed),
            UserChangeOutcome::LastAdmin => Err(last_admin()),
        }
    }

    /// Deletes each account it can; the others are skipped (yourself, unknown ids, the last
    /// admin).
    pub async fn delete_users(&self, caller: &Caller, ids: &[String]) -> Result<Tally> {
        let mut t = Tally::default();
        for raw in bulk_ids(ids)? {
            let deleted = match UserId::parse(&raw) {
                Ok(id) => self.delete_user(caller, &id).await,
                Err(_) => Err(Error::not_found("User not found")),
            };
            match deleted {
                Ok(_) => t.done += 1,
                Err(e) if e.is_refusal() => t.skipped += 1,
                Err(e) => return Err(e),
            }
        }
        Ok(t)
    }

    /// Bans (deactivates, sessions ended) or promotes each account, reporting per id.
    pub async fn bulk_users(
        &self,
        caller: &Caller,
        ids: &[String],
        action: UserBulk,
    ) -> Result<BTreeMap<String, ItemOutcome>> {
        if action == UserBulk::Promote && !caller.accesses.contains(&Access::Superadmin) {
            return Err(Error::forbidden("Only a superadmin may promote"));
        }
        let mut out = BTreeMap::new();
        for raw in bulk_ids(ids)? {
            let result = match UserId::parse(&raw) {
                Err(_) => Err(Error::not_found("User not found")),
                Ok(id) => self.one(caller, &id, action).await,
            };
            let outcome = match result {
                Ok(u) => ItemOutcome {
                    success: true,
                    name: Some(u.name.to_string()),
                    error: None,
                },
                Err(e) if e.is_refusal() => ItemOutcome {
                    success: false,
                    name: None,
                    error: Some(e.to_string()),
                },
                Err(e) => return Err(e),
            };
            out.insert(raw, outcome);
        }
        if out.values().all(|o| !o.success) {
            return Err(Error::bad_request(
                "None of these accounts could be changed",
            ));
        }
        Ok(out)
    }

    async fn one(&self, caller: &Caller, id: &UserId, action: UserBulk) -> Result<User> {
        let change = match action {
            UserBulk::Ban => UserChange::Active(false),
            UserBulk::Promote => UserChange::Accesses(vec![Access::User, Access::Admin]),
        };
        let user = change_account(&self.stores, caller, id, change).await?;
        // Either way the account's tokens must not outlive the change.
        self.stores
            .sessions
            .revoke_user_sessions(id, None, now())
            .await?;
        Ok(user)
    }

    /// Suspends an active room: nobody may enter it (joins answer 403), and its meeting
    /// ends. The suspension stands even when LiveKit cannot be reached now: anyone still
    /// connected is removed by the next webhook or reconciler pass.
    pub async fn suspend(&self, id: &RoomId) -> Result<Room> {
        let room = self.active(id).await?;
        if room.suspended {
            return Err(Error::bad_request("Room is not active"));
        }
        let room = self.patch(id, true).await?;
        if let Some(lk) = &self.livekit
            && let Err(e) = found(lk.delete_room(&room.livekit_name()).await)
        {
            tracing::warn!(room = %room.id, error = %e, "suspended; LiveKit's meeting not ended yet");
        }
        Ok(room)
    }

    /// Lets people into a suspended room again.
    pub async fn reactivate(&self, id: &RoomId) -> Result<Room> {
        let room = self.active(id).await?;
        if !room.suspended {
            return Err(Error::bad_request("Room is not suspended"));
        }
        self.patch(id, false).await
    }

    /// Suspends or closes each room it can; unknown, archived or (for suspend) already
    /// suspended rooms are skipped.
    pub async fn bulk_rooms(&self, ids: &[String], action: RoomBulk) -> Result<Tally> {
        let mut t = Tally::default();
        for raw in bulk_ids(ids)? {
            let result = match RoomId::parse(&raw) {
                Err(_) => Err(Error::not_found("Room not found")),
                Ok(id) => match action {
                    RoomBulk::Suspend => self.suspend(&id).await.map(|_| ()),
                    RoomBulk::Close => match self.active(&id).await {
                        Ok(room) => self.close(&room).await,
                        Err(e) => Err(e),
                    },
                },
            };
            match result {
                Ok(()) => t.done += 1,
                Err(e) if e.is_refusal() => t.skipped += 1,
                Err(e) => return Err(e),
            }
        }
        Ok(t)
    }

    /// Ends the room's meeting (LiveKit's room deleted) and archives it.
    async fn close(&self, room: &Room) -> Result<()> {
        if let Some(lk) = &self.livekit {
            found(lk.delete_room(&room.livekit_name()).await)?;
        }
        match self.stores.rooms.archive_room(&room.id, now()).await? {
            RoomWrite::Done(_) | RoomWrite::Archived => Ok(()),
            RoomWrite::NotFound => Err(Error::not_found("Room not found")),
        }
    }

    async fn active(&self, id: &RoomId) -> Result<Room> {
        let room = self
            .stores
            .rooms
            .room(id)
            .await?
            .ok_or_else(|| Error::not_found("Room not found"))?;
        if !room.is_active {
            return Err(Error::bad_request("Room is not active"));
        }
        Ok(room)
    }

    async fn patch(&self, id: &RoomId, suspended: bool) -> Result<Room> {
        let patch = RoomPatch {
            suspended: Some(suspended),
            ..Default::default()
        };
        match self.stores.rooms.update_room(id, &patch, now()).await? {
            RoomWrite::Done(room) => Ok(room),
            RoomWrite::Archived => Err(Error::bad_request("Room is not active")),
            RoomWrite::NotFound => Err(Error::not_found("Room not found")),
        }
    }
}
