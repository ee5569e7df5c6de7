//! Recordings end to end: start and stop through LiveKit's egress, the state machine driven
//! by egress webhooks, and the processing job that moves the finished file to its stable key
//! (`recordings/{roomId}/{recordingId}.mp4`) by streaming it, never holding it in memory.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::blobs::{BlobKey, BlobLinks, BlobReader, BlobStore};
use crate::config::Config;
use crate::domain::policy::Caller;
use crate::domain::{
    Metric, Recording, RecordingId, RecordingMove, RecordingStatus, Room, RoomId, Scope, Tally,
    UnixTime, now,
};
use crate::error::{Error, Result};
use crate::livekit::{Egress, EgressStatus, LiveKit, LiveKitError, RecordingOutput};
use crate::moderation::{moderated_room, owned_room};
use crate::queue::{JobEnvelope, JobQueue, JobSource};
use crate::settings::Settings;
use crate::store::{RecordingStore, RoomStore, Stores};

/// The job kind the processor handles.
pub const PROCESS_RECORDING: &str = "process_recording";
/// Job kind: remove a deleted recording's file.
pub const REMOVE_RECORDING_FILE: &str = "remove_recording_file";
/// How long a download link stays valid.
const DOWNLOAD_TTL: Duration = Duration::from_secs(3600);

/// Where recordings go: the job queue, the file store, download links, and in the sidecar
/// the embedded queue's consuming side. Each is optional so a Lambda links only the ones it
/// calls.
#[derive(Clone, Default)]
pub struct Media {
    pub queue: Option<Arc<dyn JobQueue>>,
    /// The queue's depth, for the admin console (the admin side only).
    pub watch: Option<Arc<dyn crate::queue::QueueWatch>>,
    pub blobs: Option<Arc<dyn BlobStore>>,
    pub links: Option<Arc<dyn BlobLinks>>,
    pub jobs: Option<Arc<dyn JobSource>>,
}

/// Where a finished recording's bytes come from.
pub enum Download {
    /// A signed, time-limited URL to redirect to.
    Link(String),
    Bytes(BlobReader),
}

/// A recording and where to download it, once it is ready.
#[derive(Debug, Clone)]
pub struct RecordingView {
    pub recording: Recording,
    pub download_url: Option<String>,
}

/// What the processor did with one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Processed {
    Stored {
        size: u64,
    },
    AlreadyDone,
    /// The recording no longer exists (deleted): nothing to do.
    Gone,
}

/// Where the egress writes: S3 (a bucket is configured) or the recordings directory.
enum Target {
    S3 {
        bucket: String,
        region: String,
        endpoint: Option<String>,
        force_path_style: bool,
        credentials: Option<(String, String)>,
    },
    Dir(PathBuf),
}

pub struct Recordings {
    rooms: Arc<dyn RoomStore>,
    activity: Arc<dyn crate::store::ActivityStore>,
    store: Arc<dyn RecordingStore>,
    livekit: Option<Arc<dyn LiveKit>>,
    media: Media,
    settings: Arc<Settings>,
    external: bool,
    target: Target,
    /// Recordings a non-persistent room may hold (0 = no cap).
    max_per_room: u32,
    /// The sidecar's word on its egress worker and Redis (set when it runs them).
    workers: std::sync::OnceLock<WorkersReady>,
}

/// Whether the recording workers (egress, Redis) are up: `Err` says what is missing and the
/// fix, answered as a 503 instead of LiveKit's "permission denied".
pub type WorkersReady = Arc<dyn Fn() -> std::result::Result<(), String> + Send + Sync>;

impl Recordings {
    pub fn new(
        stores: &Stores,
        livekit: Option<Arc<dyn LiveKit>>,
        media: Media,
        settings: Arc<Settings>,
        config: &Config,
    ) -> Self {
        let rec = &config.recordings;
        let target = match &rec.bucket {
            // The egress process needs a path it can open whatever its working directory.
            None => Target::Dir(std::path::absolute(&rec.dir).unwrap_or_else(|_| rec.dir.clone())),
            Some(bucket) => Target::S3 {
                bucket: bucket.clone(),
                region: rec.region.clone().unwrap_or_default(),
                endpoint: rec.endpoint.clone(),
                force_path_style: rec.force_path_style,
                credentials: rec.access_key.clone().map(|key| {
                    let secret = rec.secret.as_ref().map(|s| s.expose().to_string());
                    (key, secret.unwrap_or_default())
                }),
            },
        };
        Self {
            rooms: stores.rooms.clone(),
            activity: stores.activity.clone(),
            store: stores.recordings.clone(),
            livekit,
            media,
            settings,
            external: config.livekit.external,
            target,
            max_per_room: rec.max_per_room,
            workers: std::sync::OnceLock::new(),
        }
    }

