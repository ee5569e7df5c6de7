//! Recordings on DynamoDB: `RREC#<roomId>` holds the room's recordings (`REC#<id>`) and, while
//! one is live, the lock item `LIVE` naming it; `EGRESS#<egressId>` points at the recording an
//! egress belongs to. A move is a compare-and-set on the status as read, in one transaction
//! with the lock release and the egress pointer.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};

use super::item::{Item, get_n, get_s, n, opt_n, opt_s, s};
use super::{DynamoStore, failed_conditions, map_sdk};
use crate::domain::{
    Recording, RecordingId, RecordingMove, RecordingStatus, RoomId, UnixTime, UserId,
};
use crate::store::{RecordingStore, StoreError, StoreResult};

const LIVE: &str = "LIVE";
const ATTEMPTS: usize = 8;

fn room_pk(room: &RoomId) -> AttributeValue {
    s(format!("RREC#{room}"))
}

fn rec_sk(id: &RecordingId) -> AttributeValue {
    s(format!("REC#{id}"))
}

fn egress_pk(egress_id: &str) -> AttributeValue {
    s(format!("EGRESS#{egress_id}"))
}

fn item(r: &Recording) -> Item {
    let mut item = Item::from([
        ("pk".to_string(), room_pk(&r.room_id)),
        ("sk".to_string(), rec_sk(&r.id)),
        ("id".to_string(), s(r.id.as_str())),
        ("roomId".to_string(), s(r.room_id.as_str())),
        ("roomName".to_string(), s(r.room_name.as_str())),
        ("startedBy".to_string(), s(r.started_by.as_str())),
        ("status".to_string(), s(r.status.as_str())),
        ("egressKey".to_string(), s(r.egress_key.as_str())),
        ("createdAt".to_string(), n(r.created_at)),
        ("updatedAt".to_string(), n(r.updated_at)),
    ]);
    let mut opt = |k: &str, v: Option<AttributeValue>| {
        if let Some(v) = v {
            item.insert(k.to_string(), v);
        }
    };
    opt("egressId", r.egress_id.as_deref().map(s));
    opt("key", r.key.as_deref().map(s));
    opt("size", r.size.map(n));
    opt("durationMs", r.duration_ms.map(n));
    opt("error", r.error.as_deref().map(s));
    opt("startedAt", r.started_at.map(n));
    opt("endedAt", r.ended_at.map(n));
    item
}

fn from_item(i: &Item) -> StoreResult<Recording> {
    let bad = |what: &str| StoreError::Other(format!("stored recording has a bad {what}"));
    Ok(Recording {
        id: RecordingId::parse(&get_s(i, "id")?).map_err(|_| bad("id"))?,
        room_id: RoomId::parse(&get_s(i, "roomId")?).map_err(|_| bad("roomId"))?,
        room_name: get_s(i, "roomName")?,
        started_by: UserId::parse(&get_s(i, "startedBy")?).map_err(|_| bad("startedBy"))?,
        status: RecordingStatus::parse(&get_s(i, "status")?).ok_or_else(|| bad("status"))?,
        egress_id: opt_s(i, "egressId"),
        egress_key: get_s(i, "egressKey")?,
        key: opt_s(i, "key"),
        size: opt_n(i, "size"),
        duration_ms: opt_n(i, "durationMs"),
        error: opt_s(i, "error"),
        created_at: get_n(i, "createdAt")?,
        started_at: opt_n(i, "startedAt"),
        ended_at: opt_n(i, "endedAt"),
        updated_at: get_n(i, "updatedAt")?,
    })
}

fn tx_put(p: Put) -> TransactWriteItem {
    TransactWriteItem::builder().put(p).build()
}

fn tx_delete(d: Delete) -> TransactWriteItem {
    TransactWriteItem::builder().delete(d).build()
}

impl DynamoStore {
    fn live_lock(&self, r: &Recording) -> Put {
        Put::builder()
            .table_name(&self.table)
            .item("pk", room_pk(&r.room_id))
            .item("sk", s(LIVE))
            .item("recordingId", s(r.id.as_str()))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("complete put")
    }
}

