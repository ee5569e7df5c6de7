//! Store ports. Each invariant (unique email, refresh-token compare-and-swap, counters) is
//! one conditional or transactional write in the adapter, never read-then-write here.
//! Adapters: `sqlite` (embedded, feature `embedded`) and `dynamodb` (feature `aws`).

#[cfg(feature = "aws")]
pub mod dynamodb;
#[cfg(feature = "embedded")]
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::policy::SeatRefusal;
use crate::domain::{
    Access, AccountToken, Attendance, DisplayName, Email, EventQuery, InviteRefusal, InviteToken,
    Member, Passkey, PendingCeremony, ProviderAccount, Recording, RecordingId, RecordingMove, Room,
    RoomEvent, RoomId, RoomName, RoomPatch, RoomQuery, Scope, Session, SessionId, Standing,
    StoredSettings, Tallies, Tally, UnixTime, User, UserId, UserQuery,
};
pub use crate::domain::{MemberChange, UserChange};
pub use crate::error::{StoreError, StoreResult};

/// The conflict a write for a deactivated (or vanished) account answers with.
pub const DEACTIVATED: &str = "account deactivated";

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Inserts a user; `Conflict("email already registered")` if the email is taken,
    /// `Conflict("user id taken")` if the id is.
    async fn insert_user(&self, user: &User) -> StoreResult<()>;
    /// Inserts a user and consumes the invite `token` in the same atomic write; the invite's
    /// refusal (unknown, expired, another address's, used) leaves nothing written.
    async fn insert_user_with_invite(
        &self,
        user: &User,
        token: &str,
        now: UnixTime,
    ) -> StoreResult<Result<(), InviteRefusal>>;
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

/// Sign-in providers' identities linked to accounts, at most one account each. Its own port
/// so only the functions that sign in with providers link it.
#[async_trait]
pub trait LinkStore: Send + Sync {
    /// The account a provider's identity is linked to, if any.
    async fn user_by_link(&self, link: &ProviderAccount) -> StoreResult<Option<User>>;
    /// Links the identity to an existing account: `false` if there is no such account,
    /// `Conflict("identity already linked")` if the identity is linked (to anyone).
    async fn link_account(
        &self,
        link: &ProviderAccount,
        user: &UserId,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// Creates the account and its link in one write; the conflicts of `insert_user`, or
    /// `Conflict("identity already linked")`, leave nothing written.
    async fn insert_linked_user(&self, user: &User, link: &ProviderAccount) -> StoreResult<()>;
}

/// The conflict a link to an identity that is linked already answers with.
pub const LINKED: &str = "identity already linked";

/// Passkeys and the ceremonies in progress. Its own port so only the functions that sign in
/// with passkeys link it.
#[async_trait]
pub trait PasskeyStore: Send + Sync {
    /// Adds a credential to an existing account: `false` if there is no such account,
    /// `Conflict("passkey already registered")` if the credential id is taken.
    async fn insert_passkey(&self, passkey: &Passkey) -> StoreResult<bool>;
    /// Creates the account and its first passkey in one write; the conflicts of
    /// `insert_user` or `insert_passkey` leave nothing written.
    async fn insert_user_with_passkey(&self, user: &User, passkey: &Passkey) -> StoreResult<()>;
    async fn passkey_by_credential(&self, credential_id: &[u8]) -> StoreResult<Option<Passkey>>;
    /// The account's passkeys, oldest first.
    async fn user_passkeys(&self, user: &UserId) -> StoreResult<Vec<Passkey>>;
    /// Removes one of the account's passkeys; `false` if it has no such passkey.
    async fn delete_passkey(&self, user: &UserId, id: &str) -> StoreResult<bool>;
    /// Records a use: the counter moves from `from` to `to` (compare-and-set, so two uses of
    /// one assertion, or a cloned authenticator racing the real one, advance it once).
    async fn passkey_used(
        &self,
        credential_id: &[u8],
        from: u32,
        to: u32,
        at: UnixTime,
    ) -> StoreResult<bool>;
    async fn put_ceremony(&self, pending: &PendingCeremony) -> StoreResult<()>;
    /// Takes the ceremony out: once, and only before it expires.
    async fn take_ceremony(&self, id: &str, now: UnixTime) -> StoreResult<Option<PendingCeremony>>;
}

/// The conflict a credential id that is registered already answers with.
pub const PASSKEY_TAKEN: &str = "passkey already registered";

/// One-time account links (verification, reset) and what they do, each one conditional
/// write: a link works once, only unexpired, only while the account still has the address
/// it was sent to. Its own port so only the functions that send or use links link it.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Stores a link, replacing the user's previous one for the same purpose.
    async fn put_token(&self, token: &AccountToken) -> StoreResult<()>;
    /// Consumes the user's verification link if `hash` is it, and confirms the address in
    /// the same write (no longer a pending sign-up). The user after; `None` if the link is
    /// not valid (unknown, used, superseded, expired, or sent to another address).
    async fn use_verify_token(
        &self,
        user: &UserId,
        hash: &str,
        now: UnixTime,
    ) -> StoreResult<Option<User>>;
    /// Consumes the user's reset link and sets `password_hash` in the same write, which
    /// also confirms the address (the mail reached it). `None` as for verification.
    async fn use_reset_token(
        &self,
        user: &UserId,
        hash: &str,
        password_hash: &str,
        now: UnixTime,
    ) -> StoreResult<Option<User>>;
    /// Confirms the address without a link (an admin); `None` if there is no such user.
    async fn mark_verified(&self, user: &UserId, now: UnixTime) -> StoreResult<Option<User>>;
    /// Pending sign-ups created before `cutoff`, oldest first, at most `limit`.
    async fn pending_signups(&self, cutoff: UnixTime, limit: u32) -> StoreResult<Vec<UserId>>;
    /// Removes a sign-up that is still pending and was created before `cutoff`, with what
    /// belongs to it; false if it is not (confirmed meanwhile, an admin, or gone).
    async fn remove_pending_signup(&self, user: &UserId, cutoff: UnixTime) -> StoreResult<bool>;
}

