//! Passkeys: add one to an account, sign in with one (username-less too), sign up with one,
//! list and remove them. Each ceremony's state lives in the store between begin and finish
//! (they may reach different instances), is used once and expires; the signature counter
//! moves by compare-and-set. Opening the session is `auth`'s: finish answers the account.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::{info, warn};

use crate::config::{Config, ConfigError, is_web_url};
use crate::domain::name::MAX_USER_NAME;
use crate::domain::{
    Access, Ceremony, DisplayName, Email, Passkey, PendingCeremony, Provider, User, UserId, now,
    random_token,
};
use crate::error::{Error, Result};
use crate::store::{PASSKEY_TAKEN, PasskeyStore, StoreError, Stores, UserStore};
use crate::webauthn::{Assertion, Attestation, NewCredential, Refused, RelyingParty};

/// A begun ceremony: the options for the browser, and the id its cookie carries.
pub struct Begun {
    pub options: Value,
    pub ceremony: String,
}

/// What a ceremony keeps: the verifier's state, and for a sign-up the account to create.
#[derive(Serialize, Deserialize)]
struct Kept {
    verifier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

pub struct Passkeys {
    rp: RelyingParty,
    store: Arc<dyn PasskeyStore>,
    users: Arc<dyn UserStore>,
    ttl_secs: i64,
    verification_required: bool,
}

/// The refusal for a ceremony that is unknown, used or late.
const EXPIRED: &str = "the passkey challenge has expired or was already used; start again";

impl Passkeys {
    /// `None` when this process has no passkey store, or no relying party can be derived
    /// (`auth.passkey.rpId`, else `server.domain`, else `auth.frontendURL`).
    pub fn new(config: &Config, stores: &Stores) -> std::result::Result<Option<Self>, ConfigError> {
        let Some(store) = stores.passkeys.clone() else {
            return Ok(None);
        };
        let a = &config.auth;
        let host = |url: &str| {
            let rest = url.split_once("://").map_or(url, |(_, r)| r);
            rest.split(['/', ':', '?', '#'])
                .next()
                .unwrap_or_default()
                .to_string()
        };
        let domain = config.server.domain.as_deref();
        let Some(rp_id) = a
            .passkey
            .rp_id
            .clone()
            .or_else(|| domain.map(host))
            .or_else(|| a.web_frontend_url().map(host))
        else {
            return Ok(None);
        };
        let origins = if a.passkey.rp_origins.is_empty() {
            match (a.frontend_origin().filter(|o| is_web_url(o)), domain) {
                (Some(f), _) => vec![f.to_string()],
                (None, Some(d)) => vec![format!("https://{d}")],
                (None, None) => vec![format!("https://{rp_id}")],
            }
        } else {
            a.passkey.rp_origins.clone()
        };
        let rp = RelyingParty::new(&rp_id, &config.server.name, &origins).map_err(|e| {
            ConfigError::new(
                "auth.passkey.rpOrigins",
                format!("holds a bad origin: {e}"),
                "list origins such as https://meet.example.com",
            )
        })?;
        Ok(Some(Self {
            rp,
            store,
            users: stores.users.clone(),
            ttl_secs: (a.passkey_challenge_ttl.max(1) * 60) as i64,
            verification_required: a.require_email_verification,
        }))
    }

    /// Options to add a passkey to `user` (its others excluded).
    pub async fn register_begin(&self, user: &User) -> Result<Begun> {
        if user.is_guest() {
            return Err(Error::forbidden("Guests cannot register passkeys"));
        }
        let exclude = self
            .store
            .user_passkeys(&user.id)
            .await?
            .into_iter()
            .map(|p| p.credential_id)
            .collect();
        let (options, verifier) = self
            .rp
            .start_registration(
                user.id.as_str().as_bytes(),
                &user.email_or_placeholder(),
                user.name.as_str(),
                exclude,
            )
            .map_err(refused)?;
        let kept = Kept {
            verifier,
            email: None,
            name: None,
        };
        self.begin(Ceremony::Register, Some(&user.id), kept, options)
            .await
    }

