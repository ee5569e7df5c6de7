//! `GET /api/auth/{provider}/login` and `/callback`: sign-in with Google, GitHub and X the way
//! the web client expects it. The session travels in cookies, never in a web URL: the callback
//! sets the refresh cookie and sends the browser to `<auth.frontendURL>/auth/callback`, whose
//! page refreshes with that cookie. Without a front end URL it answers the session as JSON.
//! A front end URL in an app's own scheme (the iOS app's `bedrud://oauth`) is where the
//! system's sign-in sheet hands the session to that app: no cookie reaches it, so the access
//! token rides in the query as `token`, which is all the app reads (no refresh token: it
//! signs in again when that token expires, after `auth.accessTokenTTL`).

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::auth::{
    SessionView, TOO_MANY, auth_rule, cookie_value, http_only_cookie, limit, verify_first,
    with_session_cookies,
};
use super::client_ip::ClientIp;
use crate::auth::{IssuedTokens, SignIn};
use crate::config::is_web_url;
use crate::domain::{User, now};
use crate::error::{Error, Result};
use crate::oauth::{Callback, OAuth, PENDING_TTL_SECS};
use crate::state::AppState;

/// The started sign-in (state, PKCE verifier, nonce), sealed; only the callback reads it.
const PENDING_COOKIE: &str = "bedrud_oauth";
const PENDING_COOKIE_PATH: &str = "/api/auth";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/{provider}/login", get(login))
        .route("/api/auth/{provider}/callback", get(callback))
}

#[cfg(feature = "openapi")]
#[derive(utoipa::OpenApi)]
#[openapi(paths(login, callback))]
pub(super) struct Api;

#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/auth/{provider}/login", tag = "auth",
    description = "Starts signing in with a provider: a redirect to it, with the cookie that binds the callback to this browser.",
    params(("provider" = String, Path, description = "`google`, `github` or `twitter`")),
    responses((status = 307, description = "To the provider's sign-in page"),
        (status = 400, description = "The provider is not configured"),
        (status = 404, description = "No such provider"))))]
async fn login(
    State(s): State<AppState>,
    ip: ClientIp,
    Path(provider): Path<String>,
) -> Result<Response> {
    limit(&s, ip, "auth", auth_rule(&s), TOO_MANY).await?;
    let started = sign_in(&s)?.start(&provider, now())?;
    let cookie = http_only_cookie(
        &s,
        PENDING_COOKIE,
        started.cookie,
        PENDING_COOKIE_PATH,
        PENDING_TTL_SECS,
    );
    Ok((
        StatusCode::TEMPORARY_REDIRECT,
        [(LOCATION, started.location)],
        [(SET_COOKIE, cookie)],
    )
        .into_response())
}

#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/auth/{provider}/callback", tag = "auth",
    description = "Where the provider sends the browser back: signs in the linked account, links one by a verified address, or creates one. The refresh cookie is set.",
    params(("provider" = String, Path, description = "`google`, `github` or `twitter`"),
        ("code" = Option<String>, Query), ("state" = Option<String>, Query),
        ("error" = Option<String>, Query), ("error_description" = Option<String>, Query)),
    responses((status = 302, description = "To `<auth.frontendURL>/auth/callback` (with `?token=<access token>` when that URL is an app's own scheme, such as iOS's `bedrud://oauth`)"),
        (status = 200, description = "Signed in (no front end URL is configured)", body = SessionView),
        (status = 400, description = "Expired or foreign sign-in, a refused code, or the provider's error"),
        (status = 403, description = "Registration is closed, the account is deactivated, or the provider shared no verified address"),
        (status = 409, description = "The address belongs to an account the provider's answer cannot be linked to"),
        (status = 502, description = "The provider could not be reached or answered unexpectedly"))))]
async fn callback(
    State(s): State<AppState>,
    ip: ClientIp,
    Path(provider): Path<String>,
    Query(answer): Query<Callback>,
    headers: HeaderMap,
) -> Result<Response> {
    limit(&s, ip, "auth", auth_rule(&s), TOO_MANY).await?;
    let pending = cookie_value(&headers, PENDING_COOKIE);
    let outcome = async {
        let profile = sign_in(&s)?
            .finish(&provider, answer, pending.as_deref(), now())
            .await?;
        s.auth.sign_in_with(&profile).await
    }
    .await;
    let mut res = match outcome {
        Ok(SignIn::Session(user, tokens)) => landing(&s, &user, &tokens),
        Ok(SignIn::VerifyFirst(user)) => verify_first(&user, StatusCode::FORBIDDEN),
        Err(e) => e.into_response(),
    };
    // The started sign-in is spent, whatever came of it.
    let spent = http_only_cookie(&s, PENDING_COOKIE, String::new(), PENDING_COOKIE_PATH, 0);
    res.headers_mut().append(SET_COOKIE, spent);
    Ok(res)
}

/// The providers, where this process serves sign-in with them.
fn sign_in(s: &AppState) -> Result<&OAuth> {
    s.oauth
        .as_deref()
        .ok_or_else(|| Error::NotSetUp("sign-in with a provider is not served here".into()))
}

/// The web's landing page (`/auth/callback` on the front end's origin) with the refresh
/// cookie, or the session itself when no front end is configured.
fn landing(s: &AppState, user: &User, tokens: &IssuedTokens) -> Response {
    match s.config.auth.frontend_origin() {
        Some(app) if !is_web_url(app) => {
            let to = format!("{app}/auth/callback?token={}", tokens.access);
            (StatusCode::FOUND, [(LOCATION, to)]).into_response()
        }
        Some(front) => {
            let to = format!("{front}/auth/callback");
            with_session_cookies(s, (StatusCode::FOUND, [(LOCATION, to)]), tokens)
        }
        None => {
            let body = SessionView::new(user, tokens).with_top_level();
            with_session_cookies(s, Json(body), tokens)
        }
    }
}
