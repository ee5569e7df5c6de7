//! Rooms and their members, as the product sees them (no storage or wire types).

use std::fmt;

use super::{DisplayName, RoomName, Standing, UnixTime, UserId};
use crate::error::Error;

/// A room's id: a UUID, stable across renames of nothing (names are only unique while active).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoomId(String);

impl RoomId {
    pub fn new() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    /// Path parameters arrive as text; anything not shaped like our ids cannot name a room.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        match uuid::Uuid::try_parse(raw) {
            Ok(u) if u.hyphenated().to_string() == raw => Ok(Self(raw.to_string())),
            _ => Err(Error::not_found("Room not found")),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for RoomId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who may publish: everyone (`standard`), or only the owner and moderators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RoomMode {
    #[default]
    Standard,
    /// Attendees watch and may chat (when the room allows chat).
    Webinar,
    /// Attendees only watch: no media, no data.
    Broadcast,
}

impl RoomMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RoomMode::Standard => "standard",
            RoomMode::Webinar => "webinar",
            RoomMode::Broadcast => "broadcast",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Error> {
        match s {
            "standard" => Ok(RoomMode::Standard),
            "webinar" => Ok(RoomMode::Webinar),
            "broadcast" => Ok(RoomMode::Broadcast),
            _ => Err(Error::bad_request(
                "mode must be one of standard, webinar, broadcast",
            )),
        }
    }
}

/// Declares the room's switches once: each field, its wire and storage name, its default.
/// Both stores and every router read and write the switches through the generated lists, so
/// adding a switch is one line here (records written before it read as its default).
macro_rules! room_settings {
    ($( $(#[$doc:meta])* $field:ident : $wire:literal = $default:expr ),+ $(,)?) => {
        /// The room's switches, stored and returned exactly as sent (`false` stays `false`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct RoomSettings {
            $( $(#[$doc])* pub $field: bool, )+
        }

        impl Default for RoomSettings {
            /// What a room gets for switches the creator did not send.
            fn default() -> Self {
                Self { $( $field: $default, )+ }
            }
        }

        /// A partial change to [`RoomSettings`]: absent switches stay as they are.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct SettingsPatch {
            $( pub $field: Option<bool>, )+
        }

        impl RoomSettings {
            /// Every switch's name (`allowChat`, …): on the wire and in both stores.
            pub const NAMES: &'static [&'static str] = &[ $( $wire, )+ ];

            /// Each switch by name, in declaration order.
            pub fn flags(&self) -> Vec<(&'static str, bool)> {
                vec![ $( ($wire, self.$field), )+ ]
            }

            /// The switches from what a record holds by name; a missing one (a record written
            /// before the switch existed) takes its default.
            pub fn from_flags(get: impl Fn(&str) -> Option<bool>) -> Self {
                let d = Self::default();
                Self { $( $field: get($wire).unwrap_or(d.$field), )+ }
            }
        }

        impl SettingsPatch {
            /// The switches a request names; absent ones stay `None`.
            pub fn from_flags(get: impl Fn(&str) -> Option<bool>) -> Self {
                Self { $( $field: get($wire), )+ }
            }

            pub fn apply(&self, s: &mut RoomSettings) {
                $( if let Some(v) = self.$field { s.$field = v; } )+
            }

            /// `self` over `under`: switches set here win, the rest come from `under`.
            pub fn or(self, under: SettingsPatch) -> SettingsPatch {
                SettingsPatch { $( $field: self.$field.or(under.$field), )+ }
            }

            /// Each switch that is set, by name (stores update exactly these).
            pub fn fields(&self) -> Vec<(&'static str, bool)> {
                [ $( ($wire, self.$field), )+ ]
                    .into_iter()
                    .filter_map(|(k, v)| v.map(|v| (k, v)))
                    .collect()
            }
        }
    };
}

room_settings! {
    allow_chat: "allowChat" = true,
    allow_video: "allowVideo" = true,
    allow_audio: "allowAudio" = true,
    require_approval: "requireApproval" = false,
    e2ee: "e2ee" = false,
    is_persistent: "isPersistent" = false,
    recordings_allowed: "recordingsAllowed" = true,
}

/// A change to a room's policy; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomPatch {
    pub is_public: Option<bool>,
    /// An admin's suspension: the room keeps its name, nobody may join.
    pub suspended: Option<bool>,
    pub max_participants: Option<u32>,
    pub mode: Option<RoomMode>,
    pub settings: SettingsPatch,
}

