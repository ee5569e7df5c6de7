//! `/api/room/*` room management in Bedrud's wire format: create, list, check, settings,
//! archive, presence.

use axum::Json;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::{delete, get, post, put};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::auth::{guest_rule, limit};
use super::bearer::{Bearer, MaybeBearer};
use super::client_ip::ClientIp;
use super::json::JsonBody;
use super::paging::{PageInfo, Paging, query};
use super::rfc3339;
use crate::domain::{Room, RoomId, RoomSettings, SettingsPatch};
use crate::error::{Error, Result};
use crate::rooms::{NewRoom, ROOM_EXPIRY_SECS, RoomChange};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/room/create", post(create))
        .route("/api/room/list", get(list))
        .route("/api/room/archived", get(archived))
        .route("/api/room/check/{room_name}", get(check))
        .route("/api/room/{room_id}/settings", put(update))
        .route("/api/room/{room_id}", delete(archive))
        .route("/api/room/{room_id}/presence", get(presence))
}

/// The room JSON every client decodes (the superset: iOS requires `adminId` and
/// `expiresAt`, desktop `isActive`, Android `createdBy`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomView {
    id: String,
    name: String,
    created_by: String,
    admin_id: String,
    is_active: bool,
    is_public: bool,
    max_participants: u32,
    mode: &'static str,
    settings: SettingsView,
    /// Bedrud stamps rooms with creation + 24 h; informational only.
    expires_at: String,
    created_at: String,
    updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted_at: Option<String>,
}

/// The switches as clients read them: every switch by name (the domain's one list).
pub struct SettingsView(RoomSettings);

impl Serialize for SettingsView {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> std::result::Result<S::Ok, S::Error> {
        ser.collect_map(self.0.flags())
    }
}

impl From<&RoomSettings> for SettingsView {
    fn from(s: &RoomSettings) -> Self {
        Self(*s)
    }
}

impl From<&Room> for RoomView {
    fn from(r: &Room) -> Self {
        Self {
            id: r.id.to_string(),
            name: r.name.to_string(),
            created_by: r.created_by.to_string(),
            admin_id: r.admin_id.to_string(),
            // Bedrud's clients read a suspended room as inactive.
            is_active: r.is_active && !r.suspended,
            is_public: r.is_public,
            max_participants: r.max_participants,
            mode: r.mode.as_str(),
            settings: SettingsView::from(&r.settings),
            expires_at: rfc3339(r.created_at + ROOM_EXPIRY_SECS),
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
            deleted_at: r.archived_at.map(rfc3339),
        }
    }
}

/// Room switches as sent: any of the domain's switch names, `false` kept as `false`, `null`
/// or absent meaning "unchanged"; other keys are ignored, a non-boolean switch is refused.
#[derive(Debug, Default)]
pub(crate) struct SettingsBody(SettingsPatch);

impl<'de> Deserialize<'de> for SettingsBody {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let map = serde_json::Map::<String, Value>::deserialize(d)?;
        for name in RoomSettings::NAMES {
            match map.get(*name) {
                None | Some(Value::Null) | Some(Value::Bool(_)) => {}
                Some(other) => {
                    return Err(serde::de::Error::custom(format!(
                        "{name} must be a boolean, not {other}"
                    )));
                }
            }
        }
        Ok(Self(SettingsPatch::from_flags(|k| {
            map.get(k).and_then(Value::as_bool)
        })))
    }
}

impl SettingsBody {
    fn patch(&self) -> SettingsPatch {
        self.0
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    name: Option<String>,
    is_public: Option<bool>,
    max_participants: Option<i64>,
    mode: Option<String>,
    settings: Option<SettingsBody>,
}

/// Web and Android send `{isPublic?, maxParticipants?, settings?}`; iOS would send the
/// switches at the top level. Both are read; the `settings` object wins.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateBody {
    is_public: Option<bool>,
    max_participants: Option<i64>,
    mode: Option<String>,
    settings: Option<SettingsBody>,
    #[serde(flatten)]
    flat: SettingsBody,
}

