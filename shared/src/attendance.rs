//! Who may stay in a room's meeting, from what LiveKit reports (webhooks and the reconciler).
//! A LiveKit token admits whoever holds it until it expires, so a connection becomes a seat
//! only if the room would let that person in now: not banned, admitted to a private room
//! (owner, admin, a member let in by the room's policy or a promotion), and a seat free if
//! they hold none. Anyone else is removed from the meeting again, and never becomes a member.

use std::sync::Arc;

use crate::domain::{Member, Room, UnixTime, UserId};
use crate::error::Result;
use crate::livekit::{LiveKit, LiveKitError};
use crate::store::{RoomStore, Seen, SeenOutcome, UserStore};

/// What became of one reported connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attended {
    /// Seated (or already seated, or a report older than what the store knows).
    Seated,
    /// Not allowed to stay: removed from the meeting (when LiveKit is configured).
    Removed,
}

pub struct Attendance {
    rooms: Arc<dyn RoomStore>,
    users: Arc<dyn UserStore>,
    livekit: Option<Arc<dyn LiveKit>>,
}

impl Attendance {
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

    /// `user` is connected to `room`'s meeting with LiveKit session `session` (as of `at`);
    /// `member` is their record in this room as read.
    pub async fn connected(
        &self,
        room: &Room,
        member: Option<&Member>,
        user: &UserId,
        session: &str,
        at: UnixTime,
    ) -> Result<Attended> {
        if self.may_stay(room, member, user).await? {
            let seen = Seen::Joined { session };
            if self.rooms.seen(room, user, seen, at).await? != SeenOutcome::Full {
                return Ok(Attended::Seated);
            }
            tracing::info!(room = %room.id, %user, "connected to a full room: removed");
        } else {
            tracing::warn!(room = %room.id, %user, "connected without admission: removed");
        }
        if let Some(lk) = &self.livekit {
            match lk
                .remove_participant(&room.livekit_name(), user.as_str())
                .await
            {
                Ok(()) | Err(LiveKitError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Attended::Removed)
    }

    /// The room's policy for someone already inside (capacity is the store's, in `seen`).
    async fn may_stay(&self, room: &Room, member: Option<&Member>, user: &UserId) -> Result<bool> {
        if room.suspended {
            return Ok(false);
        }
        if room.is_owner(user) {
            return Ok(true);
        }
        if member.is_some_and(|m| m.banned) {
            return Ok(false);
        }
        if room.is_public || member.is_some_and(|m| m.admitted) {
            return Ok(true);
        }
        // Rare: a private room and no admitted record. Platform admins enter every room.
        Ok(self
            .users
            .user_by_id(user)
            .await?
            .is_some_and(|u| u.is_active && u.is_admin()))
    }
}
