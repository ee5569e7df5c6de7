//! E-mail verification and password reset (`/api/auth/verify*`, `forgot-password`,
//! `reset-password`) in Bedrud's wire format, and the admin's verify and resend. Requests
//! that name an address answer the same whatever it is; the mail itself is a queued job.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::auth::{
    SessionView, SnakeTokens, TOO_MANY, auth_rule, limit, verify_first, with_session_cookies,
};
use super::bearer::{AdminCaller, Bearer};
use super::client_ip::ClientIp;
use super::json::JsonBody;
use super::reply::Message;
use crate::accounts::{MailKind, VerifyRefusal};
use crate::auth::SignIn;
use crate::domain::{Email, UserId};
use crate::error::{Error, Result};
use crate::ratelimit::Rule;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/verify", post(verify))
        .route("/api/auth/verify/status", get(status))
        .route("/api/auth/verify/resend", post(resend))
        .route("/api/auth/forgot-password", post(forgot_password))
        .route("/api/auth/reset-password", post(reset_password))
        .route("/api/admin/users/{user_id}/verify", post(admin_verify))
        .route(
            "/api/admin/users/{user_id}/verify/resend",
            post(admin_resend),
        )
}

#[cfg(feature = "openapi")]
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    verify,
    status,
    resend,
    forgot_password,
    reset_password,
    admin_verify,
    admin_resend
))]
pub(super) struct Api;

/// Signed in by a confirmed link: the session, the pair again in snake case (what the web
/// stores), and `verified`.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct Verified {
    #[serde(flatten)]
    session: SessionView,
    #[serde(flatten)]
    pair: SnakeTokens,
    verified: bool,
}

/// `already_verified` beside the error, which the web reads to say so.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct AlreadyVerified {
    error: &'static str,
    already_verified: bool,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct VerificationStatus<'a> {
    verified: bool,
    email: Option<&'a str>,
    required: bool,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct TokenBody {
    token: Option<String>,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct EmailBody {
    email: Option<String>,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct ResetBody {
    token: Option<String>,
    new_password: Option<String>,
}

fn resend_rule(s: &AppState) -> Rule {
    let c = &s.config.rate_limit;
    Rule {
        max: c.auth_resend_max_requests,
        window_secs: c.auth_resend_window_secs,
    }
}

/// `POST /api/auth/verify`: confirms the address and signs in (the web stores the
/// snake_case pair, then opens the dashboard; the refresh cookie is set too, which Bedrud
/// forgets). 401 for a bad or expired link, 409 when already confirmed.
#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/auth/verify", tag = "accounts", request_body = TokenBody,
    responses((status = 200, body = Verified), (status = 401, description = "A bad or expired link"),
        (status = 409, description = "Already confirmed", body = AlreadyVerified))))]
async fn verify(
    State(s): State<AppState>,
    ip: ClientIp,
    JsonBody(b): JsonBody<TokenBody>,
) -> Result<Response> {
    limit(&s, ip, "auth", auth_rule(&s), TOO_MANY).await?;
    let token = b.token.filter(|t| !t.trim().is_empty());
    let token = token.ok_or_else(|| Error::bad_request("No verification token provided"))?;
    let user = match s.accounts.verify(&token).await? {
        Ok(user) => user,
        Err(VerifyRefusal::Invalid) => {
            return Err(Error::unauthorized("The verification link has expired"));
        }
        Err(VerifyRefusal::UserGone) => return Err(Error::not_found("User not found")),
        Err(VerifyRefusal::AlreadyVerified) => {
            let body = AlreadyVerified {
                error: "Email already verified",
                already_verified: true,
            };
            return Ok((StatusCode::CONFLICT, Json(body)).into_response());
        }
    };
    match s.auth.sign_in(user).await? {
        SignIn::Session(user, tokens) => {
            let body = Verified {
                session: SessionView::new(&user, &tokens),
                pair: SnakeTokens::from(&tokens),
                verified: true,
            };
            Ok(with_session_cookies(&s, Json(body), &tokens))
        }
        SignIn::VerifyFirst(user) => Ok(verify_first(&user, StatusCode::FORBIDDEN)),
    }
}

/// `GET /api/auth/verify/status`: whether the caller's address is confirmed, read now.
#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/auth/verify/status", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = VerificationStatus))))]
async fn status(State(s): State<AppState>, Bearer(claims): Bearer) -> Result<Response> {
    let user = s.auth.me(&claims).await?;
    let body = VerificationStatus {
        verified: user.email_verified(),
        email: user.email.as_ref().map(|e| e.as_str()),
        required: s.accounts.verification_required(),
    };
    Ok(Json(body).into_response())
}