    /// The sidecar hands in its recording workers' readiness once it starts them.
    pub fn set_workers(&self, ready: WorkersReady) {
        let _ = self.workers.set(ready);
    }

    /// Starts recording the room's meeting (audio and video, MP4). The row exists before
    /// LiveKit is asked, and is marked failed if LiveKit refuses.
    pub async fn start(&self, caller: &Caller, room: &RoomId) -> Result<Recording> {
        if !self.settings.current().await?.recordings_enabled {
            return Err(Error::forbidden("recordings are disabled on this server"));
        }
        let room = moderated_room(&*self.rooms, caller, room, true).await?;
        if !room.settings.recordings_allowed {
            return Err(Error::forbidden("recordings are not allowed in this room"));
        }
        // Counted, then inserted: the one-live-recording lock makes a second start wait its
        // turn, so the cap holds.
        if self.max_per_room > 0 && !room.settings.is_persistent {
            let held = self.store.room_recordings(&room.id).await?.len();
            if held >= self.max_per_room as usize {
                return Err(Error::conflict(format!(
                    "this room already has {held} recordings, the most it may keep: delete one first"
                )));
            }
        }
        let lk = self.livekit()?;
        if self.external && matches!(self.target, Target::Dir(_)) {
            return Err(Error::UpstreamDown(
                "recordings with an external LiveKit need a bucket (recordings.bucket / BUCKET_NAME): its egress cannot write to this server's disk".into(),
            ));
        }
        if let Some(ready) = self.workers.get() {
            ready().map_err(Error::NotSetUp)?;
        }
        let live = lk.list_rooms(&[room.livekit_name()]).await?;
        if live.is_empty() {
            return Err(Error::conflict(
                "the meeting has not started: nobody is in the room",
            ));
        }
        let t = now();
        let id = RecordingId::new();
        let rec = Recording {
            egress_key: format!("egress/{}/{id}.mp4", room.id),
            id,
            room_id: room.id.clone(),
            room_name: room.name.as_str().to_string(),
            started_by: caller.id.clone(),
            status: RecordingStatus::Pending,
            egress_id: None,
            key: None,
            size: None,
            duration_ms: None,
            error: None,
            created_at: t,
            started_at: None,
            ended_at: None,
            updated_at: t,
        };
        if !self.store.insert_recording(&rec).await? {
            return Err(Error::conflict(
                "a recording is already running in this room",
            ));
        }
        match lk
            .start_recording(&room.livekit_name(), &self.output(&rec))
            .await
        {
            Ok(egress) => {
                let mut mv = RecordingMove::to(match egress.status {
                    EgressStatus::Active => RecordingStatus::Active,
                    _ => RecordingStatus::Pending,
                });
                mv.egress_id = Some(egress.egress_id.clone());
                mv.started_at = ns_to_secs(egress.started_at);
                match self.store.move_recording(&rec, &mv, now()).await? {
                    Some(r) => Ok(r),
                    None => {
                        let stored = self.store.recording(&rec.room_id, &rec.id).await?;
                        // Stopped (or failed) while LiveKit was starting it: stop the egress
                        // too, or it would record unseen.
                        if stored.as_ref().is_none_or(|r| r.egress_id.is_none())
                            && let Err(e) = lk.stop_egress(&egress.egress_id).await
                        {
                            tracing::warn!(error = %e, "orphaned egress not stopped");
                        }
                        Ok(stored.unwrap_or(rec))
                    }
                }
            }
            Err(e) => {
                // The row says what a room owner may read; the detail (hosts, keys to check)
                // goes to the log and, through the error, to admins.
                tracing::warn!(recording = %rec.id, room = %room.id, error = %e, "LiveKit refused to start a recording");
                let mut mv = RecordingMove::to(RecordingStatus::Failed);
                mv.error = Some("the media server could not start the recording".into());
                self.store.move_recording(&rec, &mv, now()).await?;
                Err(e.into())
            }
        }
    }

