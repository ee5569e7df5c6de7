//! Maintained tallies on DynamoDB. A scope's metrics live in `SHARDS` items (`TALLY#<scope>`,
//! sk `S<n>`); each write adds to one shard picked at random inside the transaction that
//! makes the change, so concurrent writers rarely touch the same item, and a read sums the
//! shards (one BatchGetItem per 100 keys).
//!
//! Users and rooms written before tallies existed carry no `tallied` mark and are counted by
//! adoption: the first write that changes one adds its whole contribution, and a one-time
//! sweep (run by the first read of the totals) adopts the rest, each with a conditional
//! write, so nothing is counted twice however many instances sweep at once.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{KeysAndAttributes, TransactWriteItem, Update};

use super::item::{Item, n, s};
use super::keys::TALLIED;
use super::{DynamoStore, map_sdk};
use crate::domain::{Metric, Scope, Tallies, Tally};
use crate::store::StoreResult;

pub(super) const SHARDS: u32 = 8;
/// Present once every item written before tallies existed has been adopted.
const ADOPTED: &str = "TALLY#ADOPTED";
/// Attempts of a transaction that lost a race for a tally shard (or another item).
const CONFLICT_ATTEMPTS: u32 = 12;

fn pk(scope: &Scope) -> String {
    format!("TALLY#{}", scope.as_str())
}

impl DynamoStore {
    /// The writes that add `tally`: one update per scope, each on a random shard.
    pub(super) fn tally_writes(&self, tally: &Tally) -> Vec<TransactWriteItem> {
        tally
            .scopes()
            .into_iter()
            .map(|scope| {
                let mut u = Update::builder()
                    .table_name(&self.table)
                    .key("pk", s(pk(scope)))
                    .key("sk", s(format!("S{}", rand::random::<u32>() % SHARDS)));
                let mut adds = Vec::new();
                for (i, (_, metric, v)) in tally
                    .changes()
                    .iter()
                    .filter(|(s, _, _)| s == scope)
                    .enumerate()
                {
                    adds.push(format!("#m{i} :v{i}"));
                    u = u
                        .expression_attribute_names(format!("#m{i}"), metric.name())
                        .expression_attribute_values(format!(":v{i}"), n(*v));
                }
                let u = u
                    .update_expression(format!("ADD {}", adds.join(", ")))
                    .build()
                    .expect("complete update");
                TransactWriteItem::builder().update(u).build()
            })
            .collect()
    }

