//! Recordings and their life: `pending → active → ending → processing → completed | failed`.
//! Every move goes forward; the store applies a move only from the states it lists, so
//! duplicated and reordered egress events cannot take a recording backwards.

use std::fmt;

use super::{RoomId, UnixTime, UserId};
use crate::error::Error;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordingId(String);

impl RecordingId {
    pub fn new() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    pub fn parse(raw: &str) -> Result<Self, Error> {
        match uuid::Uuid::try_parse(raw) {
            Ok(u) if u.hyphenated().to_string() == raw => Ok(Self(raw.to_string())),
            _ => Err(Error::not_found("Recording not found")),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for RecordingId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for RecordingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordingStatus {
    /// Row written, egress requested.
    Pending,
    /// LiveKit says the egress runs.
    Active,
    /// Stop requested, or LiveKit is finishing the file.
    Ending,
    /// The file exists; the processing job copies it to its final place.
    Processing,
    Completed,
    Failed,
}

impl RecordingStatus {
    pub const ALL: [RecordingStatus; 6] = [
        RecordingStatus::Pending,
        RecordingStatus::Active,
        RecordingStatus::Ending,
        RecordingStatus::Processing,
        RecordingStatus::Completed,
        RecordingStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordingStatus::Pending => "pending",
            RecordingStatus::Active => "active",
            RecordingStatus::Ending => "ending",
            RecordingStatus::Processing => "processing",
            RecordingStatus::Completed => "completed",
            RecordingStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Holds the room's one recording slot: an egress may still be writing.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            RecordingStatus::Pending | RecordingStatus::Active | RecordingStatus::Ending
        )
    }

    /// The states a move to `self` may start from (forward only; failure from any unfinished
    /// state).
    pub fn reachable_from(self) -> &'static [RecordingStatus] {
        use RecordingStatus::*;
        match self {
            // Pending → pending attaches what LiveKit answered (the egress id).
            Pending => &[Pending],
            Active => &[Pending],
            Ending => &[Pending, Active],
            Processing => &[Pending, Active, Ending],
            Completed => &[Processing],
            Failed => &[Pending, Active, Ending, Processing],
        }
    }
}

/// One recording of one room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    pub id: RecordingId,
    pub room_id: RoomId,
    pub room_name: String,
    pub started_by: UserId,
    pub status: RecordingStatus,
    pub egress_id: Option<String>,
    /// Where the egress writes (an object key in the recordings bucket or directory).
    pub egress_key: String,
    /// Where the finished file lives, once completed.
    pub key: Option<String>,
    pub size: Option<i64>,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
    pub created_at: UnixTime,
    /// When LiveKit started writing; set once, never lost to later events.
    pub started_at: Option<UnixTime>,
    pub ended_at: Option<UnixTime>,
    pub updated_at: UnixTime,
}

/// A forward move and what it learned; `None` fields leave the stored value as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingMove {
    pub to: RecordingStatus,
    pub egress_id: Option<String>,
    pub started_at: Option<UnixTime>,
    pub ended_at: Option<UnixTime>,
    pub error: Option<String>,
    pub key: Option<String>,
    pub size: Option<i64>,
    pub duration_ms: Option<i64>,
}

impl RecordingMove {
    pub fn to(to: RecordingStatus) -> Self {
        Self {
            to,
            egress_id: None,
            started_at: None,
            ended_at: None,
            error: None,
            key: None,
            size: None,
            duration_ms: None,
        }
    }

    /// The recording after this move (what the store writes when the move applies).
    pub fn apply(&self, r: &Recording, now: UnixTime) -> Recording {
        let mut r = r.clone();
        r.status = self.to;
        r.egress_id = self.egress_id.clone().or(r.egress_id);
        r.started_at = r.started_at.or(self.started_at);
        r.ended_at = self.ended_at.or(r.ended_at);
        r.error = self.error.clone().or(r.error);
        r.key = self.key.clone().or(r.key);
        r.size = self.size.or(r.size);
        r.duration_ms = self.duration_ms.or(r.duration_ms);
        r.updated_at = now;
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_only_go_forward() {
        use RecordingStatus::*;
        for to in RecordingStatus::ALL {
            for from in to.reachable_from() {
                let rank = |s: RecordingStatus| RecordingStatus::ALL.iter().position(|x| *x == s);
                assert!(
                    rank(*from) < rank(to) || to == Failed || to == Pending,
                    "{from:?} → {to:?}"
                );
                assert!(!matches!(from, Completed | Failed));
            }
        }
        assert!(Pending.is_live() && Ending.is_live() && !Processing.is_live());
    }

    #[test]
    fn started_at_is_never_lost() {
        let r = Recording {
            id: RecordingId::new(),
            room_id: RoomId::new(),
            room_name: "r".into(),
            started_by: UserId::new_account(),
            status: RecordingStatus::Active,
            egress_id: Some("EG_1".into()),
            egress_key: "egress/x.mp4".into(),
            key: None,
            size: None,
            duration_ms: None,
            error: None,
            created_at: 1,
            started_at: Some(10),
            ended_at: None,
            updated_at: 1,
        };
        let mut m = RecordingMove::to(RecordingStatus::Processing);
        m.started_at = Some(99);
        m.ended_at = Some(70);
        let after = m.apply(&r, 5);
        assert_eq!((after.started_at, after.ended_at), (Some(10), Some(70)));
    }
}
