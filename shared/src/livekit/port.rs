//! The LiveKit server API as the product uses it: rooms, participants, tracks, data and
//! egress. Our own types on both sides, so callers never see protobuf; the Twirp adapter
//! (`twirp.rs`) and the test double speak the wire.

use async_trait::async_trait;

use crate::domain::Source;
use crate::error::Error;

/// A room as LiveKit reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveRoom {
    pub sid: String,
    pub name: String,
    pub num_participants: u32,
    pub num_publishers: u32,
    /// Unix seconds.
    pub created_at: i64,
}

/// Audio or video, LiveKit's `TrackType` without the data kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackKind {
    Audio,
    Video,
    Other,
}

/// One published track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveTrack {
    pub sid: String,
    pub kind: TrackKind,
    /// `None` when the client did not say (LiveKit's `UNKNOWN`).
    pub source: Option<Source>,
    pub muted: bool,
    /// Bits per second the publisher announced (the sum of its video layers; 0 for audio).
    pub bitrate: u64,
}

impl LiveTrack {
    /// Whether this track carries `source`. Untagged audio counts as a microphone and
    /// untagged video as a camera, as LiveKit clients publish them.
    pub fn carries(&self, source: Source) -> bool {
        match self.source {
            Some(s) => s == source,
            None => matches!(
                (self.kind, source),
                (TrackKind::Audio, Source::Microphone) | (TrackKind::Video, Source::Camera)
            ),
        }
    }
}

/// What a participant may do, as LiveKit's `ParticipantPermission` holds it. Sent whole:
/// LiveKit replaces the previous permission with this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    pub sources: Vec<Source>,
    pub publish_data: bool,
    pub subscribe: bool,
    pub update_metadata: bool,
}

/// A participant as LiveKit reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveParticipant {
    pub sid: String,
    pub identity: String,
    pub name: String,
    pub metadata: String,
    /// Unix seconds.
    pub joined_at: i64,
    /// LiveKit's connection state: `JOINING`, `JOINED`, `ACTIVE` or `DISCONNECTED`.
    pub state: &'static str,
    pub is_publisher: bool,
    pub tracks: Vec<LiveTrack>,
    pub permission: Option<Permission>,
}

/// A change to a participant; `None` leaves that part as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParticipantUpdate {
    pub metadata: Option<String>,
    pub permission: Option<Permission>,
}

/// A reliable data message on a topic, to everyone or to the listed identities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataMessage {
    pub topic: String,
    pub payload: Vec<u8>,
    pub to: Vec<String>,
}

/// Where a recording is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordingOutput {
    /// An S3 (or S3-compatible) object; credentials come from the egress worker's own
    /// environment when not given.
    S3 {
        bucket: String,
        region: String,
        endpoint: Option<String>,
        key: String,
        force_path_style: bool,
        /// Access key id and secret, when the egress must be given them.
        credentials: Option<(String, String)>,
    },
    /// A path on the egress worker's file system (embedded mode).
    File { path: String },
}

/// Egress states, LiveKit's `EgressStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EgressStatus {
    Starting,
    Active,
    Ending,
    Complete,
    Failed,
    Aborted,
    LimitReached,
}

/// One file an egress produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressFile {
    pub location: String,
    pub filename: String,
    pub size: i64,
    /// Nanoseconds.
    pub duration: i64,
}

/// An egress as LiveKit reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Egress {
    pub egress_id: String,
    pub room_name: String,
    pub status: EgressStatus,
    /// Unix nanoseconds; 0 when unknown.
    pub started_at: i64,
    pub ended_at: i64,
    pub error: String,
    pub files: Vec<EgressFile>,
}

/// Why a LiveKit call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LiveKitError {
    /// The room, participant or track does not exist (Twirp `not_found`).
    #[error("not found: {0}")]
    NotFound(String),
    /// LiveKit refused our credentials (wrong key pair or grant).
    #[error(
        "LiveKit at {host} refused the API key ({detail}); check livekit.apiKey and livekit.apiSecret"
    )]
    Refused { host: String, detail: String },
    /// LiveKit could not be reached, timed out, or said it is unavailable.
    #[error("LiveKit at {host} is unreachable ({detail}); check livekit.internalHost")]
    Unreachable { host: String, detail: String },
    /// The call does not apply to the object's state (Twirp `failed_precondition`): e.g.
    /// stopping an egress LiveKit has already ended.
    #[error("LiveKit at {host} refused the call in this state: {detail}")]
    Precondition { host: String, detail: String },
    /// LiveKit answered with another error.
    #[error("LiveKit at {host} failed: {detail}")]
    Failed { host: String, detail: String },
}

impl From<LiveKitError> for Error {
    fn from(e: LiveKitError) -> Self {
        match e {
            LiveKitError::NotFound(_) => Error::not_found("Participant not found"),
            LiveKitError::Unreachable { .. } => Error::UpstreamDown(e.to_string()),
            LiveKitError::Refused { .. }
            | LiveKitError::Precondition { .. }
            | LiveKitError::Failed { .. } => Error::BadGateway(e.to_string()),
        }
    }
}

pub type LiveKitResult<T> = Result<T, LiveKitError>;

/// Turns "not found" into `None`, keeping every other failure.
pub fn found<T>(r: LiveKitResult<T>) -> LiveKitResult<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(LiveKitError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The LiveKit server API calls the product makes.
#[async_trait]
pub trait LiveKit: Send + Sync {
    /// The same server with another per-call time limit (status probes want a short one).
    fn with_timeout(&self, timeout: std::time::Duration) -> std::sync::Arc<dyn LiveKit>;
    /// LiveKit's own health check: `GET /` answers 200 `OK` once it is ready (406 before).
    async fn health(&self) -> LiveKitResult<()>;
    /// Get-or-create, as LiveKit's own `CreateRoom` behaves.
    async fn create_room(&self, name: &str, max_participants: u32) -> LiveKitResult<LiveRoom>;
    async fn delete_room(&self, name: &str) -> LiveKitResult<()>;
    /// Every room when `names` is empty.
    async fn list_rooms(&self, names: &[String]) -> LiveKitResult<Vec<LiveRoom>>;
    async fn list_participants(&self, room: &str) -> LiveKitResult<Vec<LiveParticipant>>;
    async fn participant(&self, room: &str, identity: &str) -> LiveKitResult<LiveParticipant>;
    async fn remove_participant(&self, room: &str, identity: &str) -> LiveKitResult<()>;
    async fn update_participant(
        &self,
        room: &str,
        identity: &str,
        update: &ParticipantUpdate,
    ) -> LiveKitResult<LiveParticipant>;
    async fn mute_track(
        &self,
        room: &str,
        identity: &str,
        track_sid: &str,
        muted: bool,
    ) -> LiveKitResult<()>;
    async fn send_data(&self, room: &str, message: &DataMessage) -> LiveKitResult<()>;
    /// Records the whole room (audio and video, MP4) to `output`.
    async fn start_recording(&self, room: &str, output: &RecordingOutput) -> LiveKitResult<Egress>;
    async fn stop_egress(&self, egress_id: &str) -> LiveKitResult<Egress>;
    /// Egresses of one room (or all when `room` is `None`), only running ones if `active`.
    async fn list_egress(&self, room: Option<&str>, active: bool) -> LiveKitResult<Vec<Egress>>;
}
