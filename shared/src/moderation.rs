//! Moderation that binds (`/api/room/{roomId}/…`): every restriction is persisted first,
//! so the next join or refresh token carries it, then applied to the live meeting through
//! LiveKit (permission change, track mute, removal). When LiveKit fails after the store
//! changed, the store change is undone: an action is applied whole or not at all, and the
//! undo takes back only what this request changed.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;

use crate::config::Config;
use crate::domain::policy::{self, Caller, Refusal, RoomRole};
use crate::domain::{Access, Member, MemberChange, MemberRole, Room, RoomId, Source, UserId, now};
use crate::error::{Error, Result};
use crate::livekit::{
    DataMessage, LiveKit, LiveKitError, LiveParticipant, ParticipantUpdate, Permission, found,
    participant_metadata,
};
use crate::store::{Changed, RoomStore, UserStore};

/// The topic Bedrud's clients listen on for system events.
const SYSTEM_TOPIC: &str = "system";

/// What a moderator does to one participant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Kick,
    Ban,
    Unban,
    /// Takes these sources away (mute: microphone; video off: camera; screen share stop:
    /// both screen-share sources).
    Deny(Vec<Source>),
    Promote,
    Demote,
    ChatBlock(bool),
    /// Sets what may be published; `None` leaves that part unchanged.
    Permissions {
        sources: Option<Vec<Source>>,
        publish_data: Option<bool>,
    },
}

impl Action {
    pub fn mute() -> Self {
        Action::Deny(vec![Source::Microphone])
    }
    pub fn video_off() -> Self {
        Action::Deny(vec![Source::Camera])
    }
    pub fn screenshare_stop() -> Self {
        Action::Deny(vec![Source::ScreenShare, Source::ScreenShareAudio])
    }

    /// What the store remembers; kick only touches the meeting.
    fn change(&self) -> Option<MemberChange> {
        Some(match self {
            Action::Kick => return None,
            Action::Ban => MemberChange::Ban,
            Action::Unban => MemberChange::Unban,
            Action::Deny(sources) => MemberChange::Deny(sources.clone()),
            Action::Promote => MemberChange::Role(MemberRole::Moderator),
            Action::Demote => MemberChange::Role(MemberRole::Participant),
            Action::ChatBlock(blocked) => MemberChange::ChatBlock(*blocked),
            Action::Permissions {
                sources,
                publish_data,
            } => MemberChange::Permissions {
                sources: sources.clone(),
                publish_data: *publish_data,
            },
        })
    }

    /// Unban concerns someone outside the meeting: no LiveKit call.
    fn needs_livekit(&self) -> bool {
        !matches!(self, Action::Unban)
    }

    /// Whether the participant's metadata shows this action (role badge, chat state).
    fn shows_in_metadata(&self) -> bool {
        matches!(
            self,
            Action::Promote | Action::Demote | Action::ChatBlock(_) | Action::Permissions { .. }
        )
    }

    fn event(&self) -> Option<&'static str> {
        match self {
            Action::Kick => Some("kick"),
            Action::Ban => Some("ban"),
            _ => None,
        }
    }
}

/// A `system` packet the clients act on (A6): nothing is stored, nothing changes in LiveKit
/// but the message. The web client deafens itself on `deafen`, shows a banner on the asks,
/// and notes a spotlight in the chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Deafen,
    Undeafen,
    AskUnmute,
    AskCamera,
    /// Broadcast to the whole room; any participant may be spotlit.
    Spotlight,
}

impl Signal {
    /// `ask/{action}`: `unmute` or `camera`.
    pub fn ask(action: &str) -> Option<Self> {
        match action {
            "unmute" => Some(Signal::AskUnmute),
            "camera" => Some(Signal::AskCamera),
            _ => None,
        }
    }

    fn event(self) -> &'static str {
        match self {
            Signal::Deafen => "deafen",
            Signal::Undeafen => "undeafen",
            Signal::AskUnmute => "ask_unmute",
            Signal::AskCamera => "ask_camera",
            Signal::Spotlight => "spotlight",
        }
    }

    /// Sent to the target alone, under the guards of the other moderation actions (not
    /// yourself, not the owner, a moderator only by the owner or an admin).
    fn targeted(self) -> bool {
        self != Signal::Spotlight
    }
}

/// The answer to one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `success`, or Bedrud's `already_moderator` when promote changed nothing.
    pub status: &'static str,
    /// Whether the participant was in the meeting and LiveKit applied it there too.
    pub in_meeting: bool,
}

pub struct Moderation {
    rooms: Arc<dyn RoomStore>,
    users: Arc<dyn UserStore>,
    livekit: Option<Arc<dyn LiveKit>>,
    self_metadata: bool,
}

