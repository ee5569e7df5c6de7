//! `POST /api/room/{roomId}/…` moderation in Bedrud's paths (kick, ban, mute, video off,
//! screen share stop, promote, demote, chat block) plus the ones Bedrud lacks: unban, chat
//! unblock, permissions, mute-all, end; and the `system` signals the clients act on
//! (deafen, undeafen, ask to unmute or turn the camera on, spotlight). Clients send no body,
//! an empty one or `{}`; every success answers JSON.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};

use super::bearer::Bearer;
use super::json::{JsonBody, shape_is_bad_request};
use crate::domain::{RoomId, Source};
use crate::error::{Error, Result};
use crate::moderation::{Action, Outcome, Signal};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/room/{room_id}/kick/{identity}", post(kick))
        .route("/api/room/{room_id}/ban/{identity}", post(ban))
        .route("/api/room/{room_id}/unban/{identity}", post(unban))
        .route("/api/room/{room_id}/mute/{identity}", post(mute))
        .route("/api/room/{room_id}/video/{identity}/off", post(video_off))
        .route(
            "/api/room/{room_id}/screenshare/{identity}/stop",
            post(screenshare_stop),
        )
        .route("/api/room/{room_id}/promote/{identity}", post(promote))
        .route("/api/room/{room_id}/demote/{identity}", post(demote))
        .route(
            "/api/room/{room_id}/chat/{identity}/block",
            post(chat_block),
        )
        .route(
            "/api/room/{room_id}/chat/{identity}/unblock",
            post(chat_unblock),
        )
        .route(
            "/api/room/{room_id}/permissions/{identity}",
            post(permissions),
        )
        .route("/api/room/{room_id}/deafen/{identity}", post(deafen))
        .route("/api/room/{room_id}/undeafen/{identity}", post(undeafen))
        .route("/api/room/{room_id}/ask/{identity}/{action}", post(ask))
        .route("/api/room/{room_id}/spotlight/{identity}", post(spotlight))
        .route("/api/room/{room_id}/mute-all", post(mute_all))
        .route("/api/room/{room_id}/end", post(end))
        .merge(super::participants::routes())
}

type Target = Path<(String, String)>;

async fn act(
    s: &AppState,
    claims: Bearer,
    (room, identity): (String, String),
    action: Action,
) -> Result<Json<Value>> {
    let room = RoomId::parse(&room)?;
    let outcome = s
        .moderation
        .act(&claims.0.caller()?, &room, &identity, action)
        .await?;
    Ok(Json(view(&outcome)))
}

fn view(o: &Outcome) -> Value {
    let message = if o.in_meeting {
        "applied in the meeting and remembered for the next join"
    } else {
        "not in the meeting now; applies from their next join"
    };
    json!({ "status": o.status, "inMeeting": o.in_meeting, "message": message })
}

async fn kick(State(s): State<AppState>, b: Bearer, Path(t): Target) -> Result<Json<Value>> {
    act(&s, b, t, Action::Kick).await
}

async fn ban(State(s): State<AppState>, b: Bearer, Path(t): Target) -> Result<Json<Value>> {
    act(&s, b, t, Action::Ban).await
}

async fn unban(State(s): State<AppState>, b: Bearer, Path(t): Target) -> Result<Json<Value>> {
    act(&s, b, t, Action::Unban).await
}

async fn mute(State(s): State<AppState>, b: Bearer, Path(t): Target) -> Result<Json<Value>> {
    act(&s, b, t, Action::mute()).await
}

async fn video_off(State(s): State<AppState>, b: Bearer, Path(t): Target) -> Result<Json<Value>> {
    act(&s, b, t, Action::video_off()).await
}

async fn screenshare_stop(
    State(s): State<AppState>,
    b: Bearer,
    Path(t): Target,
) -> Result<Json<Value>> {
    act(&s, b, t, Action::screenshare_stop()).await
}

async fn promote(State(s): State<AppState>, b: Bearer, Path(t): Target) -> Result<Json<Value>> {
    act(&s, b, t, Action::Promote).await
}

async fn demote(State(s): State<AppState>, b: Bearer, Path(t): Target) -> Result<Json<Value>> {
    act(&s, b, t, Action::Demote).await
}

