//! Rooms and members on DynamoDB. An active room lives under its name (`RNAME#<name>`, sk
//! `ROOM`) beside its members (`MEMBER#<user>`), so a join reads room and member in one
//! BatchGetItem and takes a seat in one transaction. `ROOM#<id>` points at the name while the
//! room is active and holds the whole record once archived. See `docs/data.md`.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, TransactWriteItem, Update,
};

use super::item::{Item, get_bool, get_list_s, get_n, get_s, n, opt_bool, opt_n, opt_s, s};
use super::keys::TALLIED;
use super::keys::{self, decode_cursor, encode_cursor};
use super::pages::{Range, SortKeys};
use super::{DynamoStore, applied, failed_conditions, map_sdk};
use crate::domain::policy;
use crate::domain::{
    Attendance, DisplayName, Member, MemberChange, MemberRole, Metric, Restrictions, Room,
    RoomEvent, RoomId, RoomMode, RoomName, RoomPatch, RoomQuery, RoomSettings, Scope, Session,
    SessionId, Source, Tally, UnixTime, UserId, presence_change,
};
use crate::store::{
    Changed, Claim, Counted, CreateRoom, Occupy, Page, RoomFilter, RoomStore, RoomWrite, Seen,
    SeenOutcome, StoreError, StoreResult,
};

const ROOM: &str = "ROOM";
const COUNT: &str = "ROOMCOUNT";
/// Sort-key prefix of an owner's archived rooms in their partition.
const ARCHIVED_PREFIX: &str = "ARCHIVED#";
/// `gsi3pk` of every room.
const ALL: &str = "ROOMS";
/// `gsi2pk` of rooms that took a seat or started a meeting since they were last settled.
const BUSY: &str = "BUSY";
/// Partitions of the activity index (`gsi4`).
const ACTIVITY_SHARDS: u32 = 8;
/// Retries of a conditional write whose read went stale under contention.
const ATTEMPTS: usize = 16;

fn name_pk(name: &RoomName) -> AttributeValue {
    s(format!("RNAME#{name}"))
}

fn id_pk(id: &RoomId) -> AttributeValue {
    s(format!("ROOM#{id}"))
}

fn member_sk(user: &UserId) -> AttributeValue {
    s(format!("MEMBER#{user}"))
}

/// The owner's active-room count lives in their user partition.
fn count_pk(owner: &UserId) -> AttributeValue {
    keys::user_pk(owner)
}

fn b(v: bool) -> AttributeValue {
    AttributeValue::Bool(v)
}

/// Fixed-width numbers keep lexical and numeric order the same in sort keys.
fn order_key(t: UnixTime, id: &RoomId) -> AttributeValue {
    s(format!("{t:020}#{id}"))
}

fn settings_item(st: &RoomSettings) -> AttributeValue {
    AttributeValue::M(
        st.flags()
            .into_iter()
            .map(|(k, v)| (k.to_string(), b(v)))
            .collect(),
    )
}

/// The room's attributes, under whichever key the caller adds.
fn room_attrs(r: &Room) -> Item {
    let mut item = Item::from([
        ("id".to_string(), s(r.id.as_str())),
        ("name".to_string(), s(r.name.as_str())),
        ("createdBy".to_string(), s(r.created_by.as_str())),
        ("adminId".to_string(), s(r.admin_id.as_str())),
        ("isActive".to_string(), b(r.is_active)),
        ("isPublic".to_string(), b(r.is_public)),
        ("maxParticipants".to_string(), n(r.max_participants.into())),
        ("mode".to_string(), s(r.mode.as_str())),
        ("settings".to_string(), settings_item(&r.settings)),
        ("activeCount".to_string(), n(r.active_count.into())),
        ("suspended".to_string(), b(r.suspended)),
        ("lastActivityAt".to_string(), n(r.last_activity_at)),
        (TALLIED.to_string(), b(true)),
        ("createdAt".to_string(), n(r.created_at)),
        ("updatedAt".to_string(), n(r.updated_at)),
    ]);
    if let Some(t) = r.archived_at {
        item.insert("archivedAt".into(), n(t));
    }
    if let Some(sid) = &r.live_sid {
        item.insert("liveSid".into(), s(sid.as_str()));
    }
    // Every room once (the active item, later the archived record): the admins' list.
    item.insert("gsi3pk".into(), s(ALL));
    item.insert("gsi3sk".into(), order_key(r.created_at, &r.id));
    item
}

/// The owner's copy of an archived room, in their partition, most recently archived last
/// in key order (their `/api/room/archived`).
fn archived_entry(r: &Room, archived_at: UnixTime) -> Item {
    let mut item = room_attrs(r);
    item.remove("gsi3pk");
    item.remove("gsi3sk");
    item.insert("pk".into(), count_pk(&r.created_by));
    item.insert(
        "sk".into(),
        s(format!("{ARCHIVED_PREFIX}{archived_at:020}#{}", r.id)),
    );
    item
}

fn active_room_item(r: &Room) -> Item {
    let mut item = room_attrs(r);
    item.insert("pk".into(), name_pk(&r.name));
    item.insert("sk".into(), s(ROOM));
    item.insert("rev".into(), n(0));
    item.insert("gsi1pk".into(), s(format!("OWNER#{}", r.created_by)));
    item.insert("gsi1sk".into(), order_key(r.created_at, &r.id));
    for (k, v) in activity_keys(r) {
        item.insert(k.into(), v);
    }
    item
}

/// An active room's place in the activity index (`gsi4`, keys only): partitioned by the
/// room id over `ACTIVITY_SHARDS` so busy joins spread, sorted by last activity, so "no
/// activity since t" is a key range.
pub(super) fn activity_keys(r: &Room) -> Vec<(&'static str, AttributeValue)> {
    let shard =
        r.id.as_str()
            .bytes()
            .fold(0u32, |h, c| h.wrapping_mul(31).wrapping_add(c.into()))
            % ACTIVITY_SHARDS;
    vec![
        ("gsi4pk", s(format!("ACTIVE#{shard}"))),
        ("gsi4sk", activity_key(r.last_activity_at, &r.id)),
        ("lastActivityAt", n(r.last_activity_at)),
    ]
}

