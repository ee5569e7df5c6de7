//! The admin console's numbered lists, in the form the Bedrud clients ask for them: the web
//! fetches `limit=1000` once and filters, sorts and pages in the browser; iOS sends no query.
//! A limit over [`LIST_CAP`] is served as the cap, and `total` always tells the real count.
//! Every value is checked: junk is a 400 naming the parameter, never an empty page.

use axum::Json;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::bearer::AdminCaller;
use super::paging::{PageInfo, Paging, date, query};
use super::rooms::RoomView;
use super::{plain_time, rfc3339};
use crate::admin::Names;
use crate::domain::{
    Access, EventQuery, Provider, Room, RoomEventKind, RoomQuery, RoomSort, RoomStatus, User,
    UserId, UserQuery, UserSort, day_start, now,
};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::Counted;

/// The most rows one page carries (the web's `limit=1000` is served in full).
pub const LIST_CAP: u32 = 1000;
/// Rows per page when the client names no limit.
const LIST_DEFAULT: u32 = 50;
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/admin/users/recent", get(recent))
        .route("/api/admin/users/{user_id}/sessions", get(sessions))
        .route("/api/admin/rooms/events", get(events))
}

/// What admins see of a user (never the password hash). `createdAt` in Bedrud's admin
/// format, `YYYY-MM-DD HH:MM:SS` (UTC).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub(super) struct AdminUserView {
    id: String,
    email: Option<String>,
    name: String,
    provider: &'static str,
    accesses: Vec<&'static str>,
    is_active: bool,
    is_admin: bool,
    email_verified: bool,
    /// When the address was confirmed, in the same format; `null` while it is not.
    email_verified_at: Option<String>,
    avatar_url: Option<String>,
    created_at: String,
}

impl From<&User> for AdminUserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            email: u.email.as_ref().map(|e| e.to_string()),
            name: u.name.to_string(),
            provider: u.provider.as_str(),
            accesses: u.accesses.iter().map(|a| a.as_str()).collect(),
            is_active: u.is_active,
            is_admin: u.accesses.iter().any(|a| *a >= Access::Admin),
            email_verified: u.email_verified(),
            email_verified_at: u
                .email_verified_at
                .filter(|_| u.email.is_some())
                .map(plain_time),
            avatar_url: u.avatar_url.clone(),
            created_at: plain_time(u.created_at),
        }
    }
}

/// A user id from the path: anything not shaped like one names nobody.
#[cfg(feature = "openapi")]
#[derive(utoipa::OpenApi)]
#[openapi(paths(recent, sessions, events))]
pub(super) struct Api;

pub(super) fn user_id(raw: &str) -> Result<UserId> {
    UserId::parse(raw).map_err(|_| Error::not_found("User not found"))
}

fn bad(name: &str, allowed: &str, got: &str) -> Error {
    Error::bad_request(format!("{name} must be {allowed}, not {got:?}"))
}

/// A present, non-blank query value.
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn descending(order: &Option<String>) -> Result<bool> {
    match given(order) {
        None | Some("desc") => Ok(true),
        Some("asc") => Ok(false),
        Some(o) => Err(bad("order", "asc or desc", o)),
    }
}

fn provider(raw: &str) -> Result<Provider> {
    Provider::parse(raw).ok_or_else(|| {
        bad(
            "provider",
            "local, guest, passkey, google, github or twitter",
            raw,
        )
    })
}

/// The tables' paging: default `LIST_DEFAULT` rows, at most `LIST_CAP`.
fn table_paging(page: &Option<String>, limit: &Option<String>) -> Result<Paging> {
    Paging::parse(page.as_deref(), limit.as_deref(), LIST_DEFAULT, LIST_CAP)
}

/// An empty numbered page (a filter nothing can match).
fn nothing<T>() -> Counted<T> {
    Counted {
        total: 0,
        items: Vec::new(),
    }
}

