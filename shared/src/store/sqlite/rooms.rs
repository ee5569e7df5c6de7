//! Rooms and members on SQLite. Every invariant runs inside one transaction on the single
//! writer connection, so check and write cannot interleave with another writer.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, ToSql, params};

use super::activity::{attend_in, bump, log_event};
use super::webhooks::claim_in;
use super::{SqliteStore, counted, exec, immediate, map_err, one};
use crate::domain::policy;
use crate::domain::{
    Attendance, DisplayName, Member, MemberChange, MemberRole, Metric, Restrictions, Room,
    RoomEvent, RoomId, RoomMode, RoomName, RoomPatch, RoomQuery, RoomSettings, RoomSort, Scope,
    Session, SessionId, Source, Tally, UnixTime, UserId, presence_change,
};
use crate::store::{
    Changed, Claim, Counted, CreateRoom, Occupy, Page, RoomFilter, RoomStore, RoomWrite, Seen,
    SeenOutcome, StoreError, StoreResult,
};

const ROOM_COLUMNS: &str = "id, name, created_by, admin_id, is_active, is_public, \
    max_participants, mode, settings, active_count, created_at, updated_at, archived_at, live_sid, \
    suspended, last_activity_at";
const MEMBER_COLUMNS: &str = "room_id, user_id, name, role, is_active, banned, admitted, denied, \
    chat_blocked, joined_at, left_at, session, seen_at";

fn corrupt(what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("bad stored {what}").into(),
    )
}

/// Rows are read by column name, so a column added later cannot shift the others.
fn row_to_room(r: &Row<'_>) -> rusqlite::Result<Room> {
    let text = |c: &str| r.get::<_, String>(c);
    Ok(Room {
        id: RoomId::parse(&text("id")?).map_err(|_| corrupt("room id"))?,
        name: RoomName::parse(&text("name")?).map_err(|_| corrupt("room name"))?,
        created_by: UserId::parse(&text("created_by")?).map_err(|_| corrupt("created_by"))?,
        admin_id: UserId::parse(&text("admin_id")?).map_err(|_| corrupt("admin_id"))?,
        is_active: r.get("is_active")?,
        is_public: r.get("is_public")?,
        max_participants: r.get("max_participants")?,
        mode: RoomMode::parse(&text("mode")?).map_err(|_| corrupt("mode"))?,
        settings: settings_from(&text("settings")?)?,
        active_count: r.get("active_count")?,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
        archived_at: r.get("archived_at")?,
        live_sid: r.get("live_sid")?,
        suspended: r.get("suspended")?,
        last_activity_at: r.get("last_activity_at")?,
    })
}

/// The switches from their JSON object; a switch the object lacks reads as its default.
fn settings_from(json: &str) -> rusqlite::Result<RoomSettings> {
    let obj: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(json).map_err(|_| corrupt("settings"))?;
    Ok(RoomSettings::from_flags(|k| {
        obj.get(k).and_then(|v| v.as_bool())
    }))
}

/// Switches as a JSON object by name (all of a room's, or the ones a patch sets).
fn flags_json(flags: &[(&str, bool)]) -> String {
    let obj: serde_json::Map<String, serde_json::Value> = flags
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::Bool(*v)))
        .collect();
    serde_json::Value::Object(obj).to_string()
}

fn row_to_member(r: &Row<'_>) -> rusqlite::Result<Member> {
    let denied: String = r.get("denied")?;
    let denied: Vec<String> = serde_json::from_str(&denied).map_err(|_| corrupt("denied"))?;
    Ok(Member {
        room_id: RoomId::parse(&r.get::<_, String>("room_id")?).map_err(|_| corrupt("room id"))?,
        user_id: UserId::parse(&r.get::<_, String>("user_id")?).map_err(|_| corrupt("user id"))?,
        name: DisplayName::from_trusted(r.get("name")?),
        role: MemberRole::parse(&r.get::<_, String>("role")?).ok_or_else(|| corrupt("role"))?,
        is_active: r.get("is_active")?,
        banned: r.get("banned")?,
        admitted: r.get("admitted")?,
        restrictions: Restrictions {
            denied: denied.iter().filter_map(|s| Source::parse(s)).collect(),
            chat_blocked: r.get("chat_blocked")?,
        },
        joined_at: r.get("joined_at")?,
        left_at: r.get("left_at")?,
        session: r.get("session")?,
        seen_at: r.get("seen_at")?,
    })
}

