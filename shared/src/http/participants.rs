//! `GET /api/room/{roomId}/participant/{identity}/profile` (anyone in the room: the name and
//! avatar the web shows on each tile) and `…/info` (the room's moderators: LiveKit's view of
//! the connection).

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde::Serialize;

use super::admin::LiveParticipantView;
use super::bearer::Bearer;
use crate::domain::RoomId;
use crate::error::Result;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/room/{room_id}/participant/{identity}/profile",
            get(profile),
        )
        .route("/api/room/{room_id}/participant/{identity}/info", get(info))
}

#[cfg(feature = "openapi")]
#[derive(utoipa::OpenApi)]
#[openapi(paths(profile, info))]
pub(super) struct Api;

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct TileProfile {
    id: String,
    name: String,
    avatar_url: Option<String>,
}

#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/room/{room_id}/participant/{identity}/profile", tag = "meeting", security(("bearer" = [])),
    description = "The name and avatar shown on a participant's tile; anyone in the room.", params(("room_id" = String, Path), ("identity" = String, Path)),
    responses((status = 200, body = TileProfile))))]
async fn profile(
    State(s): State<AppState>,
    b: Bearer,
    Path((room, identity)): Path<(String, String)>,
) -> Result<Json<TileProfile>> {
    let p = s
        .participants
        .profile(&b.0.caller()?, &RoomId::parse(&room)?, &identity)
        .await?;
    Ok(Json(TileProfile {
        id: p.id.to_string(),
        name: p.name,
        avatar_url: p.avatar_url,
    }))
}

#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/room/{room_id}/participant/{identity}/info", tag = "meeting", security(("bearer" = [])),
    description = "LiveKit's view of the connection; the room's moderators.", params(("room_id" = String, Path), ("identity" = String, Path)),
    responses((status = 200, body = LiveParticipantView))))]
async fn info(
    State(s): State<AppState>,
    b: Bearer,
    Path((room, identity)): Path<(String, String)>,
) -> Result<Json<LiveParticipantView>> {
    let p = s
        .participants
        .info(&b.0.caller()?, &RoomId::parse(&room)?, &identity)
        .await?;
    Ok(Json(LiveParticipantView::from(&p)))
}
