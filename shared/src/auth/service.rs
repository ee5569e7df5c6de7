//! The auth flows behind `/api/auth/*`: register, sign in (password and guest), refresh
//! rotation, logout, profile and password changes. Each invariant is one store write.

use std::sync::Arc;

use tracing::{info, warn};

use super::password::Verdict;
use super::{AccessClaims, PasswordHasher, TokenKeys};
use crate::config::AuthConfig;
use crate::domain::name::{MAX_GUEST_NAME, MAX_USER_NAME};
use crate::domain::{
    Access, DisplayName, Email, InviteRefusal, Password, Provider, Session, SessionId, User,
    UserId, now,
};
use crate::error::{Error, Result};
use crate::settings::Settings;
use crate::store::{
    DEACTIVATED, HashUpgrade, LinkStore, Rotation, SessionStore, StoreError, Stores, UserStore,
};

/// Largest preferences blob, as Bedrud (4 KiB).
pub const MAX_PREFERENCES: usize = 4096;

/// What signing up or in leads to.
#[derive(Debug)]
pub enum SignIn {
    Session(User, IssuedTokens),
    /// The account exists but must confirm its address first (no session opened).
    VerifyFirst(User),
}

/// The refusal every sign-in route gives an unconfirmed account while verification is on.
pub const VERIFY_FIRST: &str = "Please verify your email before signing in";

/// An access/refresh pair for one session.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    pub access: String,
    pub refresh: String,
    /// Seconds the refresh token (and its cookie) lives.
    pub refresh_ttl: i64,
}

/// The auth flows. Each invariant is a single store write: unique email on insert,
/// compare-and-swap on rotation.
#[derive(Clone)]
pub struct Auth {
    pub(super) users: Arc<dyn UserStore>,
    /// Provider identities: where providers sign people in (`Stores::links`).
    pub(super) links: Option<Arc<dyn LinkStore>>,
    sessions: Arc<dyn SessionStore>,
    hasher: PasswordHasher,
    keys: Arc<TokenKeys>,
    pub(super) settings: Arc<Settings>,
    verification_required: bool,
}

impl Auth {
    pub fn new(
        stores: &Stores,
        settings: Arc<Settings>,
        config: &AuthConfig,
        secret: &str,
    ) -> Self {
        Self {
            users: stores.users.clone(),
            links: stores.links.clone(),
            sessions: stores.sessions.clone(),
            hasher: PasswordHasher::new(),
            keys: Arc::new(TokenKeys::new(
                secret,
                config.access_ttl().as_secs(),
                config.refresh_token_ttl.as_secs(),
            )),
            settings,
            verification_required: config.require_email_verification,
        }
    }

    /// The hasher (its permits bound all password hashing in the process).
    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    pub fn keys(&self) -> &TokenKeys {
        &self.keys
    }

    /// A verified access token is honoured only while its session lives: logout, a password
    /// change, a force-logout or a deactivation end it from the next request, not at the
    /// token's expiry. One store read.
    pub async fn authenticate(&self, token: &str) -> Result<AccessClaims, Error> {
        let claims = self.keys.verify_access(token)?;
        let user =
            UserId::parse(&claims.user_id).map_err(|_| Error::unauthorized("Invalid token"))?;
        let sid = SessionId::from_trusted(claims.sid.clone());
        match self.sessions.session(&user, &sid).await? {
            Some(s) if !s.revoked && s.expires_at > crate::domain::now() => Ok(claims),
            _ => Err(Error::unauthorized("Session ended: sign in again")),
        }
    }

