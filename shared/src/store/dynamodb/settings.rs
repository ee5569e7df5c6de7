//! Runtime settings on DynamoDB: one item holding the stored values (typed attributes) and
//! its revision, written by compare-and-set on that revision.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{n, opt_n, s};
use super::{DynamoStore, applied};
use crate::domain::{SettingValue, StoredSettings};
use crate::store::{SettingsStore, StoreResult};

const SETTINGS: &str = "SETTINGS";

#[async_trait]
impl SettingsStore for DynamoStore {
    async fn settings(&self) -> StoreResult<StoredSettings> {
        let Some(item) = self.get(s(SETTINGS), s(SETTINGS)).await? else {
            return Ok(StoredSettings::default());
        };
        let values = item
            .get("values")
            .and_then(|v| v.as_m().ok())
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| {
                        let v = match v {
                            AttributeValue::Bool(b) => SettingValue::Bool(*b),
                            AttributeValue::N(x) => SettingValue::Int(x.parse().ok()?),
                            AttributeValue::S(t) => SettingValue::Text(t.clone()),
                            _ => return None,
                        };
                        Some((k.clone(), v))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(StoredSettings {
            values,
            rev: opt_n(&item, "rev").unwrap_or(0).max(0) as u64,
        })
    }

    async fn put_settings(&self, next: &StoredSettings, expected_rev: u64) -> StoreResult<bool> {
        let values: HashMap<String, AttributeValue> = next
            .values
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    SettingValue::Bool(b) => AttributeValue::Bool(*b),
                    SettingValue::Int(x) => n(*x),
                    SettingValue::Text(t) => s(t.as_str()),
                };
                (k.clone(), v)
            })
            .collect();
        let condition = if expected_rev == 0 {
            "attribute_not_exists(pk) OR rev = :rev"
        } else {
            "rev = :rev"
        };
        applied(
            self.client
                .put_item()
                .table_name(&self.table)
                .item("pk", s(SETTINGS))
                .item("sk", s(SETTINGS))
                .item("values", AttributeValue::M(values))
                .item("rev", n(expected_rev as i64 + 1))
                .condition_expression(condition)
                .expression_attribute_values(":rev", n(expected_rev as i64))
                .send()
                .await,
        )
    }
}
