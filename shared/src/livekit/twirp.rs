//! The LiveKit port over Twirp: protobuf bodies (`livekit-protocol` types), a short-lived
//! server token per call carrying exactly the grant that method needs, and our own HTTP
//! client, because `livekit-api`'s offers no way to honour `skipTLSVerify`. One
//! code path whether TLS is verified or not.

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use http::header::{AUTHORIZATION, CONTENT_TYPE};

use async_trait::async_trait;
use livekit_api::access_token::{AccessToken, VideoGrants};
use livekit_protocol as proto;
use prost::Message;

use super::port::*;
use crate::domain::Source;
use crate::outbound::Http;

/// LiveKit's server SDKs give a call ten seconds; moderation wants an answer sooner.
const CALL_TIMEOUT: Duration = Duration::from_secs(8);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Server tokens live just long enough for one call (LiveKit accepts up to a few minutes).
const SERVER_TOKEN_TTL: Duration = Duration::from_secs(120);

const ROOM_SERVICE: &str = "livekit.RoomService";
const EGRESS: &str = "livekit.Egress";

/// Talks to one LiveKit server (`livekit.internalHost`, else `livekit.host`).
#[derive(Clone)]
pub struct TwirpLiveKit {
    http: Http,
    /// Per call, connecting included.
    timeout: Duration,
    /// `http(s)://host[:port]` without a trailing slash.
    base: String,
    api_key: String,
    api_secret: String,
}

impl std::fmt::Debug for TwirpLiveKit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwirpLiveKit")
            .field("base", &self.base)
            .field("api_key", &self.api_key)
            .finish_non_exhaustive()
    }
}

/// The grant a method needs, exactly (LiveKit `pkg/service/roomservice.go`, `egress.go`).
enum Grant<'a> {
    Create,
    List,
    Admin(&'a str),
    Record,
}

impl Grant<'_> {
    fn video(&self) -> VideoGrants {
        let mut g = VideoGrants::default();
        match self {
            Grant::Create => g.room_create = true,
            Grant::List => g.room_list = true,
            Grant::Admin(room) => {
                g.room_admin = true;
                g.room = (*room).to_string();
            }
            Grant::Record => g.room_record = true,
        }
        g
    }
}

impl TwirpLiveKit {
    /// `host` may be `ws(s)://` or `http(s)://`; `skip_tls_verify` accepts any certificate
    /// (self-signed appliances), never the default.
    pub fn new(
        host: &str,
        api_key: &str,
        api_secret: &str,
        skip_tls_verify: bool,
    ) -> Result<Self, String> {
        Self::with_timeout(host, api_key, api_secret, skip_tls_verify, CALL_TIMEOUT)
    }