impl RoomPatch {
    pub fn apply(&self, room: &mut Room) {
        if let Some(v) = self.is_public {
            room.is_public = v;
        }
        if let Some(v) = self.suspended {
            room.suspended = v;
        }
        if let Some(v) = self.max_participants {
            room.max_participants = v;
        }
        if let Some(v) = self.mode {
            room.mode = v;
        }
        self.settings.apply(&mut room.settings);
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    pub id: RoomId,
    pub name: RoomName,
    pub created_by: UserId,
    /// The host: clients mark `identity == adminId` as the host.
    pub admin_id: UserId,
    pub is_active: bool,
    pub is_public: bool,
    /// 0 = unlimited.
    pub max_participants: u32,
    pub mode: RoomMode,
    pub settings: RoomSettings,
    /// Members holding a slot now (the capacity invariant counts these).
    pub active_count: u32,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    pub archived_at: Option<UnixTime>,
    /// LiveKit's id for the meeting running in this room now (from `room_started`).
    pub live_sid: Option<String>,
    /// Suspended by an admin: active (its name stays taken) but nobody may enter.
    pub suspended: bool,
    /// The last join or meeting start (creation until then): what "stale" is measured by.
    pub last_activity_at: UnixTime,
}

impl Room {
    /// A new active, private, unlimited standard room with default switches: what a creator
    /// gets for everything they do not send.
    pub fn new(name: RoomName, owner: UserId, now: UnixTime) -> Self {
        Self {
            id: RoomId::new(),
            name,
            created_by: owner.clone(),
            admin_id: owner,
            is_active: true,
            is_public: false,
            max_participants: 0,
            mode: RoomMode::Standard,
            settings: RoomSettings::default(),
            active_count: 0,
            created_at: now,
            updated_at: now,
            archived_at: None,
            live_sid: None,
            suspended: false,
            last_activity_at: now,
        }
    }

    pub fn is_owner(&self, user: &UserId) -> bool {
        &self.admin_id == user || &self.created_by == user
    }

    pub fn is_full(&self) -> bool {
        self.max_participants > 0 && self.active_count >= self.max_participants
    }
}

/// A room's role for one member, written by moderation (promote/demote).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MemberRole {
    #[default]
    Participant,
    Moderator,
}

impl MemberRole {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberRole::Participant => "participant",
            MemberRole::Moderator => "moderator",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "participant" => Some(MemberRole::Participant),
            "moderator" => Some(MemberRole::Moderator),
            _ => None,
        }
    }
}

/// A kind of track a participant may publish (LiveKit's `TrackSource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    Camera,
    Microphone,
    ScreenShare,
    ScreenShareAudio,
}

impl Source {
    pub const ALL: [Source; 4] = [
        Source::Camera,
        Source::Microphone,
        Source::ScreenShare,
        Source::ScreenShareAudio,
    ];

    /// LiveKit's lower-case names, as `canPublishSources` carries them.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Camera => "camera",
            Source::Microphone => "microphone",
            Source::ScreenShare => "screen_share",
            Source::ScreenShareAudio => "screen_share_audio",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Source::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// What moderation has taken away from one member; persisted so a re-join carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restrictions {
    /// Sources this member may not publish, sorted and without duplicates.
    pub denied: Vec<Source>,
    pub chat_blocked: bool,
}

impl Restrictions {
    pub fn denies(&self, s: Source) -> bool {
        self.denied.contains(&s)
    }

    pub fn deny(&mut self, s: Source) {
        self.set(s, true);
    }

    /// Denies or allows one source, keeping the list sorted and unique.
    pub fn set(&mut self, s: Source, denied: bool) {
        if denied && !self.denies(s) {
            self.denied.push(s);
            self.denied.sort();
        } else if !denied {
            self.denied.retain(|d| *d != s);
        }
    }
}

/// One user's standing in one room: role, presence, ban, restrictions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub room_id: RoomId,
    pub user_id: UserId,
    /// The name they joined under (presence shows it).
    pub name: DisplayName,
    pub role: MemberRole,
    pub is_active: bool,
    pub banned: bool,
    /// Let in explicitly (see [`Standing::admitted`]); the only thing that opens a private room.
    pub admitted: bool,
    pub restrictions: Restrictions,
    pub joined_at: UnixTime,
    pub left_at: Option<UnixTime>,
    /// LiveKit's participant id of their current connection, as LiveKit last reported it.
    pub session: Option<String>,
    /// Time of the newest presence fact applied (a join here, a LiveKit event): older
    /// reports are ignored, so reordered webhooks cannot undo newer state.
    pub seen_at: UnixTime,
}