/// Outcome of a refresh-token rotation attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The presented generation was current; the session now holds `generation + 1`.
    Rotated(Session),
    /// The presented generation was rotated out moments ago (two tabs refreshing at once):
    /// nothing changed; answer with the session's current generation.
    Current(Session),
    /// The presented generation is older than the current one: a replayed token.
    Reused,
    /// Revoked, expired or unknown: the token is simply no longer valid.
    Invalid,
}

/// A stored password hash replaced by a stronger one at sign-in (Bedrud's bcrypt by
/// argon2id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashUpgrade {
    pub from: String,
    pub to: String,
}

/// Sessions are addressed by user and id: both travel in every token, and keeping a user's
/// sessions together makes "all sessions of a user" one strongly consistent read.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Opens a session for an active user, as one conditional write: a deactivation that
    /// commits first makes this fail with `Conflict(DEACTIVATED)`, and one that
    /// commits after revokes it, so no session outlives a deactivation.
    /// With `upgrade`, the same write also replaces the user's password hash, only if it is
    /// still `upgrade.from` (two concurrent sign-ins upgrade it once; the second still gets
    /// its session).
    async fn insert_session(
        &self,
        session: &Session,
        upgrade: Option<&HashUpgrade>,
    ) -> StoreResult<()>;
    /// Compare-and-swap: moves a live session from `generation` to `generation + 1` and
    /// extends it to `expires_at`. Exactly one of concurrent callers with the same
    /// generation gets `Rotated`; the others are judged by [`Session::replay`].
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

/// Outcome of creating a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateRoom {
    Created,
    /// Another active room has this name.
    NameTaken,
    /// The owner already has as many active rooms as allowed.
    LimitReached,
}

/// Outcome of changing or archiving a room found by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomWrite {
    Done(Room),
    /// The room exists but is archived; archived rooms do not change.
    Archived,
    NotFound,
}

/// Outcome of taking a slot in a room (the capacity invariant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occupy {
    /// A slot was taken; the member is active.
    Joined,
    /// The member already held a slot; nothing changed.
    AlreadyActive,
    Full,
    Banned,
    /// Archived (or gone) since it was read.
    RoomGone,
}

impl From<SeatRefusal> for Occupy {
    fn from(r: SeatRefusal) -> Self {
        match r {
            SeatRefusal::Banned => Occupy::Banned,
            SeatRefusal::AlreadySeated => Occupy::AlreadyActive,
            SeatRefusal::Full => Occupy::Full,
        }
    }
}

/// A member as a moderation change left it, and its standing just before the change (what
/// an undo returns to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    pub before: Standing,
    pub member: Member,
}