    /// Whether recording works on this server now: switched on, a LiveKit to record with, and
    /// storage its egress can write to (what `/api/auth/settings` tells clients).
    pub async fn available(&self) -> Result<bool> {
        Ok(self.settings.current().await?.recordings_enabled
            && self.livekit.is_some()
            && !(self.external && matches!(self.target, Target::Dir(_))))
    }

    /// Stops the room's running recording; LiveKit then finishes the file.
    pub async fn stop(&self, caller: &Caller, room: &RoomId) -> Result<Recording> {
        let room = moderated_room(&*self.rooms, caller, room, false).await?;
        let lk = self.livekit()?;
        let Some(rec) = self.live(&room).await? else {
            return Err(Error::not_found("no recording is running in this room"));
        };
        let mv = match &rec.egress_id {
            Some(egress) => match lk.stop_egress(egress).await {
                Ok(_) => RecordingMove::to(RecordingStatus::Ending),
                // LiveKit ended it already (time limit, failure) and `egress_ended` has not
                // arrived yet: take LiveKit's own account of it now, as the webhook would.
                Err(LiveKitError::NotFound(_) | LiveKitError::Precondition { .. }) => {
                    return self.settle_ended(lk, &room, &rec, egress).await;
                }
                Err(e) => return Err(e.into()),
            },
            // LiveKit has not answered the start yet: nothing will ever report on this row,
            // so it ends here (and `start` stops the egress if one comes back).
            None => {
                let mut failed = RecordingMove::to(RecordingStatus::Failed);
                failed.error = Some("stopped before LiveKit started it".into());
                failed
            }
        };
        let moved = self.store.move_recording(&rec, &mv, now()).await?;
        Ok(match moved {
            Some(r) => r,
            None => self
                .store
                .recording(&rec.room_id, &rec.id)
                .await?
                .unwrap_or(rec),
        })
    }

    /// A recording whose egress LiveKit no longer runs: its state as ListEgress reports it,
    /// through the same state machine as the webhooks; `ending` if LiveKit has forgotten it
    /// (its `egress_ended` or the reconciler settles it then).
    async fn settle_ended(
        &self,
        lk: &Arc<dyn LiveKit>,
        room: &Room,
        rec: &Recording,
        egress: &str,
    ) -> Result<Recording> {
        let listed = lk.list_egress(Some(&room.livekit_name()), false).await?;
        match listed.iter().find(|e| e.egress_id == egress) {
            Some(info) => self.egress_seen(info, true).await?,
            None => {
                self.store
                    .move_recording(rec, &RecordingMove::to(RecordingStatus::Ending), now())
                    .await?;
            }
        }
        Ok(self
            .store
            .recording(&rec.room_id, &rec.id)
            .await?
            .unwrap_or_else(|| rec.clone()))
    }

    pub async fn list(&self, caller: &Caller, room: &RoomId) -> Result<Vec<RecordingView>> {
        let room = moderated_room(&*self.rooms, caller, room, false).await?;
        let mut out = Vec::new();
        for r in self.store.room_recordings(&room.id).await? {
            out.push(self.view(r).await?);
        }
        Ok(out)
    }

    pub async fn get(
        &self,
        caller: &Caller,
        room: &RoomId,
        id: &RecordingId,
    ) -> Result<RecordingView> {
        let rec = self.find(caller, room, id).await?;
        self.view(rec).await
    }

    /// The finished file: a signed link where the store mints them (S3), else its bytes (the
    /// sidecar's directory).
    pub async fn download(
        &self,
        caller: &Caller,
        room: &RoomId,
        id: &RecordingId,
    ) -> Result<(Recording, Download)> {
        let rec = self.find(caller, room, id).await?;
        let key = match (&rec.status, &rec.key) {
            (RecordingStatus::Completed, Some(k)) => BlobKey::parse(k)?,
            _ => return Err(Error::conflict("the recording is not ready yet")),
        };
        if let Some(links) = &self.media.links {
            let url = links.presigned_get(&key, DOWNLOAD_TTL)?;
            return Ok((rec, Download::Link(url)));
        }
        let body = self
            .blobs()?
            .get(&key)
            .await?
            .ok_or_else(|| Error::not_found("Recording file not found"))?;
        Ok((rec, Download::Bytes(body)))
    }

