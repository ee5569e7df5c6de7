//! Store ports. Each invariant (unique email, refresh-token compare-and-swap, counters) is
//! one conditional or transactional write in the adapter, never read-then-write here.
//! Adapters: `sqlite` (embedded, feature `embedded`) and `dynamodb` (feature `aws`).

#[cfg(feature = "aws")]
pub mod dynamodb;
#[cfg(feature = "embedded")]
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::{DisplayName, Email, Session, SessionId, UnixTime, User, UserId};
use crate::error::Error;

/// What a store can fail with, independent of the backend.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness or condition check failed (e.g. the email is taken).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// Temporary: busy, throttled, unreachable. Safe to retry.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store failure: {0}")]
    Other(String),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => Error::conflict(what),
            StoreError::Unavailable(m) => Error::Unavailable(m),
            StoreError::Other(m) => Error::Internal(m),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Inserts a user; `Conflict("email already registered")` if the email is taken,
    /// `Conflict("user id taken")` if the id is.
    async fn insert_user(&self, user: &User) -> StoreResult<()>;
    async fn user_by_id(&self, id: &UserId) -> StoreResult<Option<User>>;
    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>>;
    /// Sets the name and, if given, the email (conflict if taken). `None` if no such user.
    async fn update_profile(
        &self,
        id: &UserId,
        name: &DisplayName,
        email: Option<&Email>,
        now: UnixTime,
    ) -> StoreResult<Option<User>>;
    /// Replaces the password hash. `false` if no such user.
    async fn set_password_hash(&self, id: &UserId, hash: &str, now: UnixTime) -> StoreResult<bool>;
    async fn preferences(&self, id: &UserId) -> StoreResult<Option<String>>;
    async fn set_preferences(&self, id: &UserId, json: &str, now: UnixTime) -> StoreResult<()>;
}

/// Outcome of a refresh-token rotation attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The presented generation was current; the session now holds `generation + 1`.
    Rotated(Session),
    /// The presented generation is older than the current one: a replayed token.
    Reused,
    /// Revoked, expired or unknown: the token is simply no longer valid.
    Invalid,
}

/// Sessions are addressed by user and id: both travel in every token, and keeping a user's
/// sessions together makes "all sessions of a user" one strongly consistent read.
#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn insert_session(&self, session: &Session) -> StoreResult<()>;
    /// Compare-and-swap: moves a live session from `generation` to `generation + 1` and
    /// extends it to `expires_at`. Exactly one of concurrent callers with the same
    /// generation gets `Rotated`.
    async fn rotate_session(
        &self,
        user: &UserId,
        id: &SessionId,
        generation: u64,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> StoreResult<Rotation>;
    async fn session(&self, user: &UserId, id: &SessionId) -> StoreResult<Option<Session>>;
    /// Revokes one session (idempotent).
    async fn revoke_session(&self, user: &UserId, id: &SessionId, now: UnixTime)
    -> StoreResult<()>;
    /// Revokes every session of a user except `keep`; returns how many were revoked.
    async fn revoke_user_sessions(
        &self,
        user: &UserId,
        keep: Option<&SessionId>,
        now: UnixTime,
    ) -> StoreResult<u64>;
}

/// Fixed-window counters shared by every instance (rate limits on Lambda).
#[async_trait]
pub trait CounterStore: Send + Sync {
    /// Adds one to `key` (created with expiry `expires_at` if new) and returns the count.
    async fn increment(&self, key: &str, expires_at: UnixTime, now: UnixTime) -> StoreResult<u64>;
}

/// Whether the store can serve requests (`/api/ready`).
#[async_trait]
pub trait Health: Send + Sync {
    async fn ping(&self) -> StoreResult<()>;
}

/// The ports a running service uses, whatever the backend.
#[derive(Clone)]
pub struct Stores {
    pub users: Arc<dyn UserStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub counters: Arc<dyn CounterStore>,
    pub health: Arc<dyn Health>,
}

impl Stores {
    /// All ports from one adapter that implements them all.
    pub fn from_adapter<S>(adapter: S) -> Self
    where
        S: UserStore + SessionStore + CounterStore + Health + 'static,
    {
        let a = Arc::new(adapter);
        Self {
            users: a.clone(),
            sessions: a.clone(),
            counters: a.clone(),
            health: a,
        }
    }
}
