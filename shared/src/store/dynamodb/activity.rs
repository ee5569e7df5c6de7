//! Meeting connections and the room events log on DynamoDB.
//!
//! A connection is `ATTEND#<sid>` (one per LiveKit participant sid), listed per user in
//! `gsi1` (`ATTENDS#<user>`, newest first). Events live in one partition per day
//! (`EVENTS#<yyyy-mm-dd>`, sk `<at>#<key>`) and expire with `ttl` after the retention
//! window, so a page over a span reads only that span's days.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

use super::item::{Item, get_n, get_s, n, opt_n, opt_s, s};
use super::pages::{Range, SortKeys};
use super::{DynamoStore, failed_conditions, map_sdk};
use crate::domain::{
    Attendance, EVENT_RETENTION_SECS, EventQuery, Metric, RoomEvent, RoomEventKind, RoomId,
    RoomName, Scope, Tallies, Tally, UnixTime, UserId, day, day_start, now,
};
use crate::store::{ActivityStore, Counted, StoreError, StoreResult};

const ATTEND: &str = "ATTEND";

fn attend_pk(session: &str) -> String {
    format!("ATTEND#{session}")
}

fn events_pk(t: UnixTime) -> String {
    format!("EVENTS#{}", day(t))
}

fn bad(what: &str) -> StoreError {
    StoreError::Other(format!("stored activity has a bad {what}"))
}

fn event_item(e: &RoomEvent) -> Item {
    let mut item = Item::from([
        ("pk".to_string(), s(events_pk(e.at))),
        (
            "sk".to_string(),
            s(format!("{:020}#{}", e.at.max(0), e.key)),
        ),
        ("kind".to_string(), s(e.kind.as_str())),
        ("at".to_string(), n(e.at)),
        ("key".to_string(), s(e.key.as_str())),
        ("roomId".to_string(), s(e.room_id.as_str())),
        ("roomName".to_string(), s(e.room_name.as_str())),
        ("ttl".to_string(), n(e.at + EVENT_RETENTION_SECS)),
    ]);
    if let Some(u) = &e.user_id {
        item.insert("userId".into(), s(u.as_str()));
    }
    if let Some(name) = &e.user_name {
        item.insert("userName".into(), s(name.as_str()));
    }
    item
}

fn event_from(item: &Item) -> StoreResult<RoomEvent> {
    Ok(RoomEvent {
        kind: RoomEventKind::parse(&get_s(item, "kind")?).ok_or_else(|| bad("kind"))?,
        at: get_n(item, "at")?,
        key: get_s(item, "key")?,
        room_id: RoomId::parse(&get_s(item, "roomId")?).map_err(|_| bad("room"))?,
        room_name: get_s(item, "roomName")?,
        user_id: opt_s(item, "userId")
            .map(|u| UserId::parse(&u).map_err(|_| bad("user")))
            .transpose()?,
        user_name: opt_s(item, "userName"),
    })
}

fn attendance_item(a: &Attendance) -> Item {
    let mut item = Item::from([
        ("pk".to_string(), s(attend_pk(&a.session))),
        ("sk".to_string(), s(ATTEND)),
        ("session".to_string(), s(a.session.as_str())),
        ("userId".to_string(), s(a.user_id.as_str())),
        ("userName".to_string(), s(a.user_name.as_str())),
        ("roomId".to_string(), s(a.room_id.as_str())),
        ("roomName".to_string(), s(a.room_name.as_str())),
        ("joinedAt".to_string(), n(a.joined_at)),
        ("gsi1pk".to_string(), s(format!("ATTENDS#{}", a.user_id))),
        (
            "gsi1sk".to_string(),
            s(format!("{:020}#{}", a.joined_at.max(0), a.session)),
        ),
    ]);
    if let Some(t) = a.left_at {
        item.insert("leftAt".into(), n(t));
    }
    item
}

fn attendance_from(item: &Item) -> StoreResult<Attendance> {
    Ok(Attendance {
        session: get_s(item, "session")?,
        user_id: UserId::parse(&get_s(item, "userId")?).map_err(|_| bad("user"))?,
        user_name: get_s(item, "userName")?,
        room_id: RoomId::parse(&get_s(item, "roomId")?).map_err(|_| bad("room"))?,
        room_name: RoomName::parse(&get_s(item, "roomName")?).map_err(|_| bad("room name"))?,
        joined_at: get_n(item, "joinedAt")?,
        left_at: opt_n(item, "leftAt"),
    })
}

