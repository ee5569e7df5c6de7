//! `/api/admin/*`: platform admins only (403 for everyone else, 401 without a token).

use axum::Json;
use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::routing::get;
use serde_json::{Value, json};

use super::bearer::Bearer;
use super::rfc3339;
use crate::admin::Check;
use crate::domain::policy::Caller;
use crate::error::{Error, Result};
use crate::livekit::LiveRoom;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/admin/livekit/status", get(livekit_status))
        .route("/api/admin/livekit/stats", get(livekit_stats))
}

/// A caller holding the admin (or superadmin) access.
pub struct AdminCaller(pub Caller);

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let Bearer(claims) = Bearer::from_request_parts(parts, state).await?;
        let caller = claims.caller()?;
        if !caller.is_admin() {
            return Err(Error::forbidden("Admin access required"));
        }
        Ok(AdminCaller(caller))
    }
}

fn check(c: &Check) -> Value {
    json!({ "ok": c.ok, "latencyMs": c.latency_ms, "error": c.error })
}

fn room(r: &LiveRoom) -> Value {
    json!({
        "name": r.name,
        "sid": r.sid,
        "numParticipants": r.num_participants,
        "numPublishers": r.num_publishers,
        "creationTime": r.created_at,
    })
}

async fn livekit_status(State(s): State<AppState>, _: AdminCaller) -> Result<Json<Value>> {
    let st = s.admin.livekit_status().await?;
    Ok(Json(json!({
        "status": if st.connected { "connected" } else { "disconnected" },
        "mode": st.mode,
        "host": st.host,
        "internalHost": st.internal_host,
        "health": check(&st.health),
        "api": check(&st.api),
        "activeRooms": st.rooms.as_ref().map(|r| r.len()),
        "webhooks": {
            "count": st.webhooks.count,
            "lastReceivedAt": st.webhooks.last_at.map(rfc3339),
        },
        "warning": st.warning,
        "supervisor": st.supervisor,
    })))
}

async fn livekit_stats(State(s): State<AppState>, _: AdminCaller) -> Result<Json<Value>> {
    let rooms = s.admin.livekit_stats().await?;
    Ok(Json(json!({
        "activeRooms": rooms.len(),
        "totalParticipants": rooms.iter().map(|r| r.num_participants).sum::<u32>(),
        "totalPublishers": rooms.iter().map(|r| r.num_publishers).sum::<u32>(),
        "rooms": rooms.iter().map(room).collect::<Vec<_>>(),
    })))
}
