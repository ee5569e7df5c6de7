use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::auth::AccessClaims;
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

/// Like [`Bearer`], but absent or invalid credentials are simply `None`.
pub struct MaybeBearer(pub Option<AccessClaims>);

fn token(parts: &Parts) -> Option<&str> {
    let raw = parts.headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let token = match raw.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        Some(_) => return None,
        None => raw,
    };
    (!token.is_empty()).then_some(token)
}

impl FromRequestParts<AppState> for Bearer {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let token = token(parts).ok_or_else(|| Error::unauthorized("Missing authorization"))?;
        state.auth.authenticate(token).await.map(Bearer)
    }
}

impl FromRequestParts<AppState> for MaybeBearer {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let Some(t) = token(parts) else {
            return Ok(MaybeBearer(None));
        };
        Ok(MaybeBearer(state.auth.authenticate(t).await.ok()))
    }
}

impl FromRequestParts<AppState> for VerifiedToken {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let token = token(parts).ok_or_else(|| Error::unauthorized("Missing authorization"))?;
        state.auth.keys().verify_access(token).map(VerifiedToken)
    }
}
