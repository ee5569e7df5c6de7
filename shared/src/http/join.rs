//! `/api/room/join`, `/guest-join`, `/refresh-token`: the hot path, in the shapes the web,
//! Android, iOS and desktop clients decode.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::{Deserialize, Serialize};

use super::auth::{
    SessionView, cookie_value, guest_rule, http_only_cookie, limit, require_json_for_cookie,
    with_session_cookies,
};
use super::bearer::VerifiedToken;
use super::client_ip::ClientIp;
use super::json::JsonBody;
use super::rfc3339;
use super::rooms::{RoomView, SettingsView};
use crate::auth::GUEST_MARKER_TTL;
use crate::domain::name::MAX_GUEST_NAME;
use crate::domain::policy::{Caller, Refusal};
use crate::domain::{Access, DisplayName, SessionId, now};
use crate::error::{Error, Result};
use crate::rooms::{Entry, Joined};
use crate::state::AppState;

/// Remembers a browser's guest identity so a ban follows it (Bedrud's cookie name).
const GUEST_COOKIE: &str = "bedrud_guest_id";
const GUEST_COOKIE_PATH: &str = "/api/room";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/room/join", post(join))
        .route("/api/room/guest-join", post(guest_join))
        .route("/api/room/refresh-token", post(refresh_token))
}

#[cfg(feature = "openapi")]
#[derive(utoipa::OpenApi)]
#[openapi(paths(join, guest_join, refresh_token))]
pub(super) struct Api;

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct JoinBody {
    room_name: String,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct GuestJoinBody {
    room_name: String,
    guest_name: String,
}

/// The room plus what a client needs to connect. `expiresAt` is the room's (as Bedrud);
/// `tokenExpiresAt` says when the token stops admitting new connections.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct EntryView<'a> {
    #[serde(flatten)]
    room: RoomView,
    token: &'a str,
    livekit_host: &'a str,
    token_expires_at: String,
    role: &'static str,
    active_recording_id: Option<String>,
}

/// A join: the entry, or for the owner of an archived room what they need to reopen it.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
// Lives on the stack for one serialisation; a box would cost the hot path an allocation.
#[allow(clippy::large_enum_variant)]
enum JoinAnswer<'a> {
    In(EntryView<'a>),
    ArchivedOwned(ArchivedOwned),
}

/// `status` is `archived_owned`.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct ArchivedOwned {
    status: &'static str,
    id: String,
    name: String,
    mode: &'static str,
    settings: SettingsView,
}

/// A guest's entry with the session opened for them.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct GuestEntry<'a> {
    #[serde(flatten)]
    entry: EntryView<'a>,
    #[serde(flatten)]
    session: SessionView,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct RefreshedToken<'a> {
    token: String,
    livekit_host: &'a str,
    expires_at: String,
}

impl<'a> EntryView<'a> {
    fn new(e: &'a Entry, livekit_host: &'a str) -> Self {
        Self {
            room: RoomView::from(&e.room),
            token: &e.token.jwt,
            livekit_host,
            token_expires_at: rfc3339(e.token.expires_at),
            role: e.role.as_str(),
            active_recording_id: None,
        }
    }
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/room/join", tag = "join", security(("bearer" = [])),
    description = "A LiveKit join token for the room, with the caller's role.",
    request_body = JoinBody,
    responses((status = 200, description = "The entry; for the owner of an archived room, `archived_owned`", body = JoinAnswer),
        (status = 403, description = "Not allowed in: a private room, a ban, a full room, an unconfirmed address"),
        (status = 404, description = "No such room"), (status = 410, description = "The room is archived"))))]
