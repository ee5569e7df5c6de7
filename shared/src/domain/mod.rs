//! Domain types. Newtypes validate when parsed, so a value of the type is always valid.
//! Nothing here knows HTTP, SQLite, AWS or LiveKit wire types.

mod account_token;
mod activity;
mod email;
mod identity;
mod invite;
mod listing;
pub mod name;
mod passkey;
mod password;
pub mod policy;
mod presence;
mod recording;
mod room;
mod room_name;
mod session;
mod settings;
mod standing;
mod tally;
mod user;

pub use account_token::{AccountToken, TokenPurpose, presented as presented_token};
pub use activity::{Attendance, EVENT_RETENTION_SECS, EventQuery, RoomEvent, RoomEventKind};
pub use email::Email;
pub use identity::UserId;
pub use invite::{InviteRefusal, InviteToken, MAX_INVITE_HOURS};
pub use listing::{RoomQuery, RoomSort, RoomStatus, TableQuery, UserQuery, UserSort};
pub use name::DisplayName;
pub use passkey::{Ceremony, Passkey, PendingCeremony};
pub use password::Password;
pub use presence::presence_change;
pub use recording::{Recording, RecordingId, RecordingMove, RecordingStatus};
pub use room::{
    LiveRoomName, Member, MemberRole, Restrictions, Room, RoomId, RoomMode, RoomPatch,
    RoomSettings, SettingsPatch, Source,
};
pub use room_name::RoomName;
pub use session::{REFRESH_GRACE_SECS, Replay, Session, SessionId};
pub use settings::{
    Incoming, MASK, RuntimeSettings, SettingKind, SettingRefusal, SettingValue, StoredSettings,
};
pub use standing::{MemberChange, Standing};
pub use tally::{Metric, Scope, Tallies, Tally, day, day_start};
pub use user::{Access, AdminCount, Provider, ProviderAccount, User, UserChange, is_active_admin};

/// Seconds since the Unix epoch: what tokens, TTL attributes and both stores speak.
pub type UnixTime = i64;

pub fn now() -> UnixTime {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// 256 random bits, base64url without padding (43 characters): an OAuth state, nonce or PKCE
/// verifier, a passkey ceremony's id.
pub fn random_token() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