/// The expression value each of `activity_keys` is written through.
fn activity_placeholder(attr: &str) -> &'static str {
    match attr {
        "gsi4pk" => ":g4",
        "gsi4sk" => ":g4s",
        _ => ":act",
    }
}

fn activity_key(t: UnixTime, id: &RoomId) -> AttributeValue {
    s(format!("{:020}#{id}", t.max(0)))
}

/// A room item of any age: the attributes every room was written with are required; those
/// added since (and each switch) read as their defaults when an older item lacks them.
pub(super) fn room_from(item: &Item) -> StoreResult<Room> {
    let bad = |what: &str| StoreError::Other(format!("stored room has a bad {what}"));
    let settings = match item.get("settings") {
        None => RoomSettings::default(),
        Some(v) => {
            let st = v.as_m().map_err(|_| bad("settings"))?;
            RoomSettings::from_flags(|k| st.get(k).and_then(|v| v.as_bool().ok()).copied())
        }
    };
    let count = |k: &str| -> StoreResult<u32> {
        match item.get(k) {
            None => Ok(0),
            Some(_) => u32::try_from(get_n(item, k)?.max(0)).map_err(|_| bad(k)),
        }
    };
    let created_at = get_n(item, "createdAt")?;
    let updated_at = opt_n(item, "updatedAt").unwrap_or(created_at);
    Ok(Room {
        id: RoomId::parse(&get_s(item, "id")?).map_err(|_| bad("id"))?,
        name: RoomName::parse(&get_s(item, "name")?).map_err(|_| bad("name"))?,
        created_by: UserId::parse(&get_s(item, "createdBy")?).map_err(|_| bad("createdBy"))?,
        admin_id: UserId::parse(&get_s(item, "adminId")?).map_err(|_| bad("adminId"))?,
        is_active: get_bool(item, "isActive")?,
        is_public: opt_bool(item, "isPublic").unwrap_or(false),
        max_participants: count("maxParticipants")?,
        mode: match opt_s(item, "mode") {
            None => RoomMode::default(),
            Some(m) => RoomMode::parse(&m).map_err(|_| bad("mode"))?,
        },
        settings,
        active_count: count("activeCount")?,
        created_at,
        updated_at,
        archived_at: opt_n(item, "archivedAt"),
        live_sid: opt_s(item, "liveSid"),
        suspended: opt_bool(item, "suspended").unwrap_or(false),
        last_activity_at: opt_n(item, "lastActivityAt").unwrap_or(created_at.max(updated_at)),
    })
}

fn member_item(room: &Room, m: &Member) -> Item {
    let mut item = Item::from([
        ("pk".to_string(), name_pk(&room.name)),
        ("sk".to_string(), member_sk(&m.user_id)),
        ("roomId".to_string(), s(room.id.as_str())),
        ("userId".to_string(), s(m.user_id.as_str())),
        ("name".to_string(), s(m.name.as_str())),
        ("role".to_string(), s(m.role.as_str())),
        ("isActive".to_string(), b(m.is_active)),
        ("banned".to_string(), b(m.banned)),
        ("admitted".to_string(), b(m.admitted)),
        ("srev".to_string(), n(0)),
        ("denied".to_string(), denied_item(&m.restrictions)),
        ("chatBlocked".to_string(), b(m.restrictions.chat_blocked)),
        ("joinedAt".to_string(), n(m.joined_at)),
        ("seenAt".to_string(), n(m.seen_at)),
    ]);
    if let Some(t) = m.left_at {
        item.insert("leftAt".into(), n(t));
    }
    if let Some(sid) = &m.session {
        item.insert("session".into(), s(sid.as_str()));
    }
    item
}

fn denied_item(r: &Restrictions) -> AttributeValue {
    AttributeValue::L(r.denied.iter().map(|d| s(d.as_str())).collect())
}

/// A member item of any age: who and where are required; everything added since reads as
/// its default (admission by the legacy rule).
fn member_from(item: &Item) -> StoreResult<Member> {
    let bad = |what: &str| StoreError::Other(format!("stored member has a bad {what}"));
    let user_id = UserId::parse(&get_s(item, "userId")?).map_err(|_| bad("userId"))?;
    let name = get_s(item, "name")?;
    let role = match opt_s(item, "role") {
        None => MemberRole::Participant,
        Some(r) => MemberRole::parse(&r).ok_or_else(|| bad("role"))?,
    };
    let admitted = match item.get("admitted") {
        Some(v) => *v.as_bool().map_err(|_| bad("admitted"))?,
        None => Member::legacy_admitted(role, &name, &user_id),
    };
    let denied = match item.get("denied") {
        None => Vec::new(),
        Some(_) => get_list_s(item, "denied")?,
    };
    let joined_at = opt_n(item, "joinedAt").unwrap_or(0);
    Ok(Member {
        room_id: RoomId::parse(&get_s(item, "roomId")?).map_err(|_| bad("roomId"))?,
        user_id,
        name: DisplayName::from_trusted(name),
        role,
        is_active: opt_bool(item, "isActive").unwrap_or(false),
        banned: opt_bool(item, "banned").unwrap_or(false),
        admitted,
        restrictions: Restrictions {
            denied: denied.iter().filter_map(|d| Source::parse(d)).collect(),
            chat_blocked: opt_bool(item, "chatBlocked").unwrap_or(false),
        },
        joined_at,
        left_at: opt_n(item, "leftAt"),
        session: opt_s(item, "session"),
        seen_at: opt_n(item, "seenAt").unwrap_or(0),
    })
}

fn tx_put(p: Put) -> TransactWriteItem {
    TransactWriteItem::builder().put(p).build()
}

fn tx_update(u: Update) -> TransactWriteItem {
    TransactWriteItem::builder().update(u).build()
}

