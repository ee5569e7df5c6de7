//! The room flows behind `/api/room/*`: create, list, settings, archive, presence, and entry
//! (join, guest join, token refresh). Policy decides (`domain::policy`), the store enforces
//! (`RoomStore`), LiveKit tokens are minted last (`livekit::JoinTokens`).

use std::sync::Arc;

use crate::config::Config;
use crate::domain::policy::{self, Caller, Refusal, RoomRole};
use crate::domain::{
    Member, Room, RoomId, RoomMode, RoomName, RoomPatch, RuntimeSettings, SessionId, SettingsPatch,
    UnixTime, now,
};
use crate::error::{Error, Result};
use crate::livekit::{JoinToken, JoinTokens, LiveKit, LiveKitError, participant_metadata};
use crate::settings::Settings;
use crate::store::{Counted, CreateRoom, Occupy, RecordingStore, RoomStore, RoomWrite};

/// Pages are read in this size when a route returns a whole list.
const LIST_PAGE: u32 = 100;
/// Attempts at a fresh generated name before giving up (collisions are astronomically rare).
const NAME_ATTEMPTS: usize = 5;

/// What a creator sends; `None` means "not sent".
#[derive(Debug, Clone, Default)]
pub struct NewRoom {
    pub name: Option<String>,
    pub is_public: Option<bool>,
    pub max_participants: Option<i64>,
    pub mode: Option<String>,
    pub settings: SettingsPatch,
}

/// A change to a room as sent; validated against the configured limits here.
#[derive(Debug, Clone, Default)]
pub struct RoomChange {
    pub is_public: Option<bool>,
    pub max_participants: Option<i64>,
    pub mode: Option<String>,
    pub settings: SettingsPatch,
}

/// Someone inside a room with a fresh token.
#[derive(Debug, Clone)]
pub struct Entry {
    pub room: Room,
    pub role: RoomRole,
    pub token: JoinToken,
}

/// Outcome of a join: inside, or the owner of an archived room (Bedrud's `archived_owned`,
/// which the web client turns into "start it again").
#[derive(Debug, Clone)]
pub enum Joined {
    In(Entry),
    ArchivedOwned(Room),
}

/// Who is looking at presence, and what they may see.
#[derive(Debug, Clone)]
pub struct Presence {
    pub members: Vec<Member>,
    /// False for a private room the caller does not belong to: show nothing.
    pub visible: bool,
}

/// What a room name leads to.
enum Found {
    Active(Room, Option<Member>),
    Archived(Room),
}

/// An archived room and how many recordings it kept.
#[derive(Debug, Clone)]
pub struct ArchivedRoom {
    pub room: Room,
    pub recordings: usize,
}

pub struct Rooms {
    store: Arc<dyn RoomStore>,
    recordings: Arc<dyn RecordingStore>,
    tokens: Option<JoinTokens>,
    livekit: Option<Arc<dyn LiveKit>>,
    settings: Arc<Settings>,
}

impl Rooms {
    pub fn new(
        store: Arc<dyn RoomStore>,
        recordings: Arc<dyn RecordingStore>,
        livekit: Option<Arc<dyn LiveKit>>,
        settings: Arc<Settings>,
        config: &Config,
    ) -> Self {
        let lk = &config.livekit;
        let tokens = lk.keys().map(|(key, secret)| {
            JoinTokens::new(key, secret, lk.token_ttl.as_secs(), lk.allow_self_metadata)
        });
        Self {
            store,
            recordings,
            tokens,
            livekit,
            settings,
        }
    }

    pub async fn create(&self, caller: &Caller, req: NewRoom) -> Result<Room> {
        refuse_guests(caller)?;
        let t = now();
        let named = req
            .name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .map(RoomName::parse)
            .transpose()?;
        let mut room = Room::new(
            named.clone().unwrap_or_else(RoomName::generate),
            caller.id.clone(),
            t,
        );
        room.is_public = req.is_public.unwrap_or(false);
        let settings = self.settings.current().await?;
        room.max_participants = capacity(&settings, req.max_participants.unwrap_or(0))?;
        room.mode = req
            .mode
            .as_deref()
            .map(RoomMode::parse)
            .transpose()?
            .unwrap_or_default();
        req.settings.apply(&mut room.settings);
        let max_rooms = u32::try_from(settings.max_rooms_per_user).unwrap_or(u32::MAX);
        let limit = (!caller.is_admin()).then_some(max_rooms);
        for _ in 0..NAME_ATTEMPTS {
            match self.store.create_room(&room, limit).await? {
                CreateRoom::Created => return Ok(room),
                CreateRoom::LimitReached => {
                    return Err(Error::forbidden(format!(
                        "Room limit reached (max {max_rooms} active rooms)"
                    )));
                }
                CreateRoom::NameTaken if named.is_some() => {
                    return Err(Error::conflict("a room with this name already exists"));
                }
                CreateRoom::NameTaken => room.name = RoomName::generate(),
            }
        }
        Err(Error::internal("no free generated room name"))
    }

