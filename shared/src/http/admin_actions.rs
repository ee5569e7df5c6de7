//! Admin actions as the web console sends them: deleting an account, bulk ban / promote /
//! delete of accounts, suspending and reactivating rooms, bulk suspend / close, and kicking
//! or muting a participant from the room page. Where Bedrud queues the work it answers 202,
//! and so do we (the work is done by then).

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};
use serde::{Deserialize, Serialize};

use super::admin_lists::user_id;
use super::bearer::AdminCaller;
use super::json::{JsonBody, shape_is_bad_request};
use super::reply::Status;
use crate::admin_actions::{ItemOutcome, RoomBulk, UserBulk};
use crate::domain::{RoomId, Source};
use crate::error::{Error, Result};
use crate::moderation::Action;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/admin/users/{user_id}", delete(delete_user))
        .route("/api/admin/users/bulk/{action}", post(bulk_users))
        .route("/api/admin/rooms/{room_id}/suspend", post(suspend))
        .route("/api/admin/rooms/{room_id}/reactivate", post(reactivate))
        .route("/api/admin/rooms/bulk/{action}", post(bulk_rooms))
        .route(
            "/api/admin/rooms/{room_id}/participants/{identity}/{action}",
            post(participant),
        )
}

#[cfg(feature = "openapi")]
#[derive(utoipa::OpenApi)]
#[openapi(paths(delete_user, bulk_users, suspend, reactivate, bulk_rooms, participant))]
pub(super) struct Api;

fn room_id(raw: &str) -> Result<RoomId> {
    RoomId::parse(raw).map_err(|_| Error::not_found("Room not found"))
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct Deleted {
    message: &'static str,
    rooms: usize,
}

#[cfg_attr(feature = "openapi", utoipa::path(delete, path = "/api/admin/users/{user_id}", tag = "admin", security(("bearer" = [])), params(("user_id" = String, Path)),
    description = "Deletes the account; its rooms are archived by a queued job.", responses((status = 202, body = Deleted))))]
async fn delete_user(
    State(s): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Deleted>)> {
    let rooms = s.actions.delete_user(&caller, &user_id(&id)?).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Deleted {
            message: "User deleted",
            rooms,
        }),
    ))
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct Ids {
    ids: Vec<String>,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct ItemView {
    success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl From<&ItemOutcome> for ItemView {
    fn from(o: &ItemOutcome) -> Self {
        Self {
            success: o.success,
            name: o.name.clone(),
            error: o.error.clone(),
        }
    }
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct BulkResults {
    results: BTreeMap<String, ItemView>,
    total_processed: usize,
    total_failed: usize,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct BulkQueued {
    message: &'static str,
    count: usize,
    skipped: usize,
}

/// `ban` and `promote` answer per id; `delete` answers 202 with how many went.
#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/admin/users/bulk/{action}", tag = "admin", security(("bearer" = [])),
    params(("action" = String, Path, description = "`ban`, `promote` or `delete`")), request_body = Ids,
    responses((status = 200, description = "`ban`, `promote`: per id", body = BulkResults),
        (status = 202, description = "`delete`: how many went", body = BulkQueued))))]
async fn bulk_users(
    State(s): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(action): Path<String>,
    body: std::result::Result<JsonBody<Ids>, Error>,
) -> Result<axum::response::Response> {
    use axum::response::IntoResponse;
    let JsonBody(b) = body.map_err(shape_is_bad_request)?;
    let action = match action.as_str() {
        "ban" => UserBulk::Ban,
        "promote" => UserBulk::Promote,
        "delete" => {
            let t = s.actions.delete_users(&caller, &b.ids).await?;
            let queued = BulkQueued {
                message: "Users deleted",
                count: t.done,
                skipped: t.skipped,
            };
            return Ok((StatusCode::ACCEPTED, Json(queued)).into_response());
        }
        other => {
            return Err(Error::bad_request(format!(
                "action must be ban, promote or delete, not {other:?}"
            )));
        }
    };
    let results = s.actions.bulk_users(&caller, &b.ids, action).await?;
    let failed = results.values().filter(|o| !o.success).count();
    Ok(Json(BulkResults {
        total_processed: results.len(),
        total_failed: failed,
        results: results
            .iter()
            .map(|(id, o)| (id.clone(), ItemView::from(o)))
            .collect(),
    })
    .into_response())
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct RoomDone {
    message: &'static str,
    id: String,
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/admin/rooms/{room_id}/suspend", tag = "admin", security(("bearer" = [])), params(("room_id" = String, Path)),
    description = "Ends the meeting and refuses joins until reactivated.", responses((status = 202, body = RoomDone))))]
async fn suspend(
    State(s): State<AppState>,
    _: AdminCaller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<RoomDone>)> {
    let room = s.actions.suspend(&room_id(&id)?).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(RoomDone {
            message: "Room suspended",
            id: room.id.to_string(),
        }),
    ))
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/admin/rooms/{room_id}/reactivate", tag = "admin", security(("bearer" = [])), params(("room_id" = String, Path)),
    responses((status = 200, body = RoomDone))))]
async fn reactivate(
    State(s): State<AppState>,
    _: AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<RoomDone>> {
    let room = s.actions.reactivate(&room_id(&id)?).await?;
    Ok(Json(RoomDone {
        message: "Room reactivated",
        id: room.id.to_string(),
    }))
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/admin/rooms/bulk/{action}", tag = "admin", security(("bearer" = [])),
    params(("action" = String, Path, description = "`suspend`, `reactivate` or `delete`")), request_body = Ids,
    responses((status = 202, body = BulkQueued))))]
async fn bulk_rooms(
    State(s): State<AppState>,
    _: AdminCaller,
    Path(action): Path<String>,
    body: std::result::Result<JsonBody<Ids>, Error>,
) -> Result<(StatusCode, Json<BulkQueued>)> {
    let JsonBody(b) = body.map_err(shape_is_bad_request)?;
    let (action, message) = match action.as_str() {
        "suspend" => (RoomBulk::Suspend, "Rooms suspended"),
        "close" => (RoomBulk::Close, "Rooms closed"),
        other => {
            return Err(Error::bad_request(format!(
                "action must be suspend or close, not {other:?}"
            )));
        }
    };
    let t = s.actions.bulk_rooms(&b.ids, action).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(BulkQueued {
            message,
            count: t.done,
            skipped: t.skipped,
        }),
    ))
}

/// `kick` or `mute` from the admin room page, under the moderation rules (an admin may
/// moderate every room).
#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/admin/rooms/{room_id}/participants/{identity}/{action}", tag = "admin", security(("bearer" = [])),
    params(("room_id" = String, Path), ("identity" = String, Path), ("action" = String, Path, description = "`kick` or `mute`")),
    responses((status = 200, body = Status))))]
async fn participant(
    State(s): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path((room, identity, action)): Path<(String, String, String)>,
) -> Result<Json<Status>> {
    let action = match action.as_str() {
        "kick" => Action::Kick,
        "mute" => Action::Deny(vec![Source::Microphone]),
        other => {
            return Err(Error::bad_request(format!(
                "action must be kick or mute, not {other:?}"
            )));
        }
    };
    let outcome = s
        .moderation
        .act(&caller, &room_id(&room)?, &identity, action)
        .await?;
    Ok(Status::json(outcome.status))
}