/// The condition that a room item is as read: same room (`:id`), same revision (`:rev`;
/// items written before `rev` existed count as 0), and tallied or not as it was (an
/// adoption sweep in between changes what the write must add).
fn unchanged(item: &Item) -> String {
    let rev = if opt_n(item, "rev").unwrap_or(0) == 0 {
        "(rev = :rev OR attribute_not_exists(rev))"
    } else {
        "rev = :rev"
    };
    let tallied = if item.contains_key(TALLIED) {
        "attribute_exists(tallied)"
    } else {
        "attribute_not_exists(tallied)"
    };
    format!("id = :id AND {rev} AND {tallied}")
}

impl DynamoStore {
    /// Room by name and (optionally) one member, in one strongly consistent BatchGetItem.
    async fn room_and_member(
        &self,
        name: &RoomName,
        user: Option<&UserId>,
    ) -> StoreResult<(Option<Item>, Option<Item>)> {
        let (room, member, _) = self.room_member_session(name, user, None).await?;
        Ok((room, member))
    }

    /// Room by name, one member and one session, in one strongly consistent BatchGetItem
    /// (the session lives in its user's partition; a batch may span partitions).
    async fn room_member_session(
        &self,
        name: &RoomName,
        user: Option<&UserId>,
        session: Option<(&UserId, &SessionId)>,
    ) -> StoreResult<(Option<Item>, Option<Item>, Option<Item>)> {
        let key = |sk: AttributeValue| {
            HashMap::from([("pk".to_string(), name_pk(name)), ("sk".to_string(), sk)])
        };
        let mut keys = KeysAndAttributes::builder()
            .consistent_read(true)
            .keys(key(s(ROOM)));
        if let Some(u) = user {
            keys = keys.keys(key(member_sk(u)));
        }
        if let Some((u, sid)) = session {
            let (pk, sk) = keys::session(u, sid);
            keys = keys.keys(HashMap::from([
                ("pk".to_string(), pk),
                ("sk".to_string(), sk),
            ]));
        }
        let mut request = HashMap::from([(self.table.clone(), keys.build().expect("keys"))]);
        let (mut room, mut member, mut live) = (None, None, None);
        for _ in 0..ATTEMPTS {
            let out = self
                .client
                .batch_get_item()
                .set_request_items(Some(request))
                .send()
                .await
                .map_err(map_sdk)?;
            for item in out
                .responses
                .unwrap_or_default()
                .remove(&self.table)
                .unwrap_or_default()
            {
                match item
                    .get("sk")
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str)
                {
                    Some(ROOM) => room = Some(item),
                    Some(sk) if sk.starts_with("SESSION#") => live = Some(item),
                    _ => member = Some(item),
                }
            }
            match out.unprocessed_keys.filter(|u| !u.is_empty()) {
                Some(rest) => request = rest,
                None => return Ok((room, member, live)),
            }
        }
        Err(StoreError::Unavailable(
            "batch read kept returning unprocessed keys".into(),
        ))
    }

    /// The active room and `user`'s record in this incarnation of it (a member item left by
    /// an earlier room of the same name does not count).
    async fn active_pair(
        &self,
        name: &RoomName,
        user: Option<&UserId>,
    ) -> StoreResult<Option<(Room, Option<Member>)>> {
        let (room, member) = self.room_and_member(name, user).await?;
        let Some(room) = room.as_ref().map(room_from).transpose()? else {
            return Ok(None);
        };
        let member = member
            .as_ref()
            .map(member_from)
            .transpose()?
            .filter(|m| m.room_id == room.id);
        Ok(Some((room, member)))
    }

    /// The active room's item under its name: `Err` says why there is none, `Ok(None)` that
    /// the pointer and the name item disagreed (a race: read again).
    async fn active_item(
        &self,
        id: &RoomId,
    ) -> StoreResult<Result<Option<(RoomName, Item)>, RoomWrite>> {
        let name = match self.locate(id).await? {
            Located::Nowhere => return Ok(Err(RoomWrite::NotFound)),
            Located::Archived(_) => return Ok(Err(RoomWrite::Archived)),
            Located::Active(name) => name,
        };
        let item = self.get(name_pk(&name), s(ROOM)).await?;
        Ok(Ok(item
            .filter(|i| opt_s(i, "id").as_deref() == Some(id.as_str()))
            .map(|i| (name, i))))
    }

    /// What `ROOM#<id>` says: nothing, an archived record, or the name of the active room.
    async fn locate(&self, id: &RoomId) -> StoreResult<Located> {
        let Some(item) = self.get(id_pk(id), s(ROOM)).await? else {
            return Ok(Located::Nowhere);
        };
        if get_bool(&item, "isActive")? {
            let name = RoomName::parse(&get_s(&item, "name")?)
                .map_err(|_| StoreError::Other("room pointer has a bad name".into()))?;
            Ok(Located::Active(name))
        } else {
            Ok(Located::Archived(room_from(&item)?))
        }
    }

    /// The write of a member's new standing (and, for a ban, the seat it frees), as read at
    /// `srev`: the first item checks the room is still this active room, the second that the
    /// member's standing is unchanged since the read (`srev`, moved on by every write of it).
    fn member_write(
        &self,
        room: &Room,
        existing: Option<(&Member, i64)>,
        after: &Member,
    ) -> Vec<TransactWriteItem> {
        // DynamoDB allows one operation per item, so a ban that frees a seat makes the seat
        // update carry the room's condition.
        let frees_seat = existing.is_some_and(|(m, _)| m.is_active) && !after.is_active;
        let first = if frees_seat {
            // A freed seat is not activity: the time is unused.
            tx_update(self.seat_update(room, -1, room.last_activity_at))
        } else {
            let check = ConditionCheck::builder()
                .table_name(&self.table)
                .key("pk", name_pk(&room.name))
                .key("sk", s(ROOM))
                .condition_expression("id = :rid")
                .expression_attribute_values(":rid", s(room.id.as_str()))
                .build()
                .expect("complete check");
            TransactWriteItem::builder().condition_check(check).build()
        };
        let Some((was, srev)) = existing else {
            return vec![first, self.first_record(room, after)];
        };
        let mut sets = "SET #role = :role, banned = :banned, admitted = :admitted, \
                        denied = :denied, chatBlocked = :chat, srev = :next"
            .to_string();
        let mut u = Update::builder()
            .table_name(&self.table)
            .key("pk", name_pk(&room.name))
            .key("sk", member_sk(&after.user_id))
            .expression_attribute_names("#role", "role")
            .expression_attribute_values(":rid", s(room.id.as_str()))
            .expression_attribute_values(":role", s(after.role.as_str()))
            .expression_attribute_values(":banned", b(after.banned))
            .expression_attribute_values(":admitted", b(after.admitted))
            .expression_attribute_values(":denied", denied_item(&after.restrictions))
            .expression_attribute_values(":chat", b(after.restrictions.chat_blocked))
            .expression_attribute_values(":was", b(was.is_active))
            .expression_attribute_values(":srev", n(srev))
            .expression_attribute_values(":next", n(srev + 1));
        if frees_seat {
            sets.push_str(", isActive = :active, leftAt = :left");
            u = u
                .expression_attribute_values(":active", b(false))
                .expression_attribute_values(":left", n(after.left_at.unwrap_or_default()));
        }
        let unchanged = if srev == 0 {
            "(srev = :srev OR attribute_not_exists(srev))"
        } else {
            "srev = :srev"
        };
        let update = u
            .update_expression(sets)
            .condition_expression(format!("roomId = :rid AND isActive = :was AND {unchanged}"))
            .build()
            .expect("complete update");
        vec![first, tx_update(update)]
    }

    /// Items of one `gsi1` partition, newest first.
    async fn newest_in_gsi(
        &self,
        pk: String,
        limit: u32,
        start: Option<Item>,
    ) -> StoreResult<aws_sdk_dynamodb::operation::query::QueryOutput> {
        self.client
            .query()
            .table_name(&self.table)
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :pk")
            .expression_attribute_values(":pk", s(pk))
            .scan_index_forward(false)
            .limit(limit.max(1) as i32)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(map_sdk)
    }

    /// Writes a member's first record in this incarnation of the room, replacing any left by
    /// an earlier room of the same name, but never one of this room.
    fn first_record(&self, room: &Room, m: &Member) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(member_item(room, m)))
            .condition_expression("attribute_not_exists(pk) OR roomId <> :rid")
            .expression_attribute_values(":rid", s(room.id.as_str()))
            .build()
            .expect("complete put");
        tx_put(put)
    }

    /// Moves the room's seat count by `delta` (+1 only while a seat is free); a seat taken
    /// at `at` is the room's latest activity.
    fn seat_update(&self, room: &Room, delta: i64, at: UnixTime) -> Update {
        self.count_update(room, delta, delta > 0, at)
    }

    /// Moves the seat count by `delta`, checking capacity only when `capped` (LiveKit saying
    /// someone is in is a fact, not a request).
    fn count_update(&self, room: &Room, delta: i64, capped: bool, at: UnixTime) -> Update {
        let u = Update::builder()
            .table_name(&self.table)
            .key("pk", name_pk(&room.name))
            .key("sk", s(ROOM))
            .expression_attribute_values(":d", n(delta))
            .expression_attribute_values(":rid", s(room.id.as_str()));
        // Taking a seat marks the room busy (sparse `gsi2`) for the reconciler, and is
        // activity.
        let u = if delta > 0 {
            let seen = Room {
                last_activity_at: at.max(room.last_activity_at),
                ..room.clone()
            };
            let mut u = u
                .update_expression(
                    "SET activeCount = activeCount + :d, gsi2pk = :busy, gsi2sk = #name, \
                     lastActivityAt = :act, gsi4pk = :g4, gsi4sk = :g4s",
                )
                .expression_attribute_names("#name", "name")
                .expression_attribute_values(":busy", s(BUSY));
            for (k, v) in activity_keys(&seen) {
                u = u.expression_attribute_values(activity_placeholder(k), v);
            }
            u
        } else {
            u.update_expression("SET activeCount = activeCount + :d")
        };
        let u = if capped {
            u.condition_expression(
                "id = :rid AND (maxParticipants = :zero OR activeCount < maxParticipants)",
            )
            .expression_attribute_values(":zero", n(0))
        } else {
            u.condition_expression("id = :rid")
        };
        u.build().expect("complete update")
    }
}