impl UpdateBody {
    pub(crate) fn change(self) -> RoomChange {
        RoomChange {
            is_public: self.is_public,
            max_participants: self.max_participants,
            mode: self.mode,
            settings: self
                .settings
                .unwrap_or_default()
                .patch()
                .or(self.flat.patch()),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PresenceQuery {
    count_only: Option<String>,
}

async fn create(
    State(s): State<AppState>,
    Bearer(claims): Bearer,
    JsonBody(b): JsonBody<CreateBody>,
) -> Result<Json<Value>> {
    let req = NewRoom {
        name: b.name,
        is_public: b.is_public,
        max_participants: b.max_participants,
        mode: b.mode,
        settings: b.settings.unwrap_or_default().patch(),
    };
    let room = s.rooms.create(&claims.caller()?, req).await?;
    let mut body = serde_json::to_value(RoomView::from(&room)).map_err(Error::internal)?;
    body["livekitHost"] = json!(s.config.livekit.host);
    Ok(Json(body))
}

/// An array, `[]` when empty (clients reject `null`).
async fn list(State(s): State<AppState>, Bearer(claims): Bearer) -> Result<Json<Vec<RoomView>>> {
    let rooms = s.rooms.list(&claims.caller()?).await?;
    Ok(Json(rooms.iter().map(RoomView::from).collect()))
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<String>,
    limit: Option<String>,
}

/// An archived room with its recording count (Bedrud's `/api/room/archived`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArchivedView {
    id: String,
    name: String,
    created_at: String,
    deleted_at: Option<String>,
    recording_count: usize,
}

#[derive(Serialize)]
struct ArchivedPage {
    rooms: Vec<ArchivedView>,
    #[serde(flatten)]
    page: PageInfo,
}

/// The caller's archived rooms, most recently archived first (`?page`, `?limit` up to 100).
async fn archived(
    State(s): State<AppState>,
    Bearer(claims): Bearer,
    q: std::result::Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<ArchivedPage>> {
    let q = query(q)?;
    let paging = Paging::parse(q.page.as_deref(), q.limit.as_deref(), 20, 100)?;
    let found = s
        .rooms
        .archived(&claims.caller()?, paging.offset(), paging.limit)
        .await?;
    Ok(Json(ArchivedPage {
        rooms: found
            .items
            .iter()
            .map(|a| ArchivedView {
                id: a.room.id.to_string(),
                name: a.room.name.to_string(),
                created_at: rfc3339(a.room.created_at),
                deleted_at: a.room.archived_at.map(rfc3339),
                recording_count: a.recordings,
            })
            .collect(),
        page: PageInfo::new(found.total, paging),
    }))
}

async fn check(
    State(s): State<AppState>,
    ip: ClientIp,
    MaybeBearer(claims): MaybeBearer,
    Path(room_name): Path<String>,
) -> Result<Json<Value>> {
    limit(&s, ip, "guest", guest_rule(&s), "too many requests").await?;
    let caller = claims.map(|c| c.caller()).transpose()?;
    let room = s.rooms.check(&room_name, caller.as_ref()).await?;
    Ok(Json(json!({ "exists": true, "name": room.name.as_str() })))
}

async fn update(
    State(s): State<AppState>,
    Bearer(claims): Bearer,
    Path(room_id): Path<String>,
    JsonBody(b): JsonBody<UpdateBody>,
) -> Result<Json<RoomView>> {
    let room = s
        .rooms
        .update(&claims.caller()?, &RoomId::parse(&room_id)?, b.change())
        .await?;
    Ok(Json(RoomView::from(&room)))
}

/// Archives: the room stays for history and its name is free again. 200 with a body (the
/// web and desktop clients parse every success as JSON).
async fn archive(
    State(s): State<AppState>,
    Bearer(claims): Bearer,
    Path(room_id): Path<String>,
) -> Result<Json<Value>> {
    s.rooms
        .archive(&claims.caller()?, &RoomId::parse(&room_id)?)
        .await?;
    Ok(Json(
        json!({ "status": "success", "message": "Room archived" }),
    ))
}

/// `?countOnly=1` answers anyone for public rooms (404 for private ones they cannot see);
/// the list needs a signed-in caller and is empty for rooms they cannot see.
async fn presence(
    State(s): State<AppState>,
    MaybeBearer(claims): MaybeBearer,
    Path(room_id): Path<String>,
    Query(q): Query<PresenceQuery>,
) -> Result<Json<Value>> {
    let count_only = matches!(q.count_only.as_deref(), Some("1" | "true"));
    let caller = claims.map(|c| c.caller()).transpose()?;
    if !count_only && caller.is_none() {
        return Err(Error::unauthorized("Missing authorization"));
    }
    let p = s
        .rooms
        .presence(caller.as_ref(), &RoomId::parse(&room_id)?)
        .await?;
    if count_only {
        if !p.visible {
            return Err(Error::not_found("Room not found"));
        }
        return Ok(Json(json!({ "count": p.members.len() })));
    }
    let participants: Vec<Value> = p
        .members
        .iter()
        .map(|m| {
            json!({
                "identity": m.user_id.as_str(),
                "name": m.name.as_str(),
                "joinedAt": rfc3339(m.joined_at),
            })
        })
        .collect();
    Ok(Json(json!({ "participants": participants })))
}