    /// Deletes a finished recording; its file is removed by a job (the processor on AWS, the
    /// worker in the sidecar), queued before the row goes so no file is left behind, and run
    /// only once the row is gone.
    /// Deleting is the room owner's (or an admin's) decision, not a room moderator's.
    pub async fn delete(&self, caller: &Caller, room: &RoomId, id: &RecordingId) -> Result<()> {
        let room = owned_room(&*self.rooms, caller, room, false).await?;
        let rec = self
            .store
            .recording(&room.id, id)
            .await?
            .ok_or_else(|| Error::not_found("Recording not found"))?;
        if !matches!(
            rec.status,
            RecordingStatus::Completed | RecordingStatus::Failed
        ) {
            return Err(Error::conflict(
                "the recording is still in progress: stop it and let it finish first",
            ));
        }
        if !self.remove(&rec).await? {
            return Err(Error::conflict("the recording changed; try again"));
        }
        Ok(())
    }

    /// Removes a finished recording: its file by a queued job (retried until gone), then the
    /// record, which the store removes only while it is still finished. False if it was not.
    async fn remove(&self, rec: &Recording) -> Result<bool> {
        if let Some(key) = &rec.key {
            self.queue()?
                .enqueue(&JobEnvelope {
                    id: format!("remove-{}", rec.id),
                    kind: REMOVE_RECORDING_FILE.into(),
                    payload: json!({
                        "roomId": rec.room_id.as_str(),
                        "recordingId": rec.id.as_str(),
                        "key": key,
                    }),
                })
                .await?;
        }
        Ok(self.store.delete_recording(rec).await?)
    }

