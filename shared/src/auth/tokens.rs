//! API tokens: typed HS256 JWTs (access, refresh, the guest marker) and the claims clients
//! decode from them.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::policy::Caller;
use crate::domain::{Access, DisplayName, SessionId, UnixTime, User, UserId};
use crate::error::Error;

const ISSUER: &str = "bedrud";
const ACCESS: &str = "access";
const REFRESH: &str = "refresh";
const GUEST_MARKER: &str = "guest";
/// How long a browser keeps its guest identity (Bedrud: 30 days), so bans stick.
pub const GUEST_MARKER_TTL: i64 = 30 * 24 * 3600;

/// Claims of an API access token. The camelCase names are what the web and iOS clients
/// decode (`userId`, `email`, `provider`, `accesses`, `exp`, `iat`); `typ` keeps refresh
/// tokens from ever passing as access tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessClaims {
    pub sub: String,
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub provider: String,
    pub accesses: Vec<String>,
    /// The session (refresh family) this token was issued under; logout revokes it.
    pub sid: String,
    /// Whether the account's address was confirmed when the token was issued (tokens from
    /// before verification existed count as confirmed). Joining checks it, with no read.
    #[serde(default = "confirmed")]
    pub email_verified: bool,
    pub typ: String,
    pub iss: String,
    pub iat: UnixTime,
    pub exp: UnixTime,
}

fn confirmed() -> bool {
    true
}

/// Claims of a refresh token: which session, and which generation of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshClaims {
    pub sub: String,
    pub sid: String,
    pub generation: u64,
    pub typ: String,
    pub iss: String,
    pub iat: UnixTime,
    pub exp: UnixTime,
}

impl AccessClaims {
    /// The caller as room policy sees them. The name is the one signed into the token.
    pub fn caller(&self) -> Result<Caller, Error> {
        Ok(Caller {
            id: UserId::parse(&self.user_id).map_err(|_| Error::unauthorized("Invalid token"))?,
            name: DisplayName::from_trusted(self.name.clone()),
            accesses: self
                .accesses
                .iter()
                .filter_map(|a| Access::parse(a))
                .collect(),
        })
    }
}

/// Remembers a browser's guest identity across visits (cookie `bedrud_guest_id`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct GuestMarker {
    sub: String,
    typ: String,
    iss: String,
    iat: UnixTime,
    exp: UnixTime,
}

/// HS256 keys and lifetimes for API tokens.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub access_ttl: i64,
    pub refresh_ttl: i64,
}

