//! What admins see about LiveKit: whether Bedrud can reach it (a real probe of
//! `internalHost`: `GET /` and an authenticated ListRooms, each with a short time limit),
//! which mode it runs in, whether webhooks arrive, and LiveKit's own room counts. The seed's
//! first troubleshooting row is "admin dashboard shows 'LiveKit disconnected'": every failure
//! here says which of unreachable, slow, not ready or wrong key it is.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt};

use crate::config::Config;
use crate::domain::policy::Caller;
use crate::domain::{
    Access, Attendance, Email, EventQuery, InviteToken, MAX_INVITE_HOURS, Member, Room, RoomEvent,
    RoomId, RoomQuery, UnixTime, User, UserId, UserQuery, now,
};
use crate::error::{Error, Result};
use crate::livekit::{LiveKit, LiveKitError, LiveParticipant, LiveRoom, found, server_host};
use crate::store::{
    Counted, Page, RoomFilter, Stores, UserChange, UserChangeOutcome, UserFilter, WebhookLog,
    WebhookStats,
};

/// Users' names, by id.
pub type Names = HashMap<UserId, String>;

/// Concurrent reads when naming a page's users.
const NAME_READS: usize = 16;

/// The probe gives up after this: an admin page must answer quickly, and a LiveKit that
/// takes longer is not serving meetings well either.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Live rooms and no webhook for this long: LiveKit is probably not sending them.
const WEBHOOK_SILENCE_SECS: UnixTime = 10 * 60;

/// One probe step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub ok: bool,
    pub latency_ms: u64,
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct LiveKitStatus {
    pub connected: bool,
    /// The sidecar's supervisor of the embedded LiveKit, when there is one.
    pub supervisor: Option<serde_json::Value>,
    /// `embedded` (the sidecar runs LiveKit) or `external`.
    pub mode: &'static str,
    pub host: String,
    pub internal_host: String,
    /// `GET /`.
    pub health: Check,
    /// An authenticated ListRooms (proves the key pair).
    pub api: Check,
    /// What LiveKit reports, when the API answered.
    pub rooms: Option<Vec<LiveRoom>>,
    pub webhooks: WebhookStats,
    pub warning: Option<String>,
}

/// A room's seats as stored and LiveKit's participants (or why they could not be read).
#[derive(Debug, Clone)]
pub struct RoomPresence {
    pub room: Room,
    pub stored: Vec<Member>,
    pub live: std::result::Result<Vec<LiveParticipant>, String>,
}

/// Reports the embedded LiveKit's supervisor (running, restarting, gave up, last exit…).
pub type SupervisorReport = Arc<dyn Fn() -> serde_json::Value + Send + Sync>;

/// The certificate a server serves HTTPS with, as the admin console shows it (`cert-info`):
/// the sidecar's, when it terminates TLS itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateReport {
    /// When the certificate being served expires.
    pub not_after: crate::domain::UnixTime,
    /// Why the files on disk do not load, when they do not (the previous one still serves).
    pub error: Option<String>,
}

pub type CertificateSource = Arc<dyn Fn() -> CertificateReport + Send + Sync>;

pub struct Admin {
    stores: Stores,
    supervisor: std::sync::RwLock<Option<SupervisorReport>>,
    certificate: std::sync::RwLock<Option<CertificateSource>>,
    probe: Option<Arc<dyn LiveKit>>,
    livekit: Option<Arc<dyn LiveKit>>,
    webhooks: Arc<dyn WebhookLog>,
    mode: &'static str,
    host: String,
    internal_host: String,
}

impl Admin {
    pub fn new(stores: &Stores, livekit: Option<Arc<dyn LiveKit>>, config: &Config) -> Self {
        let webhooks = stores.webhooks.clone();
        let lk = &config.livekit;
        let internal_host = server_host(config).to_string();
        let probe = livekit.as_ref().map(|l| l.with_timeout(PROBE_TIMEOUT));
        Self {
            stores: stores.clone(),
            supervisor: std::sync::RwLock::new(None),
            certificate: std::sync::RwLock::new(None),
            probe,
            livekit,
            webhooks,
            mode: if lk.external { "external" } else { "embedded" },
            host: lk.host.clone(),
            internal_host,
        }
    }

    /// Users for the admin list.
    pub async fn users(
        &self,
        filter: &UserFilter,
        limit: u32,
        after: Option<&str>,
    ) -> Result<Page<User>> {
        Ok(self
            .stores
            .admin()?
            .list_users(filter, limit, after)
            .await?)
    }

    /// Every room, newest first, for the admins' list.
    pub async fn rooms(
        &self,
        filter: &RoomFilter,
        limit: u32,
        after: Option<&str>,
    ) -> Result<Page<Room>> {
        Ok(self.stores.admin()?.all_rooms(filter, limit, after).await?)
    }

    /// A numbered page of users for the admin tables.
    pub async fn user_table(&self, q: &UserQuery) -> Result<Counted<User>> {
        Ok(self.stores.admin()?.user_table(q).await?)
    }

