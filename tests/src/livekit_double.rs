//! A LiveKit server double: Twirp `RoomService` and `Egress` on 127.0.0.1 port 0, protobuf and
//! JSON, with the real server's authentication (HS256 `Bearer` token, issuer = a configured
//! key) and per-method grants (`pkg/service/roomservice.go`, `egress.go`: a missing grant is
//! Twirp `unauthenticated`, 401). Rooms, participants and tracks live in memory and behave as
//! LiveKit's do (get-or-create rooms, `not_found` codes, a permission change unpublishes the
//! tracks it no longer allows). Every call is recorded; failures can be injected; signed
//! proto-JSON webhooks are sent the way the real server sends them.
//!
//! Known difference: JSON answers use protobuf JSON names (camelCase) and omit defaults, where
//! LiveKit's Twirp server writes proto names with defaults. Every protojson reader accepts
//! both.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use livekit_api::access_token::{AccessToken, TokenVerifier, VideoGrants};
use livekit_protocol as proto;
use prost::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;

/// One call as the double saw it.
#[derive(Debug, Clone)]
pub struct Call {
    /// `RoomService/RemoveParticipant`, `Egress/StopEgress`, …
    pub method: String,
    /// The grants of the token it carried (`None`: no or an invalid token).
    pub grants: Option<VideoGrants>,
    /// `application/protobuf` or `application/json`.
    pub content_type: String,
    /// The request, decoded, as protobuf JSON.
    pub request: serde_json::Value,
    /// The HTTP status the double answered.
    pub status: u16,
}

/// A failure to inject: calls to `method` (all when `None`) wait `delay`, then answer with
/// `status` (a 2xx status answers normally: a slow server).
#[derive(Debug, Clone)]
pub struct Failure {
    pub method: Option<String>,
    pub status: u16,
    /// Twirp error code in the body; `None` sends a bare status with a text body.
    pub code: Option<String>,
    pub delay: Duration,
}

impl Failure {
    /// Every call answers `status` with Twirp `code`.
    pub fn all(status: u16, code: &str) -> Self {
        Self {
            method: None,
            status,
            code: Some(code.into()),
            delay: Duration::ZERO,
        }
    }

    /// Every call answers normally, after `delay`.
    pub fn slow(delay: Duration) -> Self {
        Self {
            method: None,
            status: 200,
            code: None,
            delay,
        }
    }

    /// Calls to one method (`"RemoveParticipant"`) answer `status` with Twirp `code`.
    pub fn method(method: &str, status: u16, code: &str) -> Self {
        Self {
            method: Some(method.into()),
            ..Self::all(status, code)
        }
    }
}

#[derive(Default)]
struct RoomState {
    info: proto::Room,
    participants: BTreeMap<String, proto::ParticipantInfo>,
}

#[derive(Default)]
struct World {
    rooms: BTreeMap<String, RoomState>,
    egress: BTreeMap<String, proto::EgressInfo>,
    calls: Vec<Call>,
    failure: Option<Failure>,
    next_id: u64,
}

impl World {
    fn sid(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}_{:012}", self.next_id)
    }
}

#[derive(Clone)]
struct Shared {
    world: Arc<Mutex<World>>,
    verifier: Arc<TokenVerifier>,
}

/// A running double. Dropping it stops the server.
pub struct LiveKitDouble {
    pub url: String,
    pub api_key: String,
    pub api_secret: String,
    shared: Shared,
    task: JoinHandle<()>,
}

impl Drop for LiveKitDouble {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Answer = Result<Vec<u8>, (StatusCode, String, String)>;

fn not_found(msg: &str) -> (StatusCode, String, String) {
    (StatusCode::NOT_FOUND, "not_found".into(), msg.into())
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

impl LiveKitDouble {
    /// Starts with one key pair (the one tests configure Bedrud with).
    pub async fn start(api_key: &str, api_secret: &str) -> Self {
        let shared = Shared {
            world: Arc::default(),
            verifier: Arc::new(TokenVerifier::with_api_key(api_key, api_secret)),
        };
        let app = Router::new()
            .route("/", get(|| async { "OK" }))
            .route("/twirp/{service}/{method}", post(twirp))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url,
            api_key: api_key.into(),
            api_secret: api_secret.into(),
            shared,
            task,
        }
    }

    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.shared.world.lock().expect("double state")
    }

