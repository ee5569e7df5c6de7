//! The sidecar's job worker over the embedded queue: claims a job, runs it, completes it or
//! hands it back for a retry with backoff (dead-lettered after the queue's attempts). The
//! same handlers the SQS-fed functions run (recordings, mail).

use std::time::Duration;

use crate::domain::now;
use crate::queue::{ClaimedJob, JobHandler, JobSource};
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
    run_one_at(state, jobs, now()).await
}

/// [`run_one`] as if the clock read `at` (tests walk a job through its retries).
pub async fn run_one_at(
    state: &AppState,
    jobs: &dyn JobSource,
    at: crate::domain::UnixTime,
) -> crate::Result<bool> {
    let Some(claim) = jobs.claim(at, VISIBILITY_SECS).await? else {
        return Ok(false);
    };
    match handle(state, &claim).await {
        Ok(()) => {
            jobs.complete(&claim).await?;
            crate::metrics::job(&claim.job.kind, "done");
        }
        Err(e) => {
            tracing::warn!(job = %claim.job.id, attempt = claim.attempts, error = ?e, "job failed");
            let state = jobs.fail(&claim, &format!("{e:?}"), at).await?;
            let dead = matches!(state, Some(crate::queue::JobState::Dead));
            crate::metrics::job(&claim.job.kind, if dead { "dead" } else { "retry" });
        }
    }
    Ok(true)
}

/// Mail jobs to the accounts service; everything else to recordings (which refuses what it
/// does not know, so the job dead-letters with the reason).
async fn handle(state: &AppState, claim: &ClaimedJob) -> crate::Result<()> {
    let job = &claim.job;
    if state.accounts.handles(&job.kind) {
        state.accounts.run_job(job).await
    } else {
        state.recordings.run_job(job).await
    }
}

/// How often the sidecar removes sign-ups never confirmed.
pub const SWEEP_EVERY: Duration = Duration::from_secs(10 * 60);

/// Recording retention on the sidecar: every `every`, the finished recordings of rooms
/// archived longer than `keep` ago are removed (files by queued jobs; the reconciler
/// function does it on AWS).
pub async fn expire_recordings(state: AppState, keep: Duration, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let admin = match state.stores.admin() {
            Ok(a) => a.clone(),
            Err(e) => return tracing::warn!(error = %e, "recording retention cannot run"),
        };
        match state.recordings.expire(&*admin, keep, now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "expired recordings removed"),
            Err(e) => tracing::warn!(error = %e, "recording retention failed"),
        }
    }
}

/// Removes unconfirmed sign-ups past `auth.unverifiedAccountTTLHours`, every `every`, until
/// the process ends (the reconciler function does it on AWS).
pub async fn sweep_pending_signups(state: AppState, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        if let Err(e) = state.accounts.sweep_pending(now()).await {
            tracing::warn!(error = %e, "sweep of unconfirmed sign-ups failed");
        }
    }
}
