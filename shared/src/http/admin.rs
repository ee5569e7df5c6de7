//! `/api/admin/*`: platform admins only (403 for everyone else, 401 without a token). Every
//! handler goes through the `Admin` service (or the room and moderation services) and answers
//! a typed view.

use axum::Json;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use serde::Serialize;

use axum::response::{IntoResponse, Response};

use super::admin_lists::{RoomListQuery, room_table};
use super::bearer::AdminCaller;
use super::json::JsonBody;
use super::paging::{Paging, query};
use super::reply::Done;
use super::rfc3339;
use super::rooms::{RoomView, UpdateBody};
use crate::admin::{Check, RoomPresence};
use crate::domain::{Member, Room, RoomId, Source};
use crate::error::{Error, Result};
use crate::livekit::{LiveParticipant, LiveRoom, LiveTrack, TrackKind};
use crate::state::AppState;
use crate::store::RoomFilter;

/// `GET /api/admin/queue` (the `queue` function on AWS).
pub fn queue_routes() -> Router<AppState> {
    super::admin_dashboard::queue_routes()
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/admin/livekit/status", get(livekit_status))
        .route("/api/admin/livekit/stats", get(livekit_stats))
        .route("/api/admin/rooms", get(rooms))
        .route(
            "/api/admin/rooms/{room_id}",
            axum::routing::put(update_room).delete(close_room),
        )
        .route("/api/admin/rooms/{room_id}/participants", get(participants))
        .merge(super::admin_users::routes())
        .merge(super::admin_lists::routes())
        .merge(super::admin_dashboard::routes())
        .merge(super::admin_actions::routes())
        .merge(super::admin_settings::routes())
}

#[cfg(feature = "openapi")]
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    livekit_status,
    livekit_stats,
    rooms,
    participants,
    close_room,
    update_room
))]
pub(super) struct Api;

/// A room as the cursor form lists it: the room, its seats held now, and whether a meeting
/// runs.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct AdminRoomView {
    #[serde(flatten)]
    room: RoomView,
    active_count: u32,
    live: bool,
}

impl From<&Room> for AdminRoomView {
    fn from(r: &Room) -> Self {
        Self {
            room: RoomView::from(r),
            active_count: r.active_count,
            live: r.live_sid.is_some(),
        }
    }
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct RoomsPage {
    rooms: Vec<AdminRoomView>,
    limit: u32,
    /// Absent (null) on the last page; what tells this form from the numbered table.
    #[cfg_attr(feature = "openapi", schema(required))]
    next_cursor: Option<String>,
}

/// The numbered table, or (with `?cursor=`) a cursor page.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
enum RoomList {
    Table(super::admin_lists::RoomTable),
    Cursor(RoomsPage),
}

/// Numbered pages (`admin_lists`), or with `?cursor=` (empty for the first page) the cursor
/// form: `?q=`, `?status=active|archived`, `?limit=` 1–100 (default 20).
#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/admin/rooms", tag = "admin", security(("bearer" = [])), params(RoomListQuery),
    responses((status = 200, body = RoomList))))]
async fn rooms(
    State(s): State<AppState>,
    _: AdminCaller,
    raw: std::result::Result<Query<RoomListQuery>, QueryRejection>,
) -> Result<Response> {
    let q = query(raw)?;
    let Some(cursor) = q.cursor.as_deref() else {
        return Ok(Json(RoomList::Table(room_table(&s, &q).await?)).into_response());
    };
    let active = match q.status.as_deref() {
        None | Some("") | Some("all") => None,
        Some("active") => Some(true),
        Some("archived") => Some(false),
        Some(other) => {
            return Err(Error::bad_request(format!(
                "status must be active, archived or all, not {other:?}"
            )));
        }
    };
    let limit = Paging::parse(None, q.limit.as_deref(), 20, u32::MAX)?.limit;
    if limit > 100 {
        return Err(Error::bad_request("limit must be between 1 and 100"));
    }
    let filter = RoomFilter {
        text: q.q.filter(|t| !t.trim().is_empty()),
        active,
    };
    let after = Some(cursor).filter(|c| !c.is_empty());
    let page = s.admin.rooms(&filter, limit, after).await?;
    Ok(Json(RoomList::Cursor(RoomsPage {
        rooms: page.items.iter().map(AdminRoomView::from).collect(),
        limit,
        next_cursor: page.next,
    }))
    .into_response())
}