impl DynamoStore {
    /// The write that logs `e` (its key makes it unique; writers log each fact once).
    pub(super) fn event_write(&self, e: &RoomEvent) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(event_item(e)))
            .build()
            .expect("complete put");
        TransactWriteItem::builder().put(put).build()
    }
}

/// The days a span covers, newest first, within the retention window.
fn days_of(q: &EventQuery, now: UnixTime) -> Vec<Range> {
    let from = q.from.max(now - EVENT_RETENTION_SECS);
    let to = q.to.min(now + 86_400);
    let mut ranges = Vec::new();
    let mut d = day_start(to);
    while from <= to && d + 86_400 > from {
        let mut r = Range::table_prefix(events_pk(d), "");
        r.sk = SortKeys::Between(
            format!("{:020}", from.max(d)),
            format!("{:020}#~", to.min(d + 86_399)),
        );
        ranges.push(r);
        d -= 86_400;
    }
    ranges
}

#[async_trait]
impl ActivityStore for DynamoStore {
    async fn count(&self, tally: &Tally) -> StoreResult<()> {
        if tally.is_empty() {
            return Ok(());
        }
        self.transact(self.tally_writes(tally))
            .await
            .map_err(map_sdk)
    }

    async fn attend(&self, a: &Attendance) -> StoreResult<bool> {
        let record = Put::builder()
            .table_name(&self.table)
            .set_item(Some(attendance_item(a)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("complete put");
        let mut items = vec![
            TransactWriteItem::builder().put(record).build(),
            self.event_write(&a.event()),
        ];
        items.extend(self.tally_writes(&Tally::new().add(
            &Scope::day(a.joined_at),
            Metric::Joins,
            1,
        )));
        match self.transact(items).await {
            Ok(()) => return Ok(true),
            Err(e) if failed_conditions(&e).is_some_and(|f| f.contains(&0)) => {}
            Err(e) => return Err(map_sdk(e)),
        }
        // Known already: only its end is news.
        if let Some(left) = a.left_at {
            let ended = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(attend_pk(&a.session)))
                .key("sk", s(ATTEND))
                .update_expression("SET leftAt = :l")
                .condition_expression("attribute_exists(pk) AND attribute_not_exists(leftAt)")
                .expression_attribute_values(":l", n(left))
                .send()
                .await;
            super::applied(ended)?;
        }
        Ok(false)
    }
}

/// What only the admin console reads or does (`AdminStore`, `admin.rs`).
impl DynamoStore {
    pub(super) async fn tallies(&self, scopes: &[Scope]) -> StoreResult<Tallies> {
        self.read_tallies(scopes).await
    }

    pub(super) async fn attendance(
        &self,
        user: &UserId,
        offset: u32,
        limit: u32,
    ) -> StoreResult<Counted<Attendance>> {
        let range = Range::index("gsi1", "gsi1pk", "gsi1sk", &format!("ATTENDS#{user}"));
        let (total, items) = tokio::try_join!(
            self.count_range(&range),
            self.page_range(&range, offset, limit)
        )?;
        Ok(Counted {
            total,
            items: items
                .iter()
                .map(attendance_from)
                .collect::<StoreResult<_>>()?,
        })
    }

    /// Unfiltered: counts each day and reads only the days the page falls in. Filtered by
    /// kind or text: reads the span and filters here.
    pub(super) async fn room_events(&self, q: &EventQuery) -> StoreResult<Counted<RoomEvent>> {
        let days = days_of(q, now());
        if q.kind.is_some() || q.text.is_some() {
            let mut all = Vec::new();
            for r in &days {
                for item in self.all_in_range(r).await? {
                    let e = event_from(&item)?;
                    if q.matches(&e) {
                        all.push(e);
                    }
                }
            }
            let total = all.len() as u64;
            let items = all
                .into_iter()
                .skip(q.offset as usize)
                .take(q.limit as usize)
                .collect();
            return Ok(Counted { total, items });
        }
        let counts =
            futures_util::future::try_join_all(days.iter().map(|r| self.count_range(r))).await?;
        let total = counts.iter().sum();
        let (mut skip, mut items) = (u64::from(q.offset), Vec::new());
        for (r, count) in days.iter().zip(counts) {
            if items.len() >= q.limit as usize {
                break;
            }
            if skip >= count {
                skip -= count;
                continue;
            }
            let want = q.limit - items.len() as u32;
            for item in self.page_range(r, skip as u32, want).await? {
                items.push(event_from(&item)?);
            }
            skip = 0;
        }
        Ok(Counted { total, items })
    }
}