/// The room, the caller's and the target's standing in it, all read before acting.
struct Scene {
    room: Room,
    target: UserId,
    target_accesses: Vec<Access>,
    member: Option<Member>,
}

impl Moderation {
    pub fn new(
        rooms: Arc<dyn RoomStore>,
        users: Arc<dyn UserStore>,
        livekit: Option<Arc<dyn LiveKit>>,
        config: &Config,
    ) -> Self {
        Self {
            rooms,
            users,
            livekit,
            self_metadata: config.livekit.allow_self_metadata,
        }
    }

    pub async fn act(
        &self,
        caller: &Caller,
        room: &RoomId,
        identity: &str,
        action: Action,
    ) -> Result<Outcome> {
        let scene = self.scene(caller, room, identity).await?;
        if action == Action::Kick {
            self.livekit()?;
        }
        let live = if action.needs_livekit() {
            self.live(&scene.room, scene.target.as_str()).await?
        } else {
            None
        };
        if action == Action::Kick && live.is_none() {
            return Err(participant_not_found());
        }
        if action == Action::Promote
            && scene
                .member
                .as_ref()
                .is_some_and(|m| m.role == MemberRole::Moderator && !m.banned)
        {
            return Ok(Outcome {
                status: "already_moderator",
                in_meeting: live.is_some(),
            });
        }
        let changed = match action.change() {
            Some(change) => Some(self.persist(&scene, &change).await?),
            None => None,
        };
        let in_meeting = match live {
            Some(p) => {
                let member = changed.as_ref().map(|c| &c.member);
                match self.apply_live(caller, &scene, &p, member, &action).await {
                    Ok(applied) => applied,
                    Err(e) => {
                        if let Some(c) = &changed {
                            self.undo(&scene, c).await;
                        }
                        return Err(e.into());
                    }
                }
            }
            None => false,
        };
        Ok(Outcome {
            status: "success",
            in_meeting,
        })
    }

    /// Sends a signal about `identity`, who must be in the meeting now.
    pub async fn signal(
        &self,
        caller: &Caller,
        room: &RoomId,
        identity: &str,
        signal: Signal,
    ) -> Result<()> {
        let room = if signal.targeted() {
            self.scene(caller, room, identity).await?.room
        } else {
            self.moderated_room(caller, room).await?
        };
        let lk = self.livekit()?;
        let name = room.livekit_name();
        let p = found(lk.participant(&name, identity).await)?.ok_or_else(participant_not_found)?;
        let mut message = system_event(signal.event(), caller, Some(&p.identity));
        if signal.targeted() {
            message.to = vec![p.identity.clone()];
        }
        found(lk.send_data(&name, &message).await)?.ok_or_else(participant_not_found)
    }

    /// Mutes every microphone in the meeting except the owner's, moderators' and the
    /// caller's. `binding` also takes the microphone away (as `mute` does); otherwise people
    /// may unmute themselves. Returns how many participants were muted.
    pub async fn mute_all(&self, caller: &Caller, room: &RoomId, binding: bool) -> Result<usize> {
        let room = self.moderated_room(caller, room).await?;
        let lk = self.livekit()?;
        let participants = lk.list_participants(&room.livekit_name()).await;
        let participants = found(participants)?.unwrap_or_default();
        let mut muted = 0;
        for p in participants {
            let Ok(user) = UserId::parse(&p.identity) else {
                continue; // recorders, agents: not ours to mute
            };
            if user == caller.id || room.is_owner(&user) {
                continue;
            }
            let member = self.rooms.member(&room, &user).await?;
            if member
                .as_ref()
                .is_some_and(|m| m.role == MemberRole::Moderator && !m.banned)
            {
                continue;
            }
            let scene = Scene {
                room: room.clone(),
                target_accesses: self.accesses(&user).await?,
                target: user,
                member,
            };
            if scene.target_accesses.iter().any(|a| *a >= Access::Admin) {
                continue;
            }
            let action = Action::mute();
            let applied = if binding {
                let change = action.change().expect("mute is remembered");
                let changed = self.persist(&scene, &change).await?;
                match self
                    .apply_live(caller, &scene, &p, Some(&changed.member), &action)
                    .await
                {
                    Ok(applied) => applied,
                    Err(e) => {
                        self.undo(&scene, &changed).await;
                        return Err(e.into());
                    }
                }
            } else {
                mute_tracks(lk, &scene, &p, &[Source::Microphone]).await? > 0
            };
            muted += usize::from(applied);
        }
        Ok(muted)
    }

