//! `/api/admin/settings*` and `/api/admin/invite-tokens*`: the runtime settings admins change
//! while the server runs, their checks, and the invites that open registration when it is
//! invite-only.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::bearer::AdminCaller;
use super::json::{JsonBody, shape_is_bad_request};
use super::reply::Status;
use super::rfc3339;
use crate::domain::{Incoming, InviteToken, RuntimeSettings, SettingValue};
use crate::error::{Error, Result};
use crate::state::AppState;

#[cfg(feature = "openapi")]
#[derive(utoipa::OpenApi)]
#[openapi(paths(settings, update, validate, invites, create_invite, delete_invite))]
pub(super) struct Api;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/admin/settings", get(settings).put(update))
        .route("/api/admin/settings/validate", post(validate))
        .route("/api/admin/invite-tokens", get(invites).post(create_invite))
        .route("/api/admin/invite-tokens/{id}", delete(delete_invite))
}

/// Every setting by name, secrets masked.
fn shown(s: &RuntimeSettings) -> Map<String, Value> {
    s.shown()
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                SettingValue::Bool(b) => Value::Bool(b),
                SettingValue::Int(n) => Value::from(n),
                SettingValue::Text(t) => Value::String(t),
            };
            (k.to_string(), v)
        })
        .collect()
}

#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/admin/settings", tag = "admin", security(("bearer" = [])),
    description = "Every runtime setting by its Bedrud name.", responses((status = 200, body = Object))))]
async fn settings(State(s): State<AppState>, _: AdminCaller) -> Result<Json<Map<String, Value>>> {
    Ok(Json(shown(&*s.settings.current().await?)))
}

/// A partial change: the keys sent (unknown ones ignored, `null` back to the default), the
/// effective settings after it.
#[cfg_attr(feature = "openapi", utoipa::path(put, path = "/api/admin/settings", tag = "admin", security(("bearer" = [])),
    request_body(content = Object, description = "Any subset of the settings by name; unknown names and bad values are refused"),
    responses((status = 200, description = "Every setting after the change", body = Object))))]
async fn update(
    State(s): State<AppState>,
    _: AdminCaller,
    body: std::result::Result<JsonBody<Value>, Error>,
) -> Result<Json<Map<String, Value>>> {
    let JsonBody(body) = body.map_err(shape_is_bad_request)?;
    let Value::Object(map) = body else {
        return Err(Error::bad_request(
            "the body must be a JSON object of settings",
        ));
    };
    let change: Vec<(String, Incoming)> = map
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                Value::Null => Incoming::Null,
                Value::Bool(b) => Incoming::Bool(b),
                Value::Number(n) => n.as_i64().map_or(Incoming::Number, Incoming::Int),
                Value::String(t) => Incoming::Text(t),
                Value::Array(_) | Value::Object(_) => Incoming::Other,
            };
            (k, v)
        })
        .collect();
    Ok(Json(shown(&*s.settings.update(&change).await?)))
}

/// One check's outcome, as the web's settings pages show it.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct Check {
    status: &'static str,
    message: String,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct Checks {
    checks: Map<String, Value>,
}

/// What each dependency says now: LiveKit (a real probe), TLS files, recordings storage,
/// mail. Always 200 (the checks carry the verdicts).
#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/admin/settings/validate", tag = "admin", security(("bearer" = [])),
    description = "Checks what the settings depend on (mail, LiveKit, storage).", responses((status = 200, body = Checks))))]
