//! `/api/room/*` room management in Bedrud's wire format: create, list, check, settings,
//! archive, presence.

use axum::Json;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::{delete, get, post, put};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::auth::{guest_rule, limit};
use super::bearer::{Bearer, MaybeBearer};
use super::client_ip::ClientIp;
use super::json::JsonBody;
use super::paging::{PageInfo, Paging, query};
use super::reply::Done;
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

#[cfg(feature = "openapi")]
#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, archived, check, update, archive, presence))]
pub(super) struct Api;

/// The room JSON every client decodes (the superset: iOS requires `adminId` and
/// `expiresAt`, desktop `isActive`, Android `createdBy`).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// Every switch by name, as a boolean: all present in answers, any subset in requests.
#[cfg(feature = "openapi")]
fn switches_schema(all_required: bool) -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let mut o = ObjectBuilder::new().description(Some("Room switches by name"));
    for name in RoomSettings::NAMES {
        o = o.property(*name, ObjectBuilder::new().schema_type(Type::Boolean));
        if all_required {
            o = o.required(*name);
        }
    }
    o.into()
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for SettingsView {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        switches_schema(true)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for SettingsView {}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for SettingsBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        switches_schema(false)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for SettingsBody {}

/// A new room, and where its media server is.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct CreatedRoom {
    #[serde(flatten)]
    room: RoomView,
    livekit_host: String,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct RoomCheck {
    exists: bool,
    name: String,
}

/// Who is in the meeting, or (`?countOnly=1`) how many.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
enum Presence {
    Count { count: usize },
    List { participants: Vec<PresentView> },
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct PresentView {
    identity: String,
    name: String,
    joined_at: String,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
struct PresenceQuery {
    count_only: Option<String>,
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/room/create", tag = "rooms", security(("bearer" = [])),
    request_body = CreateBody,
    responses((status = 200, body = CreatedRoom), (status = 409, description = "An active room has this name"))))]
async fn create(
    State(s): State<AppState>,
    Bearer(claims): Bearer,
    JsonBody(b): JsonBody<CreateBody>,
) -> Result<Json<CreatedRoom>> {
    let req = NewRoom {
        name: b.name,
        is_public: b.is_public,
        max_participants: b.max_participants,
        mode: b.mode,
        settings: b.settings.unwrap_or_default().patch(),
    };
    let room = s.rooms.create(&claims.caller()?, req).await?;
    Ok(Json(CreatedRoom {
        room: RoomView::from(&room),
        livekit_host: s.config.livekit.host.clone(),
    }))
}

/// An array, `[]` when empty (clients reject `null`).
#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/room/list", tag = "rooms", security(("bearer" = [])),
    description = "The rooms the caller created or belongs to.",
    responses((status = 200, body = Vec<RoomView>))))]
async fn list(State(s): State<AppState>, Bearer(claims): Bearer) -> Result<Json<Vec<RoomView>>> {
    let rooms = s.rooms.list(&claims.caller()?).await?;
    Ok(Json(rooms.iter().map(RoomView::from).collect()))
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
struct PageQuery {
    page: Option<String>,
    limit: Option<String>,
}

/// An archived room with its recording count (Bedrud's `/api/room/archived`).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct ArchivedView {
    id: String,
    name: String,
    created_at: String,
    deleted_at: Option<String>,
    recording_count: usize,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct ArchivedPage {
    rooms: Vec<ArchivedView>,
    #[serde(flatten)]
    page: PageInfo,
}

/// The caller's archived rooms, most recently archived first (`?page`, `?limit` up to 100).
#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/room/archived", tag = "rooms", security(("bearer" = [])),
    params(PageQuery), responses((status = 200, body = ArchivedPage))))]
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

#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/room/check/{room_name}", tag = "rooms", security((), ("bearer" = [])),
    params(("room_name" = String, Path)),
    responses((status = 200, body = RoomCheck), (status = 404, description = "No such room, or a private room the caller may not see"))))]
async fn check(
    State(s): State<AppState>,
    ip: ClientIp,
    MaybeBearer(claims): MaybeBearer,
    Path(room_name): Path<String>,
) -> Result<Json<RoomCheck>> {
    limit(&s, ip, "guest", guest_rule(&s), "too many requests").await?;
    let caller = claims.map(|c| c.caller()).transpose()?;
    let room = s.rooms.check(&room_name, caller.as_ref()).await?;
    Ok(Json(RoomCheck {
        exists: true,
        name: room.name.to_string(),
    }))
}

#[cfg_attr(feature = "openapi", utoipa::path(put, path = "/api/room/{room_id}/settings", tag = "rooms", security(("bearer" = [])),
    params(("room_id" = String, Path, description = "The room's id")), request_body = UpdateBody,
    description = "The owner, a moderator or an admin changes visibility, size, mode or switches.",
    responses((status = 200, body = RoomView))))]
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
#[cfg_attr(feature = "openapi", utoipa::path(delete, path = "/api/room/{room_id}", tag = "rooms", security(("bearer" = [])),
    params(("room_id" = String, Path, description = "The room's id")), responses((status = 200, body = Done))))]
async fn archive(
    State(s): State<AppState>,
    Bearer(claims): Bearer,
    Path(room_id): Path<String>,
) -> Result<Json<Done>> {
    s.rooms
        .archive(&claims.caller()?, &RoomId::parse(&room_id)?)
        .await?;
    Ok(Done::json("Room archived"))
}

/// `?countOnly=1` answers anyone for public rooms (404 for private ones they cannot see);
/// the list needs a signed-in caller and is empty for rooms they cannot see.
#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/room/{room_id}/presence", tag = "rooms", security((), ("bearer" = [])),
    params(("room_id" = String, Path, description = "The room's id"), PresenceQuery),
    responses((status = 200, body = Presence))))]
async fn presence(
    State(s): State<AppState>,
    MaybeBearer(claims): MaybeBearer,
    Path(room_id): Path<String>,
    Query(q): Query<PresenceQuery>,
) -> Result<Json<Presence>> {
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
        return Ok(Json(Presence::Count {
            count: p.members.len(),
        }));
    }
    let participants = p
        .members
        .iter()
        .map(|m| PresentView {
            identity: m.user_id.to_string(),
            name: m.name.to_string(),
            joined_at: rfc3339(m.joined_at),
        })
        .collect();
    Ok(Json(Presence::List { participants }))
}