async fn chat_block(State(s): State<AppState>, b: Bearer, Path(t): Target) -> Result<Json<Value>> {
    act(&s, b, t, Action::ChatBlock(true)).await
}

async fn chat_unblock(
    State(s): State<AppState>,
    b: Bearer,
    Path(t): Target,
) -> Result<Json<Value>> {
    act(&s, b, t, Action::ChatBlock(false)).await
}

async fn signal(
    s: &AppState,
    claims: Bearer,
    (room, identity): (String, String),
    signal: Signal,
) -> Result<Json<Value>> {
    let room = RoomId::parse(&room)?;
    s.moderation
        .signal(&claims.0.caller()?, &room, &identity, signal)
        .await?;
    Ok(Json(json!({ "status": "success" })))
}

async fn deafen(State(s): State<AppState>, b: Bearer, Path(t): Target) -> Result<Json<Value>> {
    signal(&s, b, t, Signal::Deafen).await
}

async fn undeafen(State(s): State<AppState>, b: Bearer, Path(t): Target) -> Result<Json<Value>> {
    signal(&s, b, t, Signal::Undeafen).await
}

/// `ask/{identity}/unmute` or `ask/{identity}/camera`.
async fn ask(
    State(s): State<AppState>,
    b: Bearer,
    Path((room, identity, action)): Path<(String, String, String)>,
) -> Result<Json<Value>> {
    let sig = Signal::ask(&action).ok_or_else(|| {
        Error::bad_request(format!("unknown action {action:?}: use unmute or camera"))
    })?;
    signal(&s, b, (room, identity), sig).await
}

async fn spotlight(State(s): State<AppState>, b: Bearer, Path(t): Target) -> Result<Json<Value>> {
    signal(&s, b, t, Signal::Spotlight).await
}

/// `{"canPublishSources": ["camera", …], "canPublishData": bool}`, LiveKit's own names;
/// an absent key leaves that part unchanged.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PermissionsBody {
    can_publish_sources: Option<Vec<String>>,
    can_publish_data: Option<bool>,
}

async fn permissions(
    State(s): State<AppState>,
    b: Bearer,
    Path(t): Target,
    body: std::result::Result<JsonBody<PermissionsBody>, Error>,
) -> Result<Json<Value>> {
    let JsonBody(body) = body.map_err(shape_is_bad_request)?;
    let sources = body
        .can_publish_sources
        .map(|names| {
            names
                .iter()
                .map(|n| {
                    Source::parse(n).ok_or_else(|| {
                        Error::bad_request(format!(
                            "unknown source {n:?}: use camera, microphone, screen_share, screen_share_audio"
                        ))
                    })
                })
                .collect::<Result<Vec<_>>>()
        })
        .transpose()?;
    if sources.is_none() && body.can_publish_data.is_none() {
        return Err(Error::bad_request(
            "send canPublishSources and/or canPublishData",
        ));
    }
    let action = Action::Permissions {
        sources,
        publish_data: body.can_publish_data,
    };
    act(&s, b, t, action).await
}

/// `{"allowUnmute": true}` mutes once and lets people unmute themselves; by default the
/// microphone is taken away as `mute` does.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct MuteAllBody {
    #[serde(default)]
    allow_unmute: bool,
}

async fn mute_all(
    State(s): State<AppState>,
    b: Bearer,
    Path(room): Path<String>,
    body: std::result::Result<JsonBody<MuteAllBody>, Error>,
) -> Result<Json<Value>> {
    let JsonBody(body) = body.map_err(shape_is_bad_request)?;
    let room = RoomId::parse(&room)?;
    let muted = s
        .moderation
        .mute_all(&b.0.caller()?, &room, !body.allow_unmute)
        .await?;
    Ok(Json(json!({ "status": "success", "muted": muted })))
}

async fn end(
    State(s): State<AppState>,
    b: Bearer,
    Path(room): Path<String>,
) -> Result<Json<Value>> {
    let room = RoomId::parse(&room)?;
    s.moderation.end(&b.0.caller()?, &room).await?;
    Ok(Json(
        json!({ "status": "success", "message": "Meeting ended for everyone" }),
    ))
}