async fn validate(State(s): State<AppState>, _: AdminCaller) -> Result<Json<Checks>> {
    let mut checks = Map::new();
    let lk = s.admin.livekit_status().await?;
    let livekit = if lk.connected {
        Check {
            status: "ok",
            message: format!("LiveKit at {} answers", lk.internal_host),
        }
    } else {
        let why = lk.api.error.or(lk.health.error).unwrap_or_default();
        Check {
            status: "error",
            message: why,
        }
    };
    checks.insert(
        "livekit".into(),
        serde_json::to_value(livekit).map_err(Error::internal)?,
    );
    let server = &s.config.server;
    let tls = match (&server.cert_file, &server.key_file) {
        _ if !server.enable_tls => Check {
            status: "skipped",
            message: "TLS is off (server.enableTLS)".into(),
        },
        (Some(c), Some(k)) if c.is_file() && k.is_file() => Check {
            status: "ok",
            message: format!("certificate {} and key are readable", c.display()),
        },
        _ => Check {
            status: "error",
            message: "server.certFile / server.keyFile are not readable files".into(),
        },
    };
    checks.insert(
        "tls".into(),
        serde_json::to_value(tls).map_err(Error::internal)?,
    );
    let rec = &s.config.recordings;
    let s3 = match &rec.bucket {
        None => Check {
            status: "skipped",
            message: "no recordings bucket: recordings go to the server's directory".into(),
        },
        Some(b) => Check {
            status: "ok",
            message: format!("recordings go to bucket {b}"),
        },
    };
    checks.insert(
        "s3".into(),
        serde_json::to_value(s3).map_err(Error::internal)?,
    );
    let config = &s.config;
    let email = match config.mail_provider() {
        None => Check {
            status: if s.accounts.verification_required() {
                "error"
            } else {
                "warning"
            },
            message: "no mail provider (email.provider): verification and reset mail cannot be \
                      sent"
                .into(),
        },
        Some(crate::config::MailProvider::Log) => Check {
            status: "warning",
            message: "mail is written to the server log (email.provider: log), not delivered"
                .into(),
        },
        Some(p) => Check {
            status: "ok",
            message: format!(
                "mail goes through {} from {}",
                p.as_str(),
                config.email.from_address.as_deref().unwrap_or_default()
            ),
        },
    };
    checks.insert(
        "email".into(),
        serde_json::to_value(email).map_err(Error::internal)?,
    );
    Ok(Json(Checks { checks }))
}

/// An invite as the web and iOS read it (iOS needs `used` on the create answer too).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct InviteView {
    id: String,
    token: String,
    email: Option<String>,
    expires_at: String,
    used_at: Option<String>,
    used: bool,
    created_at: String,
    created_by: String,
}

impl From<&InviteToken> for InviteView {
    fn from(t: &InviteToken) -> Self {
        Self {
            id: t.id.clone(),
            token: t.token.clone(),
            email: t.email.as_ref().map(|e| e.to_string()),
            expires_at: rfc3339(t.expires_at),
            used_at: t.used_at.map(rfc3339),
            used: t.used_at.is_some(),
            created_at: rfc3339(t.created_at),
            created_by: t.created_by.to_string(),
        }
    }
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct InviteList {
    tokens: Vec<InviteView>,
    total: usize,
}

#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/admin/invite-tokens", tag = "admin", security(("bearer" = [])), responses((status = 200, body = InviteList))))]
async fn invites(State(s): State<AppState>, _: AdminCaller) -> Result<Json<InviteList>> {
    let all = s.admin.invites().await?;
    Ok(Json(InviteList {
        total: all.len(),
        tokens: all.iter().map(InviteView::from).collect(),
    }))
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct NewInvite {
    email: Option<String>,
    expires_in_hours: Option<i64>,
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/admin/invite-tokens", tag = "admin", security(("bearer" = [])), request_body = NewInvite, responses((status = 201, body = InviteView))))]
async fn create_invite(
    State(s): State<AppState>,
    AdminCaller(caller): AdminCaller,
    body: std::result::Result<JsonBody<NewInvite>, Error>,
) -> Result<(StatusCode, Json<InviteView>)> {
    let JsonBody(b) = body.map_err(shape_is_bad_request)?;
    let invite = s
        .admin
        .create_invite(&caller, b.email.as_deref(), b.expires_in_hours)
        .await?;
    Ok((StatusCode::CREATED, Json(InviteView::from(&invite))))
}

#[cfg_attr(feature = "openapi", utoipa::path(delete, path = "/api/admin/invite-tokens/{id}", tag = "admin", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Status))))]
async fn delete_invite(
    State(s): State<AppState>,
    _: AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<Status>> {
    s.admin.delete_invite(&id).await?;
    Ok(Status::json("success"))
}
