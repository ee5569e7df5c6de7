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