/// What LiveKit reported about one participant's connection (`session` is its participant
/// sid), from a webhook or the reconciler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen<'a> {
    Joined { session: &'a str },
    Left { session: &'a str },
}

/// What a presence report did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeenOutcome {
    Applied,
    /// Older than what the store knows, a duplicate, or the room is gone: nothing changed.
    Ignored,
    /// A connection that holds no seat, in a room whose seats are all taken: nothing
    /// changed, and the caller removes the connection (an old token cannot beat capacity).
    Full,
}

/// A webhook's event id, claimed in the same step as its effect
/// ([`RoomStore::seen_and_record`]); the fields are [`WebhookLog::claim_event`]'s.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    pub id: &'a str,
    pub now: UnixTime,
    pub expires_at: UnixTime,
}

impl SeenOutcome {
    /// Whether the report changed the store.
    pub fn changed(self) -> bool {
        self == SeenOutcome::Applied
    }
}

/// Recordings. One live recording per room is a store invariant; every status change is a
/// forward move applied only from the state it was read in.
#[async_trait]
pub trait RecordingStore: Send + Sync {
    /// Inserts a new (pending) recording; false if the room already has a live one.
    async fn insert_recording(&self, r: &Recording) -> StoreResult<bool>;
    async fn recording(&self, room: &RoomId, id: &RecordingId) -> StoreResult<Option<Recording>>;
    async fn recording_by_egress(&self, egress_id: &str) -> StoreResult<Option<Recording>>;
    /// The room's recordings, newest first.
    async fn room_recordings(&self, room: &RoomId) -> StoreResult<Vec<Recording>>;
    /// Applies `mv` if the recording is still in a state it may move from; the recording
    /// after the move, or `None` if it did not apply (already there, or past it).
    async fn move_recording(
        &self,
        r: &Recording,
        mv: &RecordingMove,
        now: UnixTime,
    ) -> StoreResult<Option<Recording>>;
    /// Removes a finished (completed or failed) recording; false otherwise.
    async fn delete_recording(&self, r: &Recording) -> StoreResult<bool>;
}

/// Webhook deliveries as admins see them: "no webhooks received" is the seed's first symptom.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookStats {
    pub count: u64,
    pub last_at: Option<UnixTime>,
}

/// LiveKit webhook bookkeeping: each event id is applied once, deliveries are counted.
#[async_trait]
pub trait WebhookLog: Send + Sync {
    /// Counts a verified delivery and claims its event id until `expires_at`; false when the
    /// id was claimed before (a redelivery, answered without re-applying).
    async fn claim_event(&self, id: &str, now: UnixTime, expires_at: UnixTime)
    -> StoreResult<bool>;
    /// Gives a claim back after its processing failed, so LiveKit's retry is applied.
    async fn release_event(&self, id: &str) -> StoreResult<()>;
    async fn webhook_stats(&self) -> StoreResult<WebhookStats>;
}

impl dyn WebhookLog {
    /// [`claim_event`](WebhookLog::claim_event) for a delivery that may have no id (then
    /// nothing is claimed, and it is applied).
    pub async fn claim(&self, claim: Option<Claim<'_>>) -> StoreResult<bool> {
        match claim {
            Some(c) => self.claim_event(c.id, c.now, c.expires_at).await,
            None => Ok(true),
        }
    }

    /// Gives a claim back after its processing failed; a failure here is only logged (the
    /// processing's own error is the answer).
    pub async fn give_back(&self, claim: Option<Claim<'_>>) {
        if let Some(c) = claim
            && let Err(e) = self.release_event(c.id).await
        {
            tracing::error!(error = %e, id = c.id, "webhook claim not released");
        }
    }
}

#[derive(Debug, Clone)]
pub enum UserChangeOutcome {
    Done(User),
    NotFound,
    /// It would leave no active admin.
    LastAdmin,
}

/// Which users an admin list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    pub text: Option<String>,
    pub access: Option<Access>,
    pub active: Option<bool>,
}

/// Which rooms an admin list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomFilter {
    pub text: Option<String>,
    pub active: Option<bool>,
}

/// One page of a list and the opaque cursor of the next, if there is more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// One page of a list and how many items the whole list holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted<T> {
    pub total: u64,
    pub items: Vec<T>,
}