enum Located {
    Nowhere,
    Active(RoomName),
    Archived(Room),
}

#[async_trait]
impl RoomStore for DynamoStore {
    /// One transaction: the name claim (fails if an active room has it), the id pointer, and
    /// the owner's active-room count (fails at the limit).
    async fn create_room(&self, room: &Room, owner_limit: Option<u32>) -> StoreResult<CreateRoom> {
        let claim = Put::builder()
            .table_name(&self.table)
            .set_item(Some(active_room_item(room)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("complete put");
        let pointer = Put::builder()
            .table_name(&self.table)
            .item("pk", id_pk(&room.id))
            .item("sk", s(ROOM))
            .item("name", s(room.name.as_str()))
            .item("isActive", b(true))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("complete put");
        let mut count = Update::builder()
            .table_name(&self.table)
            .key("pk", count_pk(&room.created_by))
            .key("sk", s(COUNT))
            .update_expression("SET rooms = if_not_exists(rooms, :zero) + :one")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1));
        if let Some(limit) = owner_limit {
            count = count
                .condition_expression("attribute_not_exists(rooms) OR rooms < :limit")
                .expression_attribute_values(":limit", n(limit.into()));
        }
        let mut items = vec![
            tx_put(claim),
            tx_put(pointer),
            tx_update(count.build().expect("complete update")),
            self.event_write(&RoomEvent::created(room)),
        ];
        items.extend(self.tally_writes(&Tally::room(None, Some(room))));
        match self.transact(items).await {
            Ok(()) => Ok(CreateRoom::Created),
            Err(e) => match failed_conditions(&e) {
                Some(f) if f.contains(&0) => Ok(CreateRoom::NameTaken),
                Some(f) if f.contains(&2) => Ok(CreateRoom::LimitReached),
                Some(_) => Err(StoreError::Conflict("room id taken")),
                None => Err(map_sdk(e)),
            },
        }
    }

