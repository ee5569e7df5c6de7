//! What a Bedrud database becomes here: each row mapped to our records by our rules, or set
//! aside with the reason and the fix. Nothing here reads or writes the target.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use bedrud_shared::blobs::BlobKey;
use bedrud_shared::domain::name::MAX_USER_NAME;
use bedrud_shared::domain::{
    Access, DisplayName, Email, Incoming, InviteToken, Passkey, Provider, ProviderAccount,
    Recording, RecordingId, RecordingStatus, Restrictions, Room, RoomId, RoomMode, RoomName,
    RoomSettings, RuntimeSettings, SettingKind, SettingValue, Source as Media, StoredSettings,
    UnixTime, User, UserId,
};

use super::fields::field;
use super::files::Files;
use super::source::{Row, Source};

/// What kind of record a line of the report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    User,
    Preferences,
    Room,
    Member,
    Invite,
    Setting,
    Recording,
    Passkey,
    Link,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::User => "users",
            Kind::Preferences => "preferences",
            Kind::Room => "rooms",
            Kind::Member => "room members",
            Kind::Invite => "invite tokens",
            Kind::Setting => "settings",
            Kind::Recording => "recordings",
            Kind::Passkey => "passkeys",
            Kind::Link => "provider ids",
        })
    }
}

/// A row set aside, with why and what fixes it.
#[derive(Debug, Clone)]
pub struct Skip {
    pub kind: Kind,
    pub id: String,
    pub reason: String,
}

/// A room ban (which supersedes the rest), a moderator role and restrictions, to carry.
#[derive(Debug, Clone)]
pub struct Membership {
    pub room: RoomId,
    pub user: UserId,
    pub banned: bool,
    pub moderator: bool,
    /// Muted (microphone), video off (camera), chat blocked.
    pub restrictions: Restrictions,
}

#[derive(Default)]
pub struct Plan {
    pub users: Vec<User>,
    pub preferences: Vec<(UserId, String)>,
    /// Archived rooms first (oldest first), then active ones: an archived record briefly
    /// holds its name while it is written, before an active room takes it for good.
    pub rooms: Vec<Room>,
    pub members: Vec<Membership>,
    pub invites: Vec<InviteToken>,
    pub settings: Vec<(String, SettingValue)>,
    /// Finished recordings of imported rooms, and the key of Bedrud's file among its
    /// recording files (completed ones).
    pub recordings: Vec<(Recording, Option<BlobKey>)>,
    /// Passkeys of imported accounts, keys as Bedrud stored them (SubjectPublicKeyInfo).
    pub passkeys: Vec<Passkey>,
    /// Provider identities of accounts whose id is the provider's (older Bedrud made the
    /// provider's user id the account's id; newer Bedrud kept no identity at all).
    pub links: Vec<(UserId, ProviderAccount)>,
    pub skipped: Vec<Skip>,
    /// What is deliberately not carried, counted (transient data, guests, config-file keys).
    pub left_behind: Vec<String>,
}

impl Plan {
    pub fn total(&self) -> usize {
        self.users.len()
            + self.preferences.len()
            + self.rooms.len()
            + self.members.len()
            + self.invites.len()
            + self.settings.len()
            + self.recordings.len()
            + self.passkeys.len()
            + self.links.len()
    }

    fn skip(&mut self, kind: Kind, id: impl Into<String>, reason: impl Into<String>) {
        self.skipped.push(Skip {
            kind,
            id: id.into(),
            reason: reason.into(),
        });
    }
}