/// Rooms and their members. Names are unique among active rooms; capacity and bans are
/// enforced by `occupy` in one conditional write.
#[async_trait]
pub trait RoomStore: Send + Sync {
    /// Inserts an active room. `owner_limit` caps the owner's active rooms (None = no cap).
    async fn create_room(&self, room: &Room, owner_limit: Option<u32>) -> StoreResult<CreateRoom>;
    /// A room by id, active or archived.
    async fn room(&self, id: &RoomId) -> StoreResult<Option<Room>>;
    /// The active room with this name and, if a user is named, their member record in it,
    /// in one read.
    async fn active_room(
        &self,
        name: &RoomName,
        user: Option<&UserId>,
    ) -> StoreResult<Option<(Room, Option<Member>)>>;
    /// The join's one read: the active room with this name, the caller's member record in
    /// it, and the caller's session (is it still alive?), all at once.
    async fn entry_read(
        &self,
        name: &RoomName,
        user: &UserId,
        session: &SessionId,
    ) -> StoreResult<(Option<(Room, Option<Member>)>, Option<Session>)>;
    /// The most recently archived room that had this name.
    async fn last_archived_room(&self, name: &RoomName) -> StoreResult<Option<Room>>;
    /// The owner's active rooms, newest first.
    async fn owned_rooms(
        &self,
        owner: &UserId,
        limit: u32,
        after: Option<&str>,
    ) -> StoreResult<Page<Room>>;
    /// The owner's archived rooms, most recently archived first, skipping `offset`.
    async fn archived_rooms(
        &self,
        owner: &UserId,
        offset: u32,
        limit: u32,
    ) -> StoreResult<Counted<Room>>;
    async fn update_room(
        &self,
        id: &RoomId,
        patch: &RoomPatch,
        now: UnixTime,
    ) -> StoreResult<RoomWrite>;
    /// Archives an active room: inactive, its name free again, kept for history.
    async fn archive_room(&self, id: &RoomId, now: UnixTime) -> StoreResult<RoomWrite>;
    /// Makes `user` an active member of `room` if capacity, ban and room state allow, as one
    /// atomic step. `seen` is their member record as read with `room`: it shapes the write's
    /// condition, so a stale read costs a retry, never a wrong answer.
    async fn occupy(
        &self,
        room: &Room,
        seen: Option<&Member>,
        user: &UserId,
        name: &DisplayName,
        now: UnixTime,
    ) -> StoreResult<Occupy>;
    /// Applies a moderation change to the member as stored, in one atomic step (a ban also
    /// frees their seat), creating the record if the change leaves something to remember.
    /// `None` if the room is not this active room.
    async fn change_member(
        &self,
        room: &Room,
        user: &UserId,
        change: &MemberChange,
        now: UnixTime,
    ) -> StoreResult<Option<Changed>>;
    /// Applies what LiveKit saw, unless the store already knows something newer: a join
    /// makes the member active with that session, taking a seat only while one is free
    /// (`Full` otherwise); a leave frees the seat only if it ends the member's current
    /// session, so a late `participant_left` never unseats someone who came back. A record
    /// this creates is not an admission.
    async fn seen(
        &self,
        room: &Room,
        user: &UserId,
        seen: Seen<'_>,
        at: UnixTime,
    ) -> StoreResult<SeenOutcome>;
    /// [`seen`](Self::seen) and, unless the seat was refused (`Full`), `visit` recorded
    /// ([`ActivityStore::attend`]); with `claim`, only if this claims that webhook event id
    /// ([`WebhookLog::claim_event`]), `None` (and nothing applied) when it was claimed
    /// before. One write where the store can (a webhook delivery then waits for one commit,
    /// not three); on failure nothing of it stays, the claim included.
    async fn seen_and_record(
        &self,
        claim: Option<Claim<'_>>,
        room: &Room,
        user: &UserId,
        seen: Seen<'_>,
        at: UnixTime,
        visit: Option<&Attendance>,
    ) -> StoreResult<Option<SeenOutcome>>;
    /// LiveKit's meeting for this room started (`started`) or finished. Finishing frees every
    /// seat taken before `at` and forgets the meeting's sid; returns the seats freed.
    async fn room_session(
        &self,
        room: &Room,
        sid: &str,
        started: bool,
        at: UnixTime,
    ) -> StoreResult<u32>;
    /// Active rooms that may hold seats or a live meeting (a seat was taken or a meeting
    /// started since they were last settled), by name; the reconciler walks these.
    async fn busy_rooms(&self, limit: u32, after: Option<&str>) -> StoreResult<Page<Room>>;
    /// Drops the room from `busy_rooms` if it holds no seat and no live meeting now.
    async fn settle(&self, room: &Room) -> StoreResult<()>;
    /// One user's record in this room (this incarnation of its name), read consistently.
    async fn member(&self, room: &Room, user: &UserId) -> StoreResult<Option<Member>>;
    /// Members of an active room who hold a slot now (empty for archived rooms).
    async fn active_members(&self, room: &Room) -> StoreResult<Vec<Member>>;
}

