//! `POST /api/room/{roomId}/…` moderation in Bedrud's paths (kick, ban, mute, video off,
//! screen share stop, promote, demote, chat block) plus the ones Bedrud lacks: unban, chat
//! unblock, permissions, mute-all, end; and the `system` signals the clients act on
//! (deafen, undeafen, ask to unmute or turn the camera on, spotlight). Clients send no body,
//! an empty one or `{}`; every success answers JSON.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::post;
use serde::{Deserialize, Serialize};

use super::bearer::Bearer;
use super::json::{JsonBody, shape_is_bad_request};
use super::reply::{Done, Status};
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

#[cfg(feature = "openapi")]
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    kick,
    ban,
    unban,
    mute,
    video_off,
    screenshare_stop,
    promote,
    demote,
    chat_block,
    chat_unblock,
    permissions,
    deafen,
    undeafen,
    ask,
    spotlight,
    mute_all,
    end
))]
pub(super) struct Api;

type Target = Path<(String, String)>;

/// What a moderation action did: `inMeeting` says whether it reached a live participant.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct OutcomeView {
    status: &'static str,
    in_meeting: bool,
    message: &'static str,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct MutedAll {
    status: &'static str,
    muted: usize,
}

async fn act(
    s: &AppState,
    claims: Bearer,
    (room, identity): (String, String),
    action: Action,
) -> Result<Json<OutcomeView>> {
    let room = RoomId::parse(&room)?;
    let outcome = s
        .moderation
        .act(&claims.0.caller()?, &room, &identity, action)
        .await?;
    Ok(Json(view(&outcome)))
}

fn view(o: &Outcome) -> OutcomeView {
    let message = if o.in_meeting {
        "applied in the meeting and remembered for the next join"
    } else {
        "not in the meeting now; applies from their next join"
    };
    OutcomeView {
        status: o.status,
        in_meeting: o.in_meeting,
        message,
    }
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/room/{room_id}/kick/{identity}", tag = "moderation", security(("bearer" = [])),
    description = "Removes them from the meeting now. Moderators, the owner and admins only.", params(("room_id" = String, Path), ("identity" = String, Path, description = "The participant's identity (user id)")),
    responses((status = 200, body = OutcomeView), (status = 403, description = "The caller may not moderate this room"))))]
async fn kick(State(s): State<AppState>, b: Bearer, Path(t): Target) -> Result<Json<OutcomeView>> {
    act(&s, b, t, Action::Kick).await
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/room/{room_id}/ban/{identity}", tag = "moderation", security(("bearer" = [])),
    description = "Removes them and refuses their next joins. Moderators, the owner and admins only.", params(("room_id" = String, Path), ("identity" = String, Path, description = "The participant's identity (user id)")),
    responses((status = 200, body = OutcomeView), (status = 403, description = "The caller may not moderate this room"))))]
async fn ban(State(s): State<AppState>, b: Bearer, Path(t): Target) -> Result<Json<OutcomeView>> {
    act(&s, b, t, Action::Ban).await
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/room/{room_id}/unban/{identity}", tag = "moderation", security(("bearer" = [])),
    description = "Lets them join again. Moderators, the owner and admins only.", params(("room_id" = String, Path), ("identity" = String, Path, description = "The participant's identity (user id)")),
    responses((status = 200, body = OutcomeView), (status = 403, description = "The caller may not moderate this room"))))]
async fn unban(State(s): State<AppState>, b: Bearer, Path(t): Target) -> Result<Json<OutcomeView>> {
    act(&s, b, t, Action::Unban).await
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/room/{room_id}/mute/{identity}", tag = "moderation", security(("bearer" = [])),
    description = "Takes their microphone away until allowed again. Moderators, the owner and admins only.", params(("room_id" = String, Path), ("identity" = String, Path, description = "The participant's identity (user id)")),
    responses((status = 200, body = OutcomeView), (status = 403, description = "The caller may not moderate this room"))))]
async fn mute(State(s): State<AppState>, b: Bearer, Path(t): Target) -> Result<Json<OutcomeView>> {
    act(&s, b, t, Action::mute()).await
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/room/{room_id}/video/{identity}/off", tag = "moderation", security(("bearer" = [])),
    description = "Takes their camera away. Moderators, the owner and admins only.", params(("room_id" = String, Path), ("identity" = String, Path, description = "The participant's identity (user id)")),
    responses((status = 200, body = OutcomeView), (status = 403, description = "The caller may not moderate this room"))))]