/// Reads every table the import carries and maps it; `files` is where Bedrud's recording
/// files are (without it, completed recordings are listed, not carried).
pub async fn plan(
    source: &Source,
    settings: Option<&Row>,
    now: UnixTime,
    files: Option<&Files>,
) -> Result<Plan, String> {
    let mut p = Plan::default();
    let users = source.rows("users").await?;
    map_users(&mut p, users);
    map_links(&mut p);
    map_preferences(&mut p, source.rows("user_preferences").await?);
    let accounts: HashSet<UserId> = p.users.iter().map(|u| u.id.clone()).collect();
    map_rooms(&mut p, source.rows("rooms").await?, &accounts);
    map_members(&mut p, source.rows("room_participants").await?, &accounts);
    map_invites(&mut p, source.rows("invite_tokens").await?, now);
    if let Some(row) = settings {
        map_settings(&mut p, row);
    }
    map_recordings(&mut p, source.rows("recordings").await?, files).await?;
    map_passkeys(&mut p, source.rows("passkeys").await?, &accounts, now);
    for (table, what) in [
        (
            "blocked_refresh_tokens",
            "revoked sessions (everyone signs in again)",
        ),
        ("blocked_access_tokens", "revoked access tokens"),
        ("jobs", "Bedrud's background jobs"),
        ("chat_uploads", "chat uploads"),
        ("webhooks", "outgoing webhooks (set them up again)"),
        ("verification_events", "verification history"),
    ] {
        let n = source.count(table).await?;
        if n > 0 {
            p.left_behind.push(format!("{n} {what}"));
        }
    }
    Ok(p)
}

/// Accounts, oldest first (the first account with an address keeps it). Guests are counted,
/// not carried: they are per visit (their room bans are carried by id).
fn map_users(p: &mut Plan, mut rows: Vec<Row>) {
    rows.sort_by_key(|r| field(r, "created_at").time().ok().flatten().unwrap_or(0));
    let mut guests = 0;
    let mut emails: HashMap<Email, UserId> = HashMap::new();
    let mut accounts = HashSet::new();
    for row in rows {
        let raw_id = field(&row, "id").text().unwrap_or_default();
        let provider = field(&row, "provider")
            .text()
            .unwrap_or_else(|| "local".into());
        let raw_email = field(&row, "email").text().unwrap_or_default();
        if provider == "guest" || raw_email.ends_with("@bedrud.guest") {
            guests += 1;
            continue;
        }
        match map_user(&row, &raw_id, &provider, &raw_email) {
            Err(reason) => p.skip(Kind::User, raw_id, reason),
            Ok(user) => {
                let email = user.email.clone().expect("accounts have an address");
                if let Some(first) = emails.get(&email) {
                    p.skip(
                        Kind::User,
                        raw_id,
                        format!(
                            "e-mail {email} ({provider}) is also account {first}, created \
                             earlier, which keeps it: merge the two in Bedrud or change this \
                             one's address, then run again"
                        ),
                    );
                } else if !accounts.insert(user.id.clone()) {
                    p.skip(Kind::User, raw_id, "the same id appears twice");
                } else {
                    emails.insert(email, user.id.clone());
                    p.users.push(user);
                }
            }
        }
    }
    if guests > 0 {
        p.left_behind.push(format!(
            "{guests} guest accounts (guests sign in again; their room bans are kept)"
        ));
    }
}

/// Older Bedrud gave an account that signed up with a provider the provider's own user id
/// (Google's `sub`, GitHub's or X's numeric id), the subject sign-in here looks up: it is
/// linked, so the account is found even where the provider's address has changed or is not
/// shared (X). Newer Bedrud's UUID accounts have no such id; they link by verified address at
/// their first sign-in.
fn map_links(p: &mut Plan) {
    for user in &p.users {
        let oauth = matches!(
            user.provider,
            Provider::Google | Provider::Github | Provider::Twitter
        );
        if oauth && user.id.as_str().bytes().all(|b| b.is_ascii_digit()) {
            let link = ProviderAccount {
                provider: user.provider,
                subject: user.id.as_str().to_string(),
            };
            p.links.push((user.id.clone(), link));
        }
    }
}

