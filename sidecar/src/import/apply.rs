//! Writing a plan into the configured store through the same ports the API uses, so every
//! invariant (unique e-mail, unique active room name, bans) is the store's conditional write.
//! Each record is compared with what the target holds first: what is there already is left
//! alone, which makes a second run write nothing.

use std::collections::{BTreeMap, HashMap};

use bedrud_shared::admin_actions::Actions;
use bedrud_shared::blobs::{BlobKey, BlobStore};
use bedrud_shared::domain::policy::Caller;
use bedrud_shared::domain::{
    Access, MemberChange, MemberRole, Passkey, ProviderAccount, Recording, Room, RoomId, Standing,
    User, UserId,
};
use bedrud_shared::store::{CreateRoom, LINKED, RoomWrite, StoreError, Stores};

use super::files::Files;
use super::plan::{Kind, Membership, Plan, Skip};
use super::progress::Progress;

/// How one record went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Written (or, in a dry run, would be).
    Written,
    /// The target already holds it.
    Unchanged,
    /// The target holds something else in its place; reported, nothing written.
    Conflict(String),
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub written: usize,
    pub unchanged: usize,
    pub conflicts: usize,
}

/// What an import did (or would do), per kind, and every record it did not carry.
#[derive(Default)]
pub struct Report {
    pub counts: BTreeMap<Kind, Counts>,
    pub conflicts: Vec<Skip>,
}

impl Report {
    fn record(&mut self, kind: Kind, id: &str, outcome: Outcome) {
        let c = self.counts.entry(kind).or_default();
        match outcome {
            Outcome::Written => c.written += 1,
            Outcome::Unchanged => c.unchanged += 1,
            Outcome::Conflict(reason) => {
                c.conflicts += 1;
                self.conflicts.push(Skip {
                    kind,
                    id: id.to_string(),
                    reason,
                });
            }
        }
    }

    pub fn written(&self) -> usize {
        self.counts.values().map(|c| c.written).sum()
    }
}

pub struct Writer<'a> {
    pub stores: &'a Stores,
    /// Where recording files go (the recordings bucket or directory).
    pub blobs: Option<&'a dyn BlobStore>,
    /// Where Bedrud's recording files are read from.
    pub files: Option<&'a Files>,
    /// The files are in this server's recordings bucket already: referred to, not copied.
    pub in_place: bool,
    pub dry_run: bool,
    pub overwrite: bool,
}

type Result<T> = std::result::Result<T, String>;

fn store(e: impl std::fmt::Display) -> String {
    format!("target store: {e}")
}