impl Member {
    /// What moderation and admission decide about this member.
    pub fn standing(&self) -> Standing {
        Standing {
            role: self.role,
            banned: self.banned,
            admitted: self.admitted,
            restrictions: self.restrictions.clone(),
        }
    }

    pub fn set_standing(&mut self, s: Standing) {
        self.role = s.role;
        self.banned = s.banned;
        self.admitted = s.admitted;
        self.restrictions = s.restrictions;
    }

    /// A record of someone the room has not seen yet: not admitted, no seat.
    pub fn blank(room: &RoomId, user: &UserId, name: DisplayName, now: UnixTime) -> Self {
        Self {
            room_id: room.clone(),
            user_id: user.clone(),
            name,
            role: MemberRole::Participant,
            is_active: false,
            banned: false,
            admitted: false,
            restrictions: Restrictions::default(),
            joined_at: now,
            left_at: None,
            session: None,
            seen_at: now,
        }
    }

    /// Admission of a record written before admission was stored: moderators were promoted,
    /// and a record carrying a real display name came from an entry the policy admitted
    /// (records made by moderation or by LiveKit's reports carry the identity as name).
    pub fn legacy_admitted(role: MemberRole, name: &str, user: &UserId) -> bool {
        role == MemberRole::Moderator || name != user.as_str()
    }
}

/// LiveKit's name for one incarnation of a room: `<name>.<id>`. Room names are free again
/// once a room is archived, and LiveKit admits any unexpired token for a room name, so a
/// token for an earlier room of the same name must not reach the meeting of a later one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveRoomName {
    pub name: RoomName,
    pub id: RoomId,
}

impl LiveRoomName {
    pub fn of(room: &Room) -> String {
        format!("{}.{}", room.name, room.id)
    }

    /// `None` for a LiveKit room that is not one of ours.
    pub fn parse(raw: &str) -> Option<Self> {
        let (name, id) = raw.split_once('.')?;
        Some(Self {
            name: RoomName::parse(name).ok().filter(|n| n.as_str() == name)?,
            id: RoomId::parse(id).ok()?,
        })
    }
}

impl Room {
    /// The LiveKit room this incarnation's meeting runs in.
    pub fn livekit_name(&self) -> String {
        LiveRoomName::of(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn livekit_names_name_one_incarnation() {
        let owner = UserId::new_account();
        let room = Room::new(RoomName::parse("standup").unwrap(), owner.clone(), 0);
        let later = Room::new(RoomName::parse("standup").unwrap(), owner, 0);
        assert_ne!(room.livekit_name(), later.livekit_name());
        let parsed = LiveRoomName::parse(&room.livekit_name()).unwrap();
        assert_eq!(
            (parsed.name, parsed.id),
            (room.name.clone(), room.id.clone())
        );
        for theirs in [
            "standup",
            "Standup.x",
            &format!("STANDUP.{}", room.id),
            "a.b.c",
        ] {
            assert!(LiveRoomName::parse(theirs).is_none(), "{theirs}");
        }
    }

    #[test]
    fn ids_modes_sources_round_trip() {
        let id = RoomId::new();
        assert_eq!(RoomId::parse(id.as_str()).unwrap(), id);
        assert!(RoomId::parse("nope").is_err());
        assert!(RoomId::parse(&id.as_str().to_uppercase()).is_err());
        for m in [RoomMode::Standard, RoomMode::Webinar, RoomMode::Broadcast] {
            assert_eq!(RoomMode::parse(m.as_str()).unwrap(), m);
        }
        assert!(RoomMode::parse("meeting").is_err());
        for s in Source::ALL {
            assert_eq!(Source::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn patch_changes_only_what_is_sent() {
        let mut s = RoomSettings::default();
        let p = SettingsPatch {
            allow_video: Some(false),
            e2ee: Some(true),
            ..Default::default()
        };
        p.apply(&mut s);
        assert!(!s.allow_video && s.e2ee && s.allow_chat && s.allow_audio);
        assert_eq!(p.fields(), vec![("allowVideo", false), ("e2ee", true)]);
    }

    #[test]
    fn restrictions_stay_sorted_and_unique() {
        let mut r = Restrictions::default();
        r.deny(Source::ScreenShare);
        r.deny(Source::Camera);
        r.deny(Source::ScreenShare);
        assert_eq!(r.denied, vec![Source::Camera, Source::ScreenShare]);
    }
}
