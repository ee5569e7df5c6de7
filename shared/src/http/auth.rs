//! `/api/auth/*` in Bedrud's wire format: the superset every client decodes (web, Android,
//! iOS, desktop), refresh through the `refresh_token` cookie for the web.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::header::{CONTENT_TYPE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};

pub(crate) use super::bearer::cookie_value;
use super::bearer::{ACCESS_COOKIE, Bearer, LenientBearer};
use super::client_ip::ClientIp;
use super::json::JsonBody;
use super::reply::Message;
use super::rfc3339;
use crate::auth::{IssuedTokens, SignIn, VERIFY_FIRST};
use crate::domain::User;
use crate::error::{Error, Result};
use crate::ratelimit::{Rule, enforce};
use crate::state::AppState;

const REFRESH_COOKIE: &str = "refresh_token";
/// Covers `/api/auth/refresh` and `/api/auth/logout`, and nothing else.
const REFRESH_COOKIE_PATH: &str = "/api/auth";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/register", post(register))
        .route("/api/auth/login", post(login))
        .route("/api/auth/guest-login", post(guest_login))
        .route("/api/auth/refresh", post(refresh))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/me", get(me).put(update_me))
        .route("/api/auth/password", put(change_password))
        .route("/api/auth/settings", get(settings))
        .route(
            "/api/auth/preferences",
            get(preferences).put(set_preferences),
        )
}

#[cfg(feature = "openapi")]
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    register,
    login,
    guest_login,
    refresh,
    logout,
    me,
    update_me,
    change_password,
    settings,
    preferences,
    set_preferences
))]
pub(super) struct Api;

/// The `User` JSON every client decodes (web, Android, iOS, desktop: the superset).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    id: String,
    email: String,
    name: String,
    provider: &'static str,
    accesses: Vec<&'static str>,
    avatar_url: Option<String>,
    is_active: bool,
    is_admin: bool,
    created_at: String,
    updated_at: String,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            email: u.email_or_placeholder(),
            name: u.name.to_string(),
            provider: u.provider.as_str(),
            accesses: u.accesses.iter().map(|a| a.as_str()).collect(),
            avatar_url: u.avatar_url.clone(),
            is_active: u.is_active,
            is_admin: u.is_admin(),
            created_at: rfc3339(u.created_at),
            updated_at: rfc3339(u.updated_at),
        }
    }
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct RegisterBody {
    email: String,
    password: String,
    name: String,
    invite_token: Option<String>,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct LoginBody {
    email: String,
    password: String,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct GuestBody {
    name: String,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct RefreshBody {
    refresh_token: Option<String>,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct ProfileBody {
    name: Option<String>,
    email: Option<String>,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct PasswordBody {
    current_password: String,
    new_password: String,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct PreferencesBody {
    preferences_json: String,
}

pub(crate) async fn limit(
    state: &AppState,
    ip: ClientIp,
    bucket: &str,
    rule: Rule,
    message: &str,
) -> Result<()> {
    enforce(state.limiter.as_ref(), bucket, &ip.key(), rule, message).await
}

pub(crate) fn auth_rule(state: &AppState) -> Rule {
    let c = &state.config.rate_limit;
    Rule {
        max: c.auth_max_requests,
        window_secs: c.auth_window_secs,
    }
}

/// Password attempts against one account, from anywhere: guessing spread over many
/// addresses (or with a stolen token) is held to this too.
async fn limit_account(state: &AppState, account: &str) -> Result<()> {
    let c = &state.config.rate_limit;
    let rule = Rule {
        max: c.account_max_attempts,
        window_secs: c.account_window_secs,
    };
    enforce(
        state.limiter.as_ref(),
        "account",
        account,
        rule,
        "too many password attempts for this account, please try again later",
    )
    .await
}

/// A request that a cookie authenticates must declare JSON. A cross-site form can only send
/// form or text bodies, and a cross-site `fetch` with a JSON type needs a CORS preflight this
/// server does not grant, so another site cannot ride the cookie (the web client always
/// sends `Content-Type: application/json`).
pub(crate) fn require_json_for_cookie(headers: &HeaderMap) -> Result<()> {
    let json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
    if json {
        Ok(())
    } else {
        Err(Error::forbidden(
            "requests authenticated by cookie must be sent with Content-Type: application/json",
        ))
    }
}

pub(crate) fn guest_rule(state: &AppState) -> Rule {
    let c = &state.config.rate_limit;
    Rule {
        max: c.guest_max_requests,
        window_secs: c.guest_window_secs,
    }
}

pub(crate) const TOO_MANY: &str = "too many requests, please try again later";

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/auth/register", tag = "auth",
    description = "Creates an account and signs in (the refresh cookie is set), or asks to confirm the address first.",
    request_body = RegisterBody,
    responses((status = 200, description = "Signed in, or `requiresVerification`", body = SessionView),
        (status = 403, description = "Registration is closed or needs an invite token"),
        (status = 409, description = "The address has an account"))))]
async fn register(
    State(s): State<AppState>,
    ip: ClientIp,
    JsonBody(b): JsonBody<RegisterBody>,
) -> Result<Response> {
    limit(&s, ip, "auth", auth_rule(&s), TOO_MANY).await?;
    let (user, tokens) = match s
        .auth
        .register(&b.email, &b.password, &b.name, b.invite_token.as_deref())
        .await?
    {
        SignIn::Session(user, tokens) => (user, tokens),
        SignIn::VerifyFirst(user) => {
            send_verification(&s, &user).await;
            return Ok(verify_first(&user, StatusCode::OK));
        }
    };
    // iOS decodes top-level tokens; web and desktop read `user` and `tokens`.
    let body = SessionView::new(&user, &tokens).with_top_level();
    Ok(with_session_cookies(&s, Json(body), &tokens))
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/auth/login", tag = "auth",
    description = "Signs in with an address and password; the refresh cookie is set.",
    request_body = LoginBody,
    responses((status = 200, body = SessionView),
        (status = 401, description = "Wrong address or password"),
        (status = 403, description = "The address must be confirmed first", body = VerifyFirst),
        (status = 429, description = "Too many attempts from this client or for this account"))))]
async fn login(
    State(s): State<AppState>,
    ip: ClientIp,
    JsonBody(b): JsonBody<LoginBody>,
) -> Result<Response> {
    limit(&s, ip, "auth", auth_rule(&s), TOO_MANY).await?;
    limit_account(&s, &b.email.trim().to_lowercase()).await?;
    let (user, tokens) = match s.auth.login(&b.email, &b.password).await? {
        SignIn::Session(user, tokens) => (user, tokens),
        SignIn::VerifyFirst(user) => return Ok(verify_first(&user, StatusCode::FORBIDDEN)),
    };
    let body = SessionView::new(&user, &tokens);
    Ok(with_session_cookies(&s, Json(body), &tokens))
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/auth/guest-login", tag = "auth",
    request_body = GuestBody,
    responses((status = 200, body = SessionView), (status = 403, description = "Guest login is off"))))]
