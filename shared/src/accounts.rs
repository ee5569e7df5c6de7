//! Account recovery and e-mail verification: requests queue a mail job and answer; the job
//! issues a one-time link (only its hash is stored) and sends it; using a link is one store
//! write. Requests that take an address do the same work whether or not an account has it,
//! so neither their answer nor their timing tells who is registered.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;
use tracing::{info, warn};

use crate::auth::PasswordHasher;
use crate::config::Config;
use crate::domain::{
    AccountToken, Email, Password, Provider, TokenPurpose, UnixTime, User, UserId, now,
    presented_token,
};
use crate::error::{Error, Result};
use crate::mail::{Compose, Link, Mailer};
use crate::queue::{JobEnvelope, JobHandler, JobQueue};
use crate::ratelimit::{RateLimiter, Rule};
use crate::settings::Settings;
use crate::store::{AccountStore, SessionStore, Stores, UserStore};

/// Job kind: send a verification link to an address (if an unconfirmed account has it).
pub const SEND_VERIFICATION: &str = "send_verification_email";
/// Job kind: send a reset link to an address (if an account with a password has it).
pub const SEND_RESET: &str = "send_password_reset";
/// Pending sign-ups removed per sweep (the next sweep takes the rest).
const SWEEP_BATCH: u32 = 100;

/// Where mail goes: the queue requests write to, and (in the worker) the mailer.
#[derive(Clone, Default)]
pub struct Mail {
    pub queue: Option<Arc<dyn JobQueue>>,
    pub mailer: Option<Arc<dyn Mailer>>,
}

/// Which mail a request by address asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    Verification,
    Reset,
}

impl MailKind {
    fn job_kind(self) -> &'static str {
        match self {
            MailKind::Verification => SEND_VERIFICATION,
            MailKind::Reset => SEND_RESET,
        }
    }
}

/// Why a verification link was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyRefusal {
    /// Unknown, used, superseded, expired, tampered, or sent to another address.
    Invalid,
    UserGone,
    AlreadyVerified,
}

pub struct Accounts {
    users: Arc<dyn UserStore>,
    sessions: Arc<dyn SessionStore>,
    links: Option<Arc<dyn AccountStore>>,
    mail: Mail,
    limiter: Arc<dyn RateLimiter>,
    settings: Arc<Settings>,
    hasher: PasswordHasher,
    base_url: String,
    required: bool,
    verify_hours: u64,
    reset_hours: u64,
    cooldown_secs: u64,
    pending_hours: u64,
}

impl Accounts {
    /// `hasher` is the process's one hasher (shared with `Auth`), so its permits bound all
    /// password hashing together.
    pub fn new(
        stores: &Stores,
        mail: Mail,
        limiter: Arc<dyn RateLimiter>,
        settings: Arc<Settings>,
        hasher: PasswordHasher,
        config: &Config,
    ) -> Self {
        let a = &config.auth;
        let base_url = match (a.web_frontend_url(), &config.server.domain) {
            (Some(url), _) => url.trim_end_matches('/').to_string(),
            (None, Some(domain)) => format!("https://{}", domain.trim_end_matches('/')),
            (None, None) => String::new(),
        };
        Self {
            users: stores.users.clone(),
            sessions: stores.sessions.clone(),
            links: stores.accounts.clone(),
            mail,
            limiter,
            settings,
            hasher,
            base_url,
            required: a.require_email_verification,
            verify_hours: a.verification_token_ttl_hours,
            reset_hours: a.reset_token_ttl_hours,
            cooldown_secs: a.verification_email_cooldown_mins * 60,
            pending_hours: a.unverified_account_ttl_hours,
        }
    }

    /// Whether accounts must confirm their address before signing in.
    pub fn verification_required(&self) -> bool {
        self.required
    }

    /// Queues a mail of `kind` to `email`, whoever has it (the job decides). A second one to
    /// the same address within the cooldown is dropped silently, unless `force` (an admin
    /// asked).
    pub async fn request(&self, kind: MailKind, email: &Email, force: bool) -> Result<()> {
        let kind = kind.job_kind();
        if !force && !self.cool(kind, email).await? {
            info!(kind, "mail within the cooldown; not queued");
            return Ok(());
        }
        let queue = self
            .mail
            .queue
            .as_ref()
            .ok_or_else(|| Error::UpstreamDown("no mail queue is configured".into()))?;
        let job = JobEnvelope {
            id: uuid::Uuid::new_v4().to_string(),
            kind: kind.to_string(),
            payload: json!({ "email": email.as_str() }),
        };
        queue.enqueue(&job).await?;
        Ok(())
    }

    /// True if no mail of `kind` went to `email` within the cooldown (and counts this one).
    async fn cool(&self, kind: &str, email: &Email) -> Result<bool> {
        if self.cooldown_secs == 0 {
            return Ok(true);
        }
        let rule = Rule {
            max: 1,
            window_secs: self.cooldown_secs,
        };
        let over = self.limiter.hit(kind, email.as_str(), rule, now()).await?;
        Ok(over.is_none())
    }