/// The runtime settings admins store: one document, written by compare-and-set on its
/// revision.
#[async_trait]
pub trait SettingsStore: Send + Sync {
    /// What is stored (empty at revision 0 when nothing is).
    async fn settings(&self) -> StoreResult<StoredSettings>;
    /// Stores `values` at `expected.rev + 1` if the stored revision is still `expected.rev`;
    /// false if another write came first (read again and reapply).
    async fn put_settings(&self, next: &StoredSettings, expected_rev: u64) -> StoreResult<bool>;
}

/// The admin console's record of what happened, as the serving functions write it: tallies
/// (the stores add a write's tally in that write; `count` is for facts with no other write)
/// and each meeting connection with its join event. Reading it back is `AdminStore`'s.
#[async_trait]
pub trait ActivityStore: Send + Sync {
    /// Adds a tally on its own (job outcomes).
    async fn count(&self, tally: &Tally) -> StoreResult<()>;
    /// Records a connection: its first report creates the record, logs its `room_joined`
    /// event and counts a join for its day, in one write (true); later reports only set
    /// `left_at` once it is known (false).
    async fn attend(&self, a: &Attendance) -> StoreResult<bool>;
}

/// What only the admin console reads or does: numbered tables, totals, histories, account
/// deletion. A port of its own because each Lambda links every method of the ports it
/// holds: only the admin function (and the sidecar) hold this one.
#[async_trait]
pub trait AdminStore: Send + Sync {
    /// Activates/deactivates a user or replaces their accesses, refusing to leave the
    /// platform without an active admin (a store invariant, not a read-then-write).
    async fn change_user(
        &self,
        id: &UserId,
        change: &UserChange,
        now: UnixTime,
    ) -> StoreResult<UserChangeOutcome>;
    async fn insert_invite(&self, invite: &InviteToken) -> StoreResult<()>;
    /// Every invite, newest first.
    async fn invites(&self) -> StoreResult<Vec<InviteToken>>;
    /// Removes the invite with this id (idempotent).
    async fn delete_invite(&self, id: &str) -> StoreResult<()>;
    /// A numbered page of users for admins, and how many match.
    async fn user_table(&self, q: &UserQuery) -> StoreResult<Counted<User>>;
    /// Users for admins, newest first: `text` in the name or email, an access, a state.
    async fn list_users(
        &self,
        filter: &UserFilter,
        limit: u32,
        after: Option<&str>,
    ) -> StoreResult<Page<User>>;
    /// Removes an account and its email claim (the address may sign up again), unless it is
    /// the last active admin; its sessions go with it where the store keeps them together.
    /// `Done` carries the account as it was.
    async fn delete_user(&self, id: &UserId) -> StoreResult<UserChangeOutcome>;
    /// A numbered page of rooms for admins, and how many match.
    async fn room_table(&self, q: &RoomQuery) -> StoreResult<Counted<Room>>;
    /// Every room (active and archived), newest first, for admins: `text` matches part of
    /// the name, `active` picks one state.
    async fn all_rooms(
        &self,
        filter: &RoomFilter,
        limit: u32,
        after: Option<&str>,
    ) -> StoreResult<Page<Room>>;
    /// How many active rooms saw no join and no meeting start since `before`.
    async fn stale_rooms(&self, before: UnixTime) -> StoreResult<u64>;
    /// The metrics of these scopes as they stand.
    async fn tallies(&self, scopes: &[Scope]) -> StoreResult<Tallies>;
    /// A user's connections, newest first.
    async fn attendance(
        &self,
        user: &UserId,
        offset: u32,
        limit: u32,
    ) -> StoreResult<Counted<Attendance>>;
    /// A numbered page of room events, newest first, and how many match.
    async fn room_events(&self, q: &EventQuery) -> StoreResult<Counted<RoomEvent>>;
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

/// Every port a serving function holds, implemented by one adapter (a bound, not a port).
pub trait ServingStore:
    UserStore
    + SessionStore
    + RoomStore
    + WebhookLog
    + RecordingStore
    + CounterStore
    + SettingsStore
    + ActivityStore
    + Health
    + 'static
{
}

impl<S> ServingStore for S where
    S: UserStore
        + SessionStore
        + RoomStore
        + WebhookLog
        + RecordingStore
        + CounterStore
        + SettingsStore
        + ActivityStore
        + Health
        + 'static
{
}

/// `impl AdminStore` for an adapter whose inherent methods of the same names do the work,
/// each written beside the data it reads.
macro_rules! admin_store_by_inherent_methods {
    ($t:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::AdminStore for $t {
            async fn user_table(
                &self,
                q: &$crate::domain::UserQuery,
            ) -> $crate::store::StoreResult<$crate::store::Counted<$crate::domain::User>> {
                <$t>::user_table(self, q).await
            }
            async fn list_users(
                &self,
                filter: &$crate::store::UserFilter,
                limit: u32,
                after: Option<&str>,
            ) -> $crate::store::StoreResult<$crate::store::Page<$crate::domain::User>> {
                <$t>::list_users(self, filter, limit, after).await
            }
            async fn change_user(
                &self,
                id: &$crate::domain::UserId,
                change: &$crate::store::UserChange,
                now: $crate::domain::UnixTime,
            ) -> $crate::store::StoreResult<$crate::store::UserChangeOutcome> {
                <$t>::change_user(self, id, change, now).await
            }
            async fn insert_invite(
                &self,
                invite: &$crate::domain::InviteToken,
            ) -> $crate::store::StoreResult<()> {
                <$t>::insert_invite(self, invite).await
            }
            async fn invites(
                &self,
            ) -> $crate::store::StoreResult<Vec<$crate::domain::InviteToken>> {
                <$t>::invites(self).await
            }
            async fn delete_invite(&self, id: &str) -> $crate::store::StoreResult<()> {
                <$t>::delete_invite(self, id).await
            }
            async fn delete_user(
                &self,
                id: &$crate::domain::UserId,
            ) -> $crate::store::StoreResult<$crate::store::UserChangeOutcome> {
                <$t>::delete_user(self, id).await
            }
            async fn room_table(
                &self,
                q: &$crate::domain::RoomQuery,
            ) -> $crate::store::StoreResult<$crate::store::Counted<$crate::domain::Room>> {
                <$t>::room_table(self, q).await
            }
            async fn all_rooms(
                &self,
                filter: &$crate::store::RoomFilter,
                limit: u32,
                after: Option<&str>,
            ) -> $crate::store::StoreResult<$crate::store::Page<$crate::domain::Room>> {
                <$t>::all_rooms(self, filter, limit, after).await
            }
            async fn stale_rooms(
                &self,
                before: $crate::domain::UnixTime,
            ) -> $crate::store::StoreResult<u64> {
                <$t>::stale_rooms(self, before).await
            }
            async fn tallies(
                &self,
                scopes: &[$crate::domain::Scope],
            ) -> $crate::store::StoreResult<$crate::domain::Tallies> {
                <$t>::tallies(self, scopes).await
            }
            async fn attendance(
                &self,
                user: &$crate::domain::UserId,
                offset: u32,
                limit: u32,
            ) -> $crate::store::StoreResult<$crate::store::Counted<$crate::domain::Attendance>>
            {
                <$t>::attendance(self, user, offset, limit).await
            }
            async fn room_events(
                &self,
                q: &$crate::domain::EventQuery,
            ) -> $crate::store::StoreResult<$crate::store::Counted<$crate::domain::RoomEvent>> {
                <$t>::room_events(self, q).await
            }
        }
    };
}
pub(crate) use admin_store_by_inherent_methods;

/// The ports a running service uses, whatever the backend.
#[derive(Clone)]
pub struct Stores {
    pub users: Arc<dyn UserStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub rooms: Arc<dyn RoomStore>,
    pub webhooks: Arc<dyn WebhookLog>,
    pub recordings: Arc<dyn RecordingStore>,
    pub counters: Arc<dyn CounterStore>,
    pub settings: Arc<dyn SettingsStore>,
    pub activity: Arc<dyn ActivityStore>,
    pub health: Arc<dyn Health>,
    /// The admin console's port: `None` in the functions that do not serve it.
    pub admin: Option<Arc<dyn AdminStore>>,
    /// One-time account links: `None` in the functions that neither send nor use them.
    pub accounts: Option<Arc<dyn AccountStore>>,
    /// Provider identities: `None` in the functions that do not sign in with providers.
    pub links: Option<Arc<dyn LinkStore>>,
    /// Passkeys: `None` in the functions that do not sign in with passkeys.
    pub passkeys: Option<Arc<dyn PasskeyStore>>,
}

impl Stores {
    /// All ports from one adapter that implements them all.
    pub fn from_adapter<S>(adapter: S) -> Self
    where
        S: ServingStore + AdminStore + AccountStore + LinkStore + PasskeyStore,
    {
        Self::from_shared(Arc::new(adapter))
    }