async fn video_off(
    State(s): State<AppState>,
    b: Bearer,
    Path(t): Target,
) -> Result<Json<OutcomeView>> {
    act(&s, b, t, Action::video_off()).await
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/room/{room_id}/screenshare/{identity}/stop", tag = "moderation", security(("bearer" = [])),
    description = "Stops their screen share. Moderators, the owner and admins only.", params(("room_id" = String, Path), ("identity" = String, Path, description = "The participant's identity (user id)")),
    responses((status = 200, body = OutcomeView), (status = 403, description = "The caller may not moderate this room"))))]
async fn screenshare_stop(
    State(s): State<AppState>,
    b: Bearer,
    Path(t): Target,
) -> Result<Json<OutcomeView>> {
    act(&s, b, t, Action::screenshare_stop()).await
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/room/{room_id}/promote/{identity}", tag = "moderation", security(("bearer" = [])),
    description = "Makes them a moderator. Moderators, the owner and admins only.", params(("room_id" = String, Path), ("identity" = String, Path, description = "The participant's identity (user id)")),
    responses((status = 200, body = OutcomeView), (status = 403, description = "The caller may not moderate this room"))))]
async fn promote(
    State(s): State<AppState>,
    b: Bearer,
    Path(t): Target,
) -> Result<Json<OutcomeView>> {
    act(&s, b, t, Action::Promote).await
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/room/{room_id}/demote/{identity}", tag = "moderation", security(("bearer" = [])),
    description = "Makes them a plain participant. Moderators, the owner and admins only.", params(("room_id" = String, Path), ("identity" = String, Path, description = "The participant's identity (user id)")),
    responses((status = 200, body = OutcomeView), (status = 403, description = "The caller may not moderate this room"))))]
async fn demote(
    State(s): State<AppState>,
    b: Bearer,
    Path(t): Target,
) -> Result<Json<OutcomeView>> {
    act(&s, b, t, Action::Demote).await
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/room/{room_id}/chat/{identity}/block", tag = "moderation", security(("bearer" = [])),
    description = "Stops them sending chat (data). Moderators, the owner and admins only.", params(("room_id" = String, Path), ("identity" = String, Path, description = "The participant's identity (user id)")),
    responses((status = 200, body = OutcomeView), (status = 403, description = "The caller may not moderate this room"))))]
async fn chat_block(
    State(s): State<AppState>,
    b: Bearer,
    Path(t): Target,
) -> Result<Json<OutcomeView>> {
    act(&s, b, t, Action::ChatBlock(true)).await
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/room/{room_id}/chat/{identity}/unblock", tag = "moderation", security(("bearer" = [])),
    description = "Lets them chat again. Moderators, the owner and admins only.", params(("room_id" = String, Path), ("identity" = String, Path, description = "The participant's identity (user id)")),
    responses((status = 200, body = OutcomeView), (status = 403, description = "The caller may not moderate this room"))))]
async fn chat_unblock(
    State(s): State<AppState>,
    b: Bearer,
    Path(t): Target,
) -> Result<Json<OutcomeView>> {
    act(&s, b, t, Action::ChatBlock(false)).await
}

async fn signal(
    s: &AppState,
    claims: Bearer,
    (room, identity): (String, String),
    signal: Signal,
) -> Result<Json<Status>> {
    let room = RoomId::parse(&room)?;
    s.moderation
        .signal(&claims.0.caller()?, &room, &identity, signal)
        .await?;
    Ok(Status::json("success"))
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/room/{room_id}/deafen/{identity}", tag = "moderation", security(("bearer" = [])),
    description = "Tells their client to stop playing audio. Moderators, the owner and admins only.", params(("room_id" = String, Path), ("identity" = String, Path, description = "The participant's identity (user id)")),
    responses((status = 200, body = Status), (status = 403, description = "The caller may not moderate this room"))))]
