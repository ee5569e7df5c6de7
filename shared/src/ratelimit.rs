//! Rate limits per client and bucket in fixed windows. The sidecar counts in memory; Lambda
//! instances share a store-backed count so a client cannot multiply its budget by fan-out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::domain::{UnixTime, now};
use crate::error::Error;
use crate::store::CounterStore;

/// `max` requests per `window_secs`; `max == 0` turns the limit off.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub max: u32,
    pub window_secs: u64,
}

#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one request of `client` in `bucket` at `at`; `Some(retry_after_secs)` if over.
    async fn hit(
        &self,
        bucket: &str,
        client: &str,
        rule: Rule,
        at: UnixTime,
    ) -> Result<Option<u64>, Error>;
}

/// Window start and end for `at`, aligned so every instance agrees.
fn window(rule: Rule, at: UnixTime) -> (i64, i64) {
    let w = rule.window_secs.max(1) as i64;
    let start = at - at.rem_euclid(w);
    (start, start + w)
}

/// Enforces `rule` for `client` in `bucket`, as the 429 error clients expect.
pub async fn enforce(
    limiter: &dyn RateLimiter,
    bucket: &str,
    client: &str,
    rule: Rule,
    message: &str,
) -> Result<(), Error> {
    if rule.max == 0 {
        return Ok(());
    }
    match limiter.hit(bucket, client, rule, now()).await? {
        None => Ok(()),
        Some(retry_after_secs) => Err(Error::TooManyRequests {
            message: message.to_string(),
            retry_after_secs,
        }),
    }
}

/// In-process counters for a single server.
#[derive(Default)]
pub struct MemoryRateLimiter {
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn hit(
        &self,
        bucket: &str,
        client: &str,
        rule: Rule,
        at: UnixTime,
    ) -> Result<Option<u64>, Error> {
        let (start, end) = window(rule, at);
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, (s, _)| *s >= start);
        }
        let slot = map
            .entry(format!("{bucket}:{client}"))
            .or_insert((start, 0));
        if slot.0 != start {
            *slot = (start, 0);
        }
        slot.1 += 1;
        Ok((slot.1 > rule.max).then(|| (end - at).max(1) as u64))
    }
}

/// Counters in the shared store (one conditional increment per request).
pub struct StoreRateLimiter {
    counters: Arc<dyn CounterStore>,
}

impl StoreRateLimiter {
    pub fn new(counters: Arc<dyn CounterStore>) -> Self {
        Self { counters }
    }
}

#[async_trait]
impl RateLimiter for StoreRateLimiter {
    async fn hit(
        &self,
        bucket: &str,
        client: &str,
        rule: Rule,
        at: UnixTime,
    ) -> Result<Option<u64>, Error> {
        let (start, end) = window(rule, at);
        let n = self
            .counters
            .increment(&format!("rl#{bucket}#{client}#{start}"), end, at)
            .await?;
        Ok((n > rule.max as u64).then(|| (end - at).max(1) as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn exercise(l: &dyn RateLimiter) {
        let rule = Rule {
            max: 3,
            window_secs: 60,
        };
        let t = 1_000_020; // 20 s into a window starting at 1_000_000 - (1_000_000 % 60)
        for _ in 0..3 {
            assert_eq!(l.hit("auth", "1.2.3.4", rule, t).await.unwrap(), None);
        }
        let retry = l.hit("auth", "1.2.3.4", rule, t).await.unwrap().unwrap();
        assert!((1..=60).contains(&retry));
        assert_eq!(
            l.hit("auth", "5.6.7.8", rule, t).await.unwrap(),
            None,
            "other clients unaffected"
        );
        assert_eq!(
            l.hit("guest", "1.2.3.4", rule, t).await.unwrap(),
            None,
            "other buckets unaffected"
        );
        assert_eq!(
            l.hit("auth", "1.2.3.4", rule, t + 60).await.unwrap(),
            None,
            "next window resets"
        );
    }

    #[tokio::test]
    async fn memory_limiter() {
        exercise(&MemoryRateLimiter::default()).await;
    }

    #[cfg(feature = "embedded")]
    #[tokio::test]
    async fn store_limiter_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::sqlite::SqliteStore::open(&dir.path().join("db")).unwrap();
        exercise(&StoreRateLimiter::new(Arc::new(store))).await;
    }
}