impl TokenKeys {
    pub fn new(secret: &str, access_ttl_secs: u64, refresh_ttl_secs: u64) -> Self {
        // jsonwebtoken 10 needs a process-wide crypto provider; HS256 is all we sign with.
        super::jwt_hmac::install();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            access_ttl: access_ttl_secs as i64,
            refresh_ttl: refresh_ttl_secs as i64,
        }
    }

    pub fn issue_access(
        &self,
        user: &User,
        sid: &SessionId,
        now: UnixTime,
    ) -> Result<String, Error> {
        let claims = AccessClaims {
            sub: user.id.to_string(),
            user_id: user.id.to_string(),
            email: user.email_or_placeholder(),
            name: user.name.to_string(),
            provider: user.provider.as_str().into(),
            accesses: user
                .accesses
                .iter()
                .map(|a| a.as_str().to_string())
                .collect(),
            sid: sid.as_str().into(),
            email_verified: user.is_guest() || user.email_verified(),
            typ: ACCESS.into(),
            iss: ISSUER.into(),
            iat: now,
            exp: now + self.access_ttl,
        };
        self.sign(&claims)
    }

    pub fn issue_refresh(
        &self,
        user: &User,
        sid: &SessionId,
        generation: u64,
        now: UnixTime,
    ) -> Result<String, Error> {
        let claims = RefreshClaims {
            sub: user.id.to_string(),
            sid: sid.as_str().into(),
            generation,
            typ: REFRESH.into(),
            iss: ISSUER.into(),
            iat: now,
            exp: now + self.refresh_ttl,
        };
        self.sign(&claims)
    }

    /// A valid, unexpired access token, or why not (always a 401 to the client).
    pub fn verify_access(&self, token: &str) -> Result<AccessClaims, Error> {
        let claims: AccessClaims = self.decode(token)?;
        if claims.typ != ACCESS {
            return Err(Error::unauthorized("Invalid token"));
        }
        Ok(claims)
    }

    pub fn verify_refresh(&self, token: &str) -> Result<RefreshClaims, Error> {
        let claims: RefreshClaims = self.decode(token)?;
        if claims.typ != REFRESH {
            return Err(Error::unauthorized("Invalid refresh token"));
        }
        Ok(claims)
    }

    /// A signed note of a guest's identity, for the sticky-guest cookie.
    pub fn issue_guest_marker(&self, id: &UserId, now: UnixTime) -> Result<String, Error> {
        self.sign(&GuestMarker {
            sub: id.to_string(),
            typ: GUEST_MARKER.into(),
            iss: ISSUER.into(),
            iat: now,
            exp: now + GUEST_MARKER_TTL,
        })
    }

    /// The guest identity a marker names, if it is ours, unexpired and a guest id.
    pub fn verify_guest_marker(&self, token: &str) -> Option<UserId> {
        let m: GuestMarker = self.decode(token).ok()?;
        let id = UserId::parse(&m.sub).ok()?;
        (m.typ == GUEST_MARKER && id.is_guest()).then_some(id)
    }

    fn sign<T: Serialize>(&self, claims: &T) -> Result<String, Error> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(Error::internal)
    }

    fn decode<T: serde::de::DeserializeOwned>(&self, token: &str) -> Result<T, Error> {
        jsonwebtoken::decode::<T>(token, &self.decoding, &self.validation)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    Error::unauthorized("Token expired")
                }
                _ => Error::unauthorized("Invalid token"),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Provider, now};

    fn user() -> User {
        User {
            id: UserId::new_account(),
            email: None,
            name: DisplayName::parse("Ann Lee", 50).unwrap(),
            provider: Provider::Local,
            accesses: vec![Access::User],
            avatar_url: None,
            is_active: true,
            password_hash: None,
            email_verified_at: Some(1),
            signup_pending: false,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn types_do_not_cross() {
        let keys = TokenKeys::new(&"k".repeat(32), 900, 3600);
        let (u, sid, t) = (user(), SessionId::new(), now());
        let access = keys.issue_access(&u, &sid, t).unwrap();
        let refresh = keys.issue_refresh(&u, &sid, 0, t).unwrap();
        assert_eq!(
            keys.verify_access(&access).unwrap().user_id,
            u.id.to_string()
        );
        assert_eq!(keys.verify_refresh(&refresh).unwrap().generation, 0);
        assert!(keys.verify_access(&refresh).is_err());
        assert!(keys.verify_refresh(&access).is_err());
        let other = TokenKeys::new(&"x".repeat(32), 900, 3600);
        assert!(other.verify_access(&access).is_err());
    }

    #[test]
    fn guest_markers_name_only_guests() {
        let keys = TokenKeys::new(&"k".repeat(32), 900, 3600);
        let g = UserId::new_guest();
        let m = keys.issue_guest_marker(&g, now()).unwrap();
        assert_eq!(keys.verify_guest_marker(&m), Some(g));
        let access = keys
            .issue_access(&user(), &SessionId::new(), now())
            .unwrap();
        assert_eq!(keys.verify_guest_marker(&access), None);
    }

    #[test]
    fn expired_is_rejected() {
        let keys = TokenKeys::new(&"k".repeat(32), 60, 3600);
        let token = keys
            .issue_access(&user(), &SessionId::new(), now() - 3600)
            .unwrap();
        assert!(
            matches!(keys.verify_access(&token), Err(Error::Unauthorized(m)) if m == "Token expired")
        );
    }
}