async fn guest_login(
    State(s): State<AppState>,
    ip: ClientIp,
    JsonBody(b): JsonBody<GuestBody>,
) -> Result<Response> {
    let rule = guest_rule(&s);
    limit(&s, ip, "guest", rule, "too many guest login attempts").await?;
    let (user, tokens) = s.auth.guest_login(&b.name).await?;
    let body = SessionView::new(&user, &tokens);
    Ok(with_session_cookies(&s, Json(body), &tokens))
}

/// The body names the token (mobile); otherwise the cookie does (web, R4).
#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/auth/refresh", tag = "auth",
    description = "Rotates the refresh token (body, else the `refresh_token` cookie with a JSON content type).",
    request_body = RefreshBody,
    responses((status = 200, body = SnakeTokens), (status = 401, description = "Unknown, used or expired refresh token"))))]
async fn refresh(
    State(s): State<AppState>,
    headers: HeaderMap,
    JsonBody(b): JsonBody<RefreshBody>,
) -> Result<Response> {
    let token = match b.refresh_token.filter(|t| !t.is_empty()) {
        Some(t) => t,
        None => {
            let cookie = cookie_value(&headers, REFRESH_COOKIE)
                .ok_or_else(|| Error::bad_request("refresh_token is required"))?;
            require_json_for_cookie(&headers)?;
            cookie
        }
    };
    let (_, tokens) = s.auth.refresh(&token).await?;
    Ok(with_session_cookies(
        &s,
        Json(SnakeTokens::from(&tokens)),
        &tokens,
    ))
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/api/auth/logout", tag = "auth",
    description = "Ends the session named by the refresh token (body or cookie) or the access token.",
    request_body = RefreshBody, security((), ("bearer" = [])),
    responses((status = 200, body = Message))))]
async fn logout(
    State(s): State<AppState>,
    LenientBearer(access): LenientBearer,
    headers: HeaderMap,
    JsonBody(b): JsonBody<RefreshBody>,
) -> Result<Response> {
    let refresh = match b.refresh_token {
        Some(t) => Some(t),
        None => {
            let cookie = cookie_value(&headers, REFRESH_COOKIE);
            if cookie.is_some() && access.is_none() {
                require_json_for_cookie(&headers)?;
            }
            cookie
        }
    };
    if !s.auth.logout(refresh.as_deref(), access.as_ref()).await? {
        return Err(Error::unauthorized("Missing authorization"));
    }
    let mut res = Message::json("Successfully logged out").into_response();
    let cleared = refresh_cookie(&s, String::new(), 0);
    res.headers_mut().append(SET_COOKIE, cleared);
    let cleared = http_only_cookie(&s, ACCESS_COOKIE, String::new(), "/", 0);
    res.headers_mut().append(SET_COOKIE, cleared);
    Ok(res)
}

