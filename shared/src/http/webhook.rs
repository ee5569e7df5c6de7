//! `POST /api/livekit/webhook`: LiveKit's deliveries. 401 for anything not signed by our key
//! pair over these exact bytes, 400 for a signed body that is not an event, 413 over the body
//! limit, 2xx for everything else (unknown event names included) so LiveKit stops retrying.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::routing::post;
use serde_json::{Value, json};

use crate::error::Result;
use crate::state::AppState;
use crate::webhooks::Delivery;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/livekit/webhook", post(receive))
}

async fn receive(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let status = match s.webhooks.receive(auth, &body).await? {
        Delivery::Applied => "ok",
        Delivery::Duplicate => "duplicate",
    };
    Ok(Json(json!({ "status": status })))
}
