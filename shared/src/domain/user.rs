//! Accounts: providers, platform accesses, and the user record.

use super::{DisplayName, Email, UnixTime, UserId};

/// How an account signs in. Guests are recognised by clients through `provider == "guest"`.
/// The OAuth providers are Bedrud's: accounts imported from it keep theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Local,
    Guest,
    /// Signed up with a passkey (no password until one is set through the reset mail).
    Passkey,
    Google,
    Github,
    Twitter,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Local => "local",
            Provider::Guest => "guest",
            Provider::Passkey => "passkey",
            Provider::Google => "google",
            Provider::Github => "github",
            Provider::Twitter => "twitter",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "local" => Some(Provider::Local),
            "guest" => Some(Provider::Guest),
            "passkey" => Some(Provider::Passkey),
            "google" => Some(Provider::Google),
            "github" => Some(Provider::Github),
            "twitter" => Some(Provider::Twitter),
            _ => None,
        }
    }
}

/// An account at a sign-in provider: Google's `sub`, GitHub's or X's user id. OAuth sign-ins
/// are matched by it, never by the address, which the provider lets its user change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderAccount {
    pub provider: Provider,
    pub subject: String,
}

impl ProviderAccount {
    /// The one string both stores key the link by.
    pub fn key(&self) -> String {
        format!("{}#{}", self.provider.as_str(), self.subject)
    }
}

/// Platform-wide roles, carried in the `accesses` array clients read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    Guest,
    User,
    Moderator,
    Admin,
    Superadmin,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Guest => "guest",
            Access::User => "user",
            Access::Moderator => "moderator",
            Access::Admin => "admin",
            Access::Superadmin => "superadmin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "guest" => Access::Guest,
            "user" => Access::User,
            "moderator" => Access::Moderator,
            "admin" => Access::Admin,
            "superadmin" => Access::Superadmin,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    /// `None` for guests: they have no address, and the unique-email rule must not see them.
    pub email: Option<Email>,
    pub name: DisplayName,
    pub provider: Provider,
    pub accesses: Vec<Access>,
    pub avatar_url: Option<String>,
    pub is_active: bool,
    /// PHC-format argon2id hash; `None` for guests.
    pub password_hash: Option<String>,
    /// When the address was confirmed (a link from a mail to it was followed, or an admin
    /// marked it); `None` while unconfirmed. Accounts older than verification count as
    /// confirmed at their creation.
    pub email_verified_at: Option<UnixTime>,
    /// Signed up while verification was required and not yet confirmed: removed once
    /// `auth.unverifiedAccountTTLHours` have passed. Established accounts never are.
    pub signup_pending: bool,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

impl User {
    pub fn is_guest(&self) -> bool {
        self.provider == Provider::Guest
    }

    /// Whether the account has an address and it is confirmed (guests have none).
    pub fn email_verified(&self) -> bool {
        self.email.is_some() && self.email_verified_at.is_some()
    }

    /// Whether `auth.requireEmailVerification` keeps this account from signing in.
    pub fn blocked_by_verification(&self, required: bool) -> bool {
        required && !self.is_guest() && !self.email_verified()
    }

    pub fn is_admin(&self) -> bool {
        self.accesses.iter().any(|a| *a >= Access::Admin)
    }

    /// The address shown to clients that require a string (iOS decodes `email` as required).
    pub fn email_or_placeholder(&self) -> String {
        match &self.email {
            Some(e) => e.to_string(),
            None => format!("{}@guest.invalid", self.id),
        }
    }
}

/// Whether a user counts as an active platform admin (what the last-admin rule protects).
pub fn is_active_admin(is_active: bool, accesses: &[Access]) -> bool {
    is_active && accesses.iter().any(|a| *a >= Access::Admin)
}

/// An admin's change to a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserChange {
    Active(bool),
    Accesses(Vec<Access>),
}

/// What a change does to the number of active admins (the last-admin rule's input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminCount {
    Gains,
    Loses,
    Keeps,
}

impl UserChange {
    /// The user after the change, as both stores write it.
    pub fn apply(&self, user: &User, now: super::UnixTime) -> User {
        let mut after = user.clone();
        match self {
            UserChange::Active(a) => after.is_active = *a,
            UserChange::Accesses(list) => after.accesses = list.clone(),
        }
        after.updated_at = now;
        after
    }

    /// Whether `after` (this change applied to `before`) adds or removes an active admin.
    pub fn admin_count(before: &User, after: &User) -> AdminCount {
        match (
            is_active_admin(before.is_active, &before.accesses),
            is_active_admin(after.is_active, &after.accesses),
        ) {
            (false, true) => AdminCount::Gains,
            (true, false) => AdminCount::Loses,
            _ => AdminCount::Keeps,
        }
    }
}