    /// Ends the meeting for everyone: a `room_ended` system message, LiveKit's room deleted
    /// (everyone disconnected), then the room archived. Destructive, so the owner's or an
    /// admin's decision, not a room moderator's. If LiveKit cannot be reached nothing changes,
    /// so the owner can try again.
    pub async fn end(&self, caller: &Caller, room: &RoomId) -> Result<()> {
        let room = owned_room(&*self.rooms, caller, room, true).await?;
        if let Some(lk) = &self.livekit {
            let name = room.livekit_name();
            let notice = system_event("room_ended", caller, None);
            found(lk.send_data(&name, &notice).await)?;
            found(lk.delete_room(&name).await)?;
        }
        self.rooms.archive_room(&room.id, now()).await?;
        Ok(())
    }

    /// The active room, if the caller may moderate it.
    async fn moderated_room(&self, caller: &Caller, id: &RoomId) -> Result<Room> {
        moderated_room(&*self.rooms, caller, id, true).await
    }

    /// Reads and authorizes: the caller moderates this active room, the target is someone
    /// else and not its owner, and a moderator does not act on another moderator.
    async fn scene(&self, caller: &Caller, room: &RoomId, identity: &str) -> Result<Scene> {
        let target = UserId::parse(identity).map_err(|_| participant_not_found())?;
        let room = self.moderated_room(caller, room).await?;
        if target == caller.id {
            return Err(Error::bad_request("Cannot perform this action on yourself"));
        }
        if room.is_owner(&target) {
            return Err(Error::forbidden(
                "Cannot perform this action on the room owner",
            ));
        }
        let (member, target_accesses) = tokio::try_join!(
            async { Ok::<_, Error>(self.rooms.member(&room, &target).await?) },
            self.accesses(&target),
        )?;
        let target_ranks = member
            .as_ref()
            .is_some_and(|m| m.role == MemberRole::Moderator && !m.banned)
            || target_accesses.iter().any(|a| *a >= Access::Admin);
        let caller_outranks = room.is_owner(&caller.id) || caller.is_admin();
        if target_ranks && !caller_outranks {
            return Err(Error::forbidden(
                "Only the room owner or an admin can act on a moderator",
            ));
        }
        Ok(Scene {
            room,
            target,
            target_accesses,
            member,
        })
    }

    /// The target's platform accesses (guests included); unknown identities are 404.
    async fn accesses(&self, user: &UserId) -> Result<Vec<Access>> {
        match self.users.user_by_id(user).await? {
            Some(u) => Ok(u.accesses),
            None => Err(participant_not_found()),
        }
    }

    fn livekit(&self) -> Result<&Arc<dyn LiveKit>> {
        self.livekit.as_ref().ok_or_else(|| {
            Error::UpstreamDown(
                "LiveKit is not configured (set livekit.apiKey and livekit.apiSecret)".into(),
            )
        })
    }

    /// The participant as LiveKit sees them now; `None` if not in the meeting (or no LiveKit
    /// is configured). An unreachable LiveKit fails here, before anything changed.
    async fn live(&self, room: &Room, identity: &str) -> Result<Option<LiveParticipant>> {
        let Some(lk) = &self.livekit else {
            return Ok(None);
        };
        Ok(found(lk.participant(&room.livekit_name(), identity).await)?)
    }

    /// The change applied to the member as stored (atomically, beside any concurrent one).
    async fn persist(&self, scene: &Scene, change: &MemberChange) -> Result<Changed> {
        self.rooms
            .change_member(&scene.room, &scene.target, change, now())
            .await?
            .ok_or_else(|| Refusal::Archived.into())
    }

    /// Takes back what this request changed after LiveKit refused the live half, leaving
    /// alone whatever another moderator changed meanwhile.
    async fn undo(&self, scene: &Scene, changed: &Changed) {
        let revert = MemberChange::Revert {
            from: changed.member.standing(),
            to: changed.before.clone(),
        };
        if let Err(e) = self
            .rooms
            .change_member(&scene.room, &scene.target, &revert, now())
            .await
        {
            tracing::error!(error = %e, room = %scene.room.id, "could not undo a moderation change");
        }
    }

