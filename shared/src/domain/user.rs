//! Accounts: providers, platform accesses, and the user record.

use super::{DisplayName, Email, UnixTime, UserId};

/// How an account signs in. Guests are recognised by clients through `provider == "guest"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Local,
    Guest,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Local => "local",
            Provider::Guest => "guest",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "local" => Some(Provider::Local),
            "guest" => Some(Provider::Guest),
            _ => None,
        }
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
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

impl User {
    pub fn is_guest(&self) -> bool {
        self.provider == Provider::Guest
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