    /// Someone connects with these published tracks (`(source, muted)`), creating the room if
    /// needed, as a client holding a join token would.
    pub fn connect(&self, room: &str, identity: &str, tracks: &[proto::TrackSource]) {
        let mut w = self.world();
        let room_sid = w.sid("RM");
        let psid = w.sid("PA");
        let track_sids: Vec<String> = tracks.iter().map(|_| w.sid("TR")).collect();
        let r = w.rooms.entry(room.into()).or_insert_with(|| RoomState {
            info: proto::Room {
                sid: room_sid,
                name: room.into(),
                creation_time: now_secs(),
                ..Default::default()
            },
            ..Default::default()
        });
        let is_publisher = !tracks.is_empty();
        let tracks = tracks
            .iter()
            .zip(track_sids)
            .map(|(source, sid)| proto::TrackInfo {
                sid,
                r#type: match source {
                    proto::TrackSource::Microphone | proto::TrackSource::ScreenShareAudio => {
                        proto::TrackType::Audio as i32
                    }
                    _ => proto::TrackType::Video as i32,
                },
                source: *source as i32,
                // Video announces its simulcast layers, as LiveKit's clients publish them.
                codecs: match source {
                    proto::TrackSource::Camera | proto::TrackSource::ScreenShare => {
                        vec![proto::SimulcastCodecInfo {
                            mime_type: "video/VP8".into(),
                            layers: [150_000, 500_000]
                                .map(|bitrate| proto::VideoLayer {
                                    bitrate,
                                    ..Default::default()
                                })
                                .into(),
                            ..Default::default()
                        }]
                    }
                    _ => Vec::new(),
                },
                ..Default::default()
            })
            .collect();
        r.participants.insert(
            identity.into(),
            proto::ParticipantInfo {
                sid: psid,
                identity: identity.into(),
                state: proto::participant_info::State::Active as i32,
                is_publisher,
                joined_at: now_secs(),
                tracks,
                metadata: r#"{"role":"participant","accesses":["user"],"displayName":"Ann"}"#
                    .into(),
                permission: Some(proto::ParticipantPermission {
                    can_subscribe: true,
                    can_publish: true,
                    can_publish_data: true,
                    can_update_metadata: true,
                    ..Default::default()
                }),
                ..Default::default()
            },
        );
        r.info.num_participants = r.participants.len() as u32;
    }

    pub fn participant(&self, room: &str, identity: &str) -> Option<proto::ParticipantInfo> {
        self.world()
            .rooms
            .get(room)
            .and_then(|r| r.participants.get(identity).cloned())
    }

    /// A participant writes its own metadata, as `canUpdateOwnMetadata` lets a client do.
    pub fn set_metadata(&self, room: &str, identity: &str, metadata: &str) {
        let mut w = self.world();
        let p = w
            .rooms
            .get_mut(room)
            .and_then(|r| r.participants.get_mut(identity))
            .expect("connected participant");
        p.metadata = metadata.into();
    }

    pub fn has_room(&self, room: &str) -> bool {
        self.world().rooms.contains_key(room)
    }

    pub fn egress(&self, id: &str) -> Option<proto::EgressInfo> {
        self.world().egress.get(id).cloned()
    }

    /// Changes an egress as LiveKit's egress worker would (status, results), without sending
    /// any webhook: what a lost webhook leaves behind.
    pub fn update_egress(&self, id: &str, change: impl FnOnce(&mut proto::EgressInfo)) {
        change(self.world().egress.get_mut(id).expect("known egress"));
    }

    /// Every egress started so far, oldest first.
    pub fn egresses(&self) -> Vec<proto::EgressInfo> {
        let mut all: Vec<_> = self.world().egress.values().cloned().collect();
        all.sort_by(|a, b| a.egress_id.cmp(&b.egress_id));
        all
    }

    /// Every call so far, oldest first.
    pub fn calls(&self) -> Vec<Call> {
        self.world().calls.clone()
    }

    /// The method names called so far (`"RemoveParticipant"`, …), oldest first.
    pub fn methods(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .map(|c| c.method.rsplit('/').next().unwrap_or_default().to_string())
            .collect()
    }

    pub fn clear_calls(&self) {
        self.world().calls.clear();
    }

    pub fn fail(&self, failure: Failure) {
        self.world().failure = Some(failure);
    }

    pub fn heal(&self) {
        self.world().failure = None;
    }

    /// Sends `event` to `url` as LiveKit does: proto-JSON body (camelCase, int64 as strings,
    /// enum names, defaults omitted), `Content-Type: application/webhook+json`, and an
    /// `Authorization` header holding the raw JWT (no `Bearer`) whose `sha256` claim is the
    /// base64 SHA-256 of the body.
    pub async fn send_webhook(&self, url: &str, event: &proto::WebhookEvent) -> reqwest::Response {
        let body = serde_json::to_vec(event).expect("webhook JSON");
        let jwt = self.sign_body(&body);
        reqwest::Client::new()
            .post(url)
            .header(header::CONTENT_TYPE, "application/webhook+json")
            .header(header::AUTHORIZATION, jwt)
            .body(body)
            .send()
            .await
            .expect("webhook delivery")
    }

    /// The token LiveKit signs a webhook body with.
    pub fn sign_body(&self, body: &[u8]) -> String {
        let sha = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body));
        AccessToken::with_api_key(&self.api_key, &self.api_secret)
            .with_ttl(Duration::from_secs(300))
            .with_sha256(&sha)
            .to_jwt()
            .expect("sign webhook")
    }
}