#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = UserView))))]
async fn me(State(s): State<AppState>, Bearer(claims): Bearer) -> Result<Json<UserView>> {
    Ok(Json(UserView::from(&s.auth.me(&claims).await?)))
}

#[cfg_attr(feature = "openapi", utoipa::path(put, path = "/api/auth/me", tag = "auth", security(("bearer" = [])),
    description = "Changes the name and/or address; a new address must be confirmed again.",
    request_body = ProfileBody,
    responses((status = 200, body = ProfileView), (status = 409, description = "The address has an account"))))]
async fn update_me(
    State(s): State<AppState>,
    Bearer(claims): Bearer,
    JsonBody(b): JsonBody<ProfileBody>,
) -> Result<Json<ProfileView>> {
    if b.name.is_none() && b.email.is_none() {
        return Err(Error::bad_request("name or email is required"));
    }
    let (user, email_changed) = s
        .auth
        .update_profile(&claims, b.name.as_deref(), b.email.as_deref())
        .await?;
    if email_changed {
        // The new address is unconfirmed from this write on; the link goes to it.
        send_verification(&s, &user).await;
    }
    Ok(Json(ProfileView {
        user: UserView::from(&user),
        requires_verification: email_changed,
        message: email_changed.then_some("Verification email sent to new address"),
    }))
}

#[cfg_attr(feature = "openapi", utoipa::path(put, path = "/api/auth/password", tag = "auth", security(("bearer" = [])),
    request_body = PasswordBody,
    responses((status = 200, body = Message), (status = 400, description = "Wrong current password (never 401, which signs mobile clients out)"))))]
async fn change_password(
    State(s): State<AppState>,
    ip: ClientIp,
    Bearer(claims): Bearer,
    JsonBody(b): JsonBody<PasswordBody>,
) -> Result<Json<Message>> {
    limit(&s, ip, "auth", auth_rule(&s), TOO_MANY).await?;
    limit_account(&s, &claims.user_id).await?;
    s.auth
        .change_password(&claims, &b.current_password, &b.new_password)
        .await?;
    Ok(Message::json("Password updated successfully"))
}

/// Public settings; clients fall back to permissive defaults on failure, so this must answer
/// (the configuration's values when the stored ones cannot be read).
#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/auth/settings", tag = "auth",
    responses((status = 200, description = "What the sign-in page offers", body = AuthSettings))))]
async fn settings(State(s): State<AppState>) -> Json<AuthSettings> {
    let current = match s.settings.current().await {
        Ok(c) => (*c).clone(),
        Err(e) => {
            tracing::warn!(error = %e, "settings unreadable; answering the configuration's");
            crate::settings::defaults(&s.config)
        }
    };
    let recordings = s.recordings.available().await.unwrap_or(false);
    Json(AuthSettings {
        server_name: current.server_name,
        registration_enabled: current.registration_enabled,
        token_registration_only: current.token_registration_only,
        guest_login_enabled: current.guest_login_enabled,
        passkeys_enabled: s.passkeys.is_some(),
        oauth_providers: s.oauth.as_ref().map(|o| o.providers()).unwrap_or_default(),
        require_email_verification: s.accounts.verification_required(),
        recordings_enabled: recordings,
        chat_message_ttl_hours: current.chat_message_ttl_hours,
        chat_max_message_count: current.chat_max_message_count,
        chat_upload_max_bytes: 0,
        chat_upload_max_dimension: 0,
        rnnoise_enabled: current.rnnoise_enabled,
        krisp_enabled: current.krisp_enabled,
    })
}

#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/auth/preferences", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Preferences))))]
async fn preferences(
    State(s): State<AppState>,
    Bearer(claims): Bearer,
) -> Result<Json<Preferences>> {
    Ok(Json(Preferences {
        preferences_json: s.auth.preferences(&claims).await?,
    }))
}

#[cfg_attr(feature = "openapi", utoipa::path(put, path = "/api/auth/preferences", tag = "auth", security(("bearer" = [])),
    request_body = PreferencesBody,
    responses((status = 200, body = Message))))]
async fn set_preferences(
    State(s): State<AppState>,
    Bearer(claims): Bearer,
    JsonBody(b): JsonBody<PreferencesBody>,
) -> Result<Json<Message>> {
    s.auth.set_preferences(&claims, &b.preferences_json).await?;
    Ok(Message::json("Preferences updated"))
}