fn map_user(row: &Row, raw_id: &str, provider: &str, raw_email: &str) -> Result<User, String> {
    let id = UserId::parse(raw_id)
        .map_err(|_| format!("id {raw_id:?} is not a UUID, a guest id or a provider's id"))?;
    let provider = Provider::parse(provider)
        .ok_or_else(|| format!("unknown sign-in provider {provider:?}"))?;
    let email = Email::parse(raw_email).map_err(|_| {
        format!("invalid e-mail {raw_email:?}: correct it in Bedrud, then run again")
    })?;
    let raw_name = field(row, "name").text().unwrap_or_default();
    // A name our rules refuse (too short, only invisible characters) falls back to the
    // address's local part, which always passes: the account matters more than the name.
    let local = email.as_str().split('@').next().unwrap_or_default();
    let name = DisplayName::parse(&raw_name, MAX_USER_NAME)
        .or_else(|_| DisplayName::parse(local, MAX_USER_NAME))
        .or_else(|_| DisplayName::parse(&format!("user {local}"), MAX_USER_NAME))
        .map_err(|e| format!("name {raw_name:?}: {e}"))?;
    let mut accesses: Vec<Access> = field(row, "accesses")
        .list()
        .iter()
        .filter_map(|a| Access::parse(a))
        .collect();
    accesses.sort_unstable();
    accesses.dedup();
    if accesses.is_empty() {
        accesses.push(Access::User);
    }
    let created_at = field(row, "created_at").time()?.unwrap_or(0);
    let updated_at = field(row, "updated_at").time()?.unwrap_or(created_at);
    let password_hash = field(row, "password").text();
    if let Some(h) = &password_hash
        && !["$2a$", "$2b$", "$2y$", "$argon2"]
            .iter()
            .any(|p| h.starts_with(p))
    {
        return Err("password hash is neither bcrypt nor argon2: reset it in Bedrud first".into());
    }
    Ok(User {
        id,
        email: Some(email),
        name,
        provider,
        accesses,
        avatar_url: field(row, "avatar_url").text(),
        is_active: field(row, "is_active").flag(true)?,
        password_hash,
        // NULL does not prove an address unverified (accounts from before Bedrud verified
        // addresses have NULL too): nobody who could sign in there is locked out here.
        email_verified_at: Some(
            field(row, "email_verified_at")
                .time()?
                .unwrap_or(created_at),
        ),
        signup_pending: false,
        created_at,
        updated_at,
    })
}

/// Bedrud's passkeys as they are: the same credential ids, keys and counters, so they keep
/// signing in as long as the relying party id stays the same.
fn map_passkeys(p: &mut Plan, rows: Vec<Row>, accounts: &HashSet<UserId>, now: UnixTime) {
    for row in rows {
        let id = field(&row, "id").text().unwrap_or_default();
        match map_passkey(&row, &id, accounts, now) {
            Ok(key) => p.passkeys.push(key),
            Err(why) => p.skip(Kind::Passkey, id, why),
        }
    }
}

fn map_passkey(
    row: &Row,
    id: &str,
    accounts: &HashSet<UserId>,
    now: UnixTime,
) -> Result<Passkey, String> {
    if id.is_empty() {
        return Err("no id".into());
    }
    let owner = field(row, "user_id").text().unwrap_or_default();
    let user_id = UserId::parse(&owner)
        .ok()
        .filter(|u| accounts.contains(u))
        .ok_or_else(|| format!("its account {owner} is not imported"))?;
    let credential_id = field(row, "credential_id")
        .bytes()?
        .ok_or("no credential id")?;
    let public_key = field(row, "public_key").bytes()?.ok_or("no public key")?;
    let algorithm = field(row, "algorithm").int()?.unwrap_or(-7);
    if ![-7, -257].contains(&algorithm) {
        return Err(format!(
            "algorithm {algorithm} is not ES256 (-7) or RS256 (-257)"
        ));
    }
    let sign_count = u32::try_from(field(row, "counter").int()?.unwrap_or(0))
        .map_err(|_| "counter: not a 32-bit count".to_string())?;
    Ok(Passkey {
        id: id.to_string(),
        user_id,
        credential_id,
        public_key,
        algorithm,
        sign_count,
        name: field(row, "name")
            .text()
            .unwrap_or_else(|| "Passkey".into()),
        created_at: field(row, "created_at").time()?.unwrap_or(now),
        last_used_at: None,
    })
}

