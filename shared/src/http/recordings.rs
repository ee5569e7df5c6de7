//! `/api/rooms/{id}/recording…`: start, stop, list, one, delete, and (for stores without
//! download links, i.e. the sidecar's directory) the file itself.

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio_util::io::ReaderStream;

use super::bearer::Bearer;
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

/// Bedrud's recording JSON, plus `startedAt`/`endedAt`/`downloadUrl`.
fn view(v: &RecordingView) -> Value {
    let r = &v.recording;
    let download_status = match r.status {
        RecordingStatus::Completed => "ready",
        RecordingStatus::Failed => "failed",
        _ => "processing",
    };
    json!({
        "id": r.id.as_str(),
        "roomId": r.room_id.as_str(),
        "roomName": r.room_name,
        "recordingType": "composite",
        "status": r.status.as_str(),
        "createdBy": r.started_by.as_str(),
        "createdAt": rfc3339(r.created_at),
        "startedAt": r.started_at.map(rfc3339),
        "endedAt": r.ended_at.map(rfc3339),
        "durationMs": r.duration_ms,
        "fileSize": r.size,
        "error": r.error,
        "downloadStatus": download_status,
        "downloadUrl": v.download_url,
    })
}

fn plain(r: crate::domain::Recording) -> Value {
    view(&RecordingView {
        recording: r,
        download_url: None,
    })
}

async fn start(
    State(s): State<AppState>,
    Bearer(claims): Bearer,
    Path(room): Path<String>,
) -> Result<(StatusCode, Json<Value>)> {
    let rec = s
        .recordings
        .start(&claims.caller()?, &RoomId::parse(&room)?)
        .await?;
    Ok((StatusCode::CREATED, Json(plain(rec))))
}

async fn stop(
    State(s): State<AppState>,
    Bearer(claims): Bearer,
    Path(room): Path<String>,
) -> Result<Json<Value>> {
    let rec = s
        .recordings
        .stop(&claims.caller()?, &RoomId::parse(&room)?)
        .await?;
    Ok(Json(plain(rec)))
}

async fn list(
    State(s): State<AppState>,
    Bearer(claims): Bearer,
    Path(room): Path<String>,
) -> Result<Json<Value>> {
    let all = s
        .recordings
        .list(&claims.caller()?, &RoomId::parse(&room)?)
        .await?;
    Ok(Json(Value::Array(all.iter().map(view).collect())))
}

async fn one(
    State(s): State<AppState>,
    Bearer(claims): Bearer,
    Path((room, id)): Path<(String, String)>,
) -> Result<Json<Value>> {
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

async fn delete(
    State(s): State<AppState>,
    Bearer(claims): Bearer,
    Path((room, id)): Path<(String, String)>,
) -> Result<Json<Value>> {
    s.recordings
        .delete(
            &claims.caller()?,
            &RoomId::parse(&room)?,
            &RecordingId::parse(&id)?,
        )
        .await?;
    Ok(Json(
        json!({ "status": "success", "message": "Recording deleted" }),
    ))
}

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