    /// A numbered page of rooms, with their owners' names.
    pub async fn room_table(&self, q: &RoomQuery) -> Result<(Counted<Room>, Names)> {
        let page = self.stores.admin()?.room_table(q).await?;
        let owners = page.items.iter().map(|r| r.created_by.clone()).collect();
        let names = self.names(owners).await?;
        Ok((page, names))
    }

    /// A user's meeting connections, newest first.
    pub async fn sessions(
        &self,
        id: &UserId,
        offset: u32,
        limit: u32,
    ) -> Result<Counted<Attendance>> {
        if self.stores.users.user_by_id(id).await?.is_none() {
            return Err(Error::not_found("User not found"));
        }
        Ok(self.stores.admin()?.attendance(id, offset, limit).await?)
    }

    pub async fn room_events(&self, q: &EventQuery) -> Result<Counted<RoomEvent>> {
        Ok(self.stores.admin()?.room_events(q).await?)
    }

    /// Display names of these users (at most a few reads at a time); unknown ids are left out.
    pub async fn names(&self, ids: BTreeSet<UserId>) -> Result<Names> {
        let users = self.stores.users.clone();
        let found: Vec<Option<User>> = futures_util::stream::iter(ids)
            .map(move |id| {
                let users = users.clone();
                async move { users.user_by_id(&id).await }
            })
            .buffer_unordered(NAME_READS)
            .try_collect()
            .await?;
        Ok(found
            .into_iter()
            .flatten()
            .map(|u| (u.id, u.name.to_string()))
            .collect())
    }

    /// A room's seats as stored beside LiveKit's live view of its meeting; LiveKit's failure
    /// is reported, not raised (the stored half is still worth showing).
    pub async fn room_presence(&self, id: &RoomId) -> Result<RoomPresence> {
        let room = self
            .stores
            .rooms
            .room(id)
            .await?
            .ok_or_else(|| Error::not_found("Room not found"))?;
        let stored = self.stores.rooms.active_members(&room).await?;
        let live = match &self.livekit {
            None => Err("LiveKit is not configured".to_string()),
            Some(lk) => match found(lk.list_participants(&room.livekit_name()).await) {
                Ok(list) => Ok(list.unwrap_or_default()),
                Err(e) => Err(e.to_string()),
            },
        };
        Ok(RoomPresence { room, stored, live })
    }

    /// A user and the rooms they own now.
    pub async fn user(&self, id: &UserId) -> Result<(User, Vec<Room>)> {
        let user = self
            .stores
            .users
            .user_by_id(id)
            .await?
            .ok_or_else(|| Error::not_found("User not found"))?;
        let rooms = self.stores.rooms.owned_rooms(id, 100, None).await?.items;
        Ok((user, rooms))
    }

    /// Activates or deactivates an account. Deactivating ends every session at once: its
    /// access tokens are refused from the next request. Never yourself, never the last admin.
    pub async fn set_active(&self, caller: &Caller, id: &UserId, active: bool) -> Result<User> {
        let user = self.change(caller, id, UserChange::Active(active)).await?;
        if !active {
            self.stores
                .sessions
                .revoke_user_sessions(id, None, now())
                .await?;
        }
        Ok(user)
    }

    /// Replaces an account's accesses; its sessions end so the next sign-in carries them.
    pub async fn set_accesses(
        &self,
        caller: &Caller,
        id: &UserId,
        names: &[String],
    ) -> Result<User> {
        if names.is_empty() {
            return Err(Error::bad_request("accesses must not be empty"));
        }
        let mut accesses = Vec::new();
        for n in names {
            let a = Access::parse(n).ok_or_else(|| {
                Error::bad_request(format!(
                    "unknown access {n:?}: use guest, user, moderator, admin or superadmin"
                ))
            })?;
            if !accesses.contains(&a) {
                accesses.push(a);
            }
        }
        let user = self
            .change(caller, id, UserChange::Accesses(accesses))
            .await?;
        self.stores
            .sessions
            .revoke_user_sessions(id, None, now())
            .await?;
        Ok(user)
    }

    /// Ends every session of the account without touching the account itself.
    pub async fn force_logout(&self, id: &UserId) -> Result<u64> {
        if self.stores.users.user_by_id(id).await?.is_none() {
            return Err(Error::not_found("User not found"));
        }
        Ok(self
            .stores
            .sessions
            .revoke_user_sessions(id, None, now())
            .await?)
    }

    async fn change(&self, caller: &Caller, id: &UserId, change: UserChange) -> Result<User> {
        change_account(&self.stores, caller, id, change).await
    }

    /// Creates an invite: open, or bound to `email`; valid `hours` (1 to 720, default 72).
    pub async fn create_invite(
        &self,
        caller: &Caller,
        email: Option<&str>,
        hours: Option<i64>,
    ) -> Result<InviteToken> {
        let hours = hours.unwrap_or(72);
        let hours = u32::try_from(hours)
            .ok()
            .filter(|h| (1..=MAX_INVITE_HOURS).contains(h))
            .ok_or_else(|| {
                Error::bad_request(format!(
                    "expiresInHours must be between 1 and {MAX_INVITE_HOURS}"
                ))
            })?;
        let email = email
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(Email::parse)
            .transpose()?;
        let invite = InviteToken::new(caller.id.clone(), email, hours, now());
        self.stores.admin()?.insert_invite(&invite).await?;
        Ok(invite)
    }

