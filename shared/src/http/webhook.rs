//! `POST /api/livekit/webhook`: LiveKit's deliveries. 401 for anything not signed by our key
//! pair over these exact bytes, 400 for a signed body that is not an event, 413 over the body
//! limit, 2xx for everything else (unknown event names included) so LiveKit stops retrying.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::routing::post;

use super::reply::Status;
use crate::error::Result;
use crate::state::AppState;
use crate::webhooks::Delivery;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/livekit/webhook", post(receive))
}

#[cfg(feature = "openapi")]
#[derive(utoipa::OpenApi)]
#[openapi(paths(receive))]
pub(super) struct Api;

/// The body is LiveKit's `WebhookEvent` as JSON; `Authorization` is LiveKit's signed token
/// over its SHA-256.
#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/livekit/webhook", tag = "livekit",
    request_body(content = Object, description = "LiveKit's WebhookEvent (JSON)", content_type = "application/webhook+json"),
    params(("Authorization" = String, Header, description = "LiveKit's signed token (the key pair's) over the body's SHA-256")),
    responses((status = 200, description = "`ok` when applied, `duplicate` when seen before", body = Status),
        (status = 401, description = "Not signed by our key pair over these bytes"))))]
async fn receive(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::Json<Status>> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let status = match s.webhooks.receive(auth, &body).await? {
        Delivery::Applied => "ok",
        Delivery::Duplicate => "duplicate",
    };
    Ok(Status::json(status))
}