/// The grant a method needs, as the real server checks it.
fn authorized(service: &str, method: &str, g: &VideoGrants, room: &str) -> bool {
    match (service, method) {
        ("livekit.RoomService", "CreateRoom" | "DeleteRoom") => g.room_create,
        ("livekit.RoomService", "ListRooms") => g.room_list,
        ("livekit.RoomService", _) => g.room_admin && g.room == room,
        ("livekit.Egress", _) => g.room_record,
        _ => false,
    }
}

async fn twirp(
    State(s): State<Shared>,
    Path((service, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    let json = match content_type.as_str() {
        "application/json" => true,
        "application/protobuf" => false,
        other => {
            return twirp_error(
                StatusCode::NOT_FOUND,
                "bad_route",
                &format!("unexpected Content-Type: {other:?}"),
                json_ct(),
            );
        }
    };
    let grants = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| s.verifier.verify(t).ok())
        .map(|c| c.video);
    let failure = s.world.lock().expect("state").failure.clone();
    let failure = failure.filter(|f| f.method.as_deref().is_none_or(|m| m == method));
    if let Some(f) = &failure {
        tokio::time::sleep(f.delay).await;
    }
    let (request, answer) = dispatch(
        &s,
        &service,
        &method,
        &body,
        json,
        grants.as_ref(),
        failure.as_ref(),
    );
    let status = match &answer {
        Ok(_) => 200,
        Err((st, _, _)) => st.as_u16(),
    };
    s.world.lock().expect("state").calls.push(Call {
        method: format!("{}/{method}", service.trim_start_matches("livekit.")),
        grants,
        content_type: content_type.clone(),
        request,
        status,
    });
    match answer {
        Ok(bytes) => {
            let ct = if json {
                json_ct()
            } else {
                "application/protobuf"
            };
            ([(header::CONTENT_TYPE, ct)], bytes).into_response()
        }
        Err((status, code, msg)) if code.is_empty() => (status, msg).into_response(),
        Err((status, code, msg)) => twirp_error(status, &code, &msg, json_ct()),
    }
}

fn json_ct() -> &'static str {
    "application/json"
}