    /// Creates an account. While registration is invite-only, `invite` must be a valid
    /// invite token, consumed in the same store write that creates the account. While
    /// verification is required the account starts pending and no session is opened.
    pub async fn register(
        &self,
        email: &str,
        password: &str,
        name: &str,
        invite: Option<&str>,
    ) -> Result<SignIn> {
        let settings = self.settings.current().await?;
        if !settings.registration_enabled {
            return Err(Error::forbidden("Registration is currently disabled"));
        }
        let invite = match invite.map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) if settings.token_registration_only => Some(t),
            None if settings.token_registration_only => {
                return Err(Error::forbidden("An invite token is required to register"));
            }
            _ => None,
        };
        let email = Email::parse(email)?;
        let password = Password::new_password(password)?;
        let name = DisplayName::parse(name, MAX_USER_NAME)?;
        let t = now();
        let user = User {
            id: UserId::new_account(),
            email: Some(email),
            name,
            provider: Provider::Local,
            accesses: vec![Access::User],
            avatar_url: None,
            is_active: true,
            password_hash: Some(self.hasher.hash(&password).await?),
            email_verified_at: None,
            signup_pending: self.verification_required,
            created_at: t,
            updated_at: t,
        };
        let conflict = |e: StoreError| match e {
            StoreError::Conflict(_) => Error::conflict("user already exists"),
            other => other.into(),
        };
        match invite {
            None => self.users.insert_user(&user).await.map_err(conflict)?,
            Some(token) => match self
                .users
                .insert_user_with_invite(&user, token, t)
                .await
                .map_err(conflict)?
            {
                Ok(()) => {}
                Err(InviteRefusal::Invalid) => {
                    return Err(Error::forbidden("Invalid or expired invite token"));
                }
                Err(InviteRefusal::Used) => {
                    return Err(Error::conflict("This invite token has already been used"));
                }
            },
        }
        info!(user = %user.id, "registered");
        self.sign_in(user).await
    }

    /// A session for `user`, unless its address must be confirmed first.
    pub async fn sign_in(&self, user: User) -> Result<SignIn> {
        self.sign_in_upgrading(user, None).await
    }

    async fn sign_in_upgrading(&self, user: User, upgrade: Option<HashUpgrade>) -> Result<SignIn> {
        ensure_active(&user)?;
        if user.blocked_by_verification(self.verification_required) {
            return Ok(SignIn::VerifyFirst(user));
        }
        let tokens = self.open_session(&user, upgrade.as_ref()).await?;
        if upgrade.is_some() {
            info!(user = %user.id, "imported password hash replaced by argon2id");
        }
        Ok(SignIn::Session(user, tokens))
    }

    pub async fn login(&self, email: &str, password: &str) -> Result<SignIn> {
        let email = Email::parse(email)?;
        let password = Password::presented(password)?;
        let user = self.users.user_by_email(&email).await?;
        let hash = user.as_ref().and_then(|u| u.password_hash.clone());
        // Unknown addresses verify against dummy hashes: same cost, same answer.
        let verdict = self.hasher.check(hash.as_deref(), &password).await?;
        if !verdict.matched() {
            return Err(Error::unauthorized("Invalid credentials"));
        }
        let user = user.expect("a verified password has a user");
        let upgrade = match (verdict, hash) {
            // Bedrud's bcrypt: argon2id from this sign-in on, in the session's own write.
            (Verdict::MatchUpgrade, Some(from)) => Some(HashUpgrade {
                from,
                to: self.hasher.hash(&password).await?,
            }),
            _ => None,
        };
        self.sign_in_upgrading(user, upgrade).await
    }

    pub async fn guest_login(&self, name: &str) -> Result<(User, IssuedTokens)> {
        self.guest_session(None, name).await
    }

    /// Opens a session for a guest. `known` is the identity this browser had before (the
    /// sticky-guest cookie): reused while that guest still exists, so room bans follow it.
    pub async fn guest_session(
        &self,
        known: Option<&UserId>,
        name: &str,
    ) -> Result<(User, IssuedTokens)> {
        if !self.settings.current().await?.guest_login_enabled {
            return Err(Error::forbidden("Guest login is currently disabled"));
        }
        let name = DisplayName::parse(name, MAX_GUEST_NAME)?;
        let t = now();
        let returning = match known.filter(|id| id.is_guest()) {
            Some(id) => self.users.update_profile(id, &name, None, t).await?,
            None => None,
        };
        if let Some(user) = returning {
            ensure_active(&user)?;
            let tokens = self.open_session(&user, None).await?;
            return Ok((user, tokens));
        }
        let mut user = User {
            id: UserId::new_guest(),
            email: None,
            name,
            provider: Provider::Guest,
            accesses: vec![Access::Guest],
            avatar_url: None,
            is_active: true,
            password_hash: None,
            email_verified_at: None,
            signup_pending: false,
            created_at: t,
            updated_at: t,
        };
        // Ids are random; on the rare collision the store refuses and we draw again.
        let mut attempts = 0;
        loop {
            match self.users.insert_user(&user).await {
                Ok(()) => break,
                Err(StoreError::Conflict(_)) if attempts < 3 => {
                    attempts += 1;
                    user.id = UserId::new_guest();
                }
                Err(e) => return Err(e.into()),
            }
        }
        let tokens = self.open_session(&user, None).await?;
        Ok((user, tokens))
    }

    /// Rotates a refresh token. Replaying an already-rotated token revokes its whole session.
    pub async fn refresh(&self, refresh_token: &str) -> Result<(User, IssuedTokens)> {
        let invalid = || Error::unauthorized("Invalid refresh token");
        let claims = self
            .keys
            .verify_refresh(refresh_token)
            .map_err(|_| invalid())?;
        let user_id = UserId::parse(&claims.sub).map_err(|_| invalid())?;
        let sid = SessionId::from_trusted(claims.sid);
        let t = now();
        match self
            .sessions
            .rotate_session(
                &user_id,
                &sid,
                claims.generation,
                t + self.keys.refresh_ttl,
                t,
            )
            .await?
        {
            // A refresh that lost the race to another (two tabs, a retry after a lost answer)
            // gets the winner's generation: the same pair a second time, not a sign-out.
            Rotation::Rotated(session) | Rotation::Current(session) => {
                let user = self.live_user(&session.user_id).await?;
                // A session opened before verification was required, or before an address
                // change, is not renewed until the address is confirmed.
                if user.blocked_by_verification(self.verification_required) {
                    return Err(Error::forbidden(VERIFY_FIRST));
                }
                let tokens = self.tokens_for(&user, &sid, session.generation, t)?;
                Ok((user, tokens))
            }
            Rotation::Reused => {
                warn!(
                    session = sid.as_str(),
                    "refresh token reused; revoking session"
                );
                self.sessions.revoke_session(&user_id, &sid, t).await?;
                Err(Error::unauthorized(
                    "Refresh token has already been used; please sign in again",
                ))
            }
            Rotation::Invalid => Err(invalid()),
        }
    }

    /// Revokes the session named by the refresh token or, failing that, by the access token.
    /// Returns false when neither identifies a session.
    pub async fn logout(
        &self,
        refresh_token: Option<&str>,
        access: Option<&AccessClaims>,
    ) -> Result<bool> {
        let named = refresh_token
            .and_then(|t| self.keys.verify_refresh(t).ok())
            .map(|c| (c.sub, c.sid))
            .or_else(|| access.map(|a| (a.sub.clone(), a.sid.clone())));
        let Some((user, sid)) = named else {
            return Ok(false);
        };
        let user = UserId::parse(&user).map_err(|_| Error::unauthorized("Invalid token"))?;
        self.sessions
            .revoke_session(&user, &SessionId::from_trusted(sid), now())
            .await?;
        Ok(true)
    }

    /// The caller's account; a token whose user is gone is no longer a valid token.
    pub async fn me(&self, claims: &AccessClaims) -> Result<User> {
        let id =
            UserId::parse(&claims.user_id).map_err(|_| Error::unauthorized("Invalid token"))?;
        self.live_user(&id).await
    }

    /// The account if it exists (deactivated ones included): admin actions.
    pub async fn user(&self, id: &UserId) -> Result<Option<User>> {
        Ok(self.users.user_by_id(id).await?)
    }

    /// Renames and, if given and different, changes the address (unconfirmed from the same
    /// write on). The user after, and whether the address changed.
    pub async fn update_profile(
        &self,
        claims: &AccessClaims,
        name: Option<&str>,
        email: Option<&str>,
    ) -> Result<(User, bool)> {
        let user = self.me(claims).await?;
        let name = match name {
            Some(n) => DisplayName::parse(n, MAX_USER_NAME)?,
            None => user.name.clone(),
        };
        let email = match email.map(Email::parse).transpose()? {
            Some(e) if Some(&e) != user.email.as_ref() => {
                if user.is_guest() {
                    return Err(Error::forbidden("Guests cannot set an email address"));
                }
                Some(e)
            }
            _ => None,
        };
        let user = self
            .users
            .update_profile(&user.id, &name, email.as_ref(), now())
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => Error::conflict("email already in use"),
                other => other.into(),
            })?
            .ok_or_else(|| Error::unauthorized("Invalid token"))?;
        Ok((user, email.is_some()))
    }

    /// Changes the password and signs out every other session of the account.
    pub async fn change_password(
        &self,
        claims: &AccessClaims,
        current: &str,
        new: &str,
    ) -> Result<()> {
        let user = self.me(claims).await?;
        let Some(stored) = user.password_hash.as_deref() else {
            return Err(Error::forbidden("This account has no password"));
        };
        let current = Password::presented(current)?;
        let new = Password::new_password(new)?;
        // A wrong current password is bad input, not a bad token: 400, never 401.
        if !self.hasher.verify(Some(stored), &current).await? {
            return Err(Error::bad_request("current password is incorrect"));
        }
        let hash = self.hasher.hash(&new).await?;
        let t = now();
        self.users.set_password_hash(&user.id, &hash, t).await?;
        let sid = SessionId::from_trusted(claims.sid.clone());
        let revoked = self
            .sessions
            .revoke_user_sessions(&user.id, Some(&sid), t)
            .await?;
        info!(user = %user.id, revoked, "password changed; other sessions revoked");
        Ok(())
    }

    pub async fn preferences(&self, claims: &AccessClaims) -> Result<String> {
        let user = self.me(claims).await?;
        Ok(self
            .users
            .preferences(&user.id)
            .await?
            .unwrap_or_else(|| "{}".into()))
    }

    /// Stores a preferences blob: a JSON object of at most 4 KiB, as Bedrud.
    pub async fn set_preferences(&self, claims: &AccessClaims, json: &str) -> Result<()> {
        if json.len() > MAX_PREFERENCES {
            return Err(Error::PayloadTooLarge(format!(
                "preferencesJson must be at most {MAX_PREFERENCES} bytes"
            )));
        }
        if !matches!(
            serde_json::from_str::<serde_json::Value>(json),
            Ok(serde_json::Value::Object(_))
        ) {
            return Err(Error::bad_request("preferencesJson must be a JSON object"));
        }
        let user = self.me(claims).await?;
        self.users.set_preferences(&user.id, json, now()).await?;
        Ok(())
    }

    async fn open_session(
        &self,
        user: &User,
        upgrade: Option<&HashUpgrade>,
    ) -> Result<IssuedTokens> {
        let t = now();
        let session = Session {
            id: SessionId::new(),
            user_id: user.id.clone(),
            generation: 0,
            created_at: t,
            expires_at: t + self.keys.refresh_ttl,
            revoked: false,
            rotated_at: None,
        };
        // Refused by the store if the account was deactivated since it was read.
        self.sessions
            .insert_session(&session, upgrade)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(DEACTIVATED) => Error::forbidden("Account is deactivated"),
                other => other.into(),
            })?;
        self.tokens_for(user, &session.id, 0, t)
    }

    fn tokens_for(
        &self,
        user: &User,
        sid: &SessionId,
        generation: u64,
        t: i64,
    ) -> Result<IssuedTokens> {
        Ok(IssuedTokens {
            access: self.keys.issue_access(user, sid, t)?,
            refresh: self.keys.issue_refresh(user, sid, generation, t)?,
            refresh_ttl: self.keys.refresh_ttl,
        })
    }

    async fn live_user(&self, id: &UserId) -> Result<User> {
        let user = self
            .users
            .user_by_id(id)
            .await?
            .ok_or_else(|| Error::unauthorized("Invalid token"))?;
        ensure_active(&user)?;
        Ok(user)
    }
}

fn ensure_active(user: &User) -> Result<()> {
    if user.is_active {
        Ok(())
    } else {
        Err(Error::forbidden("Account is deactivated"))
    }
}
