//! Shared fixed-window counters on DynamoDB (rate limits across Lambda instances).

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;

use super::item::{get_n, n, s};
use super::{DynamoStore, map_sdk};
use crate::domain::UnixTime;
use crate::store::{CounterStore, StoreError, StoreResult};

#[async_trait]
impl CounterStore for DynamoStore {
    /// One atomic `ADD`; keys name their window, so a new window is simply a new item, and
    /// DynamoDB's TTL removes old ones.
    async fn increment(&self, key: &str, expires_at: UnixTime, _now: UnixTime) -> StoreResult<u64> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("COUNTER#{key}")))
            .key("sk", s("COUNTER"))
            .update_expression("ADD #count :one SET #ttl = if_not_exists(#ttl, :ttl)")
            .expression_attribute_names("#count", "count")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ttl", n(expires_at))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(map_sdk)?;
        let attrs = out
            .attributes
            .ok_or_else(|| StoreError::Other("counter update returned nothing".into()))?;
        Ok(get_n(&attrs, "count")? as u64)
    }
}
