//! Webhook bookkeeping on DynamoDB: `EVENT#<id>` items claim event ids (expiring through the
//! table's TTL), one `WEBHOOK`/`STATS` item counts deliveries.

use async_trait::async_trait;

use super::item::{get_n, n, opt_n, s};
use super::{DynamoStore, applied, map_sdk};
use crate::domain::UnixTime;
use crate::store::{StoreResult, WebhookLog, WebhookStats};

fn event_pk(id: &str) -> aws_sdk_dynamodb::types::AttributeValue {
    s(format!("EVENT#{id}"))
}

#[async_trait]
impl WebhookLog for DynamoStore {
    async fn claim_event(
        &self,
        id: &str,
        now: UnixTime,
        expires_at: UnixTime,
    ) -> StoreResult<bool> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s("WEBHOOK"))
            .key("sk", s("STATS"))
            .update_expression("ADD #count :one SET lastAt = :now")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now))
            .send()
            .await
            .map_err(map_sdk)?;
        // TTL deletion lags by up to days: an expired claim counts as none.
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", event_pk(id))
            .item("sk", s("EVENT"))
            .item("ttl", n(expires_at))
            .condition_expression("attribute_not_exists(pk) OR #ttl <= :now")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        applied(put)
    }

    async fn release_event(&self, id: &str) -> StoreResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", event_pk(id))
            .key("sk", s("EVENT"))
            .send()
            .await
            .map_err(map_sdk)?;
        Ok(())
    }

    async fn webhook_stats(&self) -> StoreResult<WebhookStats> {
        Ok(match self.get(s("WEBHOOK"), s("STATS")).await? {
            Some(item) => WebhookStats {
                count: get_n(&item, "count")?.max(0) as u64,
                last_at: opt_n(&item, "lastAt"),
            },
            None => WebhookStats::default(),
        })
    }
}
