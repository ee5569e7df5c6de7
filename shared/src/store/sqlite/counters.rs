//! Shared fixed-window counters on SQLite.

use async_trait::async_trait;
use rusqlite::params;

use super::{SqliteStore, exec, map_err, one};
use crate::domain::UnixTime;
use crate::store::{CounterStore, StoreResult};

#[async_trait]
impl CounterStore for SqliteStore {
    async fn increment(&self, key: &str, expires_at: UnixTime, now: UnixTime) -> StoreResult<u64> {
        let key = key.to_string();
        self.write(move |c| {
            // An expired row restarts at 1 rather than counting on from its old window.
            let n: i64 = one(c,
                    "INSERT INTO counters (key, count, expires_at) VALUES (?1, 1, ?2) \
                     ON CONFLICT(key) DO UPDATE SET \
                       count = CASE WHEN counters.expires_at <= ?3 THEN 1 ELSE counters.count + 1 END, \
                       expires_at = CASE WHEN counters.expires_at <= ?3 THEN excluded.expires_at ELSE counters.expires_at END \
                     RETURNING count",
                    params![key, expires_at, now],
                    |r| r.get(0),
                )
                .map_err(map_err)?;
            // Sweep dead counters now and then, so the table stays the size of live windows.
            if n == 1 && rand::random::<u8>() == 0 {
                exec(c, "DELETE FROM counters WHERE expires_at <= ?1", [now]).map_err(map_err)?;
            }
            Ok(n as u64)
        })
        .await
    }
}
