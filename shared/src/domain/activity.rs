//! What happened in rooms, as the admin console reads it back: each LiveKit connection (a
//! user's room sessions) and the room events log (`room_created`, `room_joined`). Both are
//! written once per fact, keyed by what identifies it (the room id, the connection's sid),
//! so a redelivered webhook records nothing twice.

use super::{RoomId, RoomName, UnixTime, UserId};

/// Room events are kept this long (the events page and its filters cover this window).
pub const EVENT_RETENTION_SECS: UnixTime = 90 * 86_400;

/// One connection to a room's meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendance {
    /// LiveKit's participant sid: one per connection.
    pub session: String,
    pub user_id: UserId,
    pub user_name: String,
    pub room_id: RoomId,
    pub room_name: RoomName,
    pub joined_at: UnixTime,
    pub left_at: Option<UnixTime>,
}

impl Attendance {
    /// Seconds connected: until it ended, or until `now` while it lasts.
    pub fn duration(&self, now: UnixTime) -> i64 {
        (self.left_at.unwrap_or(now) - self.joined_at).max(0)
    }

    /// The event this connection's first report logs.
    pub fn event(&self) -> RoomEvent {
        RoomEvent {
            kind: RoomEventKind::Joined,
            at: self.joined_at,
            key: format!("J{}", self.session),
            room_id: self.room_id.clone(),
            room_name: self.room_name.to_string(),
            user_id: Some(self.user_id.clone()),
            user_name: Some(self.user_name.clone()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoomEventKind {
    Created,
    Joined,
}

impl RoomEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RoomEventKind::Created => "room_created",
            RoomEventKind::Joined => "room_joined",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "room_created" => Some(RoomEventKind::Created),
            "room_joined" => Some(RoomEventKind::Joined),
            _ => None,
        }
    }
}

/// One entry of the room events log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomEvent {
    pub kind: RoomEventKind,
    pub at: UnixTime,
    /// What makes the event unique: `C<roomId>` or `J<connection sid>`.
    pub key: String,
    pub room_id: RoomId,
    pub room_name: String,
    pub user_id: Option<UserId>,
    /// The participant's name for joins; creations carry only the owner's id.
    pub user_name: Option<String>,
}

impl RoomEvent {
    pub fn created(room: &super::Room) -> Self {
        Self {
            kind: RoomEventKind::Created,
            at: room.created_at,
            key: format!("C{}", room.id),
            room_id: room.id.clone(),
            room_name: room.name.to_string(),
            user_id: Some(room.created_by.clone()),
            user_name: None,
        }
    }
}

/// Which events a page shows: a kind, text in the room or participant name, a time span
/// (inclusive), then `limit` of them after the first `offset`, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventQuery {
    pub kind: Option<RoomEventKind>,
    /// Lower-case.
    pub text: Option<String>,
    pub from: UnixTime,
    pub to: UnixTime,
    pub offset: u32,
    pub limit: u32,
}

impl EventQuery {
    pub fn matches(&self, e: &RoomEvent) -> bool {
        self.kind.is_none_or(|k| k == e.kind)
            && (self.from..=self.to).contains(&e.at)
            && self.text.as_deref().is_none_or(|t| {
                e.room_name.to_lowercase().contains(t)
                    || e.user_name
                        .as_deref()
                        .is_some_and(|n| n.to_lowercase().contains(t))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_queries_filter_by_kind_span_and_text() {
        let a = Attendance {
            session: "PA_1".into(),
            user_id: UserId::new_account(),
            user_name: "Ann Lee".into(),
            room_id: RoomId::new(),
            room_name: RoomName::parse("team-sync").unwrap(),
            joined_at: 100,
            left_at: Some(160),
        };
        assert_eq!(a.duration(1000), 60);
        let e = a.event();
        let q = EventQuery {
            kind: None,
            text: None,
            from: 0,
            to: 200,
            offset: 0,
            limit: 10,
        };
        assert!(q.matches(&e));
        let kind = |k| EventQuery {
            kind: Some(k),
            ..q.clone()
        };
        assert!(kind(RoomEventKind::Joined).matches(&e));
        assert!(!kind(RoomEventKind::Created).matches(&e));
        let text = |t: &str| EventQuery {
            text: Some(t.into()),
            ..q.clone()
        };
        assert!(text("ann").matches(&e) && text("sync").matches(&e));
        assert!(!text("bob").matches(&e));
        assert!(
            !EventQuery {
                from: 101,
                ..q.clone()
            }
            .matches(&e)
        );
    }
}
