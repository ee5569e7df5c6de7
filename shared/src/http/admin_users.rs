//! `/api/admin/users*`: the admins' account management. Deactivating or force-logging-out
//! ends every session, so the account's access tokens are refused from the next request;
//! nobody changes their own account here, and the last active admin stays one.

use axum::Json;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};

use super::bearer::AdminCaller;
use super::json::{JsonBody, shape_is_bad_request};
use super::rfc3339;
use super::rooms::RoomView;
use crate::domain::{Access, User, UserId};
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

/// What admins see of a user (never the password hash).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AdminUserView {
    id: String,
    email: Option<String>,
    name: String,
    provider: &'static str,
    accesses: Vec<&'static str>,
    is_active: bool,
    is_admin: bool,
    avatar_url: Option<String>,
    created_at: String,
}

fn view(u: &User) -> AdminUserView {
    AdminUserView {
        id: u.id.to_string(),
        email: u.email.as_ref().map(|e| e.to_string()),
        name: u.name.to_string(),
        provider: u.provider.as_str(),
        accesses: u.accesses.iter().map(|a| a.as_str()).collect(),
        is_active: u.is_active,
        is_admin: u.accesses.iter().any(|a| *a >= Access::Admin),
        avatar_url: u.avatar_url.clone(),
        created_at: rfc3339(u.created_at),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UsersPage {
    users: Vec<AdminUserView>,
    limit: u32,
    next_cursor: Option<String>,
}

#[derive(Serialize)]
struct UserDetail {
    user: AdminUserView,
    rooms: Vec<RoomView>,
}

/// An account change and the account after it.
#[derive(Serialize)]
struct Changed {
    message: &'static str,
    user: AdminUserView,
}

#[derive(Serialize)]
struct LoggedOut {
    message: &'static str,
    sessions: u64,
}

/// A user id from the path: anything not shaped like one names nobody.
fn user_id(raw: &str) -> Result<UserId> {
    UserId::parse(raw).map_err(|_| Error::not_found("User not found"))
}

/// `?q=` in the name or email, `?role=` an access, `?status=active|inactive`, `?limit=`
/// (1–100, default 20), `?cursor=` from the previous page's `nextCursor`.
#[derive(Deserialize)]
struct UsersQuery {
    q: Option<String>,
    role: Option<String>,
    status: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

async fn users(
    State(s): State<AppState>,
    _: AdminCaller,
    query: std::result::Result<Query<UsersQuery>, QueryRejection>,
) -> Result<Json<UsersPage>> {
    let Query(q) = query.map_err(|e| Error::bad_request(format!("bad query: {e}")))?;
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
    let limit = q.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(Error::bad_request("limit must be between 1 and 100"));
    }
    let filter = UserFilter {
        text: q.q.filter(|t| !t.trim().is_empty()),
        access,
        active,
    };
    let page = s.admin.users(&filter, limit, q.cursor.as_deref()).await?;
    Ok(Json(UsersPage {
        users: page.items.iter().map(view).collect(),
        limit,
        next_cursor: page.next,
    }))
}

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
struct StatusBody {
    active: bool,
}

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
struct AccessesBody {
    accesses: Vec<String>,
}

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
