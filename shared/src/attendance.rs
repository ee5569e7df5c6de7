//! Who may stay in a room's meeting, from what LiveKit reports (webhooks and the reconciler).
//! A LiveKit token admits whoever holds it until it expires, so a connection becomes a seat
//! only if the room would let that person in now: not banned, admitted to a private room
//! (owner, admin, a member let in by the room's policy or a promotion), and a seat free if
//! they hold none. Anyone else is removed from the meeting again, and never becomes a member.

use std::sync::Arc;

use crate::domain::{Attendance as Visit, Member, Room, UnixTime, UserId};
use crate::error::Result;
use crate::livekit::{Connection, LiveKit, LiveKitError};
use crate::store::{ActivityStore, RoomStore, Seen, SeenOutcome, Stores, UserStore};

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
    activity: Arc<dyn ActivityStore>,
    livekit: Option<Arc<dyn LiveKit>>,
}

impl Attendance {
    pub fn new(stores: &Stores, livekit: Option<Arc<dyn LiveKit>>) -> Self {
        Self {
            rooms: stores.rooms.clone(),
            users: stores.users.clone(),
            activity: stores.activity.clone(),
            livekit,
        }
    }

    /// `user` is connected to `room`'s meeting through `conn` (as of `at`); `member` is
    /// their record in this room as read. A seated connection is recorded for the admin
    /// console (once, however often it is reported).
    pub async fn connected(
        &self,
        room: &Room,
        member: Option<&Member>,
        user: &UserId,
        conn: &Connection,
        at: UnixTime,
    ) -> Result<Attended> {
        let session = conn.session.as_str();
        if self.may_stay(room, member, user).await? {
            let seen = Seen::Joined { session };
            if self.rooms.seen(room, user, seen, at).await? != SeenOutcome::Full {
                let joined = if conn.joined_at > 0 {
                    conn.joined_at
                } else {
                    at
                };
                self.record(room, member, user, conn, joined, None).await?;
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

    /// The seated connection `conn` ended at `at`: its record gets its end (or is written
    /// whole when its start was never reported).
    pub async fn ended(
        &self,
        room: &Room,
        member: &Member,
        conn: &Connection,
        at: UnixTime,
    ) -> Result<()> {
        let joined = if conn.joined_at > 0 {
            conn.joined_at
        } else {
            member.joined_at
        };
        self.record(room, Some(member), &member.user_id, conn, joined, Some(at))
            .await
    }

    async fn record(
        &self,
        room: &Room,
        member: Option<&Member>,
        user: &UserId,
        conn: &Connection,
        joined_at: UnixTime,
        left_at: Option<UnixTime>,
    ) -> Result<()> {
        // The name they joined under; LiveKit's when we hold no record.
        let user_name = member
            .map(|m| m.name.to_string())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| conn.name.clone());
        self.activity
            .attend(&Visit {
                session: conn.session.clone(),
                user_id: user.clone(),
                user_name,
                room_id: room.id.clone(),
                room_name: room.name.clone(),
                joined_at,
                left_at,
            })
            .await?;
        Ok(())
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