    async fn room(&self, id: &RoomId) -> StoreResult<Option<Room>> {
        match self.locate(id).await? {
            Located::Nowhere => Ok(None),
            Located::Archived(room) => Ok(Some(room)),
            Located::Active(name) => Ok(self
                .active_pair(&name, None)
                .await?
                .map(|(r, _)| r)
                .filter(|r| &r.id == id)),
        }
    }

    async fn active_room(
        &self,
        name: &RoomName,
        user: Option<&UserId>,
    ) -> StoreResult<Option<(Room, Option<Member>)>> {
        self.active_pair(name, user).await
    }

    async fn entry_read(
        &self,
        name: &RoomName,
        user: &UserId,
        session: &SessionId,
    ) -> StoreResult<(Option<(Room, Option<Member>)>, Option<Session>)> {
        let (room, member, live) = self
            .room_member_session(name, Some(user), Some((user, session)))
            .await?;
        let live = live.as_ref().map(super::sessions::from_item).transpose()?;
        let Some(room) = room.as_ref().map(room_from).transpose()? else {
            return Ok((None, live));
        };
        let member = member
            .as_ref()
            .map(member_from)
            .transpose()?
            .filter(|m| m.room_id == room.id);
        Ok((Some((room, member)), live))
    }

    async fn last_archived_room(&self, name: &RoomName) -> StoreResult<Option<Room>> {
        let out = self
            .newest_in_gsi(format!("ARCHIVED#{name}"), 1, None)
            .await?;
        out.items().first().map(room_from).transpose()
    }

    async fn owned_rooms(
        &self,
        owner: &UserId,
        limit: u32,
        after: Option<&str>,
    ) -> StoreResult<Page<Room>> {
        let start = after.map(decode_cursor).transpose()?;
        let out = self
            .newest_in_gsi(format!("OWNER#{owner}"), limit, start)
            .await?;
        Ok(Page {
            items: out
                .items()
                .iter()
                .map(room_from)
                .collect::<StoreResult<_>>()?,
            next: out.last_evaluated_key().map(encode_cursor),
        })
    }

    async fn archived_rooms(
        &self,
        owner: &UserId,
        offset: u32,
        limit: u32,
    ) -> StoreResult<Counted<Room>> {
        let range = Range::table_prefix(format!("USER#{owner}"), ARCHIVED_PREFIX);
        let (total, items) = tokio::try_join!(
            self.count_range(&range),
            self.page_range(&range, offset, limit)
        )?;
        Ok(Counted {
            total,
            items: items.iter().map(room_from).collect::<StoreResult<_>>()?,
        })
    }