fn denied_json(r: &Restrictions) -> String {
    serde_json::to_string(&r.denied.iter().map(|s| s.as_str()).collect::<Vec<_>>())
        .expect("strings serialize")
}

/// One row through the connection's statement cache: on the join path, preparing a
/// statement costs more than running it.
fn cached_row<T, P: rusqlite::Params>(
    c: &Connection,
    sql: &str,
    params: P,
    map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> StoreResult<Option<T>> {
    c.prepare_cached(sql)
        .and_then(|mut stmt| stmt.query_row(params, map).optional())
        .map_err(map_err)
}

fn room_by_id(c: &Connection, id: &str) -> StoreResult<Option<Room>> {
    cached_row(
        c,
        &format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE id = ?1"),
        [id],
        row_to_room,
    )
}

fn member(c: &Connection, room: &str, user: &str) -> StoreResult<Option<Member>> {
    cached_row(
        c,
        &format!("SELECT {MEMBER_COLUMNS} FROM room_members WHERE room_id = ?1 AND user_id = ?2"),
        [room, user],
        row_to_member,
    )
}

/// Whether an id names an archived room (after a write matched no active row).
fn missing_or_archived(c: &Connection, id: &str) -> StoreResult<RoomWrite> {
    Ok(match room_by_id(c, id)? {
        Some(_) => RoomWrite::Archived,
        None => RoomWrite::NotFound,
    })
}

/// Creates the member row if absent (a ban may precede any join), keeping an existing one.
fn ensure_member(tx: &Connection, room: &str, user: &str, now: UnixTime) -> StoreResult<()> {
    exec(
        tx,
        "INSERT INTO room_members (room_id, user_id, name, role, is_active, banned, denied, \
         chat_blocked, joined_at) VALUES (?1, ?2, ?2, 'participant', 0, 0, '[]', 0, ?3) \
         ON CONFLICT DO NOTHING",
        params![room, user, now],
    )
    .map(|_| ())
    .map_err(map_err)
}

#[async_trait]
impl RoomStore for SqliteStore {
    async fn create_room(&self, room: &Room, owner_limit: Option<u32>) -> StoreResult<CreateRoom> {
        let r = room.clone();
        self.write(move |c| {
            let tx = immediate(c)?;
            let taken: bool = one(
                &tx,
                "SELECT EXISTS (SELECT 1 FROM rooms WHERE name = ?1 AND is_active = 1)",
                [r.name.as_str()],
                |row| row.get(0),
            )
            .map_err(map_err)?;
            if taken {
                return Ok(CreateRoom::NameTaken);
            }
            if let Some(limit) = owner_limit {
                let owned: u32 = one(
                    &tx,
                    "SELECT count(*) FROM rooms WHERE created_by = ?1 AND is_active = 1",
                    [r.created_by.as_str()],
                    |row| row.get(0),
                )
                .map_err(map_err)?;
                if owned >= limit {
                    return Ok(CreateRoom::LimitReached);
                }
            }
            exec(
                &tx,
                &format!(
                    "INSERT INTO rooms ({ROOM_COLUMNS}) VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?7, \
                     ?8, 0, ?9, ?10, NULL, NULL, 0, ?9)"
                ),
                params![
                    r.id.as_str(),
                    r.name.as_str(),
                    r.created_by.as_str(),
                    r.admin_id.as_str(),
                    r.is_public,
                    r.max_participants,
                    r.mode.as_str(),
                    flags_json(&r.settings.flags()),
                    r.created_at,
                    r.updated_at,
                ],
            )
            .map_err(map_err)?;
            bump(&tx, &Tally::room(None, Some(&r)))?;
            log_event(&tx, &RoomEvent::created(&r))?;
            tx.commit().map_err(map_err)?;
            Ok(CreateRoom::Created)
        })
        .await
    }

    async fn room(&self, id: &RoomId) -> StoreResult<Option<Room>> {
        let id = id.as_str().to_string();
        self.read(move |c| room_by_id(c, &id)).await
    }

    async fn active_room(
        &self,
        name: &RoomName,
        user: Option<&UserId>,
    ) -> StoreResult<Option<(Room, Option<Member>)>> {
        let (name, user) = (
            name.as_str().to_string(),
            user.map(|u| u.as_str().to_string()),
        );
        self.read(move |c| {
            let room = cached_row(
                c,
                &format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE name = ?1 AND is_active = 1"),
                [&name],
                row_to_room,
            )?;
            let Some(room) = room else { return Ok(None) };
            let m = match user {
                Some(u) => member(c, room.id.as_str(), &u)?,
                None => None,
            };
            Ok(Some((room, m)))
        })
        .await
    }

    async fn entry_read(
        &self,
        name: &RoomName,
        user: &UserId,
        session: &SessionId,
    ) -> StoreResult<(Option<(Room, Option<Member>)>, Option<Session>)> {
        let (room, live) = tokio::join!(
            self.active_room(name, Some(user)),
            crate::store::SessionStore::session(self, user, session)
        );
        Ok((room?, live?))
    }

    async fn last_archived_room(&self, name: &RoomName) -> StoreResult<Option<Room>> {
        let name = name.as_str().to_string();
        self.read(move |c| {
            one(
                c,
                &format!(
                    "SELECT {ROOM_COLUMNS} FROM rooms WHERE name = ?1 AND is_active = 0 \
                     ORDER BY archived_at DESC, id DESC LIMIT 1"
                ),
                [name],
                row_to_room,
            )
            .optional()
            .map_err(map_err)
        })
        .await
    }

    async fn owned_rooms(
        &self,
        owner: &UserId,
        limit: u32,
        after: Option<&str>,
    ) -> StoreResult<Page<Room>> {
        let owner = owner.as_str().to_string();
        let cursor = match after {
            None => None,
            Some(c) => {
                let (t, id) = c
                    .split_once(':')
                    .and_then(|(t, id)| Some((t.parse::<i64>().ok()?, id.to_string())))
                    .ok_or_else(|| StoreError::Other("malformed page cursor".into()))?;
                Some((t, id))
            }
        };
        self.read(move |c| {
            let (t, id) = cursor.unzip();
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {ROOM_COLUMNS} FROM rooms WHERE created_by = ?1 AND is_active = 1 \
                     AND (?2 IS NULL OR (created_at, id) < (?2, ?3)) \
                     ORDER BY created_at DESC, id DESC LIMIT ?4"
                ))
                .map_err(map_err)?;
            let items = stmt
                .query_map(params![owner, t, id, limit + 1], row_to_room)
                .map_err(map_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(map_err)?;
            Ok(page(items, limit as usize))
        })
        .await
    }

    async fn archived_rooms(
        &self,
        owner: &UserId,
        offset: u32,
        limit: u32,
    ) -> StoreResult<Counted<Room>> {
        let owner = owner.as_str().to_string();
        self.read(move |c| {
            counted(
                c,
                ROOM_COLUMNS,
                "rooms WHERE created_by = ?1 AND is_active = 0",
                "archived_at DESC, id DESC",
                &[&owner],
                limit,
                offset,
                row_to_room,
            )
        })
        .await
    }

    async fn update_room(
        &self,
        id: &RoomId,
        patch: &RoomPatch,
        now: UnixTime,
    ) -> StoreResult<RoomWrite> {
        let (id, p) = (id.as_str().to_string(), patch.clone());
        self.write(move |c| {
            let tx = immediate(c)?;
            let Some(before) = room_by_id(&tx, &id)?.filter(|r| r.is_active) else {
                return missing_or_archived(&tx, &id);
            };
            let room = one(
                &tx,
                &format!(
                    "UPDATE rooms SET is_public = COALESCE(?2, is_public), \
                         max_participants = COALESCE(?3, max_participants), \
                         mode = COALESCE(?4, mode), settings = json_patch(settings, ?5), \
                         suspended = COALESCE(?6, suspended), updated_at = ?7 \
                         WHERE id = ?1 RETURNING {ROOM_COLUMNS}"
                ),
                params![
                    id,
                    p.is_public,
                    p.max_participants,
                    p.mode.map(|m| m.as_str()),
                    flags_json(&p.settings.fields()),
                    p.suspended,
                    now,
                ],
                row_to_room,
            )
            .map_err(map_err)?;
            bump(&tx, &Tally::room(Some(&before), Some(&room)))?;
            tx.commit().map_err(map_err)?;
            Ok(RoomWrite::Done(room))
        })
        .await
    }

    async fn archive_room(&self, id: &RoomId, now: UnixTime) -> StoreResult<RoomWrite> {
        let id = id.as_str().to_string();
        self.write(move |c| {
            let tx = immediate(c)?;
            let archived = one(
                &tx,
                &format!(
                    "UPDATE rooms SET is_active = 0, active_count = 0, archived_at = ?2, \
                         updated_at = ?2 WHERE id = ?1 AND is_active = 1 RETURNING {ROOM_COLUMNS}"
                ),
                params![id, now],
                row_to_room,
            )
            .optional()
            .map_err(map_err)?;
            let Some(room) = archived else {
                return missing_or_archived(&tx, &id);
            };
            let before = Room {
                is_active: true,
                ..room.clone()
            };
            bump(&tx, &Tally::room(Some(&before), Some(&room)))?;
            exec(
                &tx,
                "UPDATE room_members SET is_active = 0, left_at = ?2 \
                 WHERE room_id = ?1 AND is_active = 1",
                params![id, now],
            )
            .map_err(map_err)?;
            tx.commit().map_err(map_err)?;
            Ok(RoomWrite::Done(room))
        })
        .await
    }

    async fn occupy(
        &self,
        room: &Room,
        _seen: Option<&Member>,
        user: &UserId,
        name: &DisplayName,
        now: UnixTime,
    ) -> StoreResult<Occupy> {
        let (rid, user, name) = (
            room.id.as_str().to_string(),
            user.as_str().to_string(),
            name.as_str().to_string(),
        );
        self.write(move |c| {
            let tx = immediate(c)?;
            let Some(current) = room_by_id(&tx, &rid)?.filter(|r| r.is_active) else {
                return Ok(Occupy::RoomGone);
            };
            if let Err(refused) = policy::seat(&current, member(&tx, &rid, &user)?.as_ref()) {
                return Ok(Occupy::from(refused));
            }
            exec(
                &tx,
                "INSERT INTO room_members (room_id, user_id, name, role, is_active, banned, \
                 admitted, denied, chat_blocked, joined_at, seen_at) VALUES (?1, ?2, ?3, \
                 'participant', 1, 0, 1, '[]', 0, ?4, ?4) ON CONFLICT DO UPDATE SET \
                 is_active = 1, admitted = 1, name = excluded.name, \
                 joined_at = excluded.joined_at, left_at = NULL, session = NULL, \
                 seen_at = excluded.seen_at",
                params![rid, user, name, now],
            )
            .map_err(map_err)?;
            exec(
                &tx,
                "UPDATE rooms SET active_count = active_count + 1, \
                 last_activity_at = MAX(last_activity_at, ?2) WHERE id = ?1",
                params![rid, now],
            )
            .map_err(map_err)?;
            tx.commit().map_err(map_err)?;
            Ok(Occupy::Joined)
        })
        .await
    }

    async fn change_member(
        &self,
        room: &Room,
        user: &UserId,
        change: &MemberChange,
        now: UnixTime,
    ) -> StoreResult<Option<Changed>> {
        let (rid, uid, change) = (room.id.clone(), user.clone(), change.clone());
        self.write(move |c| {
            let tx = immediate(c)?;
            if !room_by_id(&tx, rid.as_str())?.is_some_and(|r| r.is_active) {
                return Ok(None);
            }
            let existing = member(&tx, rid.as_str(), uid.as_str())?;
            let mut m = existing.clone().unwrap_or_else(|| {
                Member::blank(&rid, &uid, DisplayName::from_trusted(uid.to_string()), now)
            });
            let before = m.standing();
            let after = change.apply(&before);
            if after == before {
                return Ok(Some(Changed { before, member: m }));
            }
            // A ban frees the seat its holder had.
            let frees_seat = after.banned && m.is_active;
            m.set_standing(after);
            if frees_seat {
                m.is_active = false;
                m.left_at = Some(now);
            }
            exec(
                &tx,
                &format!(
                    "INSERT INTO room_members ({MEMBER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, \
                     ?7, ?8, ?9, ?10, ?11, ?12, ?13) ON CONFLICT DO UPDATE SET \
                     role = excluded.role, is_active = excluded.is_active, \
                     banned = excluded.banned, admitted = excluded.admitted, \
                     denied = excluded.denied, chat_blocked = excluded.chat_blocked, \
                     left_at = excluded.left_at"
                ),
                params![
                    m.room_id.as_str(),
                    m.user_id.as_str(),
                    m.name.as_str(),
                    m.role.as_str(),
                    m.is_active,
                    m.banned,
                    m.admitted,
                    denied_json(&m.restrictions),
                    m.restrictions.chat_blocked,
                    m.joined_at,
                    m.left_at,
                    m.session,
                    m.seen_at,
                ],
            )
            .map_err(map_err)?;
            if frees_seat {
                exec(
                    &tx,
                    "UPDATE rooms SET active_count = MAX(active_count - 1, 0) WHERE id = ?1",
                    [rid.as_str()],
                )
                .map_err(map_err)?;
            }
            tx.commit().map_err(map_err)?;
            Ok(Some(Changed { before, member: m }))
        })
        .await
    }

    async fn seen(
        &self,
        room: &Room,
        user: &UserId,
        seen: Seen<'_>,
        at: UnixTime,
    ) -> StoreResult<SeenOutcome> {
        let (rid, user) = (room.id.as_str().to_string(), user.as_str().to_string());
        let (joined, session) = match seen {
            Seen::Joined { session } => (true, session.to_string()),
            Seen::Left { session } => (false, session.to_string()),
        };
        self.write(move |c| seen_in(c, &rid, &user, joined, &session, at))
            .await
    }

    async fn seen_and_record(
        &self,
        claim: Option<Claim<'_>>,
        room: &Room,
        user: &UserId,
        seen: Seen<'_>,
        at: UnixTime,
        visit: Option<&Attendance>,
    ) -> StoreResult<Option<SeenOutcome>> {
        let claim = claim.map(|c| (c.id.to_string(), c.now, c.expires_at));
        let (rid, user) = (room.id.as_str().to_string(), user.as_str().to_string());
        let (joined, session) = match seen {
            Seen::Joined { session } => (true, session.to_string()),
            Seen::Left { session } => (false, session.to_string()),
        };
        let visit = visit.cloned();
        // All in this write's savepoint: a failing step undoes the claim too.
        self.write(move |c| {
            if let Some((id, now, expires_at)) = &claim
                && !claim_in(c, id, *now, *expires_at)?
            {
                return Ok(None);
            }
            let outcome = seen_in(c, &rid, &user, joined, &session, at)?;
            if outcome != SeenOutcome::Full
                && let Some(v) = &visit
            {
                attend_in(c, v)?;
            }
            Ok(Some(outcome))
        })
        .await
    }

    async fn room_session(
        &self,
        room: &Room,
        sid: &str,
        started: bool,
        at: UnixTime,
    ) -> StoreResult<u32> {
        let (rid, sid) = (room.id.as_str().to_string(), sid.to_string());
        self.write(move |c| {
            let tx = immediate(c)?;
            if started {
                // A meeting counts once, however often LiveKit reports its start.
                let new = exec(
                    &tx,
                    "UPDATE rooms SET live_sid = ?2, last_activity_at = MAX(last_activity_at, ?3) \
                         WHERE id = ?1 AND is_active = 1 AND live_sid IS NOT ?2",
                    params![rid, sid, at],
                )
                .map_err(map_err)?;
                if new == 1 {
                    bump(&tx, &Tally::new().add(&Scope::day(at), Metric::Meetings, 1))?;
                }
                tx.commit().map_err(map_err)?;
                return Ok(0);
            }
            let ended = exec(
                &tx,
                "UPDATE rooms SET live_sid = NULL WHERE id = ?1 AND is_active = 1 \
                     AND (live_sid IS NULL OR live_sid = ?2)",
                params![rid, sid],
            )
            .map_err(map_err)?;
            if ended == 0 {
                return Ok(0); // archived, or a newer meeting is running
            }
            let freed = exec(
                &tx,
                "UPDATE room_members SET is_active = 0, left_at = ?2, seen_at = ?2 \
                     WHERE room_id = ?1 AND is_active = 1 AND seen_at <= ?2",
                params![rid, at],
            )
            .map_err(map_err)?;
            exec(
                &tx,
                "UPDATE rooms SET active_count = MAX(active_count - ?2, 0) WHERE id = ?1",
                params![rid, freed],
            )
            .map_err(map_err)?;
            tx.commit().map_err(map_err)?;
            Ok(freed as u32)
        })
        .await
    }

    async fn busy_rooms(&self, limit: u32, after: Option<&str>) -> StoreResult<Page<Room>> {
        let after = after.unwrap_or_default().to_string();
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {ROOM_COLUMNS} FROM rooms WHERE is_active = 1 \
                     AND (active_count > 0 OR live_sid IS NOT NULL) AND name > ?1 \
                     ORDER BY name LIMIT ?2"
                ))
                .map_err(map_err)?;
            let items = stmt
                .query_map(params![after, limit + 1], row_to_room)
                .map_err(map_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(map_err)?;
            let mut page = Page { items, next: None };
            if page.items.len() > limit as usize {
                page.items.truncate(limit as usize);
                page.next = page.items.last().map(|r| r.name.as_str().to_string());
            }
            Ok(page)
        })
        .await
    }

    /// Nothing to do: the busy set is a query over the rooms themselves.
    async fn settle(&self, _room: &Room) -> StoreResult<()> {
        Ok(())
    }

    async fn member(&self, room: &Room, user: &UserId) -> StoreResult<Option<Member>> {
        let (rid, uid) = (room.id.as_str().to_string(), user.as_str().to_string());
        self.read(move |c| member(c, &rid, &uid)).await
    }

    async fn active_members(&self, room: &Room) -> StoreResult<Vec<Member>> {
        let rid = room.id.as_str().to_string();
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {MEMBER_COLUMNS} FROM room_members m WHERE room_id = ?1 \
                     AND is_active = 1 AND EXISTS (SELECT 1 FROM rooms r \
                     WHERE r.id = m.room_id AND r.is_active = 1) ORDER BY joined_at, user_id"
                ))
                .map_err(map_err)?;
            stmt.query_map([rid], row_to_member)
                .map_err(map_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(map_err)
        })
        .await
    }
}