fn twirp_error(status: StatusCode, code: &str, msg: &str, ct: &'static str) -> Response {
    let body = serde_json::json!({ "code": code, "msg": msg }).to_string();
    (status, [(header::CONTENT_TYPE, ct)], body).into_response()
}

/// Decodes the request, checks the grant, runs the method. Returns the request as JSON (for
/// the call log) and the encoded answer or the error.
fn dispatch(
    s: &Shared,
    service: &str,
    method: &str,
    body: &[u8],
    json: bool,
    grants: Option<&VideoGrants>,
    failure: Option<&Failure>,
) -> (serde_json::Value, Answer) {
    macro_rules! handle {
        ($req:ty, $room:expr, $run:expr) => {{
            let req: $req = match decode(body, json) {
                Ok(r) => r,
                Err(e) => {
                    return (
                        serde_json::Value::Null,
                        Err((StatusCode::BAD_REQUEST, "malformed".into(), e)),
                    );
                }
            };
            let logged = serde_json::to_value(&req).unwrap_or_default();
            let room: String = $room(&req);
            let answer = check(service, method, grants, &room, failure).and_then(|()| {
                let mut w = s.world.lock().expect("state");
                $run(&mut w, req).map(|res| encode(&res, json))
            });
            (logged, answer)
        }};
    }
    match (service, method) {
        ("livekit.RoomService", "CreateRoom") => {
            handle!(
                proto::CreateRoomRequest,
                |r: &proto::CreateRoomRequest| r.name.clone(),
                create_room
            )
        }
        ("livekit.RoomService", "DeleteRoom") => {
            handle!(
                proto::DeleteRoomRequest,
                |r: &proto::DeleteRoomRequest| r.room.clone(),
                delete_room
            )
        }
        ("livekit.RoomService", "ListRooms") => {
            handle!(
                proto::ListRoomsRequest,
                |_: &proto::ListRoomsRequest| String::new(),
                list_rooms
            )
        }
        ("livekit.RoomService", "ListParticipants") => handle!(
            proto::ListParticipantsRequest,
            |r: &proto::ListParticipantsRequest| r.room.clone(),
            list_participants
        ),
        ("livekit.RoomService", "GetParticipant") => handle!(
            proto::RoomParticipantIdentity,
            |r: &proto::RoomParticipantIdentity| r.room.clone(),
            get_participant
        ),
        ("livekit.RoomService", "RemoveParticipant") => handle!(
            proto::RoomParticipantIdentity,
            |r: &proto::RoomParticipantIdentity| r.room.clone(),
            remove_participant
        ),
        ("livekit.RoomService", "MutePublishedTrack") => handle!(
            proto::MuteRoomTrackRequest,
            |r: &proto::MuteRoomTrackRequest| r.room.clone(),
            mute_track
        ),
        ("livekit.RoomService", "UpdateParticipant") => handle!(
            proto::UpdateParticipantRequest,
            |r: &proto::UpdateParticipantRequest| r.room.clone(),
            update_participant
        ),
        ("livekit.RoomService", "SendData") => {
            handle!(
                proto::SendDataRequest,
                |r: &proto::SendDataRequest| r.room.clone(),
                send_data
            )
        }
        ("livekit.Egress", "StartRoomCompositeEgress") => handle!(
            proto::RoomCompositeEgressRequest,
            |r: &proto::RoomCompositeEgressRequest| r.room_name.clone(),
            start_egress
        ),
        ("livekit.Egress", "StopEgress") => {
            handle!(
                proto::StopEgressRequest,
                |_: &proto::StopEgressRequest| String::new(),
                stop_egress
            )
        }
        ("livekit.Egress", "ListEgress") => {
            handle!(
                proto::ListEgressRequest,
                |_: &proto::ListEgressRequest| String::new(),
                list_egress
            )
        }
        _ => (
            serde_json::Value::Null,
            Err((
                StatusCode::NOT_FOUND,
                "bad_route".into(),
                format!("no handler for {service}/{method}"),
            )),
        ),
    }
}

