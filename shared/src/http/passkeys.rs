//! `/api/auth/passkey/{register,login,signup}/{begin,finish}` in Bedrud's shapes (flat
//! options, unpadded base64url, the ceremony tied to the browser by the `_gothic_session`
//! cookie), and `/api/auth/passkeys` to list and remove one's own.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::{Deserialize, Serialize};

use super::auth::{
    SessionView, TOO_MANY, auth_rule, cookie_value, http_only_cookie, limit, send_verification,
    verify_first, with_session_cookies,
};
use super::bearer::Bearer;
use super::client_ip::ClientIp;
use super::json::JsonBody;
use super::reply::Message;
use super::rfc3339;
use crate::auth::SignIn;
use crate::domain::User;
use crate::error::{Error, Result};
use crate::passkeys::{Begun, Passkeys};
use crate::state::AppState;
use crate::webauthn::{Assertion, Attestation};

/// Bedrud's name for the cookie that carries the ceremony's id between begin and finish.
const CEREMONY_COOKIE: &str = "_gothic_session";
const CEREMONY_COOKIE_PATH: &str = "/api/auth/passkey";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/passkey/register/begin", post(register_begin))
        .route("/api/auth/passkey/register/finish", post(register_finish))
        .route("/api/auth/passkey/login/begin", post(login_begin))
        .route("/api/auth/passkey/login/finish", post(login_finish))
        .route("/api/auth/passkey/signup/begin", post(signup_begin))
        .route("/api/auth/passkey/signup/finish", post(signup_finish))
        .route("/api/auth/passkeys", get(list))
        .route("/api/auth/passkeys/{id}", delete(remove))
}

#[cfg(feature = "openapi")]
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    register_begin,
    register_finish,
    login_begin,
    login_finish,
    signup_begin,
    signup_finish,
    list,
    remove
))]
pub(super) struct Api;

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct LoginBegin {
    email: Option<String>,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct SignupBegin {
    email: String,
    name: String,
}

/// One of the caller's passkeys.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct PasskeyView {
    id: String,
    name: String,
    created_at: String,
    last_used_at: Option<String>,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct PasskeyList {
    passkeys: Vec<PasskeyView>,
}

fn service(s: &AppState) -> Result<&Passkeys> {
    s.passkeys.as_deref().ok_or_else(|| {
        Error::bad_request("passkeys are not set up on this server (auth.passkey.rpId)")
    })
}

/// The options, with the cookie that names the ceremony.
fn begun(s: &AppState, b: Begun) -> Response {
    let ttl = (s.config.auth.passkey_challenge_ttl.max(1) * 60) as i64;
    let cookie = http_only_cookie(s, CEREMONY_COOKIE, b.ceremony, CEREMONY_COOKIE_PATH, ttl);
    let mut res = Json(b.options).into_response();
    res.headers_mut().append(SET_COOKIE, cookie);
    res
}

/// The ceremony is spent whatever the finish came to.
fn spent(s: &AppState, mut res: Response) -> Response {
    let cookie = http_only_cookie(s, CEREMONY_COOKIE, String::new(), CEREMONY_COOKIE_PATH, 0);
    res.headers_mut().append(SET_COOKIE, cookie);
    res
}

fn ceremony(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, CEREMONY_COOKIE)
}

/// A session for the account, or "confirm your address first" (`status` then).
async fn session(s: &AppState, user: User, unconfirmed: StatusCode) -> Result<Response> {
    Ok(match s.auth.sign_in(user).await? {
        SignIn::Session(user, tokens) => {
            let body = SessionView::new(&user, &tokens);
            with_session_cookies(s, Json(body), &tokens)
        }
        SignIn::VerifyFirst(user) => verify_first(&user, unconfirmed),
    })
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/auth/passkey/register/begin", tag = "passkeys", security(("bearer" = [])),
    description = "Options to add a passkey to the caller's account (flat, base64url); the ceremony cookie is set.",
    responses((status = 200, description = "`navigator.credentials.create` options", body = Object))))]
async fn register_begin(
    State(s): State<AppState>,
    ip: ClientIp,
    Bearer(claims): Bearer,
) -> Result<Response> {
    limit(&s, ip, "auth", auth_rule(&s), TOO_MANY).await?;
    let user = s.auth.me(&claims).await?;
    Ok(begun(&s, service(&s)?.register_begin(&user).await?))
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/auth/passkey/register/finish", tag = "passkeys", security(("bearer" = [])),
    request_body = Object,
    responses((status = 200, body = Message), (status = 400, description = "Expired ceremony, failed verification, or a passkey registered already"))))]