fn map_preferences(p: &mut Plan, rows: Vec<Row>) {
    let known: HashSet<&UserId> = p.users.iter().map(|u| &u.id).collect();
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for row in rows {
        let raw = field(&row, "user_id").text().unwrap_or_default();
        let Some(id) = UserId::parse(&raw).ok().filter(|id| known.contains(id)) else {
            continue; // a guest's, or a dangling row: nobody to carry it for
        };
        let json = field(&row, "preferences_json")
            .text()
            .unwrap_or_else(|| "{}".into());
        match serde_json::from_str::<serde_json::Value>(&json) {
            Ok(v) if v.is_object() && json.len() <= 4096 => {
                if v.as_object().is_some_and(|o| !o.is_empty()) {
                    out.push((id, json));
                }
            }
            _ => skipped.push((raw, "not a JSON object of at most 4 KB")),
        }
    }
    p.preferences = out;
    for (id, why) in skipped {
        p.skip(Kind::Preferences, id, why);
    }
}

fn map_rooms(p: &mut Plan, rows: Vec<Row>, accounts: &HashSet<UserId>) {
    let mut rooms = Vec::new();
    for row in rows {
        let raw_id = field(&row, "id").text().unwrap_or_default();
        match map_room(&row, &raw_id, accounts) {
            Ok(room) => rooms.push(room),
            Err(reason) => p.skip(Kind::Room, raw_id, reason),
        }
    }
    rooms.sort_by_key(|r| (r.is_active, r.archived_at.unwrap_or(r.created_at)));
    p.rooms = rooms;
}

fn map_room(row: &Row, raw_id: &str, accounts: &HashSet<UserId>) -> Result<Room, String> {
    let id = RoomId::parse(raw_id).map_err(|_| format!("id {raw_id:?} is not a UUID"))?;
    let raw_name = field(row, "name").text().unwrap_or_default();
    let name = RoomName::parse(&raw_name).map_err(|e| {
        format!(
            "name {raw_name:?} is refused here ({e}): rename the room in Bedrud, then run again"
        )
    })?;
    let owner_raw = field(row, "created_by")
        .text()
        .or_else(|| field(row, "admin_id").text())
        .unwrap_or_default();
    let owner = UserId::parse(&owner_raw)
        .ok()
        .filter(|o| accounts.contains(o))
        .ok_or_else(|| format!("its owner {owner_raw:?} is not an imported account"))?;
    let admin = field(row, "admin_id")
        .text()
        .and_then(|a| UserId::parse(&a).ok())
        .filter(|a| accounts.contains(a))
        .unwrap_or_else(|| owner.clone());
    let created_at = field(row, "created_at").time()?.unwrap_or(0);
    let updated_at = field(row, "updated_at").time()?.unwrap_or(created_at);
    let is_active = field(row, "is_active").flag(true)?;
    let mode = match field(row, "mode").text() {
        None => RoomMode::Standard,
        Some(m) => RoomMode::parse(&m).map_err(|e| format!("mode {m:?}: {e}"))?,
    };
    let mut flags = BTreeMap::new();
    for (ours, theirs) in SWITCHES {
        let f = field(row, theirs);
        if row.get(theirs).is_some_and(|v| !v.is_null()) {
            flags.insert(ours, f.flag(false)?);
        }
    }
    let max = field(row, "max_participants").int()?.unwrap_or(0);
    let mut room = Room::new(name, owner, created_at);
    room.id = id;
    room.admin_id = admin;
    room.is_public = field(row, "is_public").flag(false)?;
    room.max_participants = u32::try_from(max.max(0)).unwrap_or(u32::MAX);
    room.mode = mode;
    room.settings = RoomSettings::from_flags(|n| flags.get(n).copied());
    room.updated_at = updated_at;
    room.last_activity_at = field(row, "last_activity_at").time()?.unwrap_or(created_at);
    // Bedrud's inactive rooms (archived, idle or expired) are archived here: their names are
    // free there too, and their history stays readable.
    if !is_active {
        room.is_active = false;
        room.archived_at = Some(field(row, "deleted_at").time()?.unwrap_or(updated_at));
    }
    Ok(room)
}

/// Our switch names and Bedrud's columns.
const SWITCHES: [(&str, &str); 7] = [
    ("allowChat", "settings_allow_chat"),
    ("allowVideo", "settings_allow_video"),
    ("allowAudio", "settings_allow_audio"),
    ("requireApproval", "settings_require_approval"),
    ("e2ee", "settings_e2_ee"),
    ("isPersistent", "settings_is_persistent"),
    ("recordingsAllowed", "settings_recordings_allowed"),
];