fn check(
    service: &str,
    method: &str,
    grants: Option<&VideoGrants>,
    room: &str,
    failure: Option<&Failure>,
) -> Result<(), (StatusCode, String, String)> {
    if !grants.is_some_and(|g| authorized(service, method, g, room)) {
        return Err((
            StatusCode::UNAUTHORIZED,
            "unauthenticated".into(),
            "permissions denied".into(),
        ));
    }
    if let Some(f) = failure.filter(|f| f.status >= 400) {
        return Err((
            StatusCode::from_u16(f.status).expect("valid status"),
            f.code.clone().unwrap_or_default(),
            format!("injected failure {}", f.status),
        ));
    }
    Ok(())
}

fn decode<T: Message + Default + DeserializeOwned>(body: &[u8], json: bool) -> Result<T, String> {
    if json {
        serde_json::from_slice(body).map_err(|e| e.to_string())
    } else {
        T::decode(body).map_err(|e| e.to_string())
    }
}

fn encode<T: Message + Serialize>(msg: &T, json: bool) -> Vec<u8> {
    if json {
        serde_json::to_vec(msg).expect("JSON")
    } else {
        msg.encode_to_vec()
    }
}

type Run<T> = Result<T, (StatusCode, String, String)>;

fn room_mut<'a>(w: &'a mut World, room: &str) -> Run<&'a mut RoomState> {
    w.rooms
        .get_mut(room)
        .ok_or_else(|| not_found("requested room does not exist"))
}

fn participant_mut<'a>(
    w: &'a mut World,
    room: &str,
    identity: &str,
) -> Run<&'a mut proto::ParticipantInfo> {
    room_mut(w, room)?
        .participants
        .get_mut(identity)
        .ok_or_else(|| not_found("participant does not exist"))
}

fn create_room(w: &mut World, req: proto::CreateRoomRequest) -> Run<proto::Room> {
    let sid = w.sid("RM");
    let r = w
        .rooms
        .entry(req.name.clone())
        .or_insert_with(|| RoomState {
            info: proto::Room {
                sid,
                name: req.name.clone(),
                max_participants: req.max_participants,
                empty_timeout: req.empty_timeout,
                creation_time: now_secs(),
                metadata: req.metadata.clone(),
                ..Default::default()
            },
            ..Default::default()
        });
    Ok(r.info.clone())
}

fn delete_room(w: &mut World, req: proto::DeleteRoomRequest) -> Run<proto::DeleteRoomResponse> {
    w.rooms
        .remove(&req.room)
        .map(|_| proto::DeleteRoomResponse {})
        .ok_or_else(|| not_found("requested room does not exist"))
}

fn list_rooms(w: &mut World, req: proto::ListRoomsRequest) -> Run<proto::ListRoomsResponse> {
    let rooms = w
        .rooms
        .values()
        .filter(|r| req.names.is_empty() || req.names.contains(&r.info.name))
        .map(|r| r.info.clone())
        .collect();
    Ok(proto::ListRoomsResponse { rooms })
}

fn list_participants(
    w: &mut World,
    req: proto::ListParticipantsRequest,
) -> Run<proto::ListParticipantsResponse> {
    let r = room_mut(w, &req.room)?;
    Ok(proto::ListParticipantsResponse {
        participants: r.participants.values().cloned().collect(),
    })
}

fn get_participant(
    w: &mut World,
    req: proto::RoomParticipantIdentity,
) -> Run<proto::ParticipantInfo> {
    participant_mut(w, &req.room, &req.identity).map(|p| p.clone())
}

