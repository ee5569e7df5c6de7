//! `/api/admin/*`: platform admins only (403 for everyone else, 401 without a token).

use axum::Json;
use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::routing::get;
use serde_json::{Value, json};

use super::bearer::Bearer;
use super::json::JsonBody;
use super::rfc3339;
use super::rooms::{RoomView, UpdateBody};
use crate::admin::Check;
use crate::domain::RoomId;
use crate::domain::policy::Caller;
use crate::error::{Error, Result};
use crate::livekit::{LiveRoom, found};
use crate::state::AppState;
use crate::store::RoomFilter;

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
}

/// `?q=` part of the name, `?status=active|archived`, `?limit=` (1–100, default 20),
/// `?cursor=` from the previous page's `nextCursor`.
#[derive(serde::Deserialize)]
struct RoomsQuery {
    q: Option<String>,
    status: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

async fn rooms(
    State(s): State<AppState>,
    _: AdminCaller,
    query: std::result::Result<
        axum::extract::Query<RoomsQuery>,
        axum::extract::rejection::QueryRejection,
    >,
) -> Result<Json<Value>> {
    let axum::extract::Query(q) =
        query.map_err(|e| Error::bad_request(format!("bad query: {e}")))?;
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
    let limit = q.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(Error::bad_request("limit must be between 1 and 100"));
    }
    let filter = RoomFilter {
        text: q.q.filter(|t| !t.trim().is_empty()),
        active,
    };
    let page = s
        .stores
        .rooms
        .all_rooms(&filter, limit, q.cursor.as_deref())
        .await?;
    let rooms: Vec<Value> = page
        .items
        .iter()
        .map(|r| {
            let mut v = serde_json::to_value(RoomView::from(r)).expect("room JSON");
            v["activeCount"] = json!(r.active_count);
            v["live"] = json!(r.live_sid.is_some());
            v
        })
        .collect();
    Ok(Json(json!({
        "rooms": rooms,
        "limit": limit,
        "nextCursor": page.next,
    })))
}

/// LiveKit's live view beside ours: who is connected, and who holds a seat.
async fn participants(
    State(s): State<AppState>,
    _: AdminCaller,
    Path(room_id): Path<String>,
) -> Result<Json<Value>> {
    let room = s
        .stores
        .rooms
        .room(&RoomId::parse(&room_id)?)
        .await?
        .ok_or_else(|| Error::not_found("Room not found"))?;
    let members = s.stores.rooms.active_members(&room).await?;
    let stored: Vec<Value> = members
        .iter()
        .map(|m| {
            json!({
                "identity": m.user_id.as_str(),
                "name": m.name.as_str(),
                "role": m.role.as_str(),
                "joinedAt": rfc3339(m.joined_at),
                "session": m.session,
            })
        })
        .collect();
    let (live, error) = match &s.livekit {
        None => (None, Some("LiveKit is not configured".to_string())),
        Some(lk) => match found(lk.list_participants(&room.livekit_name()).await) {
            Ok(list) => (Some(list.unwrap_or_default()), None),
            Err(e) => (None, Some(e.to_string())),
        },
    };
    let live: Option<Vec<Value>> = live.map(|list| {
        list.iter()
            .map(|p| {
                json!({
                    "sid": p.sid,
                    "identity": p.identity,
                    "name": p.name,
                    "joinedAt": p.joined_at,
                    "tracks": p.tracks.iter().map(|t| json!({
                        "sid": t.sid,
                        "source": t.source.map(|s| s.as_str()),
                        "muted": t.muted,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect()
    });
    Ok(Json(json!({
        "room": RoomView::from(&room),
        "participants": live,
        "stored": stored,
        "livekitError": error,
    })))
}

/// Closes the room for everyone: LiveKit's room deleted, the room archived.
async fn close_room(
    State(s): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(room_id): Path<String>,
) -> Result<Json<Value>> {
    s.moderation.end(&caller, &RoomId::parse(&room_id)?).await?;
    Ok(Json(
        json!({ "status": "success", "message": "Room closed" }),
    ))
}

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

/// A caller holding the admin (or superadmin) access.
pub struct AdminCaller(pub Caller);

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let Bearer(claims) = Bearer::from_request_parts(parts, state).await?;
        let caller = claims.caller()?;
        if !caller.is_admin() {
            return Err(Error::forbidden("Admin access required"));
        }
        Ok(AdminCaller(caller))
    }
}

fn check(c: &Check) -> Value {
    json!({ "ok": c.ok, "latencyMs": c.latency_ms, "error": c.error })
}

fn room(r: &LiveRoom) -> Value {
    json!({
        "name": r.name,
        "sid": r.sid,
        "numParticipants": r.num_participants,
        "numPublishers": r.num_publishers,
        "creationTime": r.created_at,
    })
}

async fn livekit_status(State(s): State<AppState>, _: AdminCaller) -> Result<Json<Value>> {
    let st = s.admin.livekit_status().await?;
    Ok(Json(json!({
        "status": if st.connected { "connected" } else { "disconnected" },
        "mode": st.mode,
        "host": st.host,
        "internalHost": st.internal_host,
        "health": check(&st.health),
        "api": check(&st.api),
        "activeRooms": st.rooms.as_ref().map(|r| r.len()),
        "webhooks": {
            "count": st.webhooks.count,
            "lastReceivedAt": st.webhooks.last_at.map(rfc3339),
        },
        "warning": st.warning,
        "supervisor": st.supervisor,
    })))
}

async fn livekit_stats(State(s): State<AppState>, _: AdminCaller) -> Result<Json<Value>> {
    let rooms = s.admin.livekit_stats().await?;
    Ok(Json(json!({
        "activeRooms": rooms.len(),
        "totalParticipants": rooms.iter().map(|r| r.num_participants).sum::<u32>(),
        "totalPublishers": rooms.iter().map(|r| r.num_publishers).sum::<u32>(),
        "rooms": rooms.iter().map(room).collect::<Vec<_>>(),
    })))
}
