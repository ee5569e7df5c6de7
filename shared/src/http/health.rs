//! `/api/health` (the process answers) and `/api/ready` (its store answers).

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/health", get(health))
        .route("/api/ready", get(ready))
}

/// Liveness: the process answers. Mobile clients read `status` and `version`.
async fn health() -> Json<Value> {
    Json(json!({
        "status": "healthy",
        "version": env!("CARGO_PKG_VERSION"),
        "time": super::rfc3339(crate::domain::now()),
    }))
}

/// Readiness: the store answers too; 503 otherwise, so load balancers stop sending traffic.
async fn ready(State(s): State<AppState>) -> Result<Json<Value>> {
    s.stores
        .health
        .ping()
        .await
        .map_err(|e| Error::Unavailable(format!("store: {e}")))?;
    Ok(Json(json!({ "status": "ready", "store": "ok" })))
}