/// The answer to an account that must confirm its address (login, register): what the web
/// and Android read to show "check your inbox".
pub(crate) fn verify_first(user: &User, status: StatusCode) -> Response {
    let email = user.email.as_ref().map(|e| e.as_str()).unwrap_or_default();
    let signed_up = status == StatusCode::OK;
    let body = VerifyFirst {
        error: (!signed_up).then_some(VERIFY_FIRST),
        requires_verification: true,
        message: signed_up.then_some("Please check your email to verify your account"),
        email,
    };
    (status, Json(body)).into_response()
}

/// Queues the verification mail a new or changed address needs. The account is already
/// written, so a failure is logged and the user can ask again (resend).
pub(crate) async fn send_verification(s: &AppState, user: &User) {
    let Some(email) = &user.email else { return };
    let kind = crate::accounts::MailKind::Verification;
    if let Err(e) = s.accounts.request(kind, email, false).await {
        tracing::warn!(user = %user.id, error = %e, "verification mail not queued");
    }
}

/// The pair as web and desktop read it.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenPair {
    access_token: String,
    refresh_token: String,
}

/// The pair in snake case: refresh's answer (every client), and verify's (the web).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(crate) struct SnakeTokens {
    access_token: String,
    refresh_token: String,
}

impl From<&IssuedTokens> for SnakeTokens {
    fn from(t: &IssuedTokens) -> Self {
        Self {
            access_token: t.access.clone(),
            refresh_token: t.refresh.clone(),
        }
    }
}

/// `{user, tokens}`: what login, guest login and register share; register and guest join
/// repeat the pair at the top level (iOS decodes it there).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionView {
    user: UserView,
    tokens: TokenPair,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

impl SessionView {
    pub(crate) fn new(user: &User, tokens: &IssuedTokens) -> Self {
        Self {
            user: UserView::from(user),
            tokens: TokenPair {
                access_token: tokens.access.clone(),
                refresh_token: tokens.refresh.clone(),
            },
            access_token: None,
            refresh_token: None,
        }
    }

    pub(crate) fn with_top_level(mut self) -> Self {
        self.access_token = Some(self.tokens.access_token.clone());
        self.refresh_token = Some(self.tokens.refresh_token.clone());
        self
    }
}

/// "Check your inbox": the answer to sign-up (200, with `message`) and to a sign-in (403,
/// with `error`) while the address is unconfirmed.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct VerifyFirst<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
    requires_verification: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'static str>,
    email: &'a str,
}

/// The caller's profile after a change; `message` when a new address awaits confirmation.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct ProfileView {
    #[serde(flatten)]
    user: UserView,
    requires_verification: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'static str>,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct Preferences {
    preferences_json: String,
}

/// What the sign-in page and the meeting read before anyone signs in.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct AuthSettings {
    server_name: String,
    registration_enabled: bool,
    token_registration_only: bool,
    guest_login_enabled: bool,
    passkeys_enabled: bool,
    oauth_providers: Vec<&'static str>,
    require_email_verification: bool,
    recordings_enabled: bool,
    #[serde(rename = "chatMessageTTLHours")]
    chat_message_ttl_hours: i64,
    chat_max_message_count: i64,
    chat_upload_max_bytes: u64,
    chat_upload_max_dimension: u32,
    rnnoise_enabled: bool,
    krisp_enabled: bool,
}

pub(crate) fn with_session_cookies(
    s: &AppState,
    body: impl IntoResponse,
    tokens: &IssuedTokens,
) -> Response {
    let mut res = body.into_response();
    let cookie = refresh_cookie(s, tokens.refresh.clone(), tokens.refresh_ttl);
    res.headers_mut().append(SET_COOKIE, cookie);
    let ttl = i64::try_from(s.config.auth.access_ttl().as_secs()).unwrap_or(i64::MAX);
    let access = http_only_cookie(s, ACCESS_COOKIE, tokens.access.clone(), "/", ttl);
    res.headers_mut().append(SET_COOKIE, access);
    res
}

fn refresh_cookie(s: &AppState, value: String, max_age_secs: i64) -> HeaderValue {
    http_only_cookie(s, REFRESH_COOKIE, value, REFRESH_COOKIE_PATH, max_age_secs)
}

/// An HttpOnly cookie, Secure and cross-site whenever clients reach us over HTTPS.
pub(crate) fn http_only_cookie(
    s: &AppState,
    name: &'static str,
    value: String,
    path: &'static str,
    max_age_secs: i64,
) -> HeaderValue {
    let secure = s.config.server.secure_cookies();
    let cookie = Cookie::build((name, value))
        .path(path)
        .http_only(true)
        .secure(secure)
        // A separately hosted SPA needs cross-site cookies, which browsers allow only with Secure.
        .same_site(if secure {
            SameSite::None
        } else {
            SameSite::Lax
        })
        .max_age(time::Duration::seconds(max_age_secs))
        .build();
    HeaderValue::from_str(&cookie.to_string()).expect("cookie is a valid header")
}