    /// Sends a transaction, again while it loses only to concurrent transactions on its items
    /// (`TransactionConflict`): cancelled transactions write nothing, so a retry is safe.
    pub(super) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<(), SdkError<TransactWriteItemsError>> {
        let mut attempt = 0;
        loop {
            let sent = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            match sent {
                Ok(_) => return Ok(()),
                Err(e) if attempt + 1 < CONFLICT_ATTEMPTS && lost_a_race(&e) => {
                    attempt += 1;
                    let jitter = rand::random::<u64>() % (10 << attempt.min(5));
                    tokio::time::sleep(Duration::from_millis(5 + jitter)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    pub(super) async fn read_tallies(&self, scopes: &[Scope]) -> StoreResult<Tallies> {
        if scopes.contains(&Scope::all()) {
            self.adopt_untallied().await?;
        }
        let scopes: std::collections::BTreeSet<&Scope> = scopes.iter().collect();
        let keys: Vec<(String, Scope)> = scopes
            .into_iter()
            .flat_map(|sc| (0..SHARDS).map(move |i| (format!("S{i}"), sc.clone())))
            .collect();
        let mut out = Tallies::default();
        for chunk in keys.chunks(100) {
            let mut pending: Vec<Item> = chunk
                .iter()
                .map(|(shard, sc)| {
                    Item::from([("pk".to_string(), s(pk(sc))), ("sk".to_string(), s(shard))])
                })
                .collect();
            while !pending.is_empty() {
                let ka = KeysAndAttributes::builder()
                    .set_keys(Some(pending))
                    .consistent_read(true)
                    .build()
                    .expect("complete keys");
                let res = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, ka)
                    .send()
                    .await
                    .map_err(map_sdk)?;
                for item in res
                    .responses()
                    .and_then(|r| r.get(&self.table))
                    .into_iter()
                    .flatten()
                {
                    add_item(&mut out, item);
                }
                pending = res
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.table))
                    .map(|ka| ka.keys().to_vec())
                    .unwrap_or_default();
            }
        }
        Ok(out)
    }

    /// Counts every user and room written before tallies existed, once.
    pub(super) async fn adopt_untallied(&self) -> StoreResult<()> {
        if self.get(s(ADOPTED), s(ADOPTED)).await?.is_some() {
            return Ok(());
        }
        for item in self.untallied("USERS").await? {
            if let Ok(user) = super::users::from_item(&item) {
                self.adopt(&item, &Tally::user_untallied(Some(&user)), None)
                    .await?;
            }
        }
        for item in self.untallied("ROOMS").await? {
            if let Ok(room) = super::rooms::room_from(&item) {
                // Active rooms also join the activity index the stale count reads.
                let activity = room.is_active.then(|| super::rooms::activity_keys(&room));
                self.adopt(&item, &Tally::room_untallied(Some(&room)), activity)
                    .await?;
            }
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(ADOPTED))
            .item("sk", s(ADOPTED))
            .send()
            .await
            .map_err(map_sdk)?;
        Ok(())
    }

    /// Items of one `gsi3` partition that carry no `tallied` mark.
    async fn untallied(&self, partition: &str) -> StoreResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("gsi3")
                .key_condition_expression("gsi3pk = :p")
                .filter_expression("attribute_not_exists(#t)")
                .expression_attribute_names("#t", TALLIED)
                .expression_attribute_values(":p", s(partition))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(map_sdk)?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }

    /// Marks one item tallied and adds its contribution, unless something marked it first.
    async fn adopt(
        &self,
        item: &Item,
        tally: &Tally,
        extra: Option<Vec<(&'static str, aws_sdk_dynamodb::types::AttributeValue)>>,
    ) -> StoreResult<()> {
        let (Some(pk), Some(sk)) = (item.get("pk"), item.get("sk")) else {
            return Ok(());
        };
        let mut sets = vec!["#t = :t".to_string()];
        let mut u = Update::builder()
            .table_name(&self.table)
            .key("pk", pk.clone())
            .key("sk", sk.clone())
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(#t)")
            .expression_attribute_names("#t", TALLIED)
            .expression_attribute_values(":t", aws_sdk_dynamodb::types::AttributeValue::Bool(true));
        for (i, (name, value)) in extra.into_iter().flatten().enumerate() {
            sets.push(format!("#x{i} = :x{i}"));
            u = u
                .expression_attribute_names(format!("#x{i}"), name)
                .expression_attribute_values(format!(":x{i}"), value);
        }
        let mark = u
            .update_expression(format!("SET {}", sets.join(", ")))
            .build()
            .expect("complete update");
        let mut items = vec![TransactWriteItem::builder().update(mark).build()];
        items.extend(self.tally_writes(tally));
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(e) if super::failed_conditions(&e).is_some_and(|f| f.contains(&0)) => Ok(()),
            Err(e) => Err(map_sdk(e)),
        }
    }
}

/// Adds one shard item's metrics to `out`.
fn add_item(out: &mut Tallies, item: &HashMap<String, aws_sdk_dynamodb::types::AttributeValue>) {
    let Some(scope) = item
        .get("pk")
        .and_then(|v| v.as_s().ok())
        .and_then(|p| p.strip_prefix("TALLY#"))
    else {
        return;
    };
    for (k, v) in item {
        if let (Some(m), Ok(num)) = (Metric::parse(k), v.as_n()) {
            out.set(Scope::from_key(scope), m, num.parse().unwrap_or(0));
        }
    }
}

/// Whether a cancelled transaction lost only to a concurrent one (no condition failed).
fn lost_a_race<R>(e: &SdkError<TransactWriteItemsError, R>) -> bool {
    let Some(TransactWriteItemsError::TransactionCanceledException(c)) = e.as_service_error()
    else {
        return matches!(
            e.as_service_error(),
            Some(TransactWriteItemsError::TransactionInProgressException(_))
        );
    };
    let reasons = c.cancellation_reasons();
    let codes: Vec<&str> = reasons.iter().filter_map(|r| r.code()).collect();
    if codes.is_empty() {
        return c
            .message()
            .unwrap_or_default()
            .contains("TransactionConflict");
    }
    codes.contains(&"TransactionConflict") && !codes.contains(&"ConditionalCheckFailed")
}