/// `GET /api/admin/users` without `cursor`: `page`, `limit`, `q` (name or email), `provider`,
/// `role`, `status` (active, inactive or banned), `verified`, `created` (today, 7d, 30d),
/// `sort` (createdAt, name, email, provider), `order`.
#[derive(Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub(super) struct UserListQuery {
    pub page: Option<String>,
    pub limit: Option<String>,
    pub q: Option<String>,
    pub provider: Option<String>,
    pub role: Option<String>,
    pub status: Option<String>,
    pub verified: Option<String>,
    pub created: Option<String>,
    pub sort: Option<String>,
    pub order: Option<String>,
    pub cursor: Option<String>,
}

impl UserListQuery {
    /// The store query, or `None` when it can match nobody.
    fn parse(&self, paging: Paging) -> Result<Option<UserQuery>> {
        let mut q = UserQuery {
            text: given(&self.q).map(str::to_lowercase),
            offset: paging.offset(),
            limit: paging.limit,
            descending: descending(&self.order)?,
            ..Default::default()
        };
        if let Some(p) = given(&self.provider) {
            q.provider = Some(provider(p)?);
        }
        if let Some(r) = given(&self.role) {
            q.access =
                Some(Access::parse(r).ok_or_else(|| {
                    bad("role", "superadmin, admin, moderator, user or guest", r)
                })?);
        }
        q.active = match given(&self.status) {
            None | Some("all") => None,
            Some("active") => Some(true),
            Some("inactive" | "banned") => Some(false),
            Some(o) => return Err(bad("status", "active, inactive, banned or all", o)),
        };
        q.verified = match given(&self.verified) {
            None | Some("all") => None,
            Some("true" | "1" | "yes") => Some(true),
            Some("false" | "0" | "no") => Some(false),
            Some(o) => return Err(bad("verified", "true or false", o)),
        };
        q.created_from = match given(&self.created) {
            None | Some("all") => None,
            Some("today") => Some(day_start(now())),
            Some("7d" | "week") => Some(now() - 7 * 86_400),
            Some("30d" | "month") => Some(now() - 30 * 86_400),
            Some(o) => return Err(bad("created", "today, 7d, 30d or all", o)),
        };
        if let Some(s) = given(&self.sort) {
            q.sort = UserSort::parse(s)
                .ok_or_else(|| bad("sort", "createdAt, name, email or provider", s))?;
        }
        Ok(Some(q))
    }
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(super) struct UserTable {
    users: Vec<AdminUserView>,
    #[serde(flatten)]
    page: PageInfo,
}

/// The numbered form of the users list.
pub(super) async fn user_table(s: &AppState, raw: &UserListQuery) -> Result<UserTable> {
    let paging = table_paging(&raw.page, &raw.limit)?;
    let found = match raw.parse(paging)? {
        Some(q) => s.admin.user_table(&q).await?,
        None => nothing(),
    };
    Ok(UserTable {
        users: found.items.iter().map(AdminUserView::from).collect(),
        page: PageInfo::new(found.total, paging),
    })
}

/// `GET /api/admin/rooms` without `cursor`: `page`, `limit`, `q` (name), `status` (active,
/// suspended, archived), `visibility` (public or private), `sort` (createdAt, name,
/// lastActivityAt, participantsCount), `order`.
#[derive(Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub(super) struct RoomListQuery {
    pub page: Option<String>,
    pub limit: Option<String>,
    pub q: Option<String>,
    pub status: Option<String>,
    pub visibility: Option<String>,
    pub sort: Option<String>,
    pub order: Option<String>,
    pub cursor: Option<String>,
}

impl RoomListQuery {
    fn parse(&self, paging: Paging) -> Result<RoomQuery> {
        let mut q = RoomQuery {
            text: given(&self.q).map(str::to_lowercase),
            offset: paging.offset(),
            limit: paging.limit,
            descending: descending(&self.order)?,
            ..Default::default()
        };
        if let Some(st) = given(&self.status).filter(|s| *s != "all") {
            q.status = Some(
                RoomStatus::parse(st)
                    .ok_or_else(|| bad("status", "active, suspended, archived or all", st))?,
            );
        }
        q.public = match given(&self.visibility) {
            None | Some("all") => None,
            Some("public") => Some(true),
            Some("private") => Some(false),
            Some(o) => return Err(bad("visibility", "public, private or all", o)),
        };
        if let Some(s) = given(&self.sort) {
            q.sort = RoomSort::parse(s).ok_or_else(|| {
                bad(
                    "sort",
                    "createdAt, name, lastActivityAt or participantsCount",
                    s,
                )
            })?;
        }
        Ok(q)
    }
}