impl Writer<'_> {
    pub async fn apply(&self, plan: &Plan, progress: &mut Progress) -> Result<Report> {
        let mut report = Report::default();
        for user in &plan.users {
            let outcome = self.user(user).await?;
            report.record(Kind::User, user.id.as_str(), outcome);
            progress.tick();
        }
        for key in &plan.passkeys {
            let outcome = self.passkey(key).await?;
            report.record(Kind::Passkey, &key.id, outcome);
            progress.tick();
        }
        for (user, link) in &plan.links {
            let outcome = self.link(user, link).await?;
            report.record(Kind::Link, &link.key(), outcome);
            progress.tick();
        }
        for (id, json) in &plan.preferences {
            let outcome = match self.stores.users.preferences(id).await.map_err(store)? {
                Some(have) if have == *json => Outcome::Unchanged,
                Some(have) if have != "{}" && !self.overwrite => Outcome::Conflict(
                    "the account has other preferences here (--overwrite replaces them)".into(),
                ),
                _ if self.dry_run => Outcome::Written,
                _ => {
                    let now = bedrud_shared::domain::now();
                    self.stores
                        .users
                        .set_preferences(id, json, now)
                        .await
                        .map_err(store)?;
                    Outcome::Written
                }
            };
            report.record(Kind::Preferences, id.as_str(), outcome);
            progress.tick();
        }
        for room in &plan.rooms {
            let outcome = self.room(room).await?;
            report.record(Kind::Room, room.id.as_str(), outcome);
            progress.tick();
        }
        // Each room read once for all of its bans and moderators.
        let mut rooms: HashMap<RoomId, Option<Room>> = HashMap::new();
        for m in &plan.members {
            if !rooms.contains_key(&m.room) {
                let read = self.stores.rooms.room(&m.room).await.map_err(store)?;
                rooms.insert(m.room.clone(), read);
            }
            let outcome = self.member(m, rooms[&m.room].as_ref()).await?;
            report.record(Kind::Member, &format!("{} in {}", m.user, m.room), outcome);
            progress.tick();
        }
        self.invites(plan, &mut report, progress).await?;
        self.settings(plan, &mut report).await?;
        for (rec, file) in &plan.recordings {
            let outcome = self.recording(rec, file.as_ref()).await?;
            report.record(Kind::Recording, rec.id.as_str(), outcome);
            progress.tick();
        }
        Ok(report)
    }

    /// A passkey: left alone when its credential is here for the same account.
    async fn passkey(&self, key: &Passkey) -> Result<Outcome> {
        let passkeys = self.stores.passkeys().map_err(store)?;
        match passkeys
            .passkey_by_credential(&key.credential_id)
            .await
            .map_err(store)?
        {
            Some(have) if have.user_id == key.user_id => return Ok(Outcome::Unchanged),
            Some(have) => {
                return Ok(Outcome::Conflict(format!(
                    "this credential belongs to account {} here",
                    have.user_id
                )));
            }
            None if self.dry_run => return Ok(Outcome::Written),
            None => {}
        }
        match passkeys.insert_passkey(key).await {
            Ok(true) => Ok(Outcome::Written),
            Ok(false) => Ok(Outcome::Conflict("its account is not here".into())),
            Err(StoreError::Conflict(what)) => Ok(Outcome::Conflict(what.to_string())),
            Err(e) => Err(store(e)),
        }
    }

    /// A provider identity: left alone when it is linked to the same account here.
    async fn link(&self, user: &UserId, link: &ProviderAccount) -> Result<Outcome> {
        let links = self.stores.links().map_err(store)?;
        match links.user_by_link(link).await.map_err(store)? {
            Some(have) if have.id == *user => return Ok(Outcome::Unchanged),
            Some(have) => {
                return Ok(Outcome::Conflict(format!(
                    "this identity signs in to account {} here",
                    have.id
                )));
            }
            None if self.dry_run => return Ok(Outcome::Written),
            None => {}
        }
        let now = bedrud_shared::domain::now();
        match links.link_account(link, user, now).await {
            Ok(true) => Ok(Outcome::Written),
            Ok(false) => Ok(Outcome::Conflict("its account is not here".into())),
            Err(StoreError::Conflict(LINKED)) => Ok(Outcome::Conflict(
                "the identity was linked meanwhile".into(),
            )),
            Err(StoreError::Conflict(what)) => Ok(Outcome::Conflict(what.to_string())),
            Err(e) => Err(store(e)),
        }
    }

    async fn user(&self, user: &User) -> Result<Outcome> {
        let users = &self.stores.users;
        let email = user.email.as_ref().expect("accounts have an address");
        if let Some(have) = users.user_by_id(&user.id).await.map_err(store)? {
            // The same account, imported before (and perhaps used since: its hash upgraded,
            // its name changed): what happened here wins.
            return Ok(if have.email.as_ref() == Some(email) {
                Outcome::Unchanged
            } else {
                Outcome::Conflict(format!(
                    "an account with this id and another e-mail ({}) exists here",
                    have.email.as_ref().map_or("none", |e| e.as_str())
                ))
            });
        }
        if let Some(other) = users.user_by_email(email).await.map_err(store)? {
            if !self.overwrite {
                return Ok(Outcome::Conflict(format!(
                    "e-mail {email} belongs to account {} here (--overwrite deletes that \
                     account and imports this one)",
                    other.id
                )));
            }
            if !self.dry_run {
                let importer = Caller {
                    id: user.id.clone(),
                    name: user.name.clone(),
                    accesses: vec![Access::Superadmin],
                };
                Actions::new(self.stores, None)
                    .delete_user(&importer, &other.id)
                    .await
                    .map_err(|e| format!("replacing account {}: {e}", other.id))?;
            }
        }
        if self.dry_run {
            return Ok(Outcome::Written);
        }
        match users.insert_user(user).await {
            Ok(()) => Ok(Outcome::Written),
            Err(StoreError::Conflict(what)) => Ok(Outcome::Conflict(what.to_string())),
            Err(e) => Err(store(e)),
        }
    }

    async fn room(&self, room: &Room) -> Result<Outcome> {
        let rooms = &self.stores.rooms;
        if let Some(have) = rooms.room(&room.id).await.map_err(store)? {
            return match (have.is_active, room.is_active) {
                (true, false) => self.archive(room).await, // a run stopped half-way
                (false, true) => Ok(Outcome::Conflict(
                    "archived here, active in Bedrud: reactivate it from the admin console".into(),
                )),
                _ => Ok(Outcome::Unchanged),
            };
        }
        if let Some((holder, _)) = rooms.active_room(&room.name, None).await.map_err(store)? {
            if !self.overwrite {
                return Ok(Outcome::Conflict(format!(
                    "an active room named {} exists here ({}; --overwrite archives it)",
                    room.name, holder.id
                )));
            }
            if !self.dry_run {
                rooms
                    .archive_room(&holder.id, bedrud_shared::domain::now())
                    .await
                    .map_err(store)?;
            }
        }
        if self.dry_run {
            return Ok(Outcome::Written);
        }
        match rooms.create_room(room, None).await.map_err(store)? {
            CreateRoom::Created if room.is_active => Ok(Outcome::Written),
            CreateRoom::Created => self.archive(room).await,
            CreateRoom::NameTaken => Ok(Outcome::Conflict(format!(
                "another active room took the name {} meanwhile",
                room.name
            ))),
            CreateRoom::LimitReached => Ok(Outcome::Conflict("owner's room limit".into())),
        }
    }

    /// Archives an imported room at the time Bedrud archived it.
    async fn archive(&self, room: &Room) -> Result<Outcome> {
        if self.dry_run {
            return Ok(Outcome::Written);
        }
        let at = room.archived_at.unwrap_or(room.updated_at);
        match self
            .stores
            .rooms
            .archive_room(&room.id, at)
            .await
            .map_err(store)?
        {
            RoomWrite::Done(_) | RoomWrite::Archived => Ok(Outcome::Written),
            RoomWrite::NotFound => Err(format!("room {} vanished while importing", room.id)),
        }
    }

    async fn member(&self, m: &Membership, room: Option<&Room>) -> Result<Outcome> {
        let rooms = &self.stores.rooms;
        let Some(room) = room else {
            // Only in a dry run (or after a conflict): the room is not written.
            return Ok(if self.dry_run {
                Outcome::Written
            } else {
                Outcome::Conflict("its room was not imported".into())
            });
        };
        if !room.is_active {
            return Ok(Outcome::Conflict("its room is archived here".into()));
        }
        let have = rooms.member(room, &m.user).await.map_err(store)?;
        let changes = member_changes(m, &have.map(|h| h.standing()).unwrap_or_default());
        if changes.is_empty() {
            return Ok(Outcome::Unchanged);
        }
        if self.dry_run {
            return Ok(Outcome::Written);
        }
        let now = bedrud_shared::domain::now();
        for change in &changes {
            let done = rooms
                .change_member(room, &m.user, change, now)
                .await
                .map_err(store)?;
            if done.is_none() {
                return Ok(Outcome::Conflict("its room was archived meanwhile".into()));
            }
        }
        Ok(Outcome::Written)
    }

    async fn invites(
        &self,
        plan: &Plan,
        report: &mut Report,
        progress: &mut Progress,
    ) -> Result<()> {
        if plan.invites.is_empty() {
            return Ok(());
        }
        let admin = self.stores.admin().map_err(store)?;
        let have = admin.invites().await.map_err(store)?;
        for invite in &plan.invites {
            let outcome = if have.iter().any(|h| h.id == invite.id) {
                Outcome::Unchanged
            } else if have.iter().any(|h| h.token == invite.token) {
                Outcome::Conflict("the same token exists here under another id".into())
            } else if self.dry_run {
                Outcome::Written
            } else {
                match admin.insert_invite(invite).await {
                    Ok(()) => Outcome::Written,
                    Err(StoreError::Conflict(what)) => Outcome::Conflict(what.to_string()),
                    Err(e) => return Err(store(e)),
                }
            };
            report.record(Kind::Invite, &invite.id, outcome);
            progress.tick();
        }
        Ok(())
    }

    /// A finished recording: its file copied into the recordings store first (a retry copies
    /// again, replacing it), then the record, so a listed recording always has its file. A
    /// file in the recordings bucket already is referred to where it is.
    async fn recording(&self, rec: &Recording, file: Option<&BlobKey>) -> Result<Outcome> {
        let recordings = &self.stores.recordings;
        if recordings
            .recording(&rec.room_id, &rec.id)
            .await
            .map_err(store)?
            .is_some()
        {
            return Ok(Outcome::Unchanged);
        }
        if self
            .stores
            .rooms
            .room(&rec.room_id)
            .await
            .map_err(store)?
            .is_none()
            && !self.dry_run
        {
            return Ok(Outcome::Conflict("its room was not imported".into()));
        }
        if self.dry_run {
            return Ok(Outcome::Written);
        }
        let mut rec = rec.clone();
        if let Some(from) = file.filter(|_| self.in_place) {
            rec.key = Some(from.as_str().to_string());
        } else if let (Some(from), Some(files)) = (file, self.files) {
            let blobs = self
                .blobs
                .ok_or("recording files need somewhere to go here")?;
            let ext = from
                .as_str()
                .rsplit_once('.')
                .map(|(_, e)| e)
                .filter(|e| !e.contains('/') && e.bytes().all(|b| b.is_ascii_alphanumeric()))
                .unwrap_or("mp4")
                .to_ascii_lowercase();
            let key = BlobKey::parse(&format!("recordings/{}/{}.{ext}", rec.room_id, rec.id))
                .map_err(|e| e.to_string())?;
            let body = files.open(from).await?;
            let size = blobs
                .put(&key, body, content_type(&ext))
                .await
                .map_err(store)?;
            rec.key = Some(key.as_str().to_string());
            rec.size = i64::try_from(size).ok();
        }
        match recordings.insert_recording(&rec).await {
            Ok(true) => Ok(Outcome::Written),
            Ok(false) => Ok(Outcome::Conflict(
                "a recording with this id exists here".into(),
            )),
            Err(e) => Err(store(e)),
        }
    }

    /// Stores every setting at once, by compare-and-set on the settings' revision.
    async fn settings(&self, plan: &Plan, report: &mut Report) -> Result<()> {
        for _ in 0..5 {
            let stored = self.stores.settings.settings().await.map_err(store)?;
            let mut next = stored.clone();
            let mut outcomes = Vec::new();
            for (key, value) in &plan.settings {
                let outcome = match stored.values.get(key) {
                    Some(v) if v == value => Outcome::Unchanged,
                    Some(_) if !self.overwrite => Outcome::Conflict(
                        "an admin set another value here (--overwrite replaces it)".into(),
                    ),
                    _ => {
                        next.values.insert(key.clone(), value.clone());
                        Outcome::Written
                    }
                };
                outcomes.push((key, outcome));
            }
            let changed = next.values != stored.values;
            if !changed
                || self.dry_run
                || self
                    .stores
                    .settings
                    .put_settings(&next, stored.rev)
                    .await
                    .map_err(store)?
            {
                for (key, outcome) in outcomes {
                    report.record(Kind::Setting, key, outcome);
                }
                return Ok(());
            }
        }
        Err("settings: another writer kept changing them; run again".into())
    }
}

/// The moderation changes that give `have` what Bedrud recorded; none when it has it. Each
/// only adds (a ban, the role, a denial), so what happened here since the last run stays.
fn member_changes(m: &Membership, have: &Standing) -> Vec<MemberChange> {
    if m.banned {
        return if have.banned {
            Vec::new()
        } else {
            vec![MemberChange::Ban]
        };
    }
    let mut out = Vec::new();
    if m.moderator && have.role != MemberRole::Moderator {
        out.push(MemberChange::Role(MemberRole::Moderator));
    }
    let denied: Vec<_> = m
        .restrictions
        .denied
        .iter()
        .copied()
        .filter(|s| !have.restrictions.denies(*s))
        .collect();
    if !denied.is_empty() {
        out.push(MemberChange::Deny(denied));
    }
    if m.restrictions.chat_blocked && !have.restrictions.chat_blocked {
        out.push(MemberChange::ChatBlock(true));
    }
    out
}

fn content_type(ext: &str) -> &'static str {
    match ext {
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "m4a" => "audio/mp4",
        "ogg" => "audio/ogg",
        _ => "application/octet-stream",
    }
}
