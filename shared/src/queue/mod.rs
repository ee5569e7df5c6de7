//! Background jobs (recording processing, account mail). Producers only enqueue. On AWS, SQS
//! delivers batches to a Lambda (partial batch responses, a DLQ after max receives); in the
//! sidecar a worker claims jobs from the embedded job table (`store::sqlite::jobs`), which
//! gives the same guarantees: at-least-once delivery, visibility timeout, attempts with
//! backoff, and a dead-letter state. Consumers must therefore be idempotent.

#[cfg(feature = "aws")]
pub mod sqs;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::domain::UnixTime;
use crate::error::StoreResult;

/// A job as it travels: the SQS message body, and the row of the embedded table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobEnvelope {
    /// Idempotency key (e.g. the egress id): the same id enqueued twice is one job where
    /// the backend can tell (embedded table, FIFO queues), and consumers dedupe on it anyway.
    pub id: String,
    /// What to do, e.g. `process_recording`.
    pub kind: String,
    /// Kind-specific data.
    pub payload: serde_json::Value,
}

#[async_trait]
pub trait JobQueue: Send + Sync {
    async fn enqueue(&self, job: &JobEnvelope) -> StoreResult<()>;
}

/// What runs jobs of some kinds (recordings, mail): the sidecar's worker picks by kind, an
/// SQS-fed function runs one handler.
#[async_trait]
pub trait JobHandler: Send + Sync {
    fn handles(&self, kind: &str) -> bool;
    /// Runs the job; an error retries it (then dead-letters it). Must be idempotent.
    async fn run_job(&self, job: &JobEnvelope) -> crate::Result<()>;
}

/// How deep the queue is now, as the queue itself can tell (the admin console's queue page).
/// Only the admin side reads it, so producers do not link it.
#[async_trait]
pub trait QueueWatch: Send + Sync {
    async fn depth(&self, now: UnixTime) -> StoreResult<QueueDepth>;
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Waiting, due or not (SQS: visible and delayed messages).
    pub pending: u64,
    /// Claimed by a worker (SQS: in flight).
    pub active: u64,
    /// Failed for good (SQS: messages in the dead-letter queue).
    pub dead: u64,
    /// When the oldest waiting job was queued (the embedded queue; SQS does not say).
    pub oldest_pending: Option<UnixTime>,
    /// The latest failed attempts with their errors, newest first (the embedded queue).
    pub recent_failures: Vec<JobFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    pub id: String,
    pub kind: String,
    pub error: String,
    pub attempts: u32,
    pub at: UnixTime,
}

/// A job held by one worker. `attempts` doubles as the receipt: a worker whose lock expired
/// and whose job was claimed again can no longer complete or fail it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedJob {
    pub job: JobEnvelope,
    pub attempts: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Pending { run_at: UnixTime },
    Active { locked_until: UnixTime },
    Dead,
}

/// The consuming side of the embedded queue (the sidecar's worker). On AWS, SQS delivers
/// batches to a Lambda instead.
#[async_trait]
pub trait JobSource: Send + Sync {
    /// The oldest due job, locked for `visibility_secs`.
    async fn claim(&self, now: UnixTime, visibility_secs: i64) -> StoreResult<Option<ClaimedJob>>;
    /// Done: removed. False if the claim is stale.
    async fn complete(&self, claim: &ClaimedJob) -> StoreResult<bool>;
    /// Retried after a backoff, or dead-lettered once attempts are used up.
    async fn fail(
        &self,
        claim: &ClaimedJob,
        error: &str,
        now: UnixTime,
    ) -> StoreResult<Option<JobState>>;
}

/// Delay before retry number `attempts` (1-based): 5 s doubling, at most 15 minutes.
pub fn backoff_secs(attempts: u32) -> i64 {
    let exp = attempts.saturating_sub(1).min(10);
    (5i64 << exp).min(15 * 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!([1, 2, 3, 4].map(backoff_secs), [5, 10, 20, 40]);
        assert_eq!(backoff_secs(30), 900);
    }

    #[test]
    fn envelope_wire_shape() {
        let j = JobEnvelope {
            id: "EG_1".into(),
            kind: "process_recording".into(),
            payload: serde_json::json!({"roomId": "r"}),
        };
        let text = serde_json::to_string(&j).unwrap();
        assert_eq!(
            text,
            r#"{"id":"EG_1","kind":"process_recording","payload":{"roomId":"r"}}"#
        );
        assert_eq!(serde_json::from_str::<JobEnvelope>(&text).unwrap(), j);
    }
}
