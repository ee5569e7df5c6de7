//! Domain types. Newtypes validate when parsed, so a value of the type is always valid.
//! Nothing here knows HTTP, SQLite, AWS or LiveKit wire types.

mod email;
mod identity;
pub mod name;
mod password;
pub mod policy;
mod recording;
mod room;
mod room_name;
mod session;
mod user;

pub use email::Email;
pub use identity::UserId;
pub use name::DisplayName;
pub use password::Password;
pub use recording::{Recording, RecordingId, RecordingMove, RecordingStatus};
pub use room::{
    Member, MemberRole, Restrictions, Room, RoomId, RoomMode, RoomPatch, RoomSettings,
    SettingsPatch, Source,
};
pub use room_name::RoomName;
pub use session::{Session, SessionId};
pub use user::{Access, Provider, User};

/// Seconds since the Unix epoch: what tokens, TTL attributes and both stores speak.
pub type UnixTime = i64;

pub fn now() -> UnixTime {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