async fn deafen(State(s): State<AppState>, b: Bearer, Path(t): Target) -> Result<Json<Status>> {
    signal(&s, b, t, Signal::Deafen).await
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/room/{room_id}/undeafen/{identity}", tag = "moderation", security(("bearer" = [])),
    description = "Tells their client to play audio again. Moderators, the owner and admins only.", params(("room_id" = String, Path), ("identity" = String, Path, description = "The participant's identity (user id)")),
    responses((status = 200, body = Status), (status = 403, description = "The caller may not moderate this room"))))]
async fn undeafen(State(s): State<AppState>, b: Bearer, Path(t): Target) -> Result<Json<Status>> {
    signal(&s, b, t, Signal::Undeafen).await
}

/// `ask/{identity}/unmute` or `ask/{identity}/camera`.
#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/room/{room_id}/ask/{identity}/{action}", tag = "moderation", security(("bearer" = [])),
    description = "Asks them to unmute (`unmute`) or turn the camera on (`camera`). Moderators, the owner and admins only.", params(("room_id" = String, Path), ("identity" = String, Path, description = "The participant's identity (user id)"), ("action" = String, Path, description = "`unmute` or `camera`")),
    responses((status = 200, body = Status), (status = 403, description = "The caller may not moderate this room"))))]
async fn ask(
    State(s): State<AppState>,
    b: Bearer,
    Path((room, identity, action)): Path<(String, String, String)>,
) -> Result<Json<Status>> {
    let sig = Signal::ask(&action).ok_or_else(|| {
        Error::bad_request(format!("unknown action {action:?}: use unmute or camera"))
    })?;
    signal(&s, b, (room, identity), sig).await
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/room/{room_id}/spotlight/{identity}", tag = "moderation", security(("bearer" = [])),
    description = "Puts them in everyone's spotlight. Moderators, the owner and admins only.", params(("room_id" = String, Path), ("identity" = String, Path, description = "The participant's identity (user id)")),
    responses((status = 200, body = Status), (status = 403, description = "The caller may not moderate this room"))))]
async fn spotlight(State(s): State<AppState>, b: Bearer, Path(t): Target) -> Result<Json<Status>> {
    signal(&s, b, t, Signal::Spotlight).await
}

/// `{"canPublishSources": ["camera", …], "canPublishData": bool}`, LiveKit's own names;
/// an absent key leaves that part unchanged.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PermissionsBody {
    can_publish_sources: Option<Vec<String>>,
    can_publish_data: Option<bool>,
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/room/{room_id}/permissions/{identity}", tag = "moderation", security(("bearer" = [])),
    description = "Sets what they may publish. Moderators, the owner and admins only.", params(("room_id" = String, Path), ("identity" = String, Path, description = "The participant's identity (user id)")), request_body = PermissionsBody,
    responses((status = 200, body = OutcomeView), (status = 403, description = "The caller may not moderate this room"))))]
async fn permissions(
    State(s): State<AppState>,
    b: Bearer,
    Path(t): Target,
    body: std::result::Result<JsonBody<PermissionsBody>, Error>,
) -> Result<Json<OutcomeView>> {
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct MuteAllBody {
    #[serde(default)]
    allow_unmute: bool,
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/room/{room_id}/mute-all", tag = "moderation", security(("bearer" = [])),
    params(("room_id" = String, Path)), request_body(content = MuteAllBody, description = "Optional; `{}` or none mutes as `mute` does"),
    responses((status = 200, description = "How many were muted", body = MutedAll))))]
async fn mute_all(
    State(s): State<AppState>,
    b: Bearer,
    Path(room): Path<String>,
    body: std::result::Result<JsonBody<MuteAllBody>, Error>,
) -> Result<Json<MutedAll>> {
    let JsonBody(body) = body.map_err(shape_is_bad_request)?;
    let room = RoomId::parse(&room)?;
    let muted = s
        .moderation
        .mute_all(&b.0.caller()?, &room, !body.allow_unmute)
        .await?;
    Ok(Json(MutedAll {
        status: "success",
        muted,
    }))
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/room/{room_id}/end", tag = "moderation", security(("bearer" = [])),
    description = "Ends the meeting for everyone.", params(("room_id" = String, Path)),
    responses((status = 200, body = Done))))]
async fn end(State(s): State<AppState>, b: Bearer, Path(room): Path<String>) -> Result<Json<Done>> {
    let room = RoomId::parse(&room)?;
    s.moderation.end(&b.0.caller()?, &room).await?;
    Ok(Done::json("Meeting ended for everyone"))
}