/// Cuts a `limit + 1` result to a page; the extra row only says there is more.
fn page(mut items: Vec<Room>, limit: usize) -> Page<Room> {
    let next = (items.len() > limit).then(|| {
        items.truncate(limit);
        let last = items.last().expect("limit is at least one");
        format!("{}:{}", last.created_at, last.id)
    });
    Page { items, next }
}

/// What only the admin console reads or does (`AdminStore`, `admin.rs`).
impl SqliteStore {
    pub(super) async fn all_rooms(
        &self,
        filter: &RoomFilter,
        limit: u32,
        after: Option<&str>,
    ) -> StoreResult<Page<Room>> {
        let text = filter.text.clone().unwrap_or_default();
        let active: i64 = filter.active.map_or(-1, i64::from);
        // The cursor is `<created_at>:<id>` of the last room shown.
        let (at, id) = match after.and_then(|c| c.split_once(':')) {
            Some((t, id)) => (t.parse::<i64>().unwrap_or(i64::MAX), id.to_string()),
            None => (i64::MAX, String::new()),
        };
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {ROOM_COLUMNS} FROM rooms WHERE (?1 = '' OR instr(name, ?1) > 0) \
                     AND (?2 = -1 OR is_active = ?2) AND (created_at < ?3 OR \
                     (created_at = ?3 AND id < ?4)) ORDER BY created_at DESC, id DESC LIMIT ?5"
                ))
                .map_err(map_err)?;
            let mut items = stmt
                .query_map(params![text, active, at, id, limit + 1], row_to_room)
                .map_err(map_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(map_err)?;
            let next = (items.len() > limit as usize).then(|| {
                items.truncate(limit as usize);
                let last = items.last().expect("limit is at least one");
                format!("{}:{}", last.created_at, last.id)
            });
            Ok(Page { items, next })
        })
        .await
    }

    pub(super) async fn room_table(&self, q: &RoomQuery) -> StoreResult<Counted<Room>> {
        let q = q.clone();
        self.read(move |c| {
            let filter = "(?1 = '' OR instr(lower(name), ?1) > 0) AND (?2 = '' OR (CASE \
                 WHEN is_active = 0 THEN 'archived' WHEN suspended = 1 THEN 'suspended' \
                 ELSE 'active' END) = ?2) AND (?3 = -1 OR is_public = ?3)";
            let dir = if q.descending { "DESC" } else { "ASC" };
            let key = match q.sort {
                RoomSort::Created => String::new(),
                RoomSort::Name => format!("name {dir}, "),
                RoomSort::LastActivity => format!("last_activity_at {dir}, "),
                RoomSort::Participants => format!("active_count {dir}, "),
            };
            let text = q.text.clone().unwrap_or_default();
            let status = q.status.map(|s| s.as_str()).unwrap_or_default();
            let public = q.public.map_or(-1, i64::from);
            let filter_args: [&dyn ToSql; 3] = [&text, &status, &public];
            counted(
                c,
                ROOM_COLUMNS,
                &format!("rooms WHERE {filter}"),
                &format!("{key}created_at {dir}, id {dir}"),
                &filter_args,
                q.limit,
                q.offset,
                row_to_room,
            )
        })
        .await
    }

    pub(super) async fn stale_rooms(&self, before: UnixTime) -> StoreResult<u64> {
        self.read(move |c| {
            one(
                c,
                "SELECT count(*) FROM rooms WHERE is_active = 1 AND last_activity_at < ?1",
                [before],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(map_err)
        })
        .await
    }
}

