//! `/api/health` (the process answers) and `/api/ready` (its store answers).

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/health", get(health))
        .route("/api/ready", get(ready))
}

#[cfg(feature = "openapi")]
#[derive(utoipa::OpenApi)]
#[openapi(paths(health, ready))]
pub(super) struct Api;

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct Health {
    status: &'static str,
    version: &'static str,
    time: String,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct Ready {
    status: &'static str,
    store: &'static str,
}

/// Liveness: the process answers. Mobile clients read `status` and `version`.
#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/health", tag = "meta",
    responses((status = 200, body = Health))))]
async fn health() -> Json<Health> {
    Json(Health {
        status: "healthy",
        version: env!("CARGO_PKG_VERSION"),
        time: super::rfc3339(crate::domain::now()),
    })
}

/// Readiness: the store answers too; 503 otherwise, so load balancers stop sending traffic.
#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/ready", tag = "meta",
    responses((status = 200, body = Ready), (status = 503, description = "The store does not answer"))))]
async fn ready(State(s): State<AppState>) -> Result<Json<Ready>> {
    s.stores
        .health
        .ping()
        .await
        .map_err(|e| Error::Unavailable(format!("store: {e}")))?;
    Ok(Json(Ready {
        status: "ready",
        store: "ok",
    }))
}