    /// The live half: what LiveKit must do for this action, from the member as now stored.
    /// Returns whether the participant was still there (leaving in between is not an error).
    async fn apply_live(
        &self,
        caller: &Caller,
        scene: &Scene,
        p: &LiveParticipant,
        member: Option<&Member>,
        action: &Action,
    ) -> Result<bool, LiveKitError> {
        let lk = self
            .livekit
            .as_ref()
            .expect("live participants come from LiveKit");
        let room = scene.room.livekit_name();
        let applied = match (action, member) {
            (Action::Unban, _) => true,
            (Action::Kick | Action::Ban, _) => {
                found(lk.remove_participant(&room, &p.identity).await)?.is_some()
            }
            (_, Some(member)) => {
                // Silence now, then take the right away so unmuting is refused.
                let denied: Vec<Source> = Source::ALL
                    .into_iter()
                    .filter(|s| member.restrictions.denies(*s))
                    .collect();
                mute_tracks(lk, scene, p, &denied).await?;
                let role = self.role(scene, member);
                let update = ParticipantUpdate {
                    metadata: action.shows_in_metadata().then(|| {
                        participant_metadata(
                            Some(&p.metadata),
                            role,
                            &scene.target_accesses,
                            member.restrictions.chat_blocked,
                        )
                    }),
                    permission: Some(self.permission(scene, member, role)),
                };
                found(lk.update_participant(&room, &p.identity, &update).await)?.is_some()
            }
            (_, None) => true,
        };
        if let Some(event) = action.event().filter(|_| applied) {
            let notice = system_event(event, caller, Some(p.identity.as_str()));
            if let Err(e) = lk.send_data(&room, &notice).await {
                tracing::warn!(error = %e, event, "system message not sent");
            }
        }
        Ok(applied)
    }

    /// The target's role in the room, from their stored record.
    fn role(&self, scene: &Scene, member: &Member) -> RoomRole {
        let target = Caller {
            id: scene.target.clone(),
            name: member.name.clone(),
            accesses: scene.target_accesses.clone(),
        };
        policy::role(&scene.room, Some(member), Some(&target))
    }

    /// The whole permission LiveKit should hold for the target: the same rights a token
    /// minted now would carry.
    fn permission(&self, scene: &Scene, member: &Member, role: RoomRole) -> Permission {
        let rights = policy::rights(&scene.room, role, &member.restrictions);
        Permission {
            sources: rights.sources,
            publish_data: rights.publish_data,
            subscribe: rights.subscribe,
            update_metadata: self.self_metadata,
        }
    }
}

/// Mutes the participant's unmuted tracks carrying any of `sources` and says how many; a
/// track that vanished meanwhile is fine.
async fn mute_tracks(
    lk: &Arc<dyn LiveKit>,
    scene: &Scene,
    p: &LiveParticipant,
    sources: &[Source],
) -> Result<usize, LiveKitError> {
    let room = scene.room.livekit_name();
    let mut muted = 0;
    for t in p
        .tracks
        .iter()
        .filter(|t| !t.muted && sources.iter().any(|s| t.carries(*s)))
    {
        if found(lk.mute_track(&room, &p.identity, &t.sid, true).await)?.is_some() {
            muted += 1;
        }
    }
    Ok(muted)
}

/// Bedrud's system message (`{"type":"system","event",…}` on topic `system`).
fn system_event(event: &str, actor: &Caller, target: Option<&str>) -> DataMessage {
    let mut body = HashMap::from([
        ("type", json!("system")),
        ("event", json!(event)),
        ("actor", json!(actor.id.as_str())),
    ]);
    if let Some(t) = target {
        body.insert("target", json!(t));
    }
    DataMessage {
        topic: SYSTEM_TOPIC.into(),
        payload: serde_json::to_vec(&body).expect("JSON of strings"),
        to: Vec::new(),
    }
}

fn participant_not_found() -> Error {
    Error::not_found("Participant not found")
}

/// The room, if the caller moderates it (owner, room moderator, platform admin; never a
/// banned member); archived rooms only when `active_only` is false.
pub(crate) async fn moderated_room(
    rooms: &dyn RoomStore,
    caller: &Caller,
    id: &RoomId,
    active_only: bool,
) -> Result<Room> {
    let room = rooms.room(id).await?.ok_or(Refusal::NotFound)?;
    if active_only && !room.is_active {
        return Err(Refusal::Archived.into());
    }
    let mine = if room.is_active {
        rooms.member(&room, &caller.id).await?
    } else {
        None
    };
    if !policy::role(&room, mine.as_ref(), Some(caller)).may_moderate() {
        return Err(Error::forbidden("Insufficient permissions"));
    }
    Ok(room)
}

/// The room, if the caller owns it or is a platform admin: destructive actions (ending the
/// meeting, deleting recordings) are theirs, not a room moderator's, since moderators are
/// appointed by moderators.
pub(crate) async fn owned_room(
    rooms: &dyn RoomStore,
    caller: &Caller,
    id: &RoomId,
    active_only: bool,
) -> Result<Room> {
    let room = rooms.room(id).await?.ok_or(Refusal::NotFound)?;
    if active_only && !room.is_active {
        return Err(Refusal::Archived.into());
    }
    if !room.is_owner(&caller.id) && !caller.is_admin() {
        return Err(Error::forbidden(
            "Only the room owner or an admin can do this",
        ));
    }
    Ok(room)
}