fn map_members(p: &mut Plan, rows: Vec<Row>, accounts: &HashSet<UserId>) {
    let active: HashSet<&RoomId> = p
        .rooms
        .iter()
        .filter(|r| r.is_active)
        .map(|r| &r.id)
        .collect();
    let known: HashSet<&RoomId> = p.rooms.iter().map(|r| &r.id).collect();
    let (mut plain, mut archived) = (0, 0);
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for row in rows {
        let raw_id = field(&row, "id").text().unwrap_or_default();
        let flags = [
            "is_banned",
            "is_moderator",
            "is_muted",
            "is_video_off",
            "is_chat_blocked",
        ]
        .map(|name| field(&row, name).flag(false));
        let [banned, moderator, muted, video_off, chat_blocked] = match flags {
            [Ok(a), Ok(b), Ok(c), Ok(d), Ok(e)] => [a, b, c, d, e],
            _ => {
                let e = flags.into_iter().find_map(Result::err).unwrap_or_default();
                skipped.push((raw_id, e));
                continue;
            }
        };
        let mut restrictions = Restrictions {
            chat_blocked,
            ..Restrictions::default()
        };
        restrictions.set(Media::Microphone, muted);
        restrictions.set(Media::Camera, video_off);
        let restricted = restrictions != Restrictions::default();
        if !banned && !moderator && !restricted {
            plain += 1; // presence history: recreated at the next join
            continue;
        }
        let room = field(&row, "room_id")
            .text()
            .and_then(|r| RoomId::parse(&r).ok());
        let Some(room) = room.filter(|r| known.contains(r)) else {
            continue; // its room was not carried (listed under rooms) or is gone
        };
        if !active.contains(&room) {
            archived += 1;
            continue;
        }
        let raw_user = field(&row, "user_id").text().unwrap_or_default();
        let user = UserId::parse(&raw_user)
            .ok()
            .filter(|u| accounts.contains(u) || (u.is_guest() && !moderator));
        match user {
            Some(user) => out.push(Membership {
                room,
                user,
                banned,
                moderator,
                restrictions,
            }),
            None => skipped.push((
                raw_id,
                format!("member {raw_user:?} is not an imported account"),
            )),
        }
    }
    p.members = out;
    for (id, why) in skipped {
        p.skip(Kind::Member, id, why);
    }
    if plain > 0 {
        p.left_behind.push(format!(
            "{plain} plain room memberships (presence history; recreated at the next join)"
        ));
    }
    if archived > 0 {
        p.left_behind.push(format!(
            "{archived} bans and moderator roles in inactive rooms (archived here)"
        ));
    }
}

fn map_invites(p: &mut Plan, rows: Vec<Row>, now: UnixTime) {
    // The CLI's invites name `cli` as their creator; they are kept under the first admin.
    let first_admin = p
        .users
        .iter()
        .find(|u| u.accesses.iter().any(|a| *a >= Access::Admin))
        .map(|u| u.id.clone());
    let sorted = sort_rows(Kind::Invite, rows, |row, raw_id| {
        let used = field(row, "used_at").time()?.is_some();
        let expires_at = field(row, "expires_at").time()?.unwrap_or(0);
        if used || expires_at <= now {
            return Ok(None);
        }
        let token = field(row, "token").text().ok_or("no token")?;
        let email = match field(row, "email").text() {
            None => None,
            Some(e) => Some(Email::parse(&e).map_err(|_| format!("invalid e-mail {e:?}"))?),
        };
        let by = field(row, "created_by").text().unwrap_or_default();
        let created_by = UserId::parse(&by)
            .ok()
            .or_else(|| first_admin.clone())
            .ok_or_else(|| format!("created by {by:?} and no admin account is imported"))?;
        Ok(Some(InviteToken {
            id: raw_id.to_string(),
            token,
            email,
            created_by,
            created_at: field(row, "created_at").time()?.unwrap_or(now),
            expires_at,
            used_at: None,
            used_by: None,
        }))
    });
    let spent = sorted.dropped;
    p.invites = sorted.kept;
    p.skipped.extend(sorted.skipped);
    if spent > 0 {
        p.left_behind
            .push(format!("{spent} used or expired invite tokens"));
    }
}

