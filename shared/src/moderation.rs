//! Moderation that binds (`/api/room/{roomId}/…`): every restriction is persisted first,
//! so the next join or refresh token carries it, then applied to the live meeting through
//! LiveKit (permission change, track mute, removal). When LiveKit fails after the store
//! changed, the store change is undone: an action is applied whole or not at all.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::config::Config;
use crate::domain::policy::{self, Caller, Refusal, RoomRole};
use crate::domain::{Access, Member, MemberRole, Restrictions, Room, RoomId, Source, UserId, now};
use crate::error::{Error, Result};
use crate::livekit::{
    DataMessage, LiveKit, LiveKitError, LiveParticipant, ParticipantUpdate, Permission, found,
};
use crate::store::{MemberChange, RoomStore, UserStore};

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

    /// Kick only touches the meeting; everything else is also remembered.
    fn persists(&self) -> bool {
        !matches!(self, Action::Kick)
    }

    /// Unban concerns someone outside the meeting: no LiveKit call.
    fn needs_livekit(&self) -> bool {
        !matches!(self, Action::Unban)
    }

    fn event(&self) -> Option<&'static str> {
        match self {
            Action::Kick => Some("kick"),
            Action::Ban => Some("ban"),
            _ => None,
        }
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
        let before = scene.member.clone().unwrap_or_else(|| blank(&scene));
        let after = apply(&before, &action);
        if action == Action::Promote && before.role == MemberRole::Moderator {
            return Ok(Outcome {
                status: "already_moderator",
                in_meeting: live.is_some(),
            });
        }
        if action.persists() {
            self.persist(&scene, &after, &action).await?;
        }
        let in_meeting = match live {
            Some(p) => match self.apply_live(caller, &scene, &p, &after, &action).await {
                Ok(applied) => applied,
                Err(e) => {
                    if action.persists() {
                        self.undo(&scene, &before, &action).await;
                    }
                    return Err(e.into());
                }
            },
            None => false,
        };
        Ok(Outcome {
            status: "success",
            in_meeting,
        })
    }

    /// Mutes every microphone in the meeting except the owner's, moderators' and the
    /// caller's. `binding` also takes the microphone away (as `mute` does); otherwise people
    /// may unmute themselves. Returns how many participants were muted.
    pub async fn mute_all(&self, caller: &Caller, room: &RoomId, binding: bool) -> Result<usize> {
        let room = self.moderated_room(caller, room).await?;
        let lk = self.livekit()?;
        let participants = lk.list_participants(room.name.as_str()).await;
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
                .is_some_and(|m| m.role == MemberRole::Moderator)
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
            let before = scene.member.clone().unwrap_or_else(|| blank(&scene));
            let after = apply(&before, &action);
            let applied = if binding {
                self.persist(&scene, &after, &action).await?;
                match self.apply_live(caller, &scene, &p, &after, &action).await {
                    Ok(applied) => applied,
                    Err(e) => {
                        self.undo(&scene, &before, &action).await;
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
    /// (everyone disconnected), then the room archived. If LiveKit cannot be reached nothing
    /// changes, so the moderator can try again.
    pub async fn end(&self, caller: &Caller, room: &RoomId) -> Result<()> {
        let room = self.moderated_room(caller, room).await?;
        if let Some(lk) = &self.livekit {
            let name = room.name.as_str();
            let notice = system_event("room_ended", caller, None);
            found(lk.send_data(name, &notice).await)?;
            found(lk.delete_room(name).await)?;
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
            .is_some_and(|m| m.role == MemberRole::Moderator)
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
        Ok(found(lk.participant(room.name.as_str(), identity).await)?)
    }

    async fn persist(&self, scene: &Scene, after: &Member, action: &Action) -> Result<()> {
        let change = change_to(after, action);
        if !self
            .rooms
            .change_member(&scene.room, &scene.target, &change, now())
            .await?
        {
            return Err(Refusal::Archived.into());
        }
        Ok(())
    }

    /// Puts the member back as it was after LiveKit refused the live half of an action.
    async fn undo(&self, scene: &Scene, before: &Member, action: &Action) {
        let change = match action {
            Action::Ban if !before.banned => MemberChange::Unban,
            Action::Ban => return,
            Action::Promote | Action::Demote => MemberChange::Role(before.role),
            _ => MemberChange::Restrict(before.restrictions.clone()),
        };
        if let Err(e) = self
            .rooms
            .change_member(&scene.room, &scene.target, &change, now())
            .await
        {
            tracing::error!(error = %e, room = %scene.room.id, "could not undo a moderation change");
        }
    }

    /// The live half: what LiveKit must do for this action. Returns whether the participant
    /// was still there (leaving in between is not an error).
    async fn apply_live(
        &self,
        caller: &Caller,
        scene: &Scene,
        p: &LiveParticipant,
        after: &Member,
        action: &Action,
    ) -> Result<bool, LiveKitError> {
        let lk = self
            .livekit
            .as_ref()
            .expect("live participants come from LiveKit");
        let room = scene.room.name.as_str();
        let applied = match action {
            Action::Unban => true,
            Action::Kick | Action::Ban => {
                found(lk.remove_participant(room, &p.identity).await)?.is_some()
            }
            _ => {
                // Silence now, then take the right away so unmuting is refused.
                let denied: Vec<Source> = Source::ALL
                    .into_iter()
                    .filter(|s| after.restrictions.denies(*s))
                    .collect();
                mute_tracks(lk, scene, p, &denied).await?;
                let update = ParticipantUpdate {
                    metadata: metadata_change(&p.metadata, action, after),
                    permission: Some(self.permission(scene, after)),
                };
                found(lk.update_participant(room, &p.identity, &update).await)?.is_some()
            }
        };
        if let Some(event) = action.event().filter(|_| applied) {
            let notice = system_event(event, caller, Some(p.identity.as_str()));
            if let Err(e) = lk.send_data(room, &notice).await {
                tracing::warn!(error = %e, event, "system message not sent");
            }
        }
        Ok(applied)
    }

    /// The whole permission LiveKit should hold for the target: the same rights a token
    /// minted now would carry.
    fn permission(&self, scene: &Scene, member: &Member) -> Permission {
        let target = Caller {
            id: scene.target.clone(),
            name: member.name.clone(),
            accesses: scene.target_accesses.clone(),
        };
        let role = policy::role(&scene.room, Some(member), Some(&target));
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
    let room = scene.room.name.as_str();
    let mut muted = 0;
    for t in p
        .tracks
        .iter()
        .filter(|t| !t.muted && sources.iter().any(|s| t.carries(*s)))
    {
        if found(lk.mute_track(room, &p.identity, &t.sid, true).await)?.is_some() {
            muted += 1;
        }
    }
    Ok(muted)
}

/// A record for someone moderated before they ever joined.
fn blank(scene: &Scene) -> Member {
    Member {
        room_id: scene.room.id.clone(),
        user_id: scene.target.clone(),
        name: crate::domain::DisplayName::from_trusted(scene.target.to_string()),
        role: MemberRole::Participant,
        is_active: false,
        banned: false,
        restrictions: Restrictions::default(),
        joined_at: 0,
        left_at: None,
        session: None,
        seen_at: 0,
    }
}

/// The member as the action leaves it.
fn apply(m: &Member, action: &Action) -> Member {
    let mut m = m.clone();
    match action {
        Action::Kick => {}
        Action::Ban => m.banned = true,
        Action::Unban => m.banned = false,
        Action::Deny(sources) => sources.iter().for_each(|s| m.restrictions.deny(*s)),
        Action::Promote => m.role = MemberRole::Moderator,
        Action::Demote => m.role = MemberRole::Participant,
        Action::ChatBlock(blocked) => m.restrictions.chat_blocked = *blocked,
        Action::Permissions {
            sources,
            publish_data,
        } => {
            if let Some(allowed) = sources {
                m.restrictions.denied = Source::ALL
                    .into_iter()
                    .filter(|s| !allowed.contains(s))
                    .collect();
            }
            if let Some(data) = publish_data {
                m.restrictions.chat_blocked = !data;
            }
        }
    }
    m
}

/// The store change that leaves the member as `after`.
fn change_to(after: &Member, action: &Action) -> MemberChange {
    match action {
        Action::Ban => MemberChange::Ban,
        Action::Unban => MemberChange::Unban,
        Action::Promote | Action::Demote => MemberChange::Role(after.role),
        _ => MemberChange::Restrict(after.restrictions.clone()),
    }
}

/// The participant's metadata with our fields updated and theirs (display name, avatar,
/// deafen state) kept; `None` when this action does not show in metadata.
fn metadata_change(current: &str, action: &Action, after: &Member) -> Option<String> {
    if !matches!(
        action,
        Action::Promote | Action::Demote | Action::ChatBlock(_) | Action::Permissions { .. }
    ) {
        return None;
    }
    let mut meta: serde_json::Map<String, Value> =
        serde_json::from_str(current).unwrap_or_default();
    let moderator = after.role == MemberRole::Moderator;
    let mut accesses: Vec<Value> = meta
        .get("accesses")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a.as_str() != Some(Access::Moderator.as_str()))
        .collect();
    if moderator {
        accesses.push(json!(Access::Moderator.as_str()));
    }
    meta.insert("accesses".into(), Value::Array(accesses));
    if meta.get("role").and_then(Value::as_str) != Some(RoomRole::Owner.as_str()) {
        let role = if moderator {
            RoomRole::Moderator
        } else {
            RoomRole::Participant
        };
        meta.insert("role".into(), json!(role.as_str()));
    }
    meta.insert("chatBlocked".into(), json!(after.restrictions.chat_blocked));
    Some(Value::Object(meta).to_string())
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

/// The room, if the caller moderates it (owner, room moderator, platform admin); archived
/// rooms only when `active_only` is false.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn member() -> Member {
        Member {
            room_id: RoomId::new(),
            user_id: UserId::new_account(),
            name: crate::domain::DisplayName::from_trusted("Ann".into()),
            role: MemberRole::Participant,
            is_active: true,
            banned: false,
            restrictions: Restrictions::default(),
            joined_at: 0,
            left_at: None,
            session: None,
            seen_at: 0,
        }
    }

    #[test]
    fn permissions_replace_denials_and_keep_what_is_not_sent() {
        let mut m = member();
        m.restrictions.deny(Source::Microphone);
        m.restrictions.chat_blocked = true;
        let after = apply(
            &m,
            &Action::Permissions {
                sources: Some(vec![Source::Microphone, Source::Camera]),
                publish_data: None,
            },
        );
        assert_eq!(
            after.restrictions.denied,
            vec![Source::ScreenShare, Source::ScreenShareAudio]
        );
        assert!(after.restrictions.chat_blocked);
    }

    #[test]
    fn metadata_keeps_client_fields_and_toggles_the_moderator_badge() {
        let mut m = member();
        m.role = MemberRole::Moderator;
        let current =
            r#"{"displayName":"Ann","accesses":["user"],"role":"participant","deafened":true}"#;
        let out = metadata_change(current, &Action::Promote, &m).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["displayName"], "Ann");
        assert_eq!(v["deafened"], true);
        assert_eq!(v["accesses"], json!(["user", "moderator"]));
        assert_eq!(v["role"], "moderator");
        m.role = MemberRole::Participant;
        let out = metadata_change(&out, &Action::Demote, &m).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["accesses"], json!(["user"]));
        assert_eq!(v["role"], "participant");
        assert!(metadata_change("not json", &Action::mute(), &m).is_none());
    }
}