/// `POST /api/auth/verify/resend`: always 200 (a silent per-address cooldown), 429 per
/// client over `rateLimit.authResend*`.
#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/auth/verify/resend", tag = "accounts", request_body = EmailBody,
    description = "The same answer for every address; a silent per-address cooldown.",
    responses((status = 200, body = Message), (status = 429, description = "Too many requests from this client"))))]
async fn resend(
    State(s): State<AppState>,
    ip: ClientIp,
    JsonBody(b): JsonBody<EmailBody>,
) -> Result<Json<Message>> {
    let sent = "If the account exists, a verification email has been sent";
    by_address(&s, ip, &b, MailKind::Verification, sent).await
}

/// `POST /api/auth/forgot-password`: as resend, with a reset link.
#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/auth/forgot-password", tag = "accounts", request_body = EmailBody,
    description = "The same answer for every address: a reset link is mailed when it has an account.",
    responses((status = 200, body = Message), (status = 429, description = "Too many requests from this client"))))]
async fn forgot_password(
    State(s): State<AppState>,
    ip: ClientIp,
    JsonBody(b): JsonBody<EmailBody>,
) -> Result<Json<Message>> {
    let sent = "If the account exists, a password reset email has been sent";
    by_address(&s, ip, &b, MailKind::Reset, sent).await
}

/// A mail asked for by address: the same answer, and the same work (one queued job), for
/// every well-formed address; only an empty field is refused.
async fn by_address(
    s: &AppState,
    ip: ClientIp,
    b: &EmailBody,
    kind: MailKind,
    answer: &'static str,
) -> Result<Json<Message>> {
    let raw = b.email.as_deref().map(str::trim).unwrap_or_default();
    if raw.is_empty() {
        return Err(Error::bad_request("Email is required"));
    }
    limit(s, ip, "auth-resend", resend_rule(s), TOO_MANY).await?;
    if let Ok(email) = Email::parse(raw) {
        s.accounts.request(kind, &email, false).await?;
    }
    Ok(Message::json(answer))
}

/// `POST /api/auth/reset-password`: sets the new password with a reset link, once, and signs
/// out every session.
#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/auth/reset-password", tag = "accounts", request_body = ResetBody,
    responses((status = 200, body = Message), (status = 400, description = "A bad or used link, or a weak password"))))]
async fn reset_password(
    State(s): State<AppState>,
    ip: ClientIp,
    JsonBody(b): JsonBody<ResetBody>,
) -> Result<Json<Message>> {
    limit(&s, ip, "auth", auth_rule(&s), TOO_MANY).await?;
    let token = b.token.filter(|t| !t.trim().is_empty());
    let token = token.ok_or_else(|| Error::bad_request("Token is required"))?;
    let password = b
        .new_password
        .ok_or_else(|| Error::bad_request("newPassword is required"))?;
    s.accounts.reset_password(&token, &password).await?;
    Ok(Message::json(
        "Password has been reset successfully. You can now log in with your new password.",
    ))
}

/// `POST /api/admin/users/{id}/verify`: an admin confirms the address.
#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/admin/users/{user_id}/verify", tag = "admin", security(("bearer" = [])),
    params(("user_id" = String, Path)), responses((status = 200, body = Message))))]
async fn admin_verify(
    State(s): State<AppState>,
    AdminCaller(_): AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<Message>> {
    let id = UserId::parse(&id).map_err(|_| Error::not_found("User not found"))?;
    s.accounts
        .mark_verified(&id)
        .await?
        .ok_or_else(|| Error::not_found("User not found"))?;
    Ok(Message::json("Email marked as verified"))
}

/// `POST /api/admin/users/{id}/verify/resend`: sends a fresh link now (no cooldown).
#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/admin/users/{user_id}/verify/resend", tag = "admin", security(("bearer" = [])),
    params(("user_id" = String, Path)), responses((status = 200, body = Message), (status = 409, description = "Already confirmed"))))]
async fn admin_resend(
    State(s): State<AppState>,
    AdminCaller(_): AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<Message>> {
    let id = UserId::parse(&id).map_err(|_| Error::not_found("User not found"))?;
    let user = s
        .auth
        .user(&id)
        .await?
        .ok_or_else(|| Error::not_found("User not found"))?;
    let Some(email) = user.email.as_ref() else {
        return Err(Error::bad_request("This account has no email address"));
    };
    if user.email_verified() {
        return Err(Error::conflict("Email already verified"));
    }
    s.accounts
        .request(MailKind::Verification, email, true)
        .await?;
    Ok(Message::json("Verification email sent"))
}
