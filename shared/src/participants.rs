//! Participants as the people in a meeting see each other: a participant's public profile
//! (the name they joined under, their avatar) for anyone in the room, and LiveKit's view of
//! one connection for the room's moderators. Nothing here changes anything.

use std::sync::Arc;

use crate::domain::policy::{self, Caller, Refusal};
use crate::domain::{RoomId, UserId};
use crate::error::{Error, Result};
use crate::livekit::{LiveKit, LiveParticipant, found};
use crate::moderation::moderated_room;
use crate::store::{RoomStore, UserStore};

/// What a participant shows the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub id: UserId,
    pub name: String,
    pub avatar_url: Option<String>,
}

pub struct Participants {
    rooms: Arc<dyn RoomStore>,
    users: Arc<dyn UserStore>,
    livekit: Option<Arc<dyn LiveKit>>,
}

impl Participants {
    pub fn new(
        rooms: Arc<dyn RoomStore>,
        users: Arc<dyn UserStore>,
        livekit: Option<Arc<dyn LiveKit>>,
    ) -> Self {
        Self {
            rooms,
            users,
            livekit,
        }
    }

    /// `identity`'s profile, for someone who holds a seat in this active room (or moderates
    /// it). Only members of the room (and its owner) have a profile here: a room is not a
    /// way to look up arbitrary accounts.
    pub async fn profile(&self, caller: &Caller, room: &RoomId, identity: &str) -> Result<Profile> {
        let room = self.rooms.room(room).await?.ok_or(Refusal::NotFound)?;
        if !room.is_active {
            return Err(Refusal::Archived.into());
        }
        let mine = self.rooms.member(&room, &caller.id).await?;
        let seated = mine.as_ref().is_some_and(|m| m.is_active && !m.banned);
        if !seated && !policy::role(&room, mine.as_ref(), Some(caller)).may_moderate() {
            return Err(Error::forbidden("You are not in this room"));
        }
        let target = UserId::parse(identity).map_err(|_| participant_not_found())?;
        let member = self.rooms.member(&room, &target).await?;
        if member.is_none() && !room.is_owner(&target) {
            return Err(participant_not_found());
        }
        let user = self
            .users
            .user_by_id(&target)
            .await?
            .ok_or_else(participant_not_found)?;
        Ok(Profile {
            name: member.map_or_else(|| user.name.to_string(), |m| m.name.to_string()),
            avatar_url: user.avatar_url,
            id: user.id,
        })
    }

    /// LiveKit's view of one connection, for the room's moderators.
    pub async fn info(
        &self,
        caller: &Caller,
        room: &RoomId,
        identity: &str,
    ) -> Result<LiveParticipant> {
        let room = moderated_room(&*self.rooms, caller, room, true).await?;
        let lk = self.livekit.as_ref().ok_or_else(|| {
            Error::UpstreamDown("LiveKit is not configured (livekit.apiKey/apiSecret)".into())
        })?;
        found(lk.participant(&room.livekit_name(), identity).await)?
            .ok_or_else(participant_not_found)
    }
}

fn participant_not_found() -> Error {
    Error::not_found("Participant not found")
}
