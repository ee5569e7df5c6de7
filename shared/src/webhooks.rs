//! LiveKit webhooks applied: each verified event id once, each effect a guarded transition
//! in the store (`RoomStore::seen`, `room_session`), so duplicates and reordering are
//! harmless. A participant the room would not let in now (banned, not admitted to a private
//! room, no seat left: an old token still admits them to LiveKit) is removed again
//! ([`Attendance`]). LiveKit room names name one incarnation of a room (`<name>.<id>`), so
//! reports about an earlier room of the same name change nothing.

use std::sync::Arc;

use crate::attendance::{Attendance, Attended};
use crate::config::Config;
use crate::domain::{LiveRoomName, Member, Room, UnixTime, UserId, now};
use crate::error::{Error, Result};
use crate::livekit::{Connection, LiveEventKind, WebhookRefusal, WebhookVerifier};
use crate::recordings::Recordings;
use crate::store::{Claim, RoomStore, Stores, WebhookLog, WebhookStats};

/// How long an event id is remembered. LiveKit retries within about 15 seconds; a day
/// covers clock skew and slow queues with room to spare.
const EVENT_MEMORY_SECS: UnixTime = 24 * 3600;

/// What became of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Applied,
    /// Seen before (same event id): acknowledged, not re-applied.
    Duplicate,
}

pub struct Webhooks {
    verifier: Option<WebhookVerifier>,
    rooms: Arc<dyn RoomStore>,
    log: Arc<dyn WebhookLog>,
    attendance: Attendance,
    recordings: Arc<Recordings>,
}

impl Webhooks {
    pub fn new(
        stores: &Stores,
        attendance: Attendance,
        recordings: Arc<Recordings>,
        config: &Config,
    ) -> Self {
        let lk = &config.livekit;
        let verifier = lk
            .keys()
            .map(|(key, secret)| WebhookVerifier::new(key, secret));
        Self {
            verifier,
            rooms: stores.rooms.clone(),
            log: stores.webhooks.clone(),
            attendance,
            recordings,
        }
    }

    /// Verifies, then applies once. A failure while applying gives the event id back and
    /// answers 5xx, so LiveKit's retry gets another chance. A participant's join or leave
    /// is claimed in the same store write as its effect (one commit to wait for, not three).
    pub async fn receive(&self, authorization: Option<&str>, body: &[u8]) -> Result<Delivery> {
        let verifier = self.verifier.as_ref().ok_or_else(|| {
            Error::UpstreamDown(
                "LiveKit keys are not configured (livekit.apiKey/apiSecret): webhooks cannot be verified"
                    .into(),
            )
        })?;
        let event = verifier.verify(authorization, body).map_err(|r| {
            crate::metrics::webhook("unknown", "refused");
            match r {
                WebhookRefusal::Unauthenticated(why) => {
                    tracing::warn!(%why, "webhook refused");
                    Error::unauthorized("invalid webhook signature")
                }
                WebhookRefusal::Malformed(why) => Error::bad_request(why),
            }
        })?;
        let t = now();
        let claim = (!event.id.is_empty()).then_some(Claim {
            id: &event.id,
            now: t,
            expires_at: t + EVENT_MEMORY_SECS,
        });
        let at = if event.created_at > 0 {
            event.created_at
        } else {
            t
        };
        let delivered = match &event.kind {
            LiveEventKind::ParticipantJoined { room, who } => {
                self.participant(claim, room, who, at, true).await
            }
            LiveEventKind::ParticipantLeft { room, who } => {
                self.participant(claim, room, who, at, false).await
            }
            kind => self.once(claim, self.apply(kind, at)).await,
        };
        let outcome = match &delivered {
            Ok(Delivery::Applied) => "applied",
            Ok(Delivery::Duplicate) => "duplicate",
            Err(_) => "failed",
        };
        crate::metrics::webhook(event.kind.name(), outcome);
        delivered
    }

    /// Claims, then runs `effect`; a failed effect gives the claim back.
    async fn once(
        &self,
        claim: Option<Claim<'_>>,
        effect: impl Future<Output = Result<()>>,
    ) -> Result<Delivery> {
        if !self.log.claim(claim).await? {
            return Ok(Delivery::Duplicate);
        }
        if let Err(e) = effect.await {
            self.log.give_back(claim).await;
            return Err(e);
        }
        Ok(Delivery::Applied)
    }

    pub async fn stats(&self) -> Result<WebhookStats> {
        Ok(self.log.webhook_stats().await?)
    }

    /// The effect of every event but a participant's join or leave.
    async fn apply(&self, kind: &LiveEventKind, at: UnixTime) -> Result<()> {
        match kind {
            LiveEventKind::RoomStarted { room, sid } => {
                if let Some(r) = self.room(room).await? {
                    self.rooms.room_session(&r, sid, true, at).await?;
                }
            }
            LiveEventKind::RoomFinished { room, sid } => {
                if let Some(r) = self.room(room).await? {
                    let freed = self.rooms.room_session(&r, sid, false, at).await?;
                    tracing::info!(room = %r.id, freed, "meeting finished");
                    // Everyone left, but a recording still being written keeps the room live;
                    // the reconciler settles it once LiveKit no longer has the room.
                    if self.recordings.is_recording(&r.id).await? {
                        self.rooms.room_session(&r, sid, true, at).await?;
                    }
                }
            }
            LiveEventKind::Egress { info, .. } => self.recordings.on_egress(info).await?,
            LiveEventKind::ParticipantJoined { .. }
            | LiveEventKind::ParticipantLeft { .. }
            | LiveEventKind::Other(_) => {}
        }
        Ok(())
    }

    /// A participant's connection began (`joined`: seated, or removed when the room would
    /// not let them in now) or ended (the seat freed, the record ended).
    async fn participant(
        &self,
        claim: Option<Claim<'_>>,
        room: &str,
        who: &Connection,
        at: UnixTime,
        joined: bool,
    ) -> Result<Delivery> {
        let Some((r, member, user)) = self.ours(room, who).await? else {
            return self.once(claim, async { Ok(()) }).await;
        };
        let (a, member) = (&self.attendance, member.as_ref());
        let applied = if joined {
            a.connected(claim, &r, member, &user, who, at).await? != Attended::Duplicate
        } else {
            a.left(claim, &r, member, &user, who, at).await?
        };
        Ok(if applied {
            Delivery::Applied
        } else {
            Delivery::Duplicate
        })
    }

    /// The room (this incarnation, still active), the user's record in it, and the user, for
    /// a connection of one of our users; recorders and agents are not ours.
    async fn ours(
        &self,
        room: &str,
        who: &Connection,
    ) -> Result<Option<(Room, Option<Member>, UserId)>> {
        let (Some(live), Ok(user)) = (LiveRoomName::parse(room), UserId::parse(&who.identity))
        else {
            return Ok(None);
        };
        // Room and member in one read: admission and bans decide whether they may stay.
        let Some((r, member)) = self.rooms.active_room(&live.name, Some(&user)).await? else {
            return Ok(None);
        };
        Ok((r.id == live.id).then_some((r, member, user)))
    }

    /// The active room LiveKit's room name refers to; names that are not ours, and rooms
    /// archived since, are ignored.
    async fn room(&self, name: &str) -> Result<Option<Room>> {
        let Some(live) = LiveRoomName::parse(name) else {
            return Ok(None);
        };
        Ok(self
            .rooms
            .active_room(&live.name, None)
            .await?
            .map(|(r, _)| r)
            .filter(|r| r.id == live.id))
    }
}