/// Bedrud's runtime-settings columns and our keys. Empty or 0 means "use config.yaml" there,
/// so those stay unset here too.
const SETTINGS: [(&str, &str); 11] = [
    ("server_name", "serverName"),
    ("registration_enabled", "registrationEnabled"),
    ("token_registration_only", "tokenRegistrationOnly"),
    ("guest_login_enabled", "guestLoginEnabled"),
    ("recordings_enabled", "recordingsEnabled"),
    ("max_participants_limit", "maxParticipantsLimit"),
    ("max_rooms_per_user", "maxRoomsPerUser"),
    ("rn_noise_enabled", "rnnoiseEnabled"),
    ("krisp_enabled", "krispEnabled"),
    ("chat_message_ttl_hours", "chatMessageTTLHours"),
    ("chat_max_message_count", "chatMaxMessageCount"),
];

/// Columns that are configuration here (config.yaml or environment), not runtime settings.
const CONFIG_COLUMNS: [(&str, &str); 14] = [
    ("google_client_id", "auth.google.clientId"),
    ("github_client_id", "auth.github.clientId"),
    ("twitter_client_id", "auth.twitter.clientId"),
    ("frontend_url", "auth.frontendURL"),
    ("server_domain", "server.domain"),
    ("live_kit_host", "livekit.host"),
    ("live_kit_api_key", "livekit.apiKey"),
    ("cors_allowed_origins", "cors.allowedOrigins"),
    ("email_smtp_host", "email.smtpHost"),
    ("email_from_address", "email.fromAddress"),
    ("email_instance_name", "server.name"),
    ("chat_upload_backend", "chat uploads"),
    ("log_level", "logger.level"),
    ("jwt_secret", "auth.jwtSecret (sessions restart anyway)"),
];

/// Bedrud's runtime settings: row 1 of `system_settings` (else its first row).
pub fn settings_row(rows: &[Row]) -> Option<&Row> {
    rows.iter()
        .find(|r| field(r, "id").int().ok().flatten() == Some(1))
        .or(rows.first())
}

fn map_settings(p: &mut Plan, row: &Row) {
    let mut change = Vec::new();
    for (theirs, ours) in SETTINGS {
        let Some(kind) = RuntimeSettings::KEYS
            .iter()
            .find(|(k, _)| *k == ours)
            .map(|k| k.1)
        else {
            continue;
        };
        let f = field(row, theirs);
        let incoming = match kind {
            SettingKind::Bool if row.get(theirs).is_some_and(|v| !v.is_null()) => {
                f.flag(false).map(Incoming::Bool)
            }
            SettingKind::Int { .. } => f
                .int()
                .map(|n| n.filter(|n| *n != 0).map_or(Incoming::Null, Incoming::Int)),
            SettingKind::Text { .. } => Ok(f.text().map_or(Incoming::Null, Incoming::Text)),
            _ => Ok(Incoming::Null),
        };
        match incoming {
            Ok(Incoming::Null) => {}
            Ok(v) => change.push((ours.to_string(), v)),
            Err(why) => p.skip(Kind::Setting, theirs, why),
        }
    }
    // Each value is checked by the rules an admin's change meets; a refused one is listed.
    for (key, value) in change {
        match StoredSettings::default().merged(&[(key.clone(), value)]) {
            Ok(s) => p.settings.extend(s.values),
            Err(refusal) => p.skip(Kind::Setting, key, refusal.0),
        }
    }
    let by_hand: Vec<&str> = CONFIG_COLUMNS
        .iter()
        .filter(|(col, _)| field(row, col).text().is_some())
        .map(|(_, key)| *key)
        .collect();
    if !by_hand.is_empty() {
        p.left_behind.push(format!(
            "settings that are configuration here; set them in config.yaml: {}",
            by_hand.join(", ")
        ));
    }
}