/// Someone holding a seat, as the store has it.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct SeatView {
    identity: String,
    name: String,
    role: &'static str,
    joined_at: String,
    session: Option<String>,
}

impl From<&Member> for SeatView {
    fn from(m: &Member) -> Self {
        Self {
            identity: m.user_id.to_string(),
            name: m.name.to_string(),
            role: m.role.as_str(),
            joined_at: rfc3339(m.joined_at),
            session: m.session.clone(),
        }
    }
}

/// A published track as the admin page draws it (`type` and `source` in LiveKit's names).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct TrackView {
    sid: String,
    #[serde(rename = "type")]
    kind: &'static str,
    source: &'static str,
    muted: bool,
    bitrate: u64,
}

impl From<&LiveTrack> for TrackView {
    fn from(t: &LiveTrack) -> Self {
        Self {
            sid: t.sid.clone(),
            kind: match t.kind {
                TrackKind::Audio => "AUDIO",
                TrackKind::Video => "VIDEO",
                TrackKind::Other => "DATA",
            },
            source: match t.source {
                Some(Source::Camera) => "CAMERA",
                Some(Source::Microphone) => "MICROPHONE",
                Some(Source::ScreenShare) => "SCREEN_SHARE",
                Some(Source::ScreenShareAudio) => "SCREEN_SHARE_AUDIO",
                None => "UNKNOWN",
            },
            muted: t.muted,
            bitrate: t.bitrate,
        }
    }
}

/// Someone in the meeting, as LiveKit has it (`joinedAt` in Unix seconds).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub(super) struct LiveParticipantView {
    sid: String,
    identity: String,
    name: String,
    state: &'static str,
    joined_at: i64,
    is_publisher: bool,
    tracks: Vec<TrackView>,
}

impl From<&LiveParticipant> for LiveParticipantView {
    fn from(p: &LiveParticipant) -> Self {
        Self {
            sid: p.sid.clone(),
            identity: p.identity.clone(),
            name: p.name.clone(),
            state: p.state,
            joined_at: p.joined_at,
            is_publisher: p.is_publisher,
            tracks: p.tracks.iter().map(TrackView::from).collect(),
        }
    }
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct ParticipantsView {
    room: RoomView,
    /// Always a list (the web page iterates it): empty when LiveKit could not be read, and
    /// `livekitError` says why.
    participants: Vec<LiveParticipantView>,
    stored: Vec<SeatView>,
    livekit_error: Option<String>,
}

impl From<&RoomPresence> for ParticipantsView {
    fn from(p: &RoomPresence) -> Self {
        Self {
            room: RoomView::from(&p.room),
            participants: p
                .live
                .as_ref()
                .map(|l| l.iter().map(LiveParticipantView::from).collect())
                .unwrap_or_default(),
            stored: p.stored.iter().map(SeatView::from).collect(),
            livekit_error: p.live.as_ref().err().cloned(),
        }
    }
}

/// LiveKit's live view beside ours: who is connected, and who holds a seat.
#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/admin/rooms/{room_id}/participants", tag = "admin", security(("bearer" = [])), params(("room_id" = String, Path)),
    responses((status = 200, body = ParticipantsView))))]
async fn participants(
    State(s): State<AppState>,
    _: AdminCaller,
    Path(room_id): Path<String>,
) -> Result<Json<ParticipantsView>> {
    let presence = s.admin.room_presence(&RoomId::parse(&room_id)?).await?;
    Ok(Json(ParticipantsView::from(&presence)))
}

