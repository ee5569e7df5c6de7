//! Sessions (refresh-token families) and the rule that judges a token that lost a rotation.

use super::{UnixTime, UserId};

/// One signed-in device: a family of refresh tokens. Each refresh moves `generation` on by
/// one; presenting an older generation means a token was stolen or replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    pub generation: u64,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub revoked: bool,
    /// When `generation` last moved on (`None` before the first refresh).
    pub rotated_at: Option<UnixTime>,
}

/// How long the refresh token just rotated out still answers, with the current pair: two
/// tabs refreshing at once, or a retry after a lost answer, must not sign the user out.
pub const REFRESH_GRACE_SECS: UnixTime = 10;

/// What a refresh token that lost the compare-and-swap gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// The generation rotated out moments ago: answer with the current one.
    Current,
    /// An older generation of a live session: a stolen or replayed token.
    Reused,
    /// Revoked, expired, unknown, or a generation from the future.
    Invalid,
}

impl Session {
    /// Judges a refresh token of generation `presented` against this session as stored.
    pub fn replay(&self, presented: u64, now: UnixTime) -> Replay {
        if self.revoked || self.expires_at <= now || presented >= self.generation {
            return Replay::Invalid;
        }
        let just_rotated = self
            .rotated_at
            .is_some_and(|t| now - t <= REFRESH_GRACE_SECS && t <= now);
        if presented + 1 == self.generation && just_rotated {
            Replay::Current
        } else {
            Replay::Reused
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    pub fn new() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    /// Wraps an id read from a verified token or from the store.
    pub fn from_trusted(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for SessionId {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(generation: u64, rotated_at: Option<UnixTime>) -> Session {
        Session {
            id: SessionId::new(),
            user_id: UserId::new_account(),
            generation,
            created_at: 0,
            expires_at: 1_000,
            revoked: false,
            rotated_at,
        }
    }

    #[test]
    fn only_the_generation_just_rotated_out_gets_the_grace() {
        let s = session(3, Some(100));
        assert_eq!(s.replay(2, 100 + REFRESH_GRACE_SECS), Replay::Current);
        assert_eq!(s.replay(2, 101 + REFRESH_GRACE_SECS), Replay::Reused);
        assert_eq!(s.replay(1, 101), Replay::Reused);
        assert_eq!(s.replay(3, 101), Replay::Invalid);
        assert_eq!(session(3, None).replay(2, 101), Replay::Reused);
        let mut revoked = session(3, Some(100));
        revoked.revoked = true;
        assert_eq!(revoked.replay(2, 101), Replay::Invalid);
    }
}
