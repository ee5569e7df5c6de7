//! The sidecar's job worker over the embedded queue: claims a job, runs it, completes it or
//! hands it back for a retry with backoff (dead-lettered after the queue's attempts). The
//! same processor the SQS Lambda runs.

use std::time::Duration;

use crate::domain::now;
use crate::queue::{ClaimedJob, JobSource};
use crate::state::AppState;

/// A claimed job is hidden from other workers this long; a worker that dies mid-job loses
/// it to the next claim after that. Longer than copying a large recording takes.
pub const VISIBILITY_SECS: i64 = 30 * 60;
const IDLE: Duration = Duration::from_secs(1);

/// Runs jobs until the process ends.
pub async fn run(state: AppState) {
    let Some(jobs) = state.media.jobs.clone() else {
        return;
    };
    loop {
        match run_one(&state, &*jobs).await {
            Ok(true) => {}
            Ok(false) => tokio::time::sleep(IDLE).await,
            Err(e) => {
                tracing::warn!(error = %e, "job queue unavailable");
                tokio::time::sleep(IDLE).await;
            }
        }
    }
}

/// Claims and runs at most one due job; false when none was due.
pub async fn run_one(state: &AppState, jobs: &dyn JobSource) -> crate::Result<bool> {
    let Some(claim) = jobs.claim(now(), VISIBILITY_SECS).await? else {
        return Ok(false);
    };
    match handle(state, &claim).await {
        Ok(()) => {
            jobs.complete(&claim).await?;
        }
        Err(e) => {
            tracing::warn!(job = %claim.job.id, attempt = claim.attempts, error = ?e, "job failed");
            jobs.fail(&claim, &format!("{e:?}"), now()).await?;
        }
    }
    Ok(true)
}

async fn handle(state: &AppState, claim: &ClaimedJob) -> crate::Result<()> {
    state.recordings.run_job(&claim.job).await
}