    /// Read, patch, write back whole under the read's revision, with the tally of the
    /// change in the same transaction; again if something changed the room meanwhile.
    async fn update_room(
        &self,
        id: &RoomId,
        patch: &RoomPatch,
        now: UnixTime,
    ) -> StoreResult<RoomWrite> {
        for _ in 0..ATTEMPTS {
            let (name, item) = match self.active_item(id).await? {
                Err(w) => return Ok(w),
                Ok(Some(found)) => found,
                Ok(None) => continue,
            };
            let before = room_from(&item)?;
            let mut after = before.clone();
            patch.apply(&mut after);
            after.updated_at = now;
            let tallied = item.contains_key(TALLIED);
            let tally = if tallied {
                Tally::room(Some(&before), Some(&after))
            } else {
                Tally::room_untallied(Some(&after))
            };
            let write = Update::builder()
                .table_name(&self.table)
                .key("pk", name_pk(&name))
                .key("sk", s(ROOM))
                .update_expression(
                    "SET isPublic = :pub, maxParticipants = :max, #mode = :mode, settings = :st, \
                     suspended = :sus, updatedAt = :now, #t = :true, gsi3pk = :all, \
                     gsi3sk = :order, rev = if_not_exists(rev, :zero) + :one",
                )
                .condition_expression(unchanged(&item))
                .expression_attribute_names("#mode", "mode")
                .expression_attribute_names("#t", TALLIED)
                .expression_attribute_values(":id", s(id.as_str()))
                .expression_attribute_values(":rev", n(opt_n(&item, "rev").unwrap_or(0)))
                .expression_attribute_values(":pub", b(after.is_public))
                .expression_attribute_values(":max", n(after.max_participants.into()))
                .expression_attribute_values(":mode", s(after.mode.as_str()))
                .expression_attribute_values(":st", settings_item(&after.settings))
                .expression_attribute_values(":sus", b(after.suspended))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":true", b(true))
                // Rooms of the first release carry no index keys: a change lists them.
                .expression_attribute_values(":all", s(ALL))
                .expression_attribute_values(":order", order_key(after.created_at, id))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":zero", n(0))
                .build()
                .expect("complete update");
            let mut items = vec![tx_update(write)];
            items.extend(self.tally_writes(&tally));
            match self.transact(items).await {
                Ok(()) => return Ok(RoomWrite::Done(after)),
                Err(e) if failed_conditions(&e).is_some() => continue,
                Err(e) => return Err(map_sdk(e)),
            }
        }
        Err(StoreError::Unavailable(
            "room kept changing while updating".into(),
        ))
    }

    /// One transaction: the name item goes (only if unchanged since read), the id item
    /// becomes the archived record, the owner's count drops. Retried if a settings change
    /// raced it, so the archived record is never stale.
    async fn archive_room(&self, id: &RoomId, now: UnixTime) -> StoreResult<RoomWrite> {
        for _ in 0..ATTEMPTS {
            let (name, item) = match self.active_item(id).await? {
                Err(w) => return Ok(w),
                Ok(Some(found)) => found,
                Ok(None) => continue,
            };
            let mut room = room_from(&item)?;
            let before = room.clone();
            let rev = opt_n(&item, "rev").unwrap_or(0);
            let unchanged = unchanged(&item);
            room.is_active = false;
            room.active_count = 0;
            room.archived_at = Some(now);
            room.updated_at = now;
            let mut record = room_attrs(&room);
            record.insert("pk".into(), id_pk(id));
            record.insert("sk".into(), s(ROOM));
            record.insert("gsi1pk".into(), s(format!("ARCHIVED#{name}")));
            record.insert("gsi1sk".into(), order_key(now, id));
            let release = Delete::builder()
                .table_name(&self.table)
                .key("pk", name_pk(&name))
                .key("sk", s(ROOM))
                .condition_expression(unchanged)
                .expression_attribute_values(":id", s(id.as_str()))
                .expression_attribute_values(":rev", n(rev))
                .build()
                .expect("complete delete");
            let archive = Put::builder()
                .table_name(&self.table)
                .set_item(Some(record))
                .condition_expression("isActive = :t")
                .expression_attribute_values(":t", b(true))
                .build()
                .expect("complete put");
            let listed = Put::builder()
                .table_name(&self.table)
                .set_item(Some(archived_entry(&room, now)))
                .build()
                .expect("complete put");
            let count = Update::builder()
                .table_name(&self.table)
                .key("pk", count_pk(&room.created_by))
                .key("sk", s(COUNT))
                .update_expression("SET rooms = if_not_exists(rooms, :one) - :one")
                .expression_attribute_values(":one", n(1))
                .build()
                .expect("complete update");
            let tally = if item.contains_key(TALLIED) {
                Tally::room(Some(&before), Some(&room))
            } else {
                Tally::room_untallied(Some(&room))
            };
            let mut items = vec![
                TransactWriteItem::builder().delete(release).build(),
                tx_put(archive),
                tx_put(listed),
                tx_update(count),
            ];
            items.extend(self.tally_writes(&tally));
            match self.transact(items).await {
                Ok(()) => return Ok(RoomWrite::Done(room)),
                Err(e) if failed_conditions(&e).is_some() => continue,
                Err(e) => return Err(map_sdk(e)),
            }
        }
        Err(StoreError::Unavailable(
            "room kept changing while archiving".into(),
        ))
    }

    /// One transaction: a seat (only while one is free) and the member turned active (only
    /// if not banned and not already active). A failed condition re-reads to say why.
    async fn occupy(
        &self,
        room: &Room,
        seen: Option<&Member>,
        user: &UserId,
        name: &DisplayName,
        now: UnixTime,
    ) -> StoreResult<Occupy> {
        let mut seen = seen.cloned();
        for _ in 0..ATTEMPTS {
            let member = match &seen {
                None => {
                    let mut m = Member::blank(&room.id, user, name.clone(), now);
                    m.is_active = true;
                    m.admitted = true;
                    self.first_record(room, &m)
                }
                Some(_) => tx_update(
                    Update::builder()
                        .table_name(&self.table)
                        .key("pk", name_pk(&room.name))
                        .key("sk", member_sk(user))
                        .update_expression(
                            "SET isActive = :t, admitted = :t, #name = :name, joinedAt = :now, \
                             seenAt = :now, srev = if_not_exists(srev, :zero) + :one \
                             REMOVE leftAt, #session",
                        )
                        .condition_expression("roomId = :rid AND isActive = :f AND banned = :f")
                        .expression_attribute_names("#name", "name")
                        .expression_attribute_names("#session", "session")
                        .expression_attribute_values(":t", b(true))
                        .expression_attribute_values(":f", b(false))
                        .expression_attribute_values(":name", s(name.as_str()))
                        .expression_attribute_values(":now", n(now))
                        .expression_attribute_values(":rid", s(room.id.as_str()))
                        .expression_attribute_values(":zero", n(0))
                        .expression_attribute_values(":one", n(1))
                        .build()
                        .expect("complete update"),
                ),
            };
            let sent = self
                .client
                .transact_write_items()
                .transact_items(tx_update(self.seat_update(room, 1, now)))
                .transact_items(member)
                .send()
                .await;
            match sent {
                Ok(_) => return Ok(Occupy::Joined),
                Err(e) if failed_conditions(&e).is_none() => return Err(map_sdk(e)),
                Err(_) => {}
            }
            let Some((current, member)) = self.active_pair(&room.name, Some(user)).await? else {
                return Ok(Occupy::RoomGone);
            };
            if current.id != room.id {
                return Ok(Occupy::RoomGone);
            }
            if let Err(refused) = policy::seat(&current, member.as_ref()) {
                return Ok(Occupy::from(refused));
            }
            seen = member;
        }
        Err(StoreError::Unavailable("room seats kept changing".into()))
    }

    /// Read, apply the change to the standing as read, write it back only if nobody changed
    /// that standing meanwhile; a race re-reads and applies the change again.
    async fn change_member(
        &self,
        room: &Room,
        user: &UserId,
        change: &MemberChange,
        now: UnixTime,
    ) -> StoreResult<Option<Changed>> {
        for _ in 0..ATTEMPTS {
            let (room_item, member_item) = self.room_and_member(&room.name, Some(user)).await?;
            let Some(current) = room_item.as_ref().map(room_from).transpose()? else {
                return Ok(None);
            };
            if current.id != room.id {
                return Ok(None);
            }
            let existing = match &member_item {
                Some(item) => Some((member_from(item)?, opt_n(item, "srev").unwrap_or(0)))
                    .filter(|(m, _)| m.room_id == room.id),
                None => None,
            };
            let mut m = match &existing {
                Some((m, _)) => m.clone(),
                None => Member::blank(
                    &room.id,
                    user,
                    DisplayName::from_trusted(user.to_string()),
                    now,
                ),
            };
            let before = m.standing();
            let after = change.apply(&before);
            if after == before {
                return Ok(Some(Changed { before, member: m }));
            }
            if after.banned && m.is_active {
                m.is_active = false;
                m.left_at = Some(now);
            }
            m.set_standing(after);
            let items = self.member_write(room, existing.as_ref().map(|(m, r)| (m, *r)), &m);
            match self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await
            {
                Ok(_) => return Ok(Some(Changed { before, member: m })),
                Err(e) => match failed_conditions(&e) {
                    Some(f) if f.contains(&0) => return Ok(None),
                    Some(_) => continue,
                    None => return Err(map_sdk(e)),
                },
            }
        }
        Err(StoreError::Unavailable("member kept changing".into()))
    }

    /// Compare-and-set on the member as read (activity, session, seen time), with the seat
    /// count in the same transaction; a race re-reads and decides again.
    async fn seen(
        &self,
        room: &Room,
        user: &UserId,
        seen: Seen<'_>,
        at: UnixTime,
    ) -> StoreResult<SeenOutcome> {
        let (joined, session) = match seen {
            Seen::Joined { session } => (true, session),
            Seen::Left { session } => (false, session),
        };
        for _ in 0..ATTEMPTS {
            let Some((current, member)) = self.active_pair(&room.name, Some(user)).await? else {
                return Ok(SeenOutcome::Ignored);
            };
            if current.id != room.id {
                return Ok(SeenOutcome::Ignored);
            }
            let Some((active, change)) = presence_change(member.as_ref(), joined, session, at)
            else {
                return Ok(SeenOutcome::Ignored);
            };
            if change > 0 && current.is_full() {
                return Ok(SeenOutcome::Full);
            }
            let write = match &member {
                None => {
                    let placeholder = DisplayName::from_trusted(user.to_string());
                    let mut m = Member::blank(&room.id, user, placeholder, at);
                    m.is_active = active;
                    m.session = Some(session.to_string());
                    if !active {
                        m.left_at = Some(at);
                    }
                    self.first_record(room, &m)
                }
                Some(m) => {
                    let mut u = Update::builder()
                        .table_name(&self.table)
                        .key("pk", name_pk(&room.name))
                        .key("sk", member_sk(user))
                        .expression_attribute_names("#session", "session")
                        .expression_attribute_values(":rid", s(room.id.as_str()))
                        .expression_attribute_values(":was", b(m.is_active))
                        .expression_attribute_values(":act", b(active))
                        .expression_attribute_values(":sid", s(session))
                        .expression_attribute_values(":at", n(at))
                        .expression_attribute_values(":prev", n(m.seen_at));
                    u = if active {
                        let since = if m.is_active { m.joined_at } else { at };
                        u.update_expression(
                            "SET isActive = :act, #session = :sid, seenAt = :at, \
                             joinedAt = :since REMOVE leftAt",
                        )
                        .expression_attribute_values(":since", n(since))
                    } else {
                        u.update_expression(
                            "SET isActive = :act, #session = :sid, seenAt = :at, leftAt = :at",
                        )
                    };
                    let same_session = match &m.session {
                        Some(prev) => {
                            u = u.expression_attribute_values(":psid", s(prev.as_str()));
                            "#session = :psid"
                        }
                        None => "attribute_not_exists(#session)",
                    };
                    let cond = format!(
                        "roomId = :rid AND isActive = :was AND {same_session} AND \
                         (seenAt = :prev OR attribute_not_exists(seenAt))"
                    );
                    tx_update(
                        u.condition_expression(cond)
                            .build()
                            .expect("complete update"),
                    )
                }
            };
            let mut items = vec![write];
            if change != 0 {
                // A seat is taken only while one is free (capacity holds for old tokens too).
                items.push(tx_update(self.count_update(room, change, change > 0, at)));
            }
            match self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await
            {
                Ok(_) => return Ok(SeenOutcome::Applied),
                Err(e) if failed_conditions(&e).is_some() => continue,
                Err(e) => return Err(map_sdk(e)),
            }
        }
        Err(StoreError::Unavailable(
            "member presence kept changing".into(),
        ))
    }

    /// In steps: the claim, then `seen`'s transaction, then the visit's.
    async fn seen_and_record(
        &self,
        claim: Option<Claim<'_>>,
        room: &Room,
        user: &UserId,
        seen: Seen<'_>,
        at: UnixTime,
        visit: Option<&Attendance>,
    ) -> StoreResult<Option<SeenOutcome>> {
        crate::store::seen_and_record_in_steps(self, claim, room, user, seen, at, visit).await
    }

    async fn room_session(
        &self,
        room: &Room,
        sid: &str,
        started: bool,
        at: UnixTime,
    ) -> StoreResult<u32> {
        if started {
            // A meeting counts once, however often LiveKit reports its start: the write
            // applies only while the room shows another meeting (or none).
            let seen = Room {
                last_activity_at: at.max(room.last_activity_at),
                ..room.clone()
            };
            let mut u = Update::builder()
                .table_name(&self.table)
                .key("pk", name_pk(&room.name))
                .key("sk", s(ROOM))
                .update_expression(
                    "SET liveSid = :sid, gsi2pk = :busy, gsi2sk = #name, lastActivityAt = :act, \
                     gsi4pk = :g4, gsi4sk = :g4s",
                )
                .condition_expression(
                    "id = :rid AND (attribute_not_exists(liveSid) OR liveSid <> :sid)",
                )
                .expression_attribute_names("#name", "name")
                .expression_attribute_values(":busy", s(BUSY))
                .expression_attribute_values(":rid", s(room.id.as_str()))
                .expression_attribute_values(":sid", s(sid));
            for (k, v) in activity_keys(&seen) {
                u = u.expression_attribute_values(activity_placeholder(k), v);
            }
            let mut items = vec![tx_update(u.build().expect("complete update"))];
            items.extend(self.tally_writes(&Tally::new().add(
                &Scope::day(at),
                Metric::Meetings,
                1,
            )));
            return match self.transact(items).await {
                Ok(()) => Ok(0),
                Err(e) if failed_conditions(&e).is_some() => Ok(0),
                Err(e) => Err(map_sdk(e)),
            };
        }
        let ended = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", name_pk(&room.name))
            .key("sk", s(ROOM))
            .expression_attribute_values(":rid", s(room.id.as_str()))
            .expression_attribute_values(":sid", s(sid))
            .update_expression("REMOVE liveSid")
            .condition_expression("id = :rid AND (attribute_not_exists(liveSid) OR liveSid = :sid)")
            .send()
            .await;
        if !applied(ended)? {
            return Ok(0);
        }
        let mut freed = 0;
        for m in self.active_members(room).await? {
            if m.seen_at > at {
                continue; // took their seat after the meeting ended
            }
            let leave = Update::builder()
                .table_name(&self.table)
                .key("pk", name_pk(&room.name))
                .key("sk", member_sk(&m.user_id))
                .update_expression("SET isActive = :f, leftAt = :at, seenAt = :at")
                .condition_expression(
                    "roomId = :rid AND isActive = :t AND (seenAt <= :at OR attribute_not_exists(seenAt))",
                )
                .expression_attribute_values(":rid", s(room.id.as_str()))
                .expression_attribute_values(":f", b(false))
                .expression_attribute_values(":t", b(true))
                .expression_attribute_values(":at", n(at))
                .build()
                .expect("complete update");
            let sent = self
                .client
                .transact_write_items()
                .transact_items(tx_update(leave))
                .transact_items(tx_update(self.count_update(room, -1, false, at)))
                .send()
                .await;
            match sent {
                Ok(_) => freed += 1,
                Err(e) if failed_conditions(&e).is_some() => {} // changed meanwhile
                Err(e) => return Err(map_sdk(e)),
            }
        }
        Ok(freed)
    }

    async fn busy_rooms(&self, limit: u32, after: Option<&str>) -> StoreResult<Page<Room>> {
        let start = after.map(decode_cursor).transpose()?;
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi2")
            .key_condition_expression("gsi2pk = :busy")
            .expression_attribute_values(":busy", s(BUSY))
            .limit(limit as i32)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(map_sdk)?;
        let items = out
            .items()
            .iter()
            .map(room_from)
            .collect::<StoreResult<_>>()?;
        let next = out.last_evaluated_key.as_ref().map(encode_cursor);
        Ok(Page { items, next })
    }

    async fn settle(&self, room: &Room) -> StoreResult<()> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", name_pk(&room.name))
            .key("sk", s(ROOM))
            .update_expression("REMOVE gsi2pk, gsi2sk")
            .condition_expression(
                "id = :rid AND activeCount = :zero AND attribute_not_exists(liveSid)",
            )
            .expression_attribute_values(":rid", s(room.id.as_str()))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        applied(out).map(|_| ())
    }

    async fn member(&self, room: &Room, user: &UserId) -> StoreResult<Option<Member>> {
        let item = self.get(name_pk(&room.name), member_sk(user)).await?;
        Ok(item
            .as_ref()
            .map(member_from)
            .transpose()?
            .filter(|m| m.room_id == room.id))
    }

    /// One Query over the room's partition: its item (is it still this room?) and the
    /// members of this incarnation who hold a seat.
    async fn active_members(&self, room: &Room) -> StoreResult<Vec<Member>> {
        let mut members = Vec::new();
        let mut is_this_room = false;
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .filter_expression("id = :rid OR (roomId = :rid AND isActive = :t)")
                .expression_attribute_values(":pk", name_pk(&room.name))
                .expression_attribute_values(":rid", s(room.id.as_str()))
                .expression_attribute_values(":t", b(true))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(map_sdk)?;
            for item in out.items() {
                if opt_s(item, "sk").as_deref() == Some(ROOM) {
                    is_this_room = true;
                } else {
                    members.push(member_from(item)?);
                }
            }
            match out.last_evaluated_key {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        if !is_this_room {
            return Ok(Vec::new());
        }
        members.sort_by(|a, b| (a.joined_at, &a.user_id).cmp(&(b.joined_at, &b.user_id)));
        Ok(members)
    }
}

