//! The embedded job queue on the SQLite file. Delivery is at-least-once: a claim locks a job
//! for a visibility timeout; completing deletes it; failing reschedules it with backoff or,
//! after `max_attempts`, parks it as `dead`. A crashed worker's job reappears when its lock
//! expires, and jobs survive restarts because they are rows.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, exec, map_err, one};
use crate::domain::UnixTime;
use crate::queue::{
    JobEnvelope, JobFailure, JobQueue, JobSource, QueueDepth, QueueWatch, backoff_secs,
};
use crate::store::{StoreError, StoreResult};

/// Attempts before a job is dead-lettered (SQS: `maxReceiveCount`).
pub const MAX_ATTEMPTS: u32 = 5;

pub use crate::queue::{ClaimedJob, JobState};

#[async_trait]
impl JobQueue for SqliteStore {
    async fn enqueue(&self, job: &JobEnvelope) -> StoreResult<()> {
        let (job, now) = (job.clone(), crate::domain::now());
        let payload =
            serde_json::to_string(&job.payload).map_err(|e| StoreError::Other(e.to_string()))?;
        self.write(move |c| {
            exec(c,
                "INSERT INTO jobs (id, kind, payload, status, max_attempts, run_at, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?5, ?5) ON CONFLICT(id) DO NOTHING",
                params![job.id, job.kind, payload, MAX_ATTEMPTS, now],
            )
            .map(|_| ())
            .map_err(map_err)
        })
        .await
    }
}

/// Failures shown on the queue page.
const RECENT_FAILURES: u32 = 10;

#[async_trait]
impl QueueWatch for SqliteStore {
    async fn depth(&self, _now: UnixTime) -> StoreResult<QueueDepth> {
        self.read(|c| {
            let (pending, active, dead, oldest) = one(
                c,
                "SELECT count(*) FILTER (WHERE status = 'pending'), \
                     count(*) FILTER (WHERE status = 'active'), \
                     count(*) FILTER (WHERE status = 'dead'), \
                     min(created_at) FILTER (WHERE status = 'pending') FROM jobs",
                [],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                    ))
                },
            )
            .map_err(map_err)?;
            let recent_failures = c
                .prepare_cached(
                    "SELECT id, kind, last_error, attempts, updated_at FROM jobs \
                     WHERE last_error IS NOT NULL ORDER BY updated_at DESC, id LIMIT ?1",
                )
                .map_err(map_err)?
                .query_map([RECENT_FAILURES], |r| {
                    Ok(JobFailure {
                        id: r.get(0)?,
                        kind: r.get(1)?,
                        error: r.get(2)?,
                        attempts: r.get(3)?,
                        at: r.get(4)?,
                    })
                })
                .map_err(map_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(map_err)?;
            Ok(QueueDepth {
                pending: pending as u64,
                active: active as u64,
                dead: dead as u64,
                oldest_pending: oldest,
                recent_failures,
            })
        })
        .await
    }
}

impl SqliteStore {
    /// Claims the oldest due job (pending and due, or active with an expired lock).
    pub async fn claim_job(
        &self,
        now: UnixTime,
        visibility_secs: i64,
    ) -> StoreResult<Option<ClaimedJob>> {
        self.write(move |c| {
            let row = one(c,
                    "UPDATE jobs SET status = 'active', attempts = attempts + 1, run_at = ?2, updated_at = ?1 \
                     WHERE id = (SELECT id FROM jobs WHERE status IN ('pending', 'active') AND run_at <= ?1 \
                                 ORDER BY run_at, created_at LIMIT 1) \
                     RETURNING id, kind, payload, attempts",
                    params![now, now + visibility_secs],
                    |r| {
                        Ok((
                            r.get::<_, String>("id")?,
                            r.get::<_, String>("kind")?,
                            r.get::<_, String>("payload")?,
                            r.get::<_, i64>("attempts")?,
                        ))
                    },
                )
                .optional()
                .map_err(map_err)?;
            row.map(|(id, kind, payload, attempts)| {
                let payload = serde_json::from_str(&payload).map_err(|e| StoreError::Other(format!("job {id}: {e}")))?;
                Ok(ClaimedJob { job: JobEnvelope { id, kind, payload }, attempts: attempts as u32 })
            })
            .transpose()
        })
        .await
    }

    /// Done: the job is removed. False if this claim is no longer the job's current one.
    pub async fn complete_job(&self, claim: &ClaimedJob) -> StoreResult<bool> {
        let (id, attempts) = (claim.job.id.clone(), claim.attempts);
        self.write(move |c| {
            exec(
                c,
                "DELETE FROM jobs WHERE id = ?1 AND status = 'active' AND attempts = ?2",
                params![id, attempts],
            )
            .map(|n| n == 1)
            .map_err(map_err)
        })
        .await
    }

    /// Failed: retried after a backoff, or dead-lettered once attempts are used up.
    /// Returns the job's new state, or `None` if this claim is stale.
    pub async fn fail_job(
        &self,
        claim: &ClaimedJob,
        error: &str,
        now: UnixTime,
    ) -> StoreResult<Option<JobState>> {
        let (id, attempts, error) = (claim.job.id.clone(), claim.attempts, error.to_string());
        let retry_at = now + backoff_secs(attempts);
        self.write(move |c| {
            one(
                c,
                "UPDATE jobs SET \
                   status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'pending' END, \
                   run_at = CASE WHEN attempts >= max_attempts THEN run_at ELSE ?3 END, \
                   last_error = ?4, updated_at = ?5 \
                 WHERE id = ?1 AND status = 'active' AND attempts = ?2 RETURNING status, run_at",
                params![id, attempts, retry_at, error, now],
                |r| Ok((r.get::<_, String>("status")?, r.get::<_, i64>("run_at")?)),
            )
            .optional()
            .map_err(map_err)
            .map(|row| row.map(|(status, run_at)| state(&status, run_at)))
        })
        .await
    }

    /// A job's state (None once completed).
    pub async fn job_state(&self, id: &str) -> StoreResult<Option<JobState>> {
        let id = id.to_string();
        self.read(move |c| {
            one(
                c,
                "SELECT status, run_at FROM jobs WHERE id = ?1",
                [id],
                |r| Ok(state(&r.get::<_, String>("status")?, r.get("run_at")?)),
            )
            .optional()
            .map_err(map_err)
        })
        .await
    }
}

fn state(status: &str, run_at: UnixTime) -> JobState {
    match status {
        "active" => JobState::Active {
            locked_until: run_at,
        },
        "dead" => JobState::Dead,
        _ => JobState::Pending { run_at },
    }
}

#[async_trait]
impl JobSource for SqliteStore {
    async fn claim(&self, now: UnixTime, visibility_secs: i64) -> StoreResult<Option<ClaimedJob>> {
        self.claim_job(now, visibility_secs).await
    }

    async fn complete(&self, claim: &ClaimedJob) -> StoreResult<bool> {
        self.complete_job(claim).await
    }

    async fn fail(
        &self,
        claim: &ClaimedJob,
        error: &str,
        now: UnixTime,
    ) -> StoreResult<Option<JobState>> {
        self.fail_job(claim, error, now).await
    }
}
