//! The reconciler: heals the store from LiveKit's own view when webhooks were lost, late or
//! never configured. Meetings LiveKit runs are recorded with their participants (banned ones
//! removed again); seats held by people LiveKit does not have, and seats in rooms LiveKit has
//! no meeting for, are freed once older than a grace period (a fresh join token may not have
//! connected yet). Runs as a scheduled Lambda and as a periodic task in the sidecar; the
//! transitions are the webhooks' own guarded store writes, so both may run at once.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::attendance::{Attendance, Attended};
use crate::domain::{LiveRoomName, UnixTime, UserId, now};
use crate::error::Result;
use crate::livekit::{Connection, LiveKit, LiveRoom, found};
use crate::recordings::Recordings;
use crate::store::{RoomStore, Seen, SeenOutcome, Stores};

/// A seat younger than this is left alone: its holder may still be connecting.
pub const GRACE_SECS: UnixTime = 120;
const PAGE: u32 = 100;

/// What one pass changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    /// LiveKit rooms that are ours and were looked at.
    pub live_rooms: usize,
    /// Participants LiveKit has that the store did not count.
    pub joined: usize,
    /// Seats freed (people gone, meetings over).
    pub freed: usize,
    /// Egresses LiveKit reported, each fed to the recording state machine.
    pub egress: usize,
}

pub struct Reconciler {
    rooms: Arc<dyn RoomStore>,
    livekit: Arc<dyn LiveKit>,
    attendance: Attendance,
    recordings: Option<Arc<Recordings>>,
}

impl Reconciler {
    pub fn new(stores: &Stores, livekit: Arc<dyn LiveKit>) -> Self {
        let attendance = Attendance::new(stores, Some(livekit.clone()));
        Self {
            rooms: stores.rooms.clone(),
            livekit,
            attendance,
            recordings: None,
        }
    }

    /// Also heals recordings from ListEgress (missed `egress_*` webhooks).
    pub fn with_recordings(mut self, recordings: Arc<Recordings>) -> Self {
        self.recordings = Some(recordings);
        self
    }

    /// One pass. LiveKit unreachable → an error and nothing freed (its silence proves
    /// nothing).
    pub async fn run_once(&self) -> Result<Report> {
        self.run_at(now()).await
    }

    pub async fn run_at(&self, t: UnixTime) -> Result<Report> {
        let live = self.livekit.list_rooms(&[]).await?;
        let mut report = Report::default();
        let mut seen_ids = HashSet::new();
        for lr in &live {
            let Some(ours) = LiveRoomName::parse(&lr.name) else {
                continue; // not a room of ours
            };
            seen_ids.insert(ours.id.clone());
            let active = self.rooms.active_room(&ours.name, None).await?;
            if let Some((room, _)) = active.filter(|(r, _)| r.id == ours.id) {
                report.live_rooms += 1;
                self.meeting(&room, lr, t, &mut report).await?;
            }
        }
        let mut cursor: Option<String> = None;
        loop {
            let page = self.rooms.busy_rooms(PAGE, cursor.as_deref()).await?;
            for room in &page.items {
                if seen_ids.contains(&room.id) {
                    continue;
                }
                // No meeting in LiveKit: every seat older than the grace period is stale.
                let sid = room.live_sid.as_deref().unwrap_or("");
                let freed = self
                    .rooms
                    .room_session(room, sid, false, t - GRACE_SECS)
                    .await?;
                report.freed += freed as usize;
                if let Some(current) = self.rooms.room(&room.id).await? {
                    self.rooms.settle(&current).await?;
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        if let Some(recordings) = &self.recordings {
            // The state machine ignores what it already knows; egress it missed moves on.
            for egress in self.livekit.list_egress(None, false).await? {
                recordings.on_listed_egress(&egress).await?;
                report.egress += 1;
            }
        }
        if report.joined + report.freed > 0 {
            tracing::info!(?report, "reconciled with LiveKit");
        }
        Ok(report)
    }

    /// A meeting LiveKit runs: its sid recorded, its participants seated, everyone else's
    /// stale seat freed.
    async fn meeting(
        &self,
        room: &crate::domain::Room,
        lr: &LiveRoom,
        t: UnixTime,
        report: &mut Report,
    ) -> Result<()> {
        if room.live_sid.as_deref() != Some(lr.sid.as_str()) {
            self.rooms.room_session(room, &lr.sid, true, t).await?;
        }
        let participants =
            found(self.livekit.list_participants(&room.livekit_name()).await)?.unwrap_or_default();
        let members: HashMap<String, crate::domain::Member> = self
            .rooms
            .active_members(room)
            .await?
            .into_iter()
            .map(|m| (m.user_id.as_str().to_string(), m))
            .collect();
        let mut present = HashSet::new();
        for p in &participants {
            let Ok(user) = UserId::parse(&p.identity) else {
                continue;
            };
            present.insert(p.identity.clone());
            let known = members
                .get(&p.identity)
                .is_some_and(|m| m.session.as_deref() == Some(p.sid.as_str()));
            if known {
                continue;
            }
            let member = self.rooms.member(room, &user).await?;
            let was_active = member.as_ref().is_some_and(|m| m.is_active);
            let conn = Connection {
                identity: p.identity.clone(),
                session: p.sid.clone(),
                name: p.name.clone(),
                joined_at: p.joined_at,
            };
            let attended = self
                .attendance
                .connected(None, room, member.as_ref(), &user, &conn, t)
                .await?;
            report.joined += usize::from(!was_active && attended == Attended::Seated);
        }
        for (identity, m) in &members {
            if present.contains(identity) || m.seen_at > t - GRACE_SECS {
                continue;
            }
            let session = m.session.as_deref().unwrap_or("reconciler");
            if self
                .rooms
                .seen(room, &m.user_id, Seen::Left { session }, t)
                .await?
                == SeenOutcome::Applied
            {
                report.freed += 1;
                if let Some(sid) = &m.session {
                    // LiveKit no longer has them: their connection ended by now.
                    let conn = Connection {
                        identity: identity.clone(),
                        session: sid.clone(),
                        name: m.name.to_string(),
                        joined_at: 0,
                    };
                    self.attendance.ended(room, m, &conn, t).await?;
                }
            }
        }
        Ok(())
    }
}

/// Runs a pass every `every` until the process ends (the sidecar's periodic task). Failures
/// are logged and the next pass tries again.
pub async fn every(reconciler: Reconciler, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick is immediate: let LiveKit start first
    let mut failing = false;
    loop {
        tick.tick().await;
        match reconciler.run_once().await {
            // Said once when it starts failing (a LiveKit that is not installed would
            // otherwise fill the log), and once when it recovers.
            Err(e) if !failing => {
                tracing::warn!(error = %e, "reconcile pass failed; retrying every period");
                failing = true;
            }
            Err(e) => tracing::debug!(error = %e, "reconcile pass failed"),
            Ok(_) if failing => {
                tracing::info!("reconciling with LiveKit again");
                failing = false;
            }
            Ok(_) => {}
        }
    }
}