/// What only the admin console reads or does (`AdminStore`, `admin.rs`).
impl DynamoStore {
    pub(super) async fn all_rooms(
        &self,
        filter: &RoomFilter,
        limit: u32,
        after: Option<&str>,
    ) -> StoreResult<Page<Room>> {
        let start = after.map(decode_cursor).transpose()?;
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi3")
            .key_condition_expression("gsi3pk = :all")
            .expression_attribute_values(":all", s(ALL))
            .scan_index_forward(false)
            .limit(limit as i32)
            .set_exclusive_start_key(start);
        let mut conditions = Vec::new();
        if let Some(text) = filter.text.as_deref().filter(|t| !t.is_empty()) {
            conditions.push("contains(#name, :q)");
            q = q
                .expression_attribute_names("#name", "name")
                .expression_attribute_values(":q", s(text));
        }
        if let Some(active) = filter.active {
            conditions.push("isActive = :active");
            q = q.expression_attribute_values(":active", b(active));
        }
        if !conditions.is_empty() {
            q = q.filter_expression(conditions.join(" AND "));
        }
        // A filtered page may hold fewer than `limit` rooms; the cursor still moves on.
        let out = q.send().await.map_err(map_sdk)?;
        let items = out
            .items()
            .iter()
            .map(room_from)
            .collect::<StoreResult<_>>()?;
        let next = out.last_evaluated_key.as_ref().map(encode_cursor);
        Ok(Page { items, next })
    }

    /// The plain form (every room, newest first) is an index page and the maintained
    /// total; any filter or other order reads the whole `ROOMS` partition.
    pub(super) async fn room_table(&self, q: &RoomQuery) -> StoreResult<Counted<Room>> {
        self.admin_table(ALL, q, &[Metric::Rooms], room_from).await
    }

    /// Counts each activity shard's keys below `before` (keys only, never the rooms).
    pub(super) async fn stale_rooms(&self, before: UnixTime) -> StoreResult<u64> {
        // Legacy rooms join the index when the tallies adopt them.
        self.adopt_untallied().await?;
        let mut total = 0;
        for shard in 0..ACTIVITY_SHARDS {
            let mut range = Range::index("gsi4", "gsi4pk", "gsi4sk", &format!("ACTIVE#{shard}"));
            range.sk = SortKeys::Between("0".into(), format!("{:020}", before.max(0)));
            total += self.count_range(&range).await?;
        }
        Ok(total)
    }
}
