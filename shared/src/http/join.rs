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
use serde_json::{Value, json};

use super::auth::{
    UserView, cookie_value, guest_rule, http_only_cookie, limit, require_json_for_cookie,
    session_body, with_refresh_cookie,
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JoinBody {
    room_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GuestJoinBody {
    room_name: String,
    guest_name: String,
}

/// The room plus what a client needs to connect. `expiresAt` is the room's (as Bedrud);
/// `tokenExpiresAt` says when the token stops admitting new connections.
#[derive(Serialize)]
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
            Joined::In(entry) => {
                Json(EntryView::new(&entry, &s.config.livekit.host)).into_response()
            }
            Joined::ArchivedOwned(room) => Json(json!({
                "status": "archived_owned",
                "id": room.id.as_str(),
                "name": room.name.as_str(),
                "mode": room.mode.as_str(),
                "settings": SettingsView::from(&room.settings),
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
    let mut body = serde_json::to_value(EntryView::new(&entry, &s.config.livekit.host))
        .map_err(Error::internal)?;
    let session = session_body(&user, &tokens);
    body["tokens"] = session["tokens"].clone();
    body["user"] = json!(UserView::from(&user));
    body["accessToken"] = json!(tokens.access);
    body["refreshToken"] = json!(tokens.refresh);
    let mut res = with_refresh_cookie(&s, Json(body), &tokens);
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
async fn refresh_token(
    State(s): State<AppState>,
    VerifiedToken(claims): VerifiedToken,
    JsonBody(b): JsonBody<JoinBody>,
) -> Result<Json<Value>> {
    ensure_confirmed(&s, &claims)?;
    let session = SessionId::from_trusted(claims.sid.clone());
    let entry = s
        .rooms
        .refresh(&claims.caller()?, &b.room_name, Some(&session))
        .await?;
    Ok(Json(json!({
        "token": entry.token.jwt,
        "livekitHost": s.config.livekit.host,
        "expiresAt": rfc3339(entry.token.expires_at),
    })))
}