/// Closes the room for everyone: LiveKit's room deleted, the room archived.
#[cfg_attr(feature = "openapi", utoipa::path(delete, path = "/api/admin/rooms/{room_id}", tag = "admin", security(("bearer" = [])), params(("room_id" = String, Path)),
    description = "Ends the meeting and archives the room.", responses((status = 200, body = Done))))]
async fn close_room(
    State(s): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(room_id): Path<String>,
) -> Result<Json<Done>> {
    s.moderation.end(&caller, &RoomId::parse(&room_id)?).await?;
    Ok(Done::json("Room closed"))
}

#[cfg_attr(feature = "openapi", utoipa::path(put, path = "/api/admin/rooms/{room_id}", tag = "admin", security(("bearer" = [])), params(("room_id" = String, Path)), request_body = UpdateBody,
    responses((status = 200, body = RoomView))))]
async fn update_room(
    State(s): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(room_id): Path<String>,
    JsonBody(body): JsonBody<UpdateBody>,
) -> Result<Json<RoomView>> {
    let room = s
        .rooms
        .update(&caller, &RoomId::parse(&room_id)?, body.change())
        .await?;
    Ok(Json(RoomView::from(&room)))
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct CheckView {
    ok: bool,
    latency_ms: u64,
    error: Option<String>,
}

impl From<&Check> for CheckView {
    fn from(c: &Check) -> Self {
        Self {
            ok: c.ok,
            latency_ms: c.latency_ms,
            error: c.error.clone(),
        }
    }
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct WebhooksView {
    count: u64,
    last_received_at: Option<String>,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct LiveKitStatusView {
    status: &'static str,
    mode: &'static str,
    host: String,
    internal_host: String,
    health: CheckView,
    api: CheckView,
    active_rooms: Option<usize>,
    webhooks: WebhooksView,
    warning: Option<String>,
    supervisor: Option<serde_json::Value>,
}

#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/admin/livekit/status", tag = "admin", security(("bearer" = [])),
    description = "Whether LiveKit answers, its webhooks, and (embedded mode) the supervised processes.",
    responses((status = 200, body = LiveKitStatusView))))]
async fn livekit_status(
    State(s): State<AppState>,
    _: AdminCaller,
) -> Result<Json<LiveKitStatusView>> {
    let st = s.admin.livekit_status().await?;
    Ok(Json(LiveKitStatusView {
        status: if st.connected {
            "connected"
        } else {
            "disconnected"
        },
        mode: st.mode,
        health: CheckView::from(&st.health),
        api: CheckView::from(&st.api),
        active_rooms: st.rooms.as_ref().map(Vec::len),
        webhooks: WebhooksView {
            count: st.webhooks.count,
            last_received_at: st.webhooks.last_at.map(rfc3339),
        },
        host: st.host,
        internal_host: st.internal_host,
        warning: st.warning,
        supervisor: st.supervisor,
    }))
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct LiveRoomView {
    name: String,
    sid: String,
    num_participants: u32,
    num_publishers: u32,
    creation_time: i64,
}

impl From<&LiveRoom> for LiveRoomView {
    fn from(r: &LiveRoom) -> Self {
        Self {
            name: r.name.clone(),
            sid: r.sid.clone(),
            num_participants: r.num_participants,
            num_publishers: r.num_publishers,
            creation_time: r.created_at,
        }
    }
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct LiveKitStatsView {
    active_rooms: usize,
    total_participants: u32,
    total_publishers: u32,
    rooms: Vec<LiveRoomView>,
}

#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/admin/livekit/stats", tag = "admin", security(("bearer" = [])), responses((status = 200, body = LiveKitStatsView))))]
async fn livekit_stats(
    State(s): State<AppState>,
    _: AdminCaller,
) -> Result<Json<LiveKitStatsView>> {
    let rooms = s.admin.livekit_stats().await?;
    Ok(Json(LiveKitStatsView {
        active_rooms: rooms.len(),
        total_participants: rooms.iter().map(|r| r.num_participants).sum(),
        total_publishers: rooms.iter().map(|r| r.num_publishers).sum(),
        rooms: rooms.iter().map(LiveRoomView::from).collect(),
    }))
}
