//! `/api/rooms/{id}/recording…`: start, stop, list, one, delete, and (for stores without
//! download links, i.e. the sidecar's directory) the file itself.

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Serialize;
use tokio_util::io::ReaderStream;

use super::bearer::Bearer;
use super::reply::Done;
use super::rfc3339;
use crate::domain::{RecordingId, RecordingStatus, RoomId};
use crate::error::Result;
use crate::recordings::{Download, RecordingView};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/rooms/{room_id}/recording/start", post(start))
        .route("/api/rooms/{room_id}/recording/stop", post(stop))
        .route("/api/rooms/{room_id}/recordings", get(list))
        .route(
            "/api/rooms/{room_id}/recordings/{recording_id}",
            get(one).delete(delete),
        )
        .route(
            "/api/rooms/{room_id}/recordings/{recording_id}/download",
            get(download),
        )
}

#[cfg(feature = "openapi")]
#[derive(utoipa::OpenApi)]
#[openapi(paths(start, stop, list, one, delete, download))]
pub(super) struct Api;

/// Bedrud's recording JSON, plus `startedAt`/`endedAt`/`downloadUrl`.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct RecordingJson {
    id: String,
    room_id: String,
    room_name: String,
    /// Always `composite`: the whole room in one file.
    recording_type: &'static str,
    status: &'static str,
    created_by: String,
    created_at: String,
    started_at: Option<String>,
    ended_at: Option<String>,
    duration_ms: Option<i64>,
    file_size: Option<i64>,
    error: Option<String>,
    /// `ready`, `failed` or `processing`.
    download_status: &'static str,
    download_url: Option<String>,
}

fn view(v: &RecordingView) -> RecordingJson {
    let r = &v.recording;
    let download_status = match r.status {
        RecordingStatus::Completed => "ready",
        RecordingStatus::Failed => "failed",
        _ => "processing",
    };
    RecordingJson {
        id: r.id.to_string(),
        room_id: r.room_id.to_string(),
        room_name: r.room_name.clone(),
        recording_type: "composite",
        status: r.status.as_str(),
        created_by: r.started_by.to_string(),
        created_at: rfc3339(r.created_at),
        started_at: r.started_at.map(rfc3339),
        ended_at: r.ended_at.map(rfc3339),
        duration_ms: r.duration_ms,
        file_size: r.size,
        error: r.error.clone(),
        download_status,
        download_url: v.download_url.clone(),
    }
}

fn plain(r: crate::domain::Recording) -> RecordingJson {
    view(&RecordingView {
        recording: r,
        download_url: None,
    })
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/rooms/{room_id}/recording/start", tag = "recordings", security(("bearer" = [])),
    description = "Starts recording the room (LiveKit egress); moderators only.", params(("room_id" = String, Path)),
    responses((status = 201, body = RecordingJson), (status = 409, description = "Already recording"),
        (status = 503, description = "Recording is not set up on this server"))))]
async fn start(
    State(s): State<AppState>,
    Bearer(claims): Bearer,
    Path(room): Path<String>,
) -> Result<(StatusCode, Json<RecordingJson>)> {
    let rec = s
        .recordings
        .start(&claims.caller()?, &RoomId::parse(&room)?)
        .await?;
    Ok((StatusCode::CREATED, Json(plain(rec))))
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/rooms/{room_id}/recording/stop", tag = "recordings", security(("bearer" = [])), params(("room_id" = String, Path)),
    responses((status = 200, body = RecordingJson), (status = 404, description = "Not recording"))))]
async fn stop(
    State(s): State<AppState>,
    Bearer(claims): Bearer,
    Path(room): Path<String>,
) -> Result<Json<RecordingJson>> {
    let rec = s
        .recordings
        .stop(&claims.caller()?, &RoomId::parse(&room)?)
        .await?;
    Ok(Json(plain(rec)))
}

#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/rooms/{room_id}/recordings", tag = "recordings", security(("bearer" = [])), params(("room_id" = String, Path)),
    responses((status = 200, body = Vec<RecordingJson>))))]
async fn list(
    State(s): State<AppState>,
    Bearer(claims): Bearer,
    Path(room): Path<String>,
) -> Result<Json<Vec<RecordingJson>>> {
    let all = s
        .recordings
        .list(&claims.caller()?, &RoomId::parse(&room)?)
        .await?;
    Ok(Json(all.iter().map(view).collect()))
}

#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/rooms/{room_id}/recordings/{recording_id}", tag = "recordings", security(("bearer" = [])), params(("room_id" = String, Path), ("recording_id" = String, Path)),
    responses((status = 200, body = RecordingJson))))]
async fn one(
    State(s): State<AppState>,
    Bearer(claims): Bearer,
    Path((room, id)): Path<(String, String)>,
) -> Result<Json<RecordingJson>> {
    let v = s
        .recordings
        .get(
            &claims.caller()?,
            &RoomId::parse(&room)?,
            &RecordingId::parse(&id)?,
        )
        .await?;
    Ok(Json(view(&v)))
}

#[cfg_attr(feature = "openapi", utoipa::path(delete, path = "/api/rooms/{room_id}/recordings/{recording_id}", tag = "recordings", security(("bearer" = [])), params(("room_id" = String, Path), ("recording_id" = String, Path)),
    responses((status = 200, body = Done))))]
async fn delete(
    State(s): State<AppState>,
    Bearer(claims): Bearer,
    Path((room, id)): Path<(String, String)>,
) -> Result<Json<Done>> {
    s.recordings
        .delete(
            &claims.caller()?,
            &RoomId::parse(&room)?,
            &RecordingId::parse(&id)?,
        )
        .await?;
    Ok(Done::json("Recording deleted"))
}

#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/rooms/{room_id}/recordings/{recording_id}/download", tag = "recordings", security(("bearer" = [])), params(("room_id" = String, Path), ("recording_id" = String, Path)),
    responses((status = 200, description = "The file (MP4)", content_type = "video/mp4"),
        (status = 303, description = "A short-lived signed link to the file (object storage)"))))]
async fn download(
    State(s): State<AppState>,
    Bearer(claims): Bearer,
    Path((room, id)): Path<(String, String)>,
) -> Result<Response> {
    let (rec, download) = s
        .recordings
        .download(
            &claims.caller()?,
            &RoomId::parse(&room)?,
            &RecordingId::parse(&id)?,
        )
        .await?;
    let body = match download {
        Download::Link(url) => return Ok(Redirect::to(&url).into_response()),
        Download::Bytes(body) => body,
    };
    let disposition = format!("attachment; filename=\"{}-{}.mp4\"", rec.room_name, rec.id);
    Ok((
        [
            (header::CONTENT_TYPE, "video/mp4".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::from_stream(ReaderStream::new(body)),
    )
        .into_response())
}