async fn join(
    State(s): State<AppState>,
    VerifiedToken(claims): VerifiedToken,
    JsonBody(b): JsonBody<JoinBody>,
) -> Result<Response> {
    ensure_confirmed(&s, &claims)?;
    let caller = claims.caller()?;
    let session = SessionId::from_trusted(claims.sid.clone());
    Ok(
        match s.rooms.join(&caller, &b.room_name, Some(&session)).await? {
            Joined::In(entry) => Json(JoinAnswer::In(EntryView::new(
                &entry,
                &s.config.livekit.host,
            )))
            .into_response(),
            Joined::ArchivedOwned(room) => Json(JoinAnswer::ArchivedOwned(ArchivedOwned {
                status: "archived_owned",
                id: room.id.to_string(),
                name: room.name.to_string(),
                mode: room.mode.as_str(),
                settings: SettingsView::from(&room.settings),
            }))
            .into_response(),
        },
    )
}

/// While verification is required, an unconfirmed account does not join (the token says,
/// so the hot path reads nothing more; guests are exempt).
fn ensure_confirmed(s: &AppState, claims: &crate::auth::AccessClaims) -> Result<()> {
    if s.accounts.verification_required() && !claims.email_verified {
        return Err(Error::forbidden("Email not verified"));
    }
    Ok(())
}

/// Joins without an account: checks the room first (so refusals create nothing), then opens
/// a guest session (the same identity as last time, via the signed cookie) and enters.
#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/room/guest-join", tag = "join",
    description = "Joins without an account: a guest session (the same guest as last time in this browser) and its join token.",
    request_body = GuestJoinBody,
    responses((status = 200, body = GuestEntry), (status = 403, description = "Guests may not join this room"))))]
async fn guest_join(
    State(s): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    JsonBody(b): JsonBody<GuestJoinBody>,
) -> Result<Response> {
    limit(
        &s,
        ip,
        "guest",
        guest_rule(&s),
        "too many guest join attempts",
    )
    .await?;
    let name = DisplayName::parse(&b.guest_name, MAX_GUEST_NAME)?;
    let marker = cookie_value(&headers, GUEST_COOKIE);
    if marker.is_some() {
        // The cookie picks (and renames) this browser's guest: not for other sites to do.
        require_json_for_cookie(&headers)?;
    }
    let known = marker.and_then(|m| s.auth.keys().verify_guest_marker(&m));
    let returning = known.clone().map(|id| Caller {
        id,
        name: name.clone(),
        accesses: vec![Access::Guest],
    });
    s.rooms.check(&b.room_name, returning.as_ref()).await?;
    let (user, tokens) = s.auth.guest_session(known.as_ref(), name.as_str()).await?;
    let caller = Caller::from(&user);
    let Joined::In(entry) = s.rooms.join(&caller, &b.room_name, None).await? else {
        return Err(Refusal::Archived.into());
    };
    let body = GuestEntry {
        entry: EntryView::new(&entry, &s.config.livekit.host),
        session: SessionView::new(&user, &tokens).with_top_level(),
    };
    let mut res = with_session_cookies(&s, Json(body), &tokens);
    let marker = s.auth.keys().issue_guest_marker(&user.id, now())?;
    res.headers_mut().append(
        SET_COOKIE,
        http_only_cookie(
            &s,
            GUEST_COOKIE,
            marker,
            GUEST_COOKIE_PATH,
            GUEST_MARKER_TTL,
        ),
    );
    Ok(res)
}

/// A fresh token for the same room; refusals as for join (a banned user gets none).
#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/room/refresh-token", tag = "join", security(("bearer" = [])),
    request_body = JoinBody, responses((status = 200, body = RefreshedToken))))]
async fn refresh_token(
    State(s): State<AppState>,
    VerifiedToken(claims): VerifiedToken,
    JsonBody(b): JsonBody<JoinBody>,
) -> Result<Response> {
    ensure_confirmed(&s, &claims)?;
    let session = SessionId::from_trusted(claims.sid.clone());
    let entry = s
        .rooms
        .refresh(&claims.caller()?, &b.room_name, Some(&session))
        .await?;
    let body = RefreshedToken {
        token: entry.token.jwt,
        livekit_host: &s.config.livekit.host,
        expires_at: rfc3339(entry.token.expires_at),
    };
    Ok(Json(body).into_response())
}
