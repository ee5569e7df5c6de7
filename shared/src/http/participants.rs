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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProfileView {
    id: String,
    name: String,
    avatar_url: Option<String>,
}

async fn profile(
    State(s): State<AppState>,
    b: Bearer,
    Path((room, identity)): Path<(String, String)>,
) -> Result<Json<ProfileView>> {
    let p = s
        .participants
        .profile(&b.0.caller()?, &RoomId::parse(&room)?, &identity)
        .await?;
    Ok(Json(ProfileView {
        id: p.id.to_string(),
        name: p.name,
        avatar_url: p.avatar_url,
    }))
}

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