    /// Retention (Bedrud's `recording.retentionHours`): removes the finished recordings of
    /// rooms archived more than `keep` ago, walking the archived rooms page by page. Returns
    /// how many were removed.
    pub async fn expire(
        &self,
        admin: &dyn crate::store::AdminStore,
        keep: std::time::Duration,
        at: crate::domain::UnixTime,
    ) -> Result<usize> {
        let cutoff = at - i64::try_from(keep.as_secs()).unwrap_or(i64::MAX);
        let archived = crate::store::RoomFilter {
            text: None,
            active: Some(false),
        };
        let (mut removed, mut after) = (0, None::<String>);
        loop {
            let page = admin.all_rooms(&archived, 100, after.as_deref()).await?;
            for room in &page.items {
                if room.archived_at.is_none_or(|t| t > cutoff) {
                    continue;
                }
                for rec in self.store.room_recordings(&room.id).await? {
                    let finished = matches!(
                        rec.status,
                        RecordingStatus::Completed | RecordingStatus::Failed
                    );
                    if finished && self.remove(&rec).await? {
                        removed += 1;
                    }
                }
            }
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(removed),
            }
        }
    }

    /// Runs one queued job of either kind (the SQS processor and the sidecar's worker), and
    /// counts its outcome for the queue page (a count that fails is logged, never the job's
    /// failure).
    async fn run(&self, job: &JobEnvelope) -> Result<()> {
        let outcome = match job.kind.as_str() {
            PROCESS_RECORDING => self.process(job).await.map(|_| ()),
            REMOVE_RECORDING_FILE => self.remove_file(job).await,
            other => Err(Error::bad_request(format!("unknown job kind {other}"))),
        };
        let metric = if outcome.is_ok() {
            Metric::JobsDone
        } else {
            Metric::JobsFailed
        };
        let tally = Tally::new().add(&Scope::hour(now()), metric, 1);
        if let Err(e) = self.activity.count(&tally).await {
            tracing::warn!(job = %job.id, error = %e, "job outcome not counted");
        }
        outcome
    }

    /// Removes a deleted recording's file. While the row still exists (its delete has not
    /// happened yet, or failed) the job fails and is retried, so a file is never removed from
    /// under a recording that is still listed.
    async fn remove_file(&self, job: &JobEnvelope) -> Result<()> {
        let (room, id) = job_recording(job)?;
        let key = BlobKey::parse(job_field(job, "key")?)?;
        if self.store.recording(&room, &id).await?.is_some() {
            return Err(Error::Unavailable(format!(
                "recording {id} still exists; its file stays until the row is gone"
            )));
        }
        self.blobs()?.delete(&key).await?;
        Ok(())
    }

    /// An egress webhook (or the reconciler's view of an egress): the state machine's input.
    /// `egress_ended` with a file moves to processing and enqueues the job keyed by the
    /// egress id.
    pub async fn on_egress(&self, info: &Egress) -> Result<()> {
        self.egress_seen(info, true).await
    }

    /// The reconciler's view of an egress: the same moves, but a job is queued only when
    /// this call moved the recording to processing, so a job that failed into the
    /// dead-letter queue is not fed back every period.
    pub async fn on_listed_egress(&self, info: &Egress) -> Result<()> {
        self.egress_seen(info, false).await
    }

    /// `requeue`: also queue the job when the recording was already waiting for it (a
    /// webhook retried after its enqueue failed).
    async fn egress_seen(&self, info: &Egress, requeue: bool) -> Result<()> {
        let Some(rec) = self.store.recording_by_egress(&info.egress_id).await? else {
            return Ok(()); // not ours, or attached a moment later by `start`
        };
        let mut mv = RecordingMove::to(match info.status {
            EgressStatus::Starting => RecordingStatus::Pending,
            EgressStatus::Active => RecordingStatus::Active,
            EgressStatus::Ending => RecordingStatus::Ending,
            EgressStatus::Complete => RecordingStatus::Processing,
            EgressStatus::LimitReached if !info.files.is_empty() => RecordingStatus::Processing,
            EgressStatus::Failed | EgressStatus::Aborted | EgressStatus::LimitReached => {
                RecordingStatus::Failed
            }
        });
        mv.started_at = ns_to_secs(info.started_at);
        mv.ended_at = ns_to_secs(info.ended_at);
        if let Some(f) = info.files.first() {
            mv.size = (f.size > 0).then_some(f.size);
            mv.duration_ms = (f.duration > 0).then_some(f.duration / 1_000_000);
        }
        if mv.to == RecordingStatus::Failed {
            let why = if info.error.is_empty() {
                format!("egress ended: {:?}", info.status)
            } else {
                info.error.clone()
            };
            mv.error = Some(why);
        }
        let t = now();
        let (after, moved) = match self.store.move_recording(&rec, &mv, t).await? {
            Some(r) => (r, true),
            None => match self.store.recording(&rec.room_id, &rec.id).await? {
                Some(r) => (r, false),
                None => return Ok(()),
            },
        };
        // The queue and the processor both dedupe on the egress id.
        if mv.to == RecordingStatus::Processing
            && after.status == RecordingStatus::Processing
            && (moved || requeue)
        {
            self.queue()?
                .enqueue(&JobEnvelope {
                    id: info.egress_id.clone(),
                    kind: PROCESS_RECORDING.into(),
                    payload: json!({
                        "roomId": after.room_id.as_str(),
                        "recordingId": after.id.as_str(),
                    }),
                })
                .await?;
        }
        Ok(())
    }

    /// The processing job: stream the egress file to its stable key, check its size, mark
    /// the recording completed, then drop the egress file. Safe to run twice or concurrently.
    pub async fn process(&self, job: &JobEnvelope) -> Result<Processed> {
        let (room, id) = job_recording(job)?;
        let Some(rec) = self.store.recording(&room, &id).await? else {
            return Ok(Processed::Gone);
        };
        match rec.status {
            RecordingStatus::Completed => return Ok(Processed::AlreadyDone),
            RecordingStatus::Processing => {}
            other => {
                return Err(Error::Unavailable(format!(
                    "recording {id} is {} (not processing yet)",
                    other.as_str()
                )));
            }
        }
        let blobs = self.blobs()?;
        let src = BlobKey::parse(&rec.egress_key)?;
        let dst = BlobKey::parse(&format!("recordings/{}/{}.mp4", rec.room_id, rec.id))?;
        let size = match blobs.get(&src).await? {
            Some(body) => {
                let size = blobs.put(&dst, body, "video/mp4").await?;
                if let Some(expected) = rec.size.filter(|s| *s > 0)
                    && expected as u64 != size
                {
                    return Err(Error::Unavailable(format!(
                        "recording {id}: copied {size} bytes, LiveKit reported {expected}"
                    )));
                }
                size
            }
            // An earlier attempt copied it and removed the source but did not finish.
            None if blobs.get(&dst).await?.is_some() => rec.size.unwrap_or(0).max(0) as u64,
            None => {
                let mut mv = RecordingMove::to(RecordingStatus::Failed);
                mv.error = Some(format!("the egress file {src} does not exist"));
                self.store.move_recording(&rec, &mv, now()).await?;
                return Err(Error::internal(format!(
                    "recording {id}: egress file {src} missing"
                )));
            }
        };
        let mut done = RecordingMove::to(RecordingStatus::Completed);
        done.key = Some(dst.as_str().to_string());
        done.size = Some(size as i64);
        let moved = self.store.move_recording(&rec, &done, now()).await?;
        if let Err(e) = blobs.delete(&src).await {
            tracing::warn!(error = %e, key = %src, "egress file not removed");
        }
        Ok(match moved {
            Some(_) => Processed::Stored { size },
            None => Processed::AlreadyDone,
        })
    }

    /// Whether the room has a recording that may still be written (pending, active, ending).
    pub async fn is_recording(&self, room: &RoomId) -> Result<bool> {
        Ok(self
            .store
            .room_recordings(room)
            .await?
            .iter()
            .any(|r| r.status.is_live()))
    }

    async fn find(&self, caller: &Caller, room: &RoomId, id: &RecordingId) -> Result<Recording> {
        let room = moderated_room(&*self.rooms, caller, room, false).await?;
        self.store
            .recording(&room.id, id)
            .await?
            .ok_or_else(|| Error::not_found("Recording not found"))
    }

    async fn live(&self, room: &Room) -> Result<Option<Recording>> {
        Ok(self
            .store
            .room_recordings(&room.id)
            .await?
            .into_iter()
            .find(|r| r.status.is_live()))
    }

    async fn view(&self, recording: Recording) -> Result<RecordingView> {
        let download_url = match (recording.status, &recording.key) {
            (RecordingStatus::Completed, Some(key)) => Some(match &self.media.links {
                Some(links) => links.presigned_get(&BlobKey::parse(key)?, DOWNLOAD_TTL)?,
                None => format!(
                    "/api/rooms/{}/recordings/{}/download",
                    recording.room_id, recording.id
                ),
            }),
            _ => None,
        };
        Ok(RecordingView {
            recording,
            download_url,
        })
    }

    fn livekit(&self) -> Result<&Arc<dyn LiveKit>> {
        self.livekit.as_ref().ok_or_else(|| {
            Error::UpstreamDown(
                "LiveKit is not configured (set livekit.apiKey and livekit.apiSecret)".into(),
            )
        })
    }

    fn blobs(&self) -> Result<&Arc<dyn BlobStore>> {
        self.media.blobs.as_ref().ok_or_else(|| {
            Error::UpstreamDown("recording storage is not configured (BUCKET_NAME)".into())
        })
    }

    fn queue(&self) -> Result<&Arc<dyn JobQueue>> {
        self.media.queue.as_ref().ok_or_else(|| {
            Error::UpstreamDown("the recordings queue is not configured (QUEUE_URL)".into())
        })
    }

    fn output(&self, rec: &Recording) -> RecordingOutput {
        match &self.target {
            Target::S3 {
                bucket,
                region,
                endpoint,
                force_path_style,
                credentials,
            } => RecordingOutput::S3 {
                bucket: bucket.clone(),
                region: region.clone(),
                endpoint: endpoint.clone(),
                key: rec.egress_key.clone(),
                force_path_style: *force_path_style,
                credentials: credentials.clone(),
            },
            Target::Dir(dir) => RecordingOutput::File {
                path: dir.join(&rec.egress_key).to_string_lossy().into_owned(),
            },
        }
    }
}

/// LiveKit's egress times are Unix nanoseconds; zero, negative or absurd values mean
/// "unknown".
fn ns_to_secs(ns: i64) -> Option<UnixTime> {
    Some(ns / 1_000_000_000).filter(|s| *s > 0)
}

/// A job payload's string field; a job without it can never succeed.
fn job_field<'a>(job: &'a JobEnvelope, key: &str) -> Result<&'a str> {
    job.payload[key]
        .as_str()
        .ok_or_else(|| Error::bad_request(format!("job {} lacks {key}", job.id)))
}

/// The recording a job is about (both job kinds carry `roomId` and `recordingId`).
fn job_recording(job: &JobEnvelope) -> Result<(RoomId, RecordingId)> {
    Ok((
        RoomId::parse(job_field(job, "roomId")?)?,
        RecordingId::parse(job_field(job, "recordingId")?)?,
    ))
}

#[async_trait::async_trait]
impl crate::queue::JobHandler for Recordings {
    fn handles(&self, kind: &str) -> bool {
        matches!(kind, PROCESS_RECORDING | REMOVE_RECORDING_FILE)
    }

    async fn run_job(&self, job: &JobEnvelope) -> Result<()> {
        self.run(job).await
    }
}
