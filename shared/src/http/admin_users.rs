//! `/api/admin/users*`: the admins' account management. Deactivating or force-logging-out
//! ends every session, so the account's access tokens are refused from the next request;
//! nobody changes their own account here, and the last active admin stays one.

use axum::Json;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};

use axum::response::{IntoResponse, Response};

use super::admin_lists::{AdminUserView, UserListQuery, user_id, user_table};
use super::bearer::AdminCaller;
use super::json::{JsonBody, shape_is_bad_request};
use super::paging::{Paging, query};
use super::rooms::RoomView;
use crate::domain::{Access, User};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::UserFilter;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/admin/users", get(users))
        .route("/api/admin/users/{user_id}", get(user))
        .route("/api/admin/users/{user_id}/status", put(status))
        .route("/api/admin/users/{user_id}/accesses", put(accesses))
        .route(
            "/api/admin/users/{user_id}/force-logout",
            post(force_logout),
        )
}

fn view(u: &User) -> AdminUserView {
    AdminUserView::from(u)
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct UsersPage {
    users: Vec<AdminUserView>,
    limit: u32,
    /// Absent (null) on the last page; what tells this form from the numbered table.
    #[cfg_attr(feature = "openapi", schema(required))]
    next_cursor: Option<String>,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct UserDetail {
    user: AdminUserView,
    rooms: Vec<RoomView>,
}

/// An account change and the account after it.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct Changed {
    message: &'static str,
    user: AdminUserView,
}

#[cfg(feature = "openapi")]
#[derive(utoipa::OpenApi)]
#[openapi(paths(users, user, status, accesses, force_logout))]
pub(super) struct Api;

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct LoggedOut {
    message: &'static str,
    sessions: u64,
}

/// The numbered table, or (with `?cursor=`) a cursor page.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
enum UserList {
    Table(super::admin_lists::UserTable),
    Cursor(UsersPage),
}

/// Numbered pages (`admin_lists`), or with `?cursor=` (empty for the first page) the cursor
/// form: `?q=`, `?role=`, `?status=active|inactive`, `?limit=` 1–100 (default 20).
#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/admin/users", tag = "admin", security(("bearer" = [])), params(UserListQuery), responses((status = 200, body = UserList))))]
async fn users(
    State(s): State<AppState>,
    _: AdminCaller,
    raw: std::result::Result<Query<UserListQuery>, QueryRejection>,
) -> Result<Response> {
    let q = query(raw)?;
    let Some(cursor) = q.cursor.as_deref() else {
        return Ok(Json(UserList::Table(user_table(&s, &q).await?)).into_response());
    };
    let access = match q.role.as_deref().filter(|r| !r.is_empty()) {
        None => None,
        Some(r) => Some(
            Access::parse(r).ok_or_else(|| Error::bad_request(format!("unknown role {r:?}")))?,
        ),
    };
    let active = match q.status.as_deref() {
        None | Some("") | Some("all") => None,
        Some("active") => Some(true),
        Some("inactive") => Some(false),
        Some(other) => {
            return Err(Error::bad_request(format!(
                "status must be active, inactive or all, not {other:?}"
            )));
        }
    };
    let limit = Paging::parse(None, q.limit.as_deref(), 20, u32::MAX)?.limit;
    if limit > 100 {
        return Err(Error::bad_request("limit must be between 1 and 100"));
    }
    let filter = UserFilter {
        text: q.q.filter(|t| !t.trim().is_empty()),
        access,
        active,
    };
    let after = Some(cursor).filter(|c| !c.is_empty());
    let page = s.admin.users(&filter, limit, after).await?;
    Ok(Json(UserList::Cursor(UsersPage {
        users: page.items.iter().map(view).collect(),
        limit,
        next_cursor: page.next,
    }))
    .into_response())
}

#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/admin/users/{user_id}", tag = "admin", security(("bearer" = [])), params(("user_id" = String, Path)), responses((status = 200, body = UserDetail))))]
async fn user(
    State(s): State<AppState>,
    _: AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<UserDetail>> {
    let (u, rooms) = s.admin.user(&user_id(&id)?).await?;
    Ok(Json(UserDetail {
        user: view(&u),
        rooms: rooms.iter().map(RoomView::from).collect(),
    }))
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct StatusBody {
    active: bool,
}

#[cfg_attr(feature = "openapi", utoipa::path(put, path = "/api/admin/users/{user_id}/status", tag = "admin", security(("bearer" = [])), params(("user_id" = String, Path)), request_body = StatusBody,
    description = "Disables (signing out every session) or enables an account.", responses((status = 200, body = Changed))))]
async fn status(
    State(s): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(id): Path<String>,
    body: std::result::Result<JsonBody<StatusBody>, Error>,
) -> Result<Json<Changed>> {
    let JsonBody(b) = body.map_err(shape_is_bad_request)?;
    let u = s
        .admin
        .set_active(&caller, &user_id(&id)?, b.active)
        .await?;
    let message = if b.active {
        "User activated"
    } else {
        "User deactivated; every session ended"
    };
    Ok(Json(Changed {
        message,
        user: view(&u),
    }))
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct AccessesBody {
    accesses: Vec<String>,
}

#[cfg_attr(feature = "openapi", utoipa::path(put, path = "/api/admin/users/{user_id}/accesses", tag = "admin", security(("bearer" = [])), params(("user_id" = String, Path)), request_body = AccessesBody,
    responses((status = 200, body = Changed))))]
async fn accesses(
    State(s): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(id): Path<String>,
    body: std::result::Result<JsonBody<AccessesBody>, Error>,
) -> Result<Json<Changed>> {
    let JsonBody(b) = body.map_err(shape_is_bad_request)?;
    let u = s
        .admin
        .set_accesses(&caller, &user_id(&id)?, &b.accesses)
        .await?;
    Ok(Json(Changed {
        message: "User accesses updated",
        user: view(&u),
    }))
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/admin/users/{user_id}/force-logout", tag = "admin", security(("bearer" = [])), params(("user_id" = String, Path)),
    responses((status = 200, body = LoggedOut))))]
async fn force_logout(
    State(s): State<AppState>,
    _: AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<LoggedOut>> {
    let ended = s.admin.force_logout(&user_id(&id)?).await?;
    Ok(Json(LoggedOut {
        message: "All sessions revoked",
        sessions: ended,
    }))
}