/// A room as the admin tables show it: Bedrud's `isActive` (false once suspended),
/// `deletedAt` once archived, its owner's name, its last activity and the seats held.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub(super) struct AdminRoomRow {
    #[serde(flatten)]
    room: RoomView,
    status: &'static str,
    suspended: bool,
    owner_name: Option<String>,
    last_activity_at: String,
    participants_count: u32,
    active_count: u32,
    live: bool,
}

impl AdminRoomRow {
    pub(super) fn new(r: &Room, names: &Names) -> Self {
        Self {
            room: RoomView::from(r),
            status: RoomStatus::of(r).as_str(),
            suspended: r.suspended,
            owner_name: names.get(&r.created_by).cloned(),
            last_activity_at: rfc3339(r.last_activity_at),
            participants_count: r.active_count,
            active_count: r.active_count,
            live: r.live_sid.is_some(),
        }
    }
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(super) struct RoomTable {
    rooms: Vec<AdminRoomRow>,
    #[serde(flatten)]
    page: PageInfo,
}

pub(super) async fn room_table(s: &AppState, raw: &RoomListQuery) -> Result<RoomTable> {
    let paging = table_paging(&raw.page, &raw.limit)?;
    let (found, names) = s.admin.room_table(&raw.parse(paging)?).await?;
    Ok(RoomTable {
        rooms: found
            .items
            .iter()
            .map(|r| AdminRoomRow::new(r, &names))
            .collect(),
        page: PageInfo::new(found.total, paging),
    })
}

/// `page`, `limit` (up to 100), `q`, `provider`, `dateFrom` and `dateTo` (`YYYY-MM-DD`,
/// inclusive).
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
struct RecentQuery {
    page: Option<String>,
    limit: Option<String>,
    q: Option<String>,
    provider: Option<String>,
    #[serde(rename = "dateFrom")]
    date_from: Option<String>,
    #[serde(rename = "dateTo")]
    date_to: Option<String>,
}

/// A sign-up row.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub(super) struct SignupView {
    id: String,
    name: String,
    email: Option<String>,
    provider: &'static str,
    created_at: String,
}

impl From<&User> for SignupView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            name: u.name.to_string(),
            email: u.email.as_ref().map(|e| e.to_string()),
            provider: u.provider.as_str(),
            created_at: rfc3339(u.created_at),
        }
    }
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct RecentPage {
    users: Vec<SignupView>,
    #[serde(flatten)]
    page: PageInfo,
}

/// The span `dateFrom`..=`dateTo` as Unix times (the end day included whole).
fn span(from: &Option<String>, to: &Option<String>) -> Result<(Option<i64>, Option<i64>)> {
    let from = date("dateFrom", from.as_deref())?;
    let to = date("dateTo", to.as_deref())?.map(|d| d + 86_399);
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(Error::bad_request("dateFrom must not be after dateTo"));
    }
    Ok((from, to))
}

/// Sign-ups, newest first; guests only when a provider is asked for.
#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/admin/users/recent", tag = "admin", security(("bearer" = [])), params(RecentQuery), responses((status = 200, body = RecentPage))))]
async fn recent(
    State(s): State<AppState>,
    _: AdminCaller,
    raw: std::result::Result<Query<RecentQuery>, QueryRejection>,
) -> Result<Json<RecentPage>> {
    let raw = query(raw)?;
    let paging = Paging::parse(raw.page.as_deref(), raw.limit.as_deref(), 25, 100)?;
    let (created_from, created_to) = span(&raw.date_from, &raw.date_to)?;
    let mut q = UserQuery {
        text: given(&raw.q).map(str::to_lowercase),
        guests: false,
        created_from,
        created_to,
        offset: paging.offset(),
        limit: paging.limit,
        ..Default::default()
    };
    if let Some(p) = given(&raw.provider) {
        q.guests = true;
        q.provider = Some(provider(p)?);
    }
    let found = s.admin.user_table(&q).await?;
    Ok(Json(RecentPage {
        users: found.items.iter().map(SignupView::from).collect(),
        page: PageInfo::new(found.total, paging),
    }))
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
struct PageQuery {
    page: Option<String>,
    limit: Option<String>,
}

/// One connection to a meeting.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct SignInView {
    id: String,
    room_id: String,
    room_name: String,
    joined_at: String,
    left_at: Option<String>,
    is_active: bool,
    duration_seconds: i64,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct SessionsPage {
    sessions: Vec<SignInView>,
    #[serde(flatten)]
    page: PageInfo,
}

/// A user's room sessions (connections), newest first.
#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/admin/users/{user_id}/sessions", tag = "admin", security(("bearer" = [])), params(("user_id" = String, Path), PageQuery),
    description = "Sign-ins, newest first.", responses((status = 200, body = SessionsPage))))]
