//! Passkeys (WebAuthn credentials) as the store keeps them, and the short-lived state of a
//! passkey ceremony between its begin and finish. The public key is X.509 SubjectPublicKeyInfo
//! DER, as Bedrud stores it, so imported passkeys keep working.

use super::{UnixTime, UserId};

/// One registered credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passkey {
    /// Our id for it (what its owner removes it by).
    pub id: String,
    pub user_id: UserId,
    /// The authenticator's credential id (raw bytes; base64url without padding on the wire).
    pub credential_id: Vec<u8>,
    /// SubjectPublicKeyInfo DER.
    pub public_key: Vec<u8>,
    /// COSE algorithm: -7 (ES256) or -257 (RS256).
    pub algorithm: i64,
    /// The signature counter last seen; 0 when the authenticator keeps none.
    pub sign_count: u32,
    pub name: String,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}

/// What a ceremony in progress is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ceremony {
    /// A signed-in user adds a passkey.
    Register,
    /// Anyone signs in with a passkey.
    Login,
    /// A new account is made with a passkey.
    Signup,
}

impl Ceremony {
    pub fn as_str(self) -> &'static str {
        match self {
            Ceremony::Register => "register",
            Ceremony::Login => "login",
            Ceremony::Signup => "signup",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "register" => Ceremony::Register,
            "login" => Ceremony::Login,
            "signup" => Ceremony::Signup,
            _ => return None,
        })
    }
}

/// The state between begin and finish: kept in the store (the two may reach different
/// instances), used once, and only until it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCeremony {
    /// Random; the browser holds it in a cookie.
    pub id: String,
    pub ceremony: Ceremony,
    /// The account it is for (register), if any.
    pub user_id: Option<UserId>,
    /// The verifier's state (challenge and options), opaque to the store.
    pub state: String,
    pub expires_at: UnixTime,
}