    pub async fn invites(&self) -> Result<Vec<InviteToken>> {
        Ok(self.stores.admin()?.invites().await?)
    }

    /// Revokes an invite (unknown ids included: the result is the same).
    pub async fn delete_invite(&self, id: &str) -> Result<()> {
        Ok(self.stores.admin()?.delete_invite(id).await?)
    }

    /// The sidecar hands in its certificate when it serves HTTPS.
    pub fn set_certificate(&self, source: CertificateSource) {
        *self.certificate.write().expect("certificate lock") = Some(source);
    }

    /// The certificate being served, if this process terminates TLS.
    pub fn certificate(&self) -> Option<CertificateReport> {
        let source = self.certificate.read().expect("certificate lock").clone();
        source.map(|f| f())
    }

    /// The sidecar hands in its supervisor once LiveKit is started.
    pub fn set_supervisor(&self, report: SupervisorReport) {
        *self.supervisor.write().expect("supervisor lock") = Some(report);
    }

    pub async fn livekit_status(&self) -> Result<LiveKitStatus> {
        let webhooks = self.webhooks.webhook_stats().await?;
        let Some(probe) = &self.probe else {
            let missing = Check {
                ok: false,
                latency_ms: 0,
                error: Some("no LiveKit key pair configured (livekit.apiKey/apiSecret)".into()),
            };
            return Ok(self.status(missing.clone(), missing, None, webhooks));
        };
        let ((health, _), (api, rooms)) =
            tokio::join!(timed(probe.health()), timed(probe.list_rooms(&[])));
        Ok(self.status(health, api, rooms, webhooks))
    }

    /// LiveKit's own counts (ListRooms).
    pub async fn livekit_stats(&self) -> Result<Vec<LiveRoom>> {
        let lk = self.livekit.as_ref().ok_or_else(|| {
            Error::UpstreamDown("LiveKit is not configured (livekit.apiKey/apiSecret)".into())
        })?;
        Ok(lk.list_rooms(&[]).await?)
    }

    fn status(
        &self,
        health: Check,
        api: Check,
        rooms: Option<Vec<LiveRoom>>,
        webhooks: WebhookStats,
    ) -> LiveKitStatus {
        let busy = rooms
            .as_ref()
            .map_or(0, |r| r.iter().filter(|r| r.num_participants > 0).count());
        let silent = webhooks
            .last_at
            .is_none_or(|t| now() - t > WEBHOOK_SILENCE_SECS);
        let warning = (busy > 0 && silent).then(|| {
            format!(
                "LiveKit reports {busy} room(s) in use but no webhook has arrived {}: check that LiveKit sends webhooks to <this API>/api/livekit/webhook with this key pair",
                if webhooks.last_at.is_some() { "in the last 10 minutes" } else { "yet" }
            )
        });
        let supervisor = self
            .supervisor
            .read()
            .expect("supervisor lock")
            .as_ref()
            .map(|report| report());
        LiveKitStatus {
            supervisor,
            connected: health.ok && api.ok,
            mode: self.mode,
            host: self.host.clone(),
            internal_host: self.internal_host.clone(),
            health,
            api,
            rooms,
            webhooks,
            warning,
        }
    }
}

/// Runs one probe step and says how it went; the value when it worked.
async fn timed<T>(
    f: impl std::future::Future<Output = Result<T, LiveKitError>>,
) -> (Check, Option<T>) {
    let started = Instant::now();
    let out = f.await;
    let latency_ms = started.elapsed().as_millis() as u64;
    match out {
        Ok(v) => (
            Check {
                ok: true,
                latency_ms,
                error: None,
            },
            Some(v),
        ),
        Err(e) => (
            Check {
                ok: false,
                latency_ms,
                error: Some(e.to_string()),
            },
            None,
        ),
    }
}

/// An admin's change to someone else's account, refusing to leave the platform without an
/// active admin (the store's invariant) and any change to the caller's own account.
pub async fn change_account(
    stores: &Stores,
    caller: &Caller,
    id: &UserId,
    change: UserChange,
) -> Result<User> {
    if &caller.id == id {
        return Err(Error::bad_request(
            "You cannot change your own account here; ask another admin",
        ));
    }
    match stores.admin()?.change_user(id, &change, now()).await? {
        UserChangeOutcome::Done(u) => Ok(u),
        UserChangeOutcome::NotFound => Err(Error::not_found("User not found")),
        UserChangeOutcome::LastAdmin => Err(last_admin()),
    }
}

/// The refusal when a change would leave no active admin.
pub fn last_admin() -> Error {
    Error::conflict("This is the last active admin: promote another admin first")
}