    pub async fn register_finish(
        &self,
        user: &User,
        ceremony: Option<&str>,
        answer: &Attestation,
    ) -> Result<Passkey> {
        let (pending, kept) = self.take(ceremony, Ceremony::Register).await?;
        if pending.user_id.as_ref() != Some(&user.id) {
            return Err(Error::bad_request(EXPIRED));
        }
        let made = self
            .rp
            .finish_registration(&kept.verifier, answer)
            .map_err(refused)?;
        let passkey = record(&user.id, made);
        match self.store.insert_passkey(&passkey).await {
            Ok(true) => {
                info!(user = %user.id, "passkey registered");
                Ok(passkey)
            }
            Ok(false) => Err(Error::unauthorized("Invalid token")),
            Err(StoreError::Conflict(PASSKEY_TAKEN)) => {
                Err(Error::bad_request("passkey already registered"))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Options to sign in: the address's passkeys when one is given (the web asks so), else
    /// any discoverable passkey (username-less).
    pub async fn login_begin(&self, email: Option<&str>) -> Result<Begun> {
        let allow = match email.map(str::trim).filter(|e| !e.is_empty()) {
            Some(e) => match self.users.user_by_email(&Email::parse(e)?).await? {
                Some(u) => self.store.user_passkeys(&u.id).await?,
                None => Vec::new(),
            },
            None => Vec::new(),
        };
        let (options, verifier) = self.rp.start_login(&allow).map_err(refused)?;
        let kept = Kept {
            verifier,
            email: None,
            name: None,
        };
        self.begin(Ceremony::Login, None, kept, options).await
    }

    /// The account whose passkey signed the challenge. Any failure is 401, except a bad or
    /// spent ceremony (400).
    pub async fn login_finish(&self, ceremony: Option<&str>, answer: &Assertion) -> Result<User> {
        let (_, kept) = self.take(ceremony, Ceremony::Login).await?;
        let denied = || Error::unauthorized("Passkey sign-in failed");
        let credential = answer.credential().map_err(refused)?;
        let stored = self
            .store
            .passkey_by_credential(&credential)
            .await?
            .ok_or_else(denied)?;
        // A user handle, when the client sends one, must name the passkey's owner.
        if let Some(handle) = answer.user_handle.as_deref().filter(|h| !h.is_empty())
            && URL_SAFE_NO_PAD
                .decode(handle.trim_end_matches('='))
                .ok()
                .as_deref()
                != Some(stored.user_id.as_str().as_bytes())
        {
            return Err(denied());
        }
        let counter = match self.rp.finish_login(&kept.verifier, &stored, answer) {
            Ok(c) => c,
            Err(Refused::BadInput(m)) => return Err(Error::bad_request(m)),
            Err(Refused::Invalid(e)) => {
                warn!(user = %stored.user_id, error = %e, "passkey assertion refused");
                return Err(denied());
            }
        };
        if !self
            .store
            .passkey_used(&credential, stored.sign_count, counter, now())
            .await?
        {
            // Another sign-in with this passkey moved its counter first.
            return Err(denied());
        }
        self.users
            .user_by_id(&stored.user_id)
            .await?
            .ok_or_else(denied)
    }

    /// Options to create an account with a passkey. Registration rules (open, invite-only)
    /// are the caller's to check first.
    pub async fn signup_begin(&self, email: &str, name: &str) -> Result<Begun> {
        let email = Email::parse(email)?;
        let name = DisplayName::parse(name, MAX_USER_NAME)?;
        if self.users.user_by_email(&email).await?.is_some() {
            return Err(Error::bad_request("Email already registered"));
        }
        let id = UserId::new_account();
        let (options, verifier) = self
            .rp
            .start_registration(
                id.as_str().as_bytes(),
                email.as_str(),
                name.as_str(),
                Vec::new(),
            )
            .map_err(refused)?;
        let kept = Kept {
            verifier,
            email: Some(email.to_string()),
            name: Some(name.to_string()),
        };
        self.begin(Ceremony::Signup, Some(&id), kept, options).await
    }

    /// The new account, created with its passkey in one write.
    pub async fn signup_finish(
        &self,
        ceremony: Option<&str>,
        answer: &Attestation,
    ) -> Result<User> {
        let (pending, kept) = self.take(ceremony, Ceremony::Signup).await?;
        let (Some(id), Some(email), Some(name)) = (pending.user_id, kept.email, kept.name) else {
            return Err(Error::bad_request(EXPIRED));
        };
        let made = self
            .rp
            .finish_registration(&kept.verifier, answer)
            .map_err(refused)?;
        let t = now();
        let user = User {
            id: id.clone(),
            email: Some(Email::parse(&email)?),
            name: DisplayName::parse(&name, MAX_USER_NAME)?,
            provider: Provider::Passkey,
            accesses: vec![Access::User],
            avatar_url: None,
            is_active: true,
            password_hash: None,
            email_verified_at: None,
            signup_pending: self.verification_required,
            created_at: t,
            updated_at: t,
        };
        let passkey = record(&id, made);
        match self.store.insert_user_with_passkey(&user, &passkey).await {
            Ok(()) => {
                info!(user = %user.id, "registered with a passkey");
                Ok(user)
            }
            Err(StoreError::Conflict(PASSKEY_TAKEN)) => {
                Err(Error::bad_request("passkey already registered"))
            }
            Err(StoreError::Conflict(_)) => Err(Error::bad_request("Email already registered")),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn list(&self, user: &User) -> Result<Vec<Passkey>> {
        Ok(self.store.user_passkeys(&user.id).await?)
    }

    pub async fn remove(&self, user: &User, id: &str) -> Result<()> {
        if self.store.delete_passkey(&user.id, id).await? {
            info!(user = %user.id, "passkey removed");
            Ok(())
        } else {
            Err(Error::not_found("passkey not found"))
        }
    }

    async fn begin(
        &self,
        ceremony: Ceremony,
        user: Option<&UserId>,
        kept: Kept,
        options: Value,
    ) -> Result<Begun> {
        let id = random_token();
        let pending = PendingCeremony {
            id: id.clone(),
            ceremony,
            user_id: user.cloned(),
            state: serde_json::to_string(&kept).expect("plain struct"),
            expires_at: now() + self.ttl_secs,
        };
        self.store.put_ceremony(&pending).await?;
        Ok(Begun {
            options,
            ceremony: id,
        })
    }

    /// The ceremony named by the cookie, taken out of the store (once, unexpired, this kind).
    async fn take(&self, id: Option<&str>, kind: Ceremony) -> Result<(PendingCeremony, Kept)> {
        let id = id
            .filter(|i| !i.is_empty())
            .ok_or_else(|| Error::bad_request(EXPIRED))?;
        let pending = self
            .store
            .take_ceremony(id, now())
            .await?
            .filter(|p| p.ceremony == kind)
            .ok_or_else(|| Error::bad_request(EXPIRED))?;
        let kept: Kept =
            serde_json::from_str(&pending.state).map_err(|_| Error::bad_request(EXPIRED))?;
        Ok((pending, kept))
    }
}

fn record(user: &UserId, made: NewCredential) -> Passkey {
    Passkey {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user.clone(),
        credential_id: made.credential_id,
        public_key: made.public_key,
        algorithm: made.algorithm,
        sign_count: made.sign_count,
        name: "Passkey".into(),
        created_at: now(),
        last_used_at: None,
    }
}

fn refused(r: Refused) -> Error {
    match r {
        Refused::BadInput(m) => Error::bad_request(m),
        Refused::Invalid(e) => {
            warn!(error = %e, "passkey ceremony refused");
            Error::bad_request(format!("passkey verification failed: {e}"))
        }
    }
}