fn remove_participant(
    w: &mut World,
    req: proto::RoomParticipantIdentity,
) -> Run<proto::RemoveParticipantResponse> {
    let r = room_mut(w, &req.room)?;
    r.participants
        .remove(&req.identity)
        .ok_or_else(|| not_found("participant does not exist"))?;
    r.info.num_participants = r.participants.len() as u32;
    Ok(proto::RemoveParticipantResponse {})
}

fn mute_track(
    w: &mut World,
    req: proto::MuteRoomTrackRequest,
) -> Run<proto::MuteRoomTrackResponse> {
    if !req.muted {
        return Err((
            StatusCode::PRECONDITION_FAILED,
            "failed_precondition".into(),
            "remote unmute not enabled".into(),
        ));
    }
    let p = participant_mut(w, &req.room, &req.identity)?;
    let t = p
        .tracks
        .iter_mut()
        .find(|t| t.sid == req.track_sid)
        .ok_or_else(|| not_found("track is not found"))?;
    t.muted = true;
    Ok(proto::MuteRoomTrackResponse {
        track: Some(t.clone()),
    })
}

/// Metadata and name when non-empty, permission when present; tracks of sources the new
/// permission no longer allows are unpublished, as the real server does.
fn update_participant(
    w: &mut World,
    req: proto::UpdateParticipantRequest,
) -> Run<proto::ParticipantInfo> {
    let p = participant_mut(w, &req.room, &req.identity)?;
    if !req.metadata.is_empty() {
        p.metadata = req.metadata;
    }
    if !req.name.is_empty() {
        p.name = req.name;
    }
    if let Some(perm) = req.permission {
        p.tracks.retain(|t| {
            perm.can_publish
                && (perm.can_publish_sources.is_empty()
                    || perm.can_publish_sources.contains(&t.source))
        });
        p.permission = Some(perm);
    }
    p.version += 1;
    Ok(p.clone())
}

fn send_data(w: &mut World, req: proto::SendDataRequest) -> Run<proto::SendDataResponse> {
    room_mut(w, &req.room)?;
    Ok(proto::SendDataResponse {})
}

fn start_egress(w: &mut World, req: proto::RoomCompositeEgressRequest) -> Run<proto::EgressInfo> {
    let room_id = room_mut(w, &req.room_name)?.info.sid.clone();
    let info = proto::EgressInfo {
        egress_id: w.sid("EG"),
        room_id,
        room_name: req.room_name.clone(),
        status: proto::EgressStatus::EgressStarting as i32,
        request: Some(proto::egress_info::Request::RoomComposite(req)),
        ..Default::default()
    };
    w.egress.insert(info.egress_id.clone(), info.clone());
    Ok(info)
}

fn stop_egress(w: &mut World, req: proto::StopEgressRequest) -> Run<proto::EgressInfo> {
    let e = w
        .egress
        .get_mut(&req.egress_id)
        .ok_or_else(|| not_found("egress does not exist"))?;
    let active = [
        proto::EgressStatus::EgressStarting as i32,
        proto::EgressStatus::EgressActive as i32,
    ];
    if !active.contains(&e.status) {
        return Err((
            StatusCode::PRECONDITION_FAILED,
            "failed_precondition".into(),
            "egress is not active".into(),
        ));
    }
    e.status = proto::EgressStatus::EgressEnding as i32;
    Ok(e.clone())
}

fn list_egress(w: &mut World, req: proto::ListEgressRequest) -> Run<proto::ListEgressResponse> {
    let active = [
        proto::EgressStatus::EgressStarting as i32,
        proto::EgressStatus::EgressActive as i32,
        proto::EgressStatus::EgressEnding as i32,
    ];
    let items = w
        .egress
        .values()
        .filter(|e| req.room_name.is_empty() || e.room_name == req.room_name)
        .filter(|e| req.egress_id.is_empty() || e.egress_id == req.egress_id)
        .filter(|e| !req.active || active.contains(&e.status))
        .cloned()
        .collect();
    Ok(proto::ListEgressResponse {
        items,
        next_page_token: None,
    })
}