async fn register_finish(
    State(s): State<AppState>,
    ip: ClientIp,
    Bearer(claims): Bearer,
    headers: HeaderMap,
    JsonBody(answer): JsonBody<Attestation>,
) -> Result<Response> {
    limit(&s, ip, "auth", auth_rule(&s), TOO_MANY).await?;
    let user = s.auth.me(&claims).await?;
    let done = service(&s)?
        .register_finish(&user, ceremony(&headers).as_deref(), &answer)
        .await;
    let res = match done {
        Ok(_) => Message::json("Passkey registered successfully").into_response(),
        Err(e) => e.into_response(),
    };
    Ok(spent(&s, res))
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/auth/passkey/login/begin", tag = "passkeys",
    description = "Options to sign in: the address's passkeys when `email` is given, else any discoverable one.",
    request_body = LoginBegin,
    responses((status = 200, description = "`navigator.credentials.get` options", body = Object))))]
async fn login_begin(
    State(s): State<AppState>,
    ip: ClientIp,
    JsonBody(b): JsonBody<LoginBegin>,
) -> Result<Response> {
    limit(&s, ip, "auth", auth_rule(&s), TOO_MANY).await?;
    let begun_login = service(&s)?.login_begin(b.email.as_deref()).await?;
    Ok(begun(&s, begun_login))
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/auth/passkey/login/finish", tag = "passkeys",
    description = "Signs in with the assertion; the refresh cookie is set.",
    request_body = Object,
    responses((status = 200, body = SessionView), (status = 400, description = "Expired ceremony or bad encoding"),
        (status = 401, description = "The assertion does not verify"),
        (status = 403, description = "The address must be confirmed first"))))]
async fn login_finish(
    State(s): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    JsonBody(answer): JsonBody<Assertion>,
) -> Result<Response> {
    limit(&s, ip, "auth", auth_rule(&s), TOO_MANY).await?;
    let done = async {
        let user = service(&s)?
            .login_finish(ceremony(&headers).as_deref(), &answer)
            .await?;
        session(&s, user, StatusCode::FORBIDDEN).await
    }
    .await;
    Ok(spent(&s, done.unwrap_or_else(IntoResponse::into_response)))
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/auth/passkey/signup/begin", tag = "passkeys",
    description = "Options to create an account with a passkey; the registration rules apply.",
    request_body = SignupBegin,
    responses((status = 200, description = "`navigator.credentials.create` options", body = Object),
        (status = 400, description = "Bad input, or the address has an account"),
        (status = 403, description = "Registration is closed or needs an invite token"))))]
async fn signup_begin(
    State(s): State<AppState>,
    ip: ClientIp,
    JsonBody(b): JsonBody<SignupBegin>,
) -> Result<Response> {
    limit(&s, ip, "auth", auth_rule(&s), TOO_MANY).await?;
    let settings = s.settings.current().await?;
    if !settings.registration_enabled {
        return Err(Error::forbidden("Registration is currently disabled"));
    }
    // Invite-only: Bedrud's web never sends the token here; the invite is spent by a password
    // sign-up, after which a passkey can be added.
    if settings.token_registration_only {
        return Err(Error::forbidden(
            "An invite token is required to register: sign up with a password and the invite, then add a passkey",
        ));
    }
    let begun_signup = service(&s)?.signup_begin(&b.email, &b.name).await?;
    Ok(begun(&s, begun_signup))
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/auth/passkey/signup/finish", tag = "passkeys",
    description = "Creates the account with its passkey and signs in (or asks to confirm the address first).",
    request_body = Object,
    responses((status = 200, description = "Signed in, or `requiresVerification`", body = SessionView),
        (status = 400, description = "Expired ceremony, failed verification, or the address has an account"))))]
async fn signup_finish(
    State(s): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    JsonBody(answer): JsonBody<Attestation>,
) -> Result<Response> {
    limit(&s, ip, "auth", auth_rule(&s), TOO_MANY).await?;
    let done = async {
        let user = service(&s)?
            .signup_finish(ceremony(&headers).as_deref(), &answer)
            .await?;
        if user.signup_pending {
            send_verification(&s, &user).await;
        }
        session(&s, user, StatusCode::OK).await
    }
    .await;
    Ok(spent(&s, done.unwrap_or_else(IntoResponse::into_response)))
}

#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/auth/passkeys", tag = "passkeys", security(("bearer" = [])),
    responses((status = 200, body = PasskeyList))))]
async fn list(State(s): State<AppState>, Bearer(claims): Bearer) -> Result<Json<PasskeyList>> {
    let user = s.auth.me(&claims).await?;
    let passkeys = service(&s)?
        .list(&user)
        .await?
        .into_iter()
        .map(|p| PasskeyView {
            id: p.id,
            name: p.name,
            created_at: rfc3339(p.created_at),
            last_used_at: p.last_used_at.map(rfc3339),
        })
        .collect();
    Ok(Json(PasskeyList { passkeys }))
}

#[cfg_attr(feature = "openapi", utoipa::path(delete, path = "/api/auth/passkeys/{id}", tag = "passkeys", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Message), (status = 404, description = "The caller has no such passkey"))))]
async fn remove(
    State(s): State<AppState>,
    Bearer(claims): Bearer,
    Path(id): Path<String>,
) -> Result<Json<Message>> {
    let user = s.auth.me(&claims).await?;
    service(&s)?.remove(&user, &id).await?;
    Ok(Message::json("Passkey removed"))
}