    /// The same, from an adapter the caller keeps a handle to (the sidecar's job worker).
    pub fn from_shared<S>(a: Arc<S>) -> Self
    where
        S: ServingStore + AdminStore + AccountStore + LinkStore + PasskeyStore,
    {
        let admin: Arc<dyn AdminStore> = a.clone();
        let accounts: Arc<dyn AccountStore> = a.clone();
        let links: Arc<dyn LinkStore> = a.clone();
        let passkeys: Arc<dyn PasskeyStore> = a.clone();
        Self {
            admin: Some(admin),
            accounts: Some(accounts),
            links: Some(links),
            passkeys: Some(passkeys),
            ..Self::serving(a)
        }
    }

    /// Every port but the admin console's (a Lambda that does not serve it).
    pub fn serving<S: ServingStore>(a: Arc<S>) -> Self {
        Self {
            users: a.clone(),
            sessions: a.clone(),
            rooms: a.clone(),
            webhooks: a.clone(),
            recordings: a.clone(),
            counters: a.clone(),
            settings: a.clone(),
            activity: a.clone(),
            health: a,
            admin: None,
            accounts: None,
            links: None,
            passkeys: None,
        }
    }

    /// The account-links port, or why this process has none.
    pub fn accounts(&self) -> StoreResult<&Arc<dyn AccountStore>> {
        self.accounts
            .as_ref()
            .ok_or_else(|| StoreError::Other("this function does not handle account links".into()))
    }