async fn sessions(
    State(s): State<AppState>,
    _: AdminCaller,
    Path(id): Path<String>,
    raw: std::result::Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<SessionsPage>> {
    let raw = query(raw)?;
    let paging = Paging::parse(raw.page.as_deref(), raw.limit.as_deref(), 20, 100)?;
    let found = s
        .admin
        .sessions(&user_id(&id)?, paging.offset(), paging.limit)
        .await?;
    let t = now();
    Ok(Json(SessionsPage {
        sessions: found
            .items
            .iter()
            .map(|a| SignInView {
                id: a.session.clone(),
                room_id: a.room_id.to_string(),
                room_name: a.room_name.to_string(),
                joined_at: rfc3339(a.joined_at),
                left_at: a.left_at.map(rfc3339),
                is_active: a.left_at.is_none(),
                duration_seconds: a.duration(t),
            })
            .collect(),
        page: PageInfo::new(found.total, paging),
    }))
}

/// `page`, `limit`, `q` (room or participant name), `type` (room_created, room_joined),
/// `dateFrom`, `dateTo`.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
struct EventsQuery {
    page: Option<String>,
    limit: Option<String>,
    q: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(rename = "dateFrom")]
    date_from: Option<String>,
    #[serde(rename = "dateTo")]
    date_to: Option<String>,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub(super) struct EventView {
    #[serde(rename = "type")]
    kind: &'static str,
    room_id: String,
    room_name: String,
    user_id: Option<String>,
    user_name: Option<String>,
    timestamp: String,
}

impl From<&crate::domain::RoomEvent> for EventView {
    fn from(e: &crate::domain::RoomEvent) -> Self {
        Self {
            kind: e.kind.as_str(),
            room_id: e.room_id.to_string(),
            room_name: e.room_name.clone(),
            user_id: e.user_id.as_ref().map(|u| u.to_string()),
            user_name: e.user_name.clone(),
            timestamp: rfc3339(e.at),
        }
    }
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct EventsPage {
    events: Vec<EventView>,
    #[serde(flatten)]
    page: PageInfo,
}

/// The room events log, newest first (kept 90 days).
#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/admin/rooms/events", tag = "admin", security(("bearer" = [])), params(EventsQuery), responses((status = 200, body = EventsPage))))]
async fn events(
    State(s): State<AppState>,
    _: AdminCaller,
    raw: std::result::Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Json<EventsPage>> {
    let raw = query(raw)?;
    let paging = Paging::parse(raw.page.as_deref(), raw.limit.as_deref(), LIST_DEFAULT, 100)?;
    let kind = match given(&raw.kind).filter(|k| *k != "all") {
        None => None,
        Some(k) => Some(
            RoomEventKind::parse(k).ok_or_else(|| bad("type", "room_created or room_joined", k))?,
        ),
    };
    let (from, to) = span(&raw.date_from, &raw.date_to)?;
    let q = EventQuery {
        kind,
        text: given(&raw.q).map(str::to_lowercase),
        from: from.unwrap_or(0),
        to: to.unwrap_or_else(|| now() + 86_400),
        offset: paging.offset(),
        limit: paging.limit,
    };
    let found = s.admin.room_events(&q).await?;
    Ok(Json(EventsPage {
        events: found.items.iter().map(EventView::from).collect(),
        page: PageInfo::new(found.total, paging),
    }))
}
