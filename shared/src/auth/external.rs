//! Signing in with a provider's identity (Google, GitHub, X): the account linked to it; else
//! the account whose address the provider has verified, linked from now on; else a new
//! account. An unverified address never reaches an existing account.

use tracing::info;

use super::{Auth, SignIn};
use crate::domain::name::MAX_USER_NAME;
use crate::domain::{Access, DisplayName, Email, User, UserId, now};
use crate::error::{Error, Result};
use crate::oauth::{Profile, title};
use crate::store::{LINKED, StoreError};

/// A race (the identity or the address taken meanwhile) is retried from the start this often.
const ATTEMPTS: usize = 3;

impl Auth {
    pub async fn sign_in_with(&self, profile: &Profile) -> Result<SignIn> {
        for _ in 0..ATTEMPTS {
            if let Some(found) = self.settle(profile).await? {
                return self.sign_in(found).await;
            }
        }
        Err(Error::Unavailable(
            "the account kept changing during sign-in; try again".into(),
        ))
    }

    /// The account this identity signs in to, linking or creating it; `None` when a
    /// concurrent sign-in changed the picture (the caller looks again).
    async fn settle(&self, profile: &Profile) -> Result<Option<User>> {
        let links = self
            .links
            .as_ref()
            .ok_or_else(|| Error::NotSetUp("sign-in with a provider is not served here".into()))?;
        let link = &profile.account;
        if let Some(user) = links.user_by_link(link).await? {
            return Ok(Some(user));
        }
        let provider = title(link.provider);
        let email = match &profile.email {
            Some(raw) => Email::parse(raw).map_err(|_| {
                Error::forbidden(format!("{provider} gave an address this server cannot use"))
            })?,
            None => {
                return Err(Error::forbidden(format!(
                    "{provider} did not share an e-mail address; allow it, or sign up with a password"
                )));
            }
        };
        if let Some(existing) = self.users.user_by_email(&email).await? {
            if !profile.email_verified {
                return Err(Error::conflict(format!(
                    "an account uses this address, and {provider} has not verified it; \
                     sign in with your password first"
                )));
            }
            // An unconfirmed account may be someone else's claim on the address (pre-hijacking):
            // linking would let its creator's password into the provider user's account.
            if !existing.email_verified() {
                return Err(Error::conflict(format!(
                    "an account uses this address and has not confirmed it yet; confirm it \
                     with the link we mail (ask for one when signing in), then sign in with \
                     {provider} again"
                )));
            }
            if !existing.is_active {
                return Err(Error::forbidden("Account is deactivated"));
            }
            return match links.link_account(link, &existing.id, now()).await {
                Ok(true) => {
                    info!(user = %existing.id, provider = link.provider.as_str(), "identity linked by verified address");
                    Ok(Some(existing))
                }
                // Deleted meanwhile, or linked by a concurrent sign-in: look again.
                Ok(false) | Err(StoreError::Conflict(LINKED)) => Ok(None),
                Err(e) => Err(e.into()),
            };
        }
        if !profile.email_verified {
            return Err(Error::forbidden(format!(
                "{provider} has not verified your address; verify it there, or sign up with a password"
            )));
        }
        let settings = self.settings.current().await?;
        if !settings.registration_enabled {
            return Err(Error::forbidden("Registration is currently disabled"));
        }
        if settings.token_registration_only {
            return Err(Error::forbidden("An invite token is required to register"));
        }
        let user = new_account(profile, email);
        match links.insert_linked_user(&user, link).await {
            Ok(()) => {
                info!(user = %user.id, provider = link.provider.as_str(), "registered through a provider");
                Ok(Some(user))
            }
            // The identity or the address was taken by a concurrent sign-in or sign-up.
            Err(StoreError::Conflict(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// An account for the provider's identity: no password, its address confirmed by the provider.
fn new_account(profile: &Profile, email: Email) -> User {
    let t = now();
    let name = profile
        .name
        .as_deref()
        .and_then(|n| DisplayName::parse(n, MAX_USER_NAME).ok())
        .or_else(|| {
            let local = email.as_str().split('@').next().unwrap_or_default();
            DisplayName::parse(local, MAX_USER_NAME).ok()
        })
        .unwrap_or_else(|| DisplayName::from_trusted("Member".into()));
    User {
        id: UserId::new_account(),
        email: Some(email),
        name,
        provider: profile.account.provider,
        accesses: vec![Access::User],
        avatar_url: profile
            .avatar_url
            .clone()
            .filter(|u| u.starts_with("https://") && u.len() <= 2048),
        is_active: true,
        password_hash: None,
        email_verified_at: Some(t),
        signup_pending: false,
        created_at: t,
        updated_at: t,
    }
}
