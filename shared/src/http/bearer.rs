//! Who is calling: the access-token extractors (required, optional, verified only, lenient
//! for logout) and the admin gate. The token is the `Authorization` header's; a GET or HEAD
//! without that header may carry it in the `access_token` cookie instead (Bedrud's, which
//! the web's `<img>` tags rely on). A request that changes anything never authenticates by
//! cookie, so no other site can make a browser change something in its user's name.

use std::borrow::Cow;

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use cookie::Cookie;

use crate::auth::AccessClaims;
use crate::domain::policy::Caller;
use crate::error::Error;
use crate::state::AppState;

/// A caller holding a valid access token (`Authorization: Bearer <jwt>`; a bare token is
/// accepted too, as Bedrud did) of a live session. Refresh tokens never pass. Any failure
/// is 401.
pub struct Bearer(pub AccessClaims);

/// A valid access token whose session the route checks itself, in its own store read (join
/// and refresh-token read room, member and session in one request). Use [`Bearer`] anywhere
/// else.
pub struct VerifiedToken(pub AccessClaims);

/// Like [`Bearer`], but no `Authorization` header at all is `None` (an anonymous visitor).
/// A header that is present but invalid or expired is still 401: answering as if anonymous
/// would tell an owner with an expired token "this room is private" instead of prompting the
/// client to refresh.
pub struct MaybeBearer(pub Option<AccessClaims>);

/// For logout only: an access token that is invalid or expired is ignored, because the
/// refresh token (body or cookie) may still name the session to end.
pub struct LenientBearer(pub Option<AccessClaims>);

/// The header's token, borrowed (every API client's way, so no copy per request), else the
/// cookie's.
fn token(parts: &Parts) -> Option<Cow<'_, str>> {
    let Some(header) = parts.headers.get(AUTHORIZATION) else {
        return cookie_token(parts).map(Cow::Owned);
    };
    let raw = header.to_str().ok()?.trim();
    let token = match raw.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        Some(_) => return None,
        None => raw,
    };
    (!token.is_empty()).then_some(Cow::Borrowed(token))
}

/// The access token as a cookie (Bedrud's), which GET requests without an `Authorization`
/// header are authenticated by: the web's `<img>` tags and its provider sign-in landing.
pub(crate) const ACCESS_COOKIE: &str = "access_token";

/// A cookie's value, if the request carries it non-empty.
pub(crate) fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(|c| c.ok())
        .find(|c| c.name() == name && !c.value().is_empty())
        .map(|c| c.value().to_string())
}

/// The `access_token` cookie, on a request that only reads.
fn cookie_token(parts: &Parts) -> Option<String> {
    (parts.method == Method::GET || parts.method == Method::HEAD)
        .then(|| cookie_value(&parts.headers, ACCESS_COOKIE))
        .flatten()
}

impl FromRequestParts<AppState> for Bearer {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let token = token(parts).ok_or_else(|| Error::unauthorized("Missing authorization"))?;
        state.auth.authenticate(&token).await.map(Bearer)
    }
}

impl FromRequestParts<AppState> for MaybeBearer {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        if !parts.headers.contains_key(AUTHORIZATION) {
            // A stale cookie leaves a page anyone may read open to its reader, as anonymous.
            let Some(t) = cookie_token(parts) else {
                return Ok(MaybeBearer(None));
            };
            return Ok(MaybeBearer(state.auth.authenticate(&t).await.ok()));
        }
        let t = token(parts).ok_or_else(|| Error::unauthorized("Invalid authorization"))?;
        state
            .auth
            .authenticate(&t)
            .await
            .map(|c| MaybeBearer(Some(c)))
    }
}

impl FromRequestParts<AppState> for LenientBearer {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let Some(t) = token(parts) else {
            return Ok(LenientBearer(None));
        };
        Ok(LenientBearer(state.auth.authenticate(&t).await.ok()))
    }
}

impl FromRequestParts<AppState> for VerifiedToken {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let token = token(parts).ok_or_else(|| Error::unauthorized("Missing authorization"))?;
        state.auth.keys().verify_access(&token).map(VerifiedToken)
    }
}

/// A caller holding the admin (or superadmin) access.
pub struct AdminCaller(pub Caller);

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let Bearer(claims) = Bearer::from_request_parts(parts, state).await?;
        let caller = claims.caller()?;
        if !caller.is_admin() {
            return Err(Error::forbidden("Insufficient access rights"));
        }
        Ok(AdminCaller(caller))
    }
}