/// Bedrud's finished recordings in imported rooms: completed ones with their file (found
/// under `dir` by the egress filename Bedrud kept), failed ones as history. Recordings still
/// in progress there are not carried: their egress belongs to Bedrud's LiveKit.
/// Finished recordings of imported rooms; a completed one only with its file, found among
/// `files`.
async fn map_recordings(p: &mut Plan, rows: Vec<Row>, files: Option<&Files>) -> Result<(), String> {
    let rooms: HashSet<&RoomId> = p.rooms.iter().map(|r| &r.id).collect();
    let sorted = sort_rows(Kind::Recording, rows, |row, raw_id| {
        let status = match field(row, "status").text().as_deref() {
            Some("completed") => RecordingStatus::Completed,
            Some("failed") => RecordingStatus::Failed,
            _ => return Ok(None),
        };
        let id = RecordingId::parse(raw_id).map_err(|_| "id is not a UUID".to_string())?;
        let room_raw = field(row, "room_id").text().unwrap_or_default();
        let room_id = RoomId::parse(&room_raw)
            .ok()
            .filter(|r| rooms.contains(r))
            .ok_or_else(|| format!("its room {room_raw:?} is not imported"))?;
        let by = field(row, "created_by").text().unwrap_or_default();
        let started_by =
            UserId::parse(&by).map_err(|_| format!("started by {by:?}, not a user id"))?;
        let file_url = field(row, "file_url").text();
        let file = match (status, &file_url, files) {
            (RecordingStatus::Failed, ..) => None,
            (_, None, _) => return Err("completed, but Bedrud kept no file name".into()),
            (_, Some(_), None) => {
                return Err("its file is not copied without --recordings-dir or \
                            --recordings-bucket (where Bedrud kept its recordings)"
                    .into());
            }
            (_, Some(name), Some(_)) => Some(name.clone()),
        };
        let created_at = field(row, "created_at").time()?.unwrap_or(0);
        let ended_at = field(row, "completed_at").time()?;
        Ok(Some((
            Recording {
                id,
                room_id,
                room_name: field(row, "room_name").text().unwrap_or_default(),
                started_by,
                status,
                egress_id: field(row, "egress_id").text(),
                egress_key: file_url.unwrap_or_default(),
                key: None,
                size: field(row, "file_size").int()?.filter(|n| *n > 0),
                duration_ms: field(row, "duration_ms").int()?.filter(|n| *n > 0),
                error: field(row, "error").text(),
                created_at,
                started_at: field(row, "started_at").time()?,
                ended_at,
                updated_at: field(row, "updated_at").time()?.unwrap_or(created_at),
            },
            file,
        )))
    });
    let unfinished = sorted.dropped;
    p.skipped.extend(sorted.skipped);
    if unfinished > 0 {
        p.left_behind.push(format!(
            "{unfinished} recordings still in progress or being deleted in Bedrud"
        ));
    }
    for (rec, file_url) in sorted.kept {
        let (Some(files), Some(url)) = (files, file_url) else {
            p.recordings.push((rec, None));
            continue;
        };
        match files.find(&url).await? {
            Some(key) => p.recordings.push((rec, Some(key))),
            None => p.skip(
                Kind::Recording,
                rec.id.as_str(),
                format!("file {url:?} not found in {}", files.place),
            ),
        }
    }
    Ok(())
}

/// Rows mapped one by one: kept, deliberately left (counted), or skipped with the reason.
struct Sorted<T> {
    kept: Vec<T>,
    dropped: usize,
    skipped: Vec<Skip>,
}

/// Maps each row with `f` (given the row and its id): `Ok(Some)` keeps it, `Ok(None)` leaves
/// it behind, `Err` lists it under `kind` with the reason.
fn sort_rows<T>(
    kind: Kind,
    rows: Vec<Row>,
    mut f: impl FnMut(&Row, &str) -> Result<Option<T>, String>,
) -> Sorted<T> {
    let mut out = Sorted {
        kept: Vec::new(),
        dropped: 0,
        skipped: Vec::new(),
    };
    for row in rows {
        let id = field(&row, "id").text().unwrap_or_default();
        match f(&row, &id) {
            Ok(Some(t)) => out.kept.push(t),
            Ok(None) => out.dropped += 1,
            Err(reason) => out.skipped.push(Skip { kind, id, reason }),
        }
    }
    out
}