    /// Uses a verification link: the account after.
    pub async fn verify(&self, token: &str) -> Result<std::result::Result<User, VerifyRefusal>> {
        let Some((user_id, hash)) = presented_token(token) else {
            return Ok(Err(VerifyRefusal::Invalid));
        };
        let Some(user) = self.users.user_by_id(&user_id).await? else {
            return Ok(Err(VerifyRefusal::UserGone));
        };
        if user.email_verified() {
            return Ok(Err(VerifyRefusal::AlreadyVerified));
        }
        match self
            .links()?
            .use_verify_token(&user_id, &hash, now())
            .await?
        {
            Some(user) => {
                info!(user = %user.id, "email verified");
                Ok(Ok(user))
            }
            None => Ok(Err(VerifyRefusal::Invalid)),
        }
    }

    /// Uses a reset link: sets the new password (registration's rules) and signs out every
    /// session of the account.
    pub async fn reset_password(&self, token: &str, new_password: &str) -> Result<User> {
        let password = Password::new_password(new_password)?;
        let invalid = || Error::bad_request("Invalid or expired reset token");
        let (user_id, hash) = presented_token(token).ok_or_else(invalid)?;
        let password_hash = self.hasher.hash(&password).await?;
        let t = now();
        let user = self
            .links()?
            .use_reset_token(&user_id, &hash, &password_hash, t)
            .await?
            .ok_or_else(invalid)?;
        let revoked = self
            .sessions
            .revoke_user_sessions(&user.id, None, t)
            .await?;
        info!(user = %user.id, revoked, "password reset; every session signed out");
        Ok(user)
    }

    /// An admin confirms an address; `None` if there is no such user (or it has no address).
    pub async fn mark_verified(&self, id: &UserId) -> Result<Option<User>> {
        Ok(self.links()?.mark_verified(id, now()).await?)
    }

    /// Removes sign-ups never confirmed within `auth.unverifiedAccountTTLHours`, while
    /// verification is required (0 hours keeps them). How many went.
    pub async fn sweep_pending(&self, at: UnixTime) -> Result<u64> {
        if !self.required || self.pending_hours == 0 {
            return Ok(0);
        }
        let links = self.links()?;
        let cutoff = at - (self.pending_hours * 3600) as i64;
        let mut removed = 0;
        for id in links.pending_signups(cutoff, SWEEP_BATCH).await? {
            if links.remove_pending_signup(&id, cutoff).await? {
                removed += 1;
            }
        }
        if removed > 0 {
            info!(removed, "unconfirmed sign-ups removed");
        }
        Ok(removed)
    }

    fn links(&self) -> Result<&Arc<dyn AccountStore>> {
        self.links.as_ref().ok_or_else(|| {
            Error::internal("this process does not handle account links (no account store)")
        })
    }

    /// Issues a link for `user` and sends it. Each attempt issues a fresh link, which
    /// supersedes the one a failed attempt may have stored.
    async fn send_link(&self, user: &User, email: &Email, purpose: TokenPurpose) -> Result<()> {
        let mailer = self.mail.mailer.as_ref().ok_or_else(|| {
            Error::UpstreamDown("no mail provider is configured (email.provider)".into())
        })?;
        let hours = match purpose {
            TokenPurpose::VerifyEmail => self.verify_hours,
            TokenPurpose::ResetPassword => self.reset_hours,
        };
        let t = now();
        let (token, record) =
            AccountToken::issue(&user.id, purpose, email, (hours * 3600) as i64, t);
        self.links()?.put_token(&record).await?;
        let compose = Compose {
            server_name: self.settings.current().await?.server_name.clone(),
            base_url: self.base_url.clone(),
        };
        let link = match purpose {
            TokenPurpose::VerifyEmail => Link::Verify(&token),
            TokenPurpose::ResetPassword => Link::Reset(&token),
        };
        let message = compose.message(email, user.name.as_str(), link, hours);
        mailer
            .send(&message)
            .await
            .map_err(|e| Error::BadGateway(e.to_string()))?;
        info!(user = %user.id, purpose = purpose.as_str(), "account mail sent");
        Ok(())
    }

    /// The account a mail job names by address, if it should get that mail.
    async fn recipient(&self, job: &JobEnvelope) -> Result<Option<(User, Email)>> {
        let raw = job
            .payload
            .get("email")
            .and_then(|v| v.as_str())
            .ok_or_else(|| Error::bad_request("mail job without an email"))?;
        let email = Email::parse(raw)?;
        let user = self.users.user_by_email(&email).await?;
        Ok(user
            .filter(|u| u.is_active && u.provider != Provider::Guest)
            .map(|u| (u, email)))
    }
}

#[async_trait]
impl JobHandler for Accounts {
    fn handles(&self, kind: &str) -> bool {
        matches!(kind, SEND_VERIFICATION | SEND_RESET)
    }

    /// Sends the mail a job asks for, or nothing when no account should get it (unknown
    /// address, already confirmed, no password to reset): the job is then done.
    async fn run_job(&self, job: &JobEnvelope) -> Result<()> {
        let Some((user, email)) = self.recipient(job).await? else {
            return Ok(());
        };
        match job.kind.as_str() {
            SEND_VERIFICATION if !user.email_verified() => {
                self.send_link(&user, &email, TokenPurpose::VerifyEmail)
                    .await
            }
            SEND_RESET
                if user.password_hash.is_some()
                    || matches!(user.provider, Provider::Local | Provider::Passkey) =>
            {
                self.send_link(&user, &email, TokenPurpose::ResetPassword)
                    .await
            }
            SEND_VERIFICATION | SEND_RESET => Ok(()),
            other => {
                warn!(kind = other, "not a mail job");
                Err(Error::bad_request(format!("unknown job kind {other}")))
            }
        }
    }
}