    /// As [`new`](Self::new), with a per-call time limit (status probes want a short one).
    pub fn with_timeout(
        host: &str,
        api_key: &str,
        api_secret: &str,
        skip_tls_verify: bool,
        timeout: Duration,
    ) -> Result<Self, String> {
        let http = Http::new(skip_tls_verify, CONNECT_TIMEOUT);
        Ok(Self {
            http,
            timeout,
            base: http_base(host)?,
            api_key: api_key.into(),
            api_secret: api_secret.into(),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    async fn call<Req: Message, Res: Message + Default>(
        &self,
        service: &str,
        method: &str,
        grant: Grant<'_>,
        req: &Req,
    ) -> LiveKitResult<Res> {
        let token = AccessToken::with_api_key(&self.api_key, &self.api_secret)
            .with_ttl(SERVER_TOKEN_TTL)
            .with_grants(grant.video())
            .to_jwt()
            .map_err(|e| self.failed(format!("signing a server token: {e}")))?;
        let url = format!("{}/twirp/{service}/{method}", self.base);
        let bearer = format!("Bearer {token}");
        let headers = [
            (AUTHORIZATION, bearer.as_str()),
            (CONTENT_TYPE, "application/protobuf"),
        ];
        let res = self
            .http
            .send(
                Method::POST,
                &url,
                &headers,
                req.encode_to_vec(),
                self.timeout,
            )
            .await
            .map_err(|e| {
                crate::metrics::livekit(method, "unreachable");
                self.unreachable(e)
            })?;
        if (200..300).contains(&res.status) {
            crate::metrics::livekit(method, "ok");
            return Res::decode(res.body.as_ref())
                .map_err(|e| self.failed(format!("{method}: undecodable answer: {e}")));
        }
        crate::metrics::livekit(method, "refused");
        Err(self.twirp_error(method, res.status, &res.body))
    }

    /// Maps a Twirp error body (`{"code","msg"}`) or a bare status to ours.
    fn twirp_error(&self, method: &str, status: u16, body: &[u8]) -> LiveKitError {
        #[derive(serde::Deserialize)]
        struct TwirpError {
            code: String,
            #[serde(default)]
            msg: String,
        }
        let (code, msg) = match serde_json::from_slice::<TwirpError>(body) {
            Ok(e) => (e.code, e.msg),
            Err(_) => (String::new(), format!("HTTP {status}")),
        };
        let detail = format!("{method}: {code} {msg}").replace("  ", " ");
        match (code.as_str(), status) {
            ("not_found", _) | ("", 404) => LiveKitError::NotFound(detail),
            ("unauthenticated" | "permission_denied", _) | ("", 401 | 403) => {
                LiveKitError::Refused {
                    host: self.base.clone(),
                    detail,
                }
            }
            ("unavailable" | "deadline_exceeded", _) | ("", 502..=504) => self.unreachable(detail),
            ("failed_precondition", _) | ("", 412) => LiveKitError::Precondition {
                host: self.base.clone(),
                detail,
            },
            _ => self.failed(detail),
        }
    }

    fn unreachable(&self, detail: String) -> LiveKitError {
        LiveKitError::Unreachable {
            host: self.base.clone(),
            detail,
        }
    }

    fn failed(&self, detail: String) -> LiveKitError {
        LiveKitError::Failed {
            host: self.base.clone(),
            detail,
        }
    }
}

/// `ws://h` → `http://h`, `wss://h` → `https://h`; http(s) kept; anything else refused.
pub fn http_base(host: &str) -> Result<String, String> {
    let host = host.trim().trim_end_matches('/');
    let base = if let Some(rest) = host.strip_prefix("wss://") {
        format!("https://{rest}")
    } else if let Some(rest) = host.strip_prefix("ws://") {
        format!("http://{rest}")
    } else if host.starts_with("https://") || host.starts_with("http://") {
        host.to_string()
    } else {
        return Err(format!(
            "LiveKit host {host:?} must start with ws://, wss://, http:// or https://"
        ));
    };
    Ok(base)
}

#[async_trait]
impl LiveKit for TwirpLiveKit {
    fn with_timeout(&self, timeout: Duration) -> Arc<dyn LiveKit> {
        Arc::new(Self {
            timeout,
            ..self.clone()
        })
    }

    async fn health(&self) -> LiveKitResult<()> {
        let url = format!("{}/", self.base);
        let res = self
            .http
            .send(Method::GET, &url, &[], Vec::new(), self.timeout)
            .await
            .map_err(|e| self.unreachable(e))?;
        match res.status {
            200 => Ok(()),
            406 => Err(self.unreachable("up but not ready yet (406)".into())),
            other => Err(self.failed(format!("GET / answered {other}"))),
        }
    }

    async fn create_room(&self, name: &str, max_participants: u32) -> LiveKitResult<LiveRoom> {
        let req = proto::CreateRoomRequest {
            name: name.into(),
            max_participants,
            ..Default::default()
        };
        let room: proto::Room = self
            .call(ROOM_SERVICE, "CreateRoom", Grant::Create, &req)
            .await?;
        Ok(live_room(room))
    }

    async fn delete_room(&self, name: &str) -> LiveKitResult<()> {
        let req = proto::DeleteRoomRequest { room: name.into() };
        let _: proto::DeleteRoomResponse = self
            .call(ROOM_SERVICE, "DeleteRoom", Grant::Create, &req)
            .await?;
        Ok(())
    }

    async fn list_rooms(&self, names: &[String]) -> LiveKitResult<Vec<LiveRoom>> {
        let req = proto::ListRoomsRequest {
            names: names.to_vec(),
        };
        let res: proto::ListRoomsResponse = self
            .call(ROOM_SERVICE, "ListRooms", Grant::List, &req)
            .await?;
        Ok(res.rooms.into_iter().map(live_room).collect())
    }

    async fn list_participants(&self, room: &str) -> LiveKitResult<Vec<LiveParticipant>> {
        let req = proto::ListParticipantsRequest { room: room.into() };
        let res: proto::ListParticipantsResponse = self
            .call(ROOM_SERVICE, "ListParticipants", Grant::Admin(room), &req)
            .await?;
        Ok(res.participants.into_iter().map(live_participant).collect())
    }

    async fn participant(&self, room: &str, identity: &str) -> LiveKitResult<LiveParticipant> {
        let req = identity_req(room, identity);
        let p: proto::ParticipantInfo = self
            .call(ROOM_SERVICE, "GetParticipant", Grant::Admin(room), &req)
            .await?;
        Ok(live_participant(p))
    }

    async fn remove_participant(&self, room: &str, identity: &str) -> LiveKitResult<()> {
        let req = identity_req(room, identity);
        let _: proto::RemoveParticipantResponse = self
            .call(ROOM_SERVICE, "RemoveParticipant", Grant::Admin(room), &req)
            .await?;
        Ok(())
    }

    async fn update_participant(
        &self,
        room: &str,
        identity: &str,
        update: &ParticipantUpdate,
    ) -> LiveKitResult<LiveParticipant> {
        let req = proto::UpdateParticipantRequest {
            room: room.into(),
            identity: identity.into(),
            metadata: update.metadata.clone().unwrap_or_default(),
            permission: update.permission.as_ref().map(wire_permission),
            ..Default::default()
        };
        let p: proto::ParticipantInfo = self
            .call(ROOM_SERVICE, "UpdateParticipant", Grant::Admin(room), &req)
            .await?;
        Ok(live_participant(p))
    }

    async fn mute_track(
        &self,
        room: &str,
        identity: &str,
        track_sid: &str,
        muted: bool,
    ) -> LiveKitResult<()> {
        let req = proto::MuteRoomTrackRequest {
            room: room.into(),
            identity: identity.into(),
            track_sid: track_sid.into(),
            muted,
        };
        let _: proto::MuteRoomTrackResponse = self
            .call(ROOM_SERVICE, "MutePublishedTrack", Grant::Admin(room), &req)
            .await?;
        Ok(())
    }

    async fn send_data(&self, room: &str, message: &DataMessage) -> LiveKitResult<()> {
        let req = proto::SendDataRequest {
            room: room.into(),
            data: message.payload.clone(),
            kind: proto::data_packet::Kind::Reliable as i32,
            destination_identities: message.to.clone(),
            topic: Some(message.topic.clone()),
            ..Default::default()
        };
        let _: proto::SendDataResponse = self
            .call(ROOM_SERVICE, "SendData", Grant::Admin(room), &req)
            .await?;
        Ok(())
    }

    async fn start_recording(&self, room: &str, output: &RecordingOutput) -> LiveKitResult<Egress> {
        let req = proto::RoomCompositeEgressRequest {
            room_name: room.into(),
            file_outputs: vec![file_output(output)],
            ..Default::default()
        };
        let info: proto::EgressInfo = self
            .call(EGRESS, "StartRoomCompositeEgress", Grant::Record, &req)
            .await?;
        Ok(egress(info))
    }

    async fn stop_egress(&self, egress_id: &str) -> LiveKitResult<Egress> {
        let req = proto::StopEgressRequest {
            egress_id: egress_id.into(),
        };
        let info: proto::EgressInfo = self.call(EGRESS, "StopEgress", Grant::Record, &req).await?;
        Ok(egress(info))
    }

    async fn list_egress(&self, room: Option<&str>, active: bool) -> LiveKitResult<Vec<Egress>> {
        let mut items = Vec::new();
        let mut page_token = None;
        loop {
            let req = proto::ListEgressRequest {
                room_name: room.unwrap_or_default().into(),
                active,
                page_token,
                ..Default::default()
            };
            let res: proto::ListEgressResponse =
                self.call(EGRESS, "ListEgress", Grant::Record, &req).await?;
            items.extend(res.items.into_iter().map(egress));
            match res.next_page_token {
                Some(t) if !t.token.is_empty() => page_token = Some(t),
                _ => return Ok(items),
            }
        }
    }
}

fn identity_req(room: &str, identity: &str) -> proto::RoomParticipantIdentity {
    proto::RoomParticipantIdentity {
        room: room.into(),
        identity: identity.into(),
        ..Default::default()
    }
}

fn live_room(r: proto::Room) -> LiveRoom {
    LiveRoom {
        sid: r.sid,
        name: r.name,
        num_participants: r.num_participants,
        num_publishers: r.num_publishers,
        created_at: r.creation_time,
    }
}

/// LiveKit's `TrackSource` number for ours, and back.
pub fn wire_source(s: Source) -> proto::TrackSource {
    match s {
        Source::Camera => proto::TrackSource::Camera,
        Source::Microphone => proto::TrackSource::Microphone,
        Source::ScreenShare => proto::TrackSource::ScreenShare,
        Source::ScreenShareAudio => proto::TrackSource::ScreenShareAudio,
    }
}

pub fn source(wire: i32) -> Option<Source> {
    match proto::TrackSource::try_from(wire).ok()? {
        proto::TrackSource::Camera => Some(Source::Camera),
        proto::TrackSource::Microphone => Some(Source::Microphone),
        proto::TrackSource::ScreenShare => Some(Source::ScreenShare),
        proto::TrackSource::ScreenShareAudio => Some(Source::ScreenShareAudio),
        proto::TrackSource::Unknown => None,
    }
}

pub fn wire_permission(p: &Permission) -> proto::ParticipantPermission {
    proto::ParticipantPermission {
        can_subscribe: p.subscribe,
        can_publish: !p.sources.is_empty(),
        can_publish_data: p.publish_data,
        can_publish_sources: p.sources.iter().map(|s| wire_source(*s) as i32).collect(),
        can_update_metadata: p.update_metadata,
        ..Default::default()
    }
}

fn permission(p: proto::ParticipantPermission) -> Permission {
    Permission {
        sources: if p.can_publish {
            p.can_publish_sources
                .iter()
                .filter_map(|s| source(*s))
                .collect()
        } else {
            Vec::new()
        },
        publish_data: p.can_publish_data,
        subscribe: p.can_subscribe,
        update_metadata: p.can_update_metadata,
    }
}

pub fn live_participant(p: proto::ParticipantInfo) -> LiveParticipant {
    LiveParticipant {
        sid: p.sid,
        identity: p.identity,
        name: p.name,
        metadata: p.metadata,
        joined_at: p.joined_at,
        state: match proto::participant_info::State::try_from(p.state) {
            Ok(proto::participant_info::State::Joining) => "JOINING",
            Ok(proto::participant_info::State::Joined) => "JOINED",
            Ok(proto::participant_info::State::Active) => "ACTIVE",
            _ => "DISCONNECTED",
        },
        is_publisher: p.is_publisher,
        tracks: p
            .tracks
            .into_iter()
            .map(|t| LiveTrack {
                kind: match proto::TrackType::try_from(t.r#type) {
                    Ok(proto::TrackType::Audio) => TrackKind::Audio,
                    Ok(proto::TrackType::Video) => TrackKind::Video,
                    _ => TrackKind::Other,
                },
                source: source(t.source),
                // The primary codec's layers (a backup codec's would count the same video twice).
                bitrate: t
                    .codecs
                    .first()
                    .map_or(0, |c| c.layers.iter().map(|l| u64::from(l.bitrate)).sum()),
                sid: t.sid,
                muted: t.muted,
            })
            .collect(),
        permission: p.permission.map(permission),
    }
}

fn file_output(output: &RecordingOutput) -> proto::EncodedFileOutput {
    let (filepath, upload) = match output {
        RecordingOutput::S3 {
            bucket,
            region,
            endpoint,
            key,
            force_path_style,
            credentials,
        } => (
            key.clone(),
            Some(proto::encoded_file_output::Output::S3(proto::S3Upload {
                bucket: bucket.clone(),
                region: region.clone(),
                endpoint: endpoint.clone().unwrap_or_default(),
                force_path_style: *force_path_style,
                access_key: credentials
                    .as_ref()
                    .map(|c| c.0.clone())
                    .unwrap_or_default(),
                secret: credentials
                    .as_ref()
                    .map(|c| c.1.clone())
                    .unwrap_or_default(),
                ..Default::default()
            })),
        ),
        RecordingOutput::File { path } => (path.clone(), None),
    };
    proto::EncodedFileOutput {
        file_type: proto::EncodedFileType::Mp4 as i32,
        filepath,
        output: upload,
        ..Default::default()
    }
}

pub fn egress(info: proto::EgressInfo) -> Egress {
    use proto::EgressStatus as S;
    let status = match S::try_from(info.status).unwrap_or(S::EgressFailed) {
        S::EgressStarting => EgressStatus::Starting,
        S::EgressActive => EgressStatus::Active,
        S::EgressEnding => EgressStatus::Ending,
        S::EgressComplete => EgressStatus::Complete,
        S::EgressFailed => EgressStatus::Failed,
        S::EgressAborted => EgressStatus::Aborted,
        S::EgressLimitReached => EgressStatus::LimitReached,
    };
    let mut files: Vec<EgressFile> = info.file_results.into_iter().map(egress_file).collect();
    #[allow(deprecated)]
    if files.is_empty()
        && let Some(proto::egress_info::Result::File(f)) = info.result
    {
        files.push(egress_file(f));
    }
    Egress {
        egress_id: info.egress_id,
        room_name: info.room_name,
        status,
        started_at: info.started_at,
        ended_at: info.ended_at,
        error: info.error,
        files,
    }
}

fn egress_file(f: proto::FileInfo) -> EgressFile {
    EgressFile {
        location: f.location,
        filename: f.filename,
        size: f.size,
        duration: f.duration,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_become_http_bases() {
        assert_eq!(
            http_base("wss://x.livekit.cloud/").unwrap(),
            "https://x.livekit.cloud"
        );
        assert_eq!(
            http_base("ws://127.0.0.1:7880").unwrap(),
            "http://127.0.0.1:7880"
        );
        assert_eq!(http_base("https://lk:443").unwrap(), "https://lk:443");
        assert!(http_base("lk.example.com").is_err());
    }

    #[test]
    fn permission_round_trips_and_empty_sources_mean_no_publishing() {
        let p = Permission {
            sources: vec![Source::Camera, Source::ScreenShare],
            publish_data: false,
            subscribe: true,
            update_metadata: true,
        };
        let wire = wire_permission(&p);
        assert!(wire.can_publish && !wire.can_publish_data);
        assert_eq!(permission(wire), p);
        let none = wire_permission(&Permission {
            sources: vec![],
            ..p
        });
        assert!(!none.can_publish);
    }

    #[test]
    fn egress_falls_back_to_the_deprecated_file_result() {
        #[allow(deprecated)]
        let info = proto::EgressInfo {
            egress_id: "EG_1".into(),
            status: proto::EgressStatus::EgressComplete as i32,
            result: Some(proto::egress_info::Result::File(proto::FileInfo {
                location: "s3://b/k.mp4".into(),
                size: 42,
                ..Default::default()
            })),
            ..Default::default()
        };
        let e = egress(info);
        assert_eq!(e.status, EgressStatus::Complete);
        assert_eq!(e.files[0].location, "s3://b/k.mp4");
        assert_eq!(e.files[0].size, 42);
    }
}
