//! HTTP boundary: one router per capability, all sharing [`app`]'s outer layers (fallbacks,
//! body limit, request log). The sidecar serves them merged; each Lambda serves its own.

pub mod accounts;
pub mod admin;
mod admin_actions;
mod admin_dashboard;
mod admin_lists;
mod admin_settings;
mod admin_users;
pub mod auth;
mod bearer;
pub mod client_ip;
pub mod cors;
mod error;
pub mod health;
pub mod join;
mod json;
pub mod moderation;
pub mod oauth;
pub mod openapi;
mod paging;
mod participants;
pub mod passkeys;
pub mod recordings;
mod reply;
pub mod request_id;
pub mod rooms;
pub mod socket;
pub mod webhook;

use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::Response;

pub use bearer::{Bearer, MaybeBearer, VerifiedToken};
pub use client_ip::ClientIp;
pub use json::JsonBody;

use crate::error::Error;
use crate::state::AppState;

/// Every route this build has, for the all-in-one server.
pub fn all_routes() -> Router<AppState> {
    auth::routes()
        .merge(oauth::routes())
        .merge(passkeys::routes())
        .merge(accounts::routes())
        .merge(health::routes())
        .merge(openapi::routes())
        .merge(rooms::routes())
        .merge(join::routes())
        .merge(moderation::routes())
        .merge(webhook::routes())
        .merge(recordings::routes())
        .merge(admin::routes())
        .merge(admin::queue_routes())
}

/// Wraps capability routes into a service: JSON 404/405, the configured body limit (413),
/// dependency-failure detail for admins only, a request log line, and a request id on
/// every log line, response and 5xx body.
pub fn app(routes: Router<AppState>, state: AppState) -> Router {
    let limit = state.config.server.max_body_bytes;
    routes
        .fallback(|| async { Error::not_found("not found") })
        .method_not_allowed_fallback(|| async {
            (
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                axum::Json(serde_json::json!({"error": "method not allowed"})),
            )
        })
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            error::reveal_to_admins,
        ))
        .layer(middleware::from_fn(log_request))
        .layer(middleware::from_fn(request_id::tag))
        .with_state(state)
}

/// One line per request: route template (never raw ids or query), status, latency.
async fn log_request(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "<unmatched>".to_string(), |p| p.as_str().to_string());
    let res = next.run(req).await;
    let status = res.status().as_u16();
    let took = started.elapsed();
    crate::metrics::request(method.as_str(), &route, status, took);
    let micros = took.as_micros() as u64;
    if status >= 500 {
        tracing::warn!(%method, route, status, micros, "request");
    } else {
        tracing::debug!(%method, route, status, micros, "request");
    }
    res
}

/// Bedrud's admin time format for user rows: `YYYY-MM-DD HH:MM:SS`, UTC, no zone.
pub(crate) fn plain_time(t: i64) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&f).ok())
        .unwrap_or_default()
}

pub(crate) fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