/// [`RoomStore::seen`] as a part of some write ([`SqliteStore::write`]).
fn seen_in(
    c: &mut Connection,
    rid: &str,
    user: &str,
    joined: bool,
    session: &str,
    at: UnixTime,
) -> StoreResult<SeenOutcome> {
    let tx = immediate(c)?;
    let Some(current) = room_by_id(&tx, rid)?.filter(|r| r.is_active) else {
        return Ok(SeenOutcome::Ignored);
    };
    let m = member(&tx, rid, user)?;
    let Some((active, change)) = presence_change(m.as_ref(), joined, session, at) else {
        return Ok(SeenOutcome::Ignored);
    };
    if change > 0 && current.is_full() {
        return Ok(SeenOutcome::Full);
    }
    ensure_member(&tx, rid, user, at)?;
    exec(
        &tx,
        "UPDATE room_members SET is_active = ?3, session = ?4, seen_at = ?5, \
             joined_at = CASE WHEN ?3 = 1 AND is_active = 0 THEN ?5 ELSE joined_at END, \
             left_at = CASE WHEN ?3 = 1 THEN NULL ELSE ?5 END \
             WHERE room_id = ?1 AND user_id = ?2",
        params![rid, user, active, session, at],
    )
    .map_err(map_err)?;
    if change != 0 {
        exec(
            &tx,
            "UPDATE rooms SET active_count = MAX(active_count + ?2, 0), \
                 last_activity_at = CASE WHEN ?3 THEN MAX(last_activity_at, ?4) \
                 ELSE last_activity_at END WHERE id = ?1",
            params![rid, change, active, at],
        )
        .map_err(map_err)?;
    }
    tx.commit().map_err(map_err)?;
    Ok(SeenOutcome::Applied)
}