#[async_trait]
impl RecordingStore for DynamoStore {
    async fn insert_recording(&self, r: &Recording) -> StoreResult<bool> {
        let mut tx = vec![tx_put(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item(r)))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .expect("complete put"),
        )];
        if r.status.is_live() {
            tx.push(tx_put(self.live_lock(r)));
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(tx))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if failed_conditions(&e).is_some() => Ok(false),
            Err(e) => Err(map_sdk(e)),
        }
    }

    async fn recording(&self, room: &RoomId, id: &RecordingId) -> StoreResult<Option<Recording>> {
        self.get(room_pk(room), rec_sk(id))
            .await?
            .as_ref()
            .map(from_item)
            .transpose()
    }

    async fn recording_by_egress(&self, egress_id: &str) -> StoreResult<Option<Recording>> {
        let Some(ptr) = self.get(egress_pk(egress_id), s("EGRESS")).await? else {
            return Ok(None);
        };
        let room = RoomId::parse(&get_s(&ptr, "roomId")?)
            .map_err(|_| StoreError::Other("egress pointer has a bad roomId".into()))?;
        let id = RecordingId::parse(&get_s(&ptr, "recordingId")?)
            .map_err(|_| StoreError::Other("egress pointer has a bad recordingId".into()))?;
        self.recording(&room, &id).await
    }

    async fn room_recordings(&self, room: &RoomId) -> StoreResult<Vec<Recording>> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :rec)")
                .expression_attribute_values(":pk", room_pk(room))
                .expression_attribute_values(":rec", s("REC#"))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(map_sdk)?;
            for i in page.items() {
                out.push(from_item(i)?);
            }
            match page.last_evaluated_key {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        out.sort_by(|a, b| (b.created_at, &a.id.as_str()).cmp(&(a.created_at, &b.id.as_str())));
        Ok(out)
    }

    async fn move_recording(
        &self,
        r: &Recording,
        mv: &RecordingMove,
        now: UnixTime,
    ) -> StoreResult<Option<Recording>> {
        let mut current = r.clone();
        for _ in 0..ATTEMPTS {
            if !mv.to.reachable_from().contains(&current.status) {
                return Ok(None);
            }
            let after = mv.apply(&current, now);
            let mut tx = vec![tx_put(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item(&after)))
                    .condition_expression("#status = :seen")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":seen", s(current.status.as_str()))
                    .build()
                    .expect("complete put"),
            )];
            if current.status.is_live() && !after.status.is_live() {
                tx.push(tx_delete(
                    Delete::builder()
                        .table_name(&self.table)
                        .key("pk", room_pk(&r.room_id))
                        .key("sk", s(LIVE))
                        .condition_expression("recordingId = :id")
                        .expression_attribute_values(":id", s(r.id.as_str()))
                        .build()
                        .expect("complete delete"),
                ));
            }
            if let (None, Some(egress)) = (&current.egress_id, &after.egress_id) {
                tx.push(tx_put(
                    Put::builder()
                        .table_name(&self.table)
                        .item("pk", egress_pk(egress))
                        .item("sk", s("EGRESS"))
                        .item("roomId", s(r.room_id.as_str()))
                        .item("recordingId", s(r.id.as_str()))
                        .build()
                        .expect("complete put"),
                ));
            }
            match self
                .client
                .transact_write_items()
                .set_transact_items(Some(tx))
                .send()
                .await
            {
                Ok(_) => return Ok(Some(after)),
                Err(e) if failed_conditions(&e).is_some() => {
                    match self.recording(&r.room_id, &r.id).await? {
                        Some(fresh) => current = fresh,
                        None => return Ok(None),
                    }
                }
                Err(e) => return Err(map_sdk(e)),
            }
        }
        Err(StoreError::Unavailable("recording kept changing".into()))
    }

    async fn delete_recording(&self, r: &Recording) -> StoreResult<bool> {
        let mut tx = vec![tx_delete(
            Delete::builder()
                .table_name(&self.table)
                .key("pk", room_pk(&r.room_id))
                .key("sk", rec_sk(&r.id))
                .condition_expression("#status IN (:done, :failed)")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":done", s(RecordingStatus::Completed.as_str()))
                .expression_attribute_values(":failed", s(RecordingStatus::Failed.as_str()))
                .build()
                .expect("complete delete"),
        )];
        if let Some(egress) = &r.egress_id {
            tx.push(tx_delete(
                Delete::builder()
                    .table_name(&self.table)
                    .key("pk", egress_pk(egress))
                    .key("sk", s("EGRESS"))
                    .build()
                    .expect("complete delete"),
            ));
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(tx))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if failed_conditions(&e).is_some() => Ok(false),
            Err(e) => Err(map_sdk(e)),
        }
    }
}