    /// The provider-identity port, or why this process has none.
    pub fn links(&self) -> StoreResult<&Arc<dyn LinkStore>> {
        self.links.as_ref().ok_or_else(|| {
            StoreError::Other("this function does not sign in with providers".into())
        })
    }

    /// The passkey port, or why this process has none.
    pub fn passkeys(&self) -> StoreResult<&Arc<dyn PasskeyStore>> {
        self.passkeys
            .as_ref()
            .ok_or_else(|| StoreError::Other("this function does not sign in with passkeys".into()))
    }

    /// The admin console's port, or why this process has none.
    pub fn admin(&self) -> StoreResult<&Arc<dyn AdminStore>> {
        self.admin.as_ref().ok_or_else(|| {
            StoreError::Other("this function does not serve the admin console".into())
        })
    }
}

/// [`RoomStore::seen_and_record`] in steps, for a store that cannot make it one write: a
/// failure after the claim gives the claim back, so LiveKit's retry applies it again.
#[cfg(feature = "aws")]
pub(crate) async fn seen_and_record_in_steps<S>(
    store: &S,
    claim: Option<Claim<'_>>,
    room: &Room,
    user: &UserId,
    seen: Seen<'_>,
    at: UnixTime,
    visit: Option<&Attendance>,
) -> StoreResult<Option<SeenOutcome>>
where
    S: RoomStore + WebhookLog + ActivityStore + 'static,
{
    let log: &dyn WebhookLog = store;
    if !log.claim(claim).await? {
        return Ok(None);
    }
    let applied = async {
        let outcome = store.seen(room, user, seen, at).await?;
        if outcome != SeenOutcome::Full
            && let Some(v) = visit
        {
            store.attend(v).await?;
        }
        Ok(outcome)
    }
    .await;
    if applied.is_err() {
        log.give_back(claim).await;
    }
    applied.map(Some)
}
