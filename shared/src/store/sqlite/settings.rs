//! Runtime settings on SQLite: one row holding the stored values as JSON, written by
//! compare-and-set on its revision.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use serde_json::{Map, Value};

use super::{SqliteStore, exec, map_err, one};
use crate::domain::{SettingValue, StoredSettings};
use crate::store::{SettingsStore, StoreError, StoreResult};

fn to_json(s: &StoredSettings) -> String {
    let map: Map<String, Value> = s
        .values
        .iter()
        .map(|(k, v)| {
            let v = match v {
                SettingValue::Bool(b) => Value::Bool(*b),
                SettingValue::Int(n) => Value::from(*n),
                SettingValue::Text(t) => Value::String(t.clone()),
            };
            (k.clone(), v)
        })
        .collect();
    Value::Object(map).to_string()
}

fn from_json(doc: &str, rev: i64) -> StoreResult<StoredSettings> {
    let map: Map<String, Value> = serde_json::from_str(doc)
        .map_err(|e| StoreError::Other(format!("stored settings are not JSON: {e}")))?;
    let values = map
        .into_iter()
        .filter_map(|(k, v)| {
            let v = match v {
                Value::Bool(b) => SettingValue::Bool(b),
                Value::Number(n) => SettingValue::Int(n.as_i64()?),
                Value::String(t) => SettingValue::Text(t),
                _ => return None,
            };
            Some((k, v))
        })
        .collect();
    Ok(StoredSettings {
        values,
        rev: rev.max(0) as u64,
    })
}

#[async_trait]
impl SettingsStore for SqliteStore {
    async fn settings(&self) -> StoreResult<StoredSettings> {
        self.read(|c| {
            let row: Option<(String, i64)> =
                one(c, "SELECT doc, rev FROM settings WHERE id = 1", [], |r| {
                    Ok((r.get("doc")?, r.get("rev")?))
                })
                .optional()
                .map_err(map_err)?;
            match row {
                Some((doc, rev)) => from_json(&doc, rev),
                None => Ok(StoredSettings::default()),
            }
        })
        .await
    }

    async fn put_settings(&self, next: &StoredSettings, expected_rev: u64) -> StoreResult<bool> {
        let doc = to_json(next);
        self.write(move |c| {
            let changed = exec(
                c,
                "INSERT INTO settings (id, doc, rev) VALUES (1, ?1, ?2 + 1) \
                     ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, rev = excluded.rev \
                     WHERE settings.rev = ?2",
                params![doc, expected_rev as i64],
            )
            .map_err(map_err)?;
            Ok(changed == 1)
        })
        .await
    }
}