    /// The caller's active rooms, newest first.
    pub async fn list(&self, caller: &Caller) -> Result<Vec<Room>> {
        refuse_guests(caller)?;
        let mut rooms = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .store
                .owned_rooms(&caller.id, LIST_PAGE, cursor.as_deref())
                .await?;
            rooms.extend(page.items);
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(rooms),
            }
        }
    }

    /// The caller's archived rooms, most recently archived first, with their recording
    /// counts: `limit` of them after the first `offset`.
    pub async fn archived(
        &self,
        caller: &Caller,
        offset: u32,
        limit: u32,
    ) -> Result<Counted<ArchivedRoom>> {
        refuse_guests(caller)?;
        let rooms = self.store.archived_rooms(&caller.id, offset, limit).await?;
        let counts = futures_util::future::try_join_all(
            rooms
                .items
                .iter()
                .map(|r| self.recordings.room_recordings(&r.id)),
        )
        .await?;
        Ok(Counted {
            total: rooms.total,
            items: rooms
                .items
                .into_iter()
                .zip(counts)
                .map(|(room, recs)| ArchivedRoom {
                    room,
                    recordings: recs.len(),
                })
                .collect(),
        })
    }

    /// Whether `name` could be entered by `caller` now (anonymous callers: public rooms
    /// only). Guest join asks this before it creates a guest, so a refusal creates nothing.
    pub async fn check(&self, name: &str, caller: Option<&Caller>) -> Result<Room> {
        let name = RoomName::parse(name)?;
        let (room, member) = self.active_or_refusal(&name, caller, None).await?;
        let admission = policy::admit(&room, member.as_ref(), caller)?;
        if admission.needs_slot && room.is_full() {
            return Err(Refusal::Full.into());
        }
        Ok(room)
    }

    pub async fn update(&self, caller: &Caller, id: &RoomId, change: RoomChange) -> Result<Room> {
        self.managed(caller, id).await?;
        let settings = self.settings.current().await?;
        let patch = RoomPatch {
            is_public: change.is_public,
            suspended: None,
            max_participants: change
                .max_participants
                .map(|n| capacity(&settings, n))
                .transpose()?,
            mode: change.mode.as_deref().map(RoomMode::parse).transpose()?,
            settings: change.settings,
        };
        match self.store.update_room(id, &patch, now()).await? {
            RoomWrite::Done(room) => Ok(room),
            RoomWrite::Archived => Err(Refusal::Archived.into()),
            RoomWrite::NotFound => Err(Refusal::NotFound.into()),
        }
    }

    /// Archives the room (idempotent: archiving an archived room succeeds), then closes its
    /// LiveKit room so nobody stays in a meeting that no longer exists. The archive stands
    /// when LiveKit is unreachable (it is logged): deleting a room must not depend on it.
    pub async fn archive(&self, caller: &Caller, id: &RoomId) -> Result<()> {
        let room = self.managed(caller, id).await?;
        match self.store.archive_room(id, now()).await? {
            RoomWrite::Done(_) | RoomWrite::Archived => {}
            RoomWrite::NotFound => return Err(Refusal::NotFound.into()),
        }
        if let Some(lk) = &self.livekit {
            match lk.delete_room(&room.livekit_name()).await {
                Ok(()) | Err(LiveKitError::NotFound(_)) => {}
                Err(e) => tracing::warn!(error = %e, room = %room.id, "LiveKit room not closed"),
            }
        }
        Ok(())
    }

    pub async fn presence(&self, caller: Option<&Caller>, id: &RoomId) -> Result<Presence> {
        let room = self.store.room(id).await?.ok_or(Refusal::NotFound)?;
        let visible = room.is_public
            || match caller {
                None => false,
                Some(c) if room.is_owner(&c.id) || c.is_admin() => true,
                Some(c) => self
                    .store
                    .active_room(&room.name, Some(&c.id))
                    .await?
                    .is_some_and(|(r, m)| {
                        r.id == room.id && m.is_some_and(|m| m.admitted && !m.banned)
                    }),
            };
        let members = if visible && room.is_active {
            self.store.active_members(&room).await?
        } else {
            Vec::new()
        };
        Ok(Presence { members, visible })
    }

    /// Enters a room by name: policy, then a slot from the store, then a token.
    /// `session`: the caller's session, checked in the same read (`None` when the caller's
    /// session was just opened, as by guest join).
    pub async fn join(
        &self,
        caller: &Caller,
        name: &str,
        session: Option<&SessionId>,
    ) -> Result<Joined> {
        let name = RoomName::parse(name)?;
        match self.find(&name, Some(caller), session).await? {
            Found::Active(room, member) => Ok(Joined::In(self.enter(caller, room, member).await?)),
            Found::Archived(room) if room.is_owner(&caller.id) => Ok(Joined::ArchivedOwned(room)),
            Found::Archived(_) => Err(Refusal::Archived.into()),
        }
    }

    /// A fresh token for someone already allowed in; bans and restrictions are read again,
    /// and someone who lost their slot must win one again (refresh never bypasses capacity).
    pub async fn refresh(
        &self,
        caller: &Caller,
        name: &str,
        session: Option<&SessionId>,
    ) -> Result<Entry> {
        let name = RoomName::parse(name)?;
        let (room, member) = self.active_or_refusal(&name, Some(caller), session).await?;
        self.enter(caller, room, member).await
    }

    async fn enter(&self, caller: &Caller, room: Room, member: Option<Member>) -> Result<Entry> {
        let tokens = self.tokens.as_ref().ok_or_else(|| {
            Error::internal("LiveKit key pair is not configured (livekit.apiKey/apiSecret)")
        })?;
        let admission = policy::admit(&room, member.as_ref(), Some(caller))?;
        let t = now();
        if admission.needs_slot {
            match self
                .store
                .occupy(&room, member.as_ref(), &caller.id, &caller.name, t)
                .await?
            {
                Occupy::Joined | Occupy::AlreadyActive => {}
                Occupy::Full => return Err(Refusal::Full.into()),
                Occupy::Banned => return Err(Refusal::Banned.into()),
                Occupy::RoomGone => return Err(Refusal::Archived.into()),
            }
        }
        let rights = policy::rights(&room, admission.role, &admission.restrictions);
        let metadata = participant_metadata(
            None,
            admission.role,
            &caller.accesses,
            admission.restrictions.chat_blocked,
        );
        let token = tokens.mint(&caller.id, &caller.name, &room, &rights, &metadata, t)?;
        crate::metrics::join_token(if caller.is_guest() { "guest" } else { "member" });
        Ok(Entry {
            room,
            role: admission.role,
            token,
        })
    }

    /// The active room with this name (and the caller's member record), else the last
    /// archived one; neither is 404. With the caller's session, that session is read in the
    /// same request and must be alive (join and refresh check it here, in their one read).
    async fn find(
        &self,
        name: &RoomName,
        caller: Option<&Caller>,
        session: Option<&SessionId>,
    ) -> Result<Found> {
        let active = match (caller, session) {
            (Some(c), Some(sid)) => {
                let (active, live) = self.store.entry_read(name, &c.id, sid).await?;
                if !live.is_some_and(|s| !s.revoked && s.expires_at > now()) {
                    return Err(Error::unauthorized("Session ended: sign in again"));
                }
                active
            }
            _ => self.store.active_room(name, caller.map(|c| &c.id)).await?,
        };
        if let Some((room, member)) = active {
            return Ok(Found::Active(room, member));
        }
        match self.store.last_archived_room(name).await? {
            Some(room) => Ok(Found::Archived(room)),
            None => Err(Refusal::NotFound.into()),
        }
    }

    /// The active room by name, or the refusal that explains its absence.
    async fn active_or_refusal(
        &self,
        name: &RoomName,
        caller: Option<&Caller>,
        session: Option<&SessionId>,
    ) -> Result<(Room, Option<Member>)> {
        match self.find(name, caller, session).await? {
            Found::Active(room, member) => Ok((room, member)),
            Found::Archived(_) => Err(Refusal::Archived.into()),
        }
    }

    /// The room, if the caller may manage it (its owner or a platform admin).
    async fn managed(&self, caller: &Caller, id: &RoomId) -> Result<Room> {
        refuse_guests(caller)?;
        let room = self.store.room(id).await?.ok_or(Refusal::NotFound)?;
        if !room.is_owner(&caller.id) && !caller.is_admin() {
            return Err(Error::forbidden("Insufficient permissions"));
        }
        Ok(room)
    }
}

/// A room's `maxParticipants` as asked, within the server's limit (0 = unlimited).
fn capacity(settings: &RuntimeSettings, n: i64) -> Result<u32> {
    let max = settings.max_participants_limit;
    match u32::try_from(n) {
        Ok(v) if i64::from(v) <= max => Ok(v),
        _ => Err(Error::bad_request(format!(
            "maxParticipants must be between 0 (unlimited) and {max}"
        ))),
    }
}

fn refuse_guests(caller: &Caller) -> Result<()> {
    if caller.is_guest() {
        return Err(Error::forbidden("Guests cannot create or manage rooms"));
    }
    Ok(())
}

/// Seconds after creation that Bedrud stamps as a room's `expiresAt` (informational).
pub const ROOM_EXPIRY_SECS: UnixTime = 24 * 3600;
