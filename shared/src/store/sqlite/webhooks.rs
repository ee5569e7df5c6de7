//! LiveKit webhook bookkeeping on SQLite: event ids claimed once, deliveries counted.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, exec, immediate, map_err, one};
use crate::domain::UnixTime;
use crate::store::{StoreResult, WebhookLog, WebhookStats};

#[async_trait]
impl WebhookLog for SqliteStore {
    async fn claim_event(
        &self,
        id: &str,
        now: UnixTime,
        expires_at: UnixTime,
    ) -> StoreResult<bool> {
        let id = id.to_string();
        self.write(move |c| claim_in(c, &id, now, expires_at)).await
    }

    async fn release_event(&self, id: &str) -> StoreResult<()> {
        let id = id.to_string();
        self.write(move |c| {
            exec(c, "DELETE FROM webhook_events WHERE id = ?1", [id])
                .map(|_| ())
                .map_err(map_err)
        })
        .await
    }

    async fn webhook_stats(&self) -> StoreResult<WebhookStats> {
        self.read(|c| {
            let row = one(
                c,
                "SELECT count, last_at FROM webhook_stats WHERE id = 1",
                [],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
            )
            .optional()
            .map_err(map_err)?;
            Ok(
                row.map_or_else(WebhookStats::default, |(count, last)| WebhookStats {
                    count: count as u64,
                    last_at: Some(last),
                }),
            )
        })
        .await
    }
}

/// Counts the delivery and claims its event id: `false` when it was claimed before (and the
/// claim has not expired). A part of some write ([`SqliteStore::write`]).
pub(super) fn claim_in(
    c: &mut Connection,
    id: &str,
    now: UnixTime,
    expires_at: UnixTime,
) -> StoreResult<bool> {
    let tx = immediate(c)?;
    exec(
        &tx,
        "INSERT INTO webhook_stats (id, count, last_at) VALUES (1, 1, ?1) \
             ON CONFLICT(id) DO UPDATE SET count = count + 1, last_at = MAX(last_at, ?1)",
        [now],
    )
    .map_err(map_err)?;
    // An expired claim is as good as none: LiveKit only retries within seconds.
    let claimed = exec(
        &tx,
        "INSERT INTO webhook_events (id, expires_at) VALUES (?1, ?2) \
                 ON CONFLICT(id) DO UPDATE SET expires_at = excluded.expires_at \
                 WHERE webhook_events.expires_at <= ?3",
        params![id, expires_at, now],
    )
    .map_err(map_err)?
        == 1;
    if claimed && rand::random::<u8>() == 0 {
        exec(
            &tx,
            "DELETE FROM webhook_events WHERE expires_at <= ?1",
            [now],
        )
        .map_err(map_err)?;
    }
    tx.commit().map_err(map_err)?;
    Ok(claimed)
}
