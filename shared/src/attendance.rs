//! Who may stay in a room's meeting, from what LiveKit reports (webhooks and the reconciler).
//! A LiveKit token admits whoever holds it until it expires, so a connection becomes a seat
//! only if the room would let that person in now: not banned, admitted to a private room
//! (owner, admin, a member let in by the room's policy or a promotion), and a seat free if
//! they hold none. Anyone else is removed from the meeting again, and never becomes a member.

use std::sync::Arc;

use crate::domain::{Attendance as Visit, Member, Room, UnixTime, UserId};
use crate::error::Result;
use crate::livekit::{Connection, LiveKit, LiveKitError};
use crate::store::{
    ActivityStore, Claim, RoomStore, Seen, SeenOutcome, Stores, UserStore, WebhookLog,
};

/// What became of one reported connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attended {
    /// Seated (or already seated, or a report older than what the store knows).
    Seated,
    /// Not allowed to stay: removed from the meeting (when LiveKit is configured).
    Removed,
    /// A webhook event applied before (its id was claimed): nothing done.
    Duplicate,
}

pub struct Attendance {
    rooms: Arc<dyn RoomStore>,
    users: Arc<dyn UserStore>,
    activity: Arc<dyn ActivityStore>,
    log: Arc<dyn WebhookLog>,
    livekit: Option<Arc<dyn LiveKit>>,
}

impl Attendance {
    pub fn new(stores: &Stores, livekit: Option<Arc<dyn LiveKit>>) -> Self {
        Self {
            rooms: stores.rooms.clone(),
            users: stores.users.clone(),
            activity: stores.activity.clone(),
            log: stores.webhooks.clone(),
            livekit,
        }
    }

    /// `user` is connected to `room`'s meeting through `conn` (as of `at`); `member` is
    /// their record in this room as read. A seated connection is recorded for the admin
    /// console (once, however often it is reported), in the same store write as the seat.
    /// With a webhook's `claim`, all of it happens once per event id.
    pub async fn connected(
        &self,
        claim: Option<Claim<'_>>,
        room: &Room,
        member: Option<&Member>,
        user: &UserId,
        conn: &Connection,
        at: UnixTime,
    ) -> Result<Attended> {
        if self.may_stay(room, member, user).await? {
            let visit = visit(room, member, user, conn, at, None);
            let seen = Seen::Joined {
                session: &conn.session,
            };
            match self
                .rooms
                .seen_and_record(claim, room, user, seen, at, Some(&visit))
                .await?
            {
                None => return Ok(Attended::Duplicate),
                Some(SeenOutcome::Full) => {
                    tracing::info!(room = %room.id, %user, "connected to a full room: removed");
                }
                Some(_) => return Ok(Attended::Seated),
            }
        } else {
            tracing::warn!(room = %room.id, %user, "connected without admission: removed");
            if !self.log.claim(claim).await? {
                return Ok(Attended::Duplicate);
            }
        }
        // The claim is spent on a refusal; if the removal fails it is given back, so
        // LiveKit's retry removes them.
        if let Err(e) = self.remove(room, user).await {
            self.log.give_back(claim).await;
            return Err(e);
        }
        Ok(Attended::Removed)
    }

    /// `conn` ended (a webhook's `participant_left`): its seat frees unless the member came
    /// back since (`RoomStore::seen`), and when it was the member's current session its
    /// record ends, in one store write; once per event id with `claim`. `false`: a
    /// duplicate.
    pub async fn left(
        &self,
        claim: Option<Claim<'_>>,
        room: &Room,
        member: Option<&Member>,
        user: &UserId,
        conn: &Connection,
        at: UnixTime,
    ) -> Result<bool> {
        let visit = member
            .filter(|m| m.session.as_deref() == Some(conn.session.as_str()))
            .map(|m| ended_record(room, m, conn, at));
        let seen = Seen::Left {
            session: &conn.session,
        };
        Ok(self
            .rooms
            .seen_and_record(claim, room, user, seen, at, visit.as_ref())
            .await?
            .is_some())
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
        self.activity
            .attend(&ended_record(room, member, conn, at))
            .await?;
        Ok(())
    }

    async fn remove(&self, room: &Room, user: &UserId) -> Result<()> {
        if let Some(lk) = &self.livekit {
            match lk
                .remove_participant(&room.livekit_name(), user.as_str())
                .await
            {
                Ok(()) | Err(LiveKitError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
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

/// The admin console's record of one connection, under the name they joined with (LiveKit's
/// when we hold no record), from when LiveKit says it began (`since` when it does not say).
fn visit(
    room: &Room,
    member: Option<&Member>,
    user: &UserId,
    conn: &Connection,
    since: UnixTime,
    left_at: Option<UnixTime>,
) -> Visit {
    let joined_at = if conn.joined_at > 0 {
        conn.joined_at
    } else {
        since
    };
    let user_name = member
        .map(|m| m.name.to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| conn.name.clone());
    Visit {
        session: conn.session.clone(),
        user_id: user.clone(),
        user_name,
        room_id: room.id.clone(),
        room_name: room.name.clone(),
        joined_at,
        left_at,
    }
}

/// The record of `member`'s connection `conn`, ended at `at`.
fn ended_record(room: &Room, member: &Member, conn: &Connection, at: UnixTime) -> Visit {
    visit(
        room,
        Some(member),
        &member.user_id,
        conn,
        member.joined_at,
        Some(at),
    )
}
