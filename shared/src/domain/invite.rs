//! Invite tokens: what lets someone register while registration is invite-only. Single use
//! (the store consumes a token in the same write that creates the account), expiring, and
//! bound to an e-mail address when it names one.

use rand::RngCore;

use super::{Email, UnixTime, UserId};

/// Lifetimes an admin may give an invite, in hours (Bedrud's choices, and at most 30 days).
pub const MAX_INVITE_HOURS: u32 = 720;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteToken {
    pub id: String,
    /// 32 hex characters (128 random bits): what the invitee types or follows.
    pub token: String,
    /// The only address that may use it, if set.
    pub email: Option<Email>,
    pub created_by: UserId,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub used_at: Option<UnixTime>,
    pub used_by: Option<UserId>,
}

/// Why an invite cannot be used now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteRefusal {
    /// Unknown, expired, or bound to another address.
    Invalid,
    Used,
}

impl InviteToken {
    pub fn new(created_by: UserId, email: Option<Email>, hours: u32, now: UnixTime) -> Self {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            token: bytes.iter().map(|b| format!("{b:02x}")).collect(),
            email,
            created_by,
            created_at: now,
            expires_at: now + i64::from(hours) * 3600,
            used_at: None,
            used_by: None,
        }
    }

    /// Whether `email` may register with this invite at `now`.
    pub fn check(&self, email: &Email, now: UnixTime) -> Result<(), InviteRefusal> {
        if self.used_at.is_some() {
            return Err(InviteRefusal::Used);
        }
        if self.expires_at <= now || self.email.as_ref().is_some_and(|e| e != email) {
            return Err(InviteRefusal::Invalid);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_use_expiring_and_bound_to_its_address() {
        let ann = Email::parse("ann@example.com").unwrap();
        let bob = Email::parse("bob@example.com").unwrap();
        let mut t = InviteToken::new(UserId::new_account(), Some(ann.clone()), 24, 1_000);
        assert_eq!(t.token.len(), 32);
        assert!(t.token.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(t.check(&ann, 1_001), Ok(()));
        assert_eq!(t.check(&bob, 1_001), Err(InviteRefusal::Invalid));
        assert_eq!(
            t.check(&ann, 1_000 + 24 * 3600),
            Err(InviteRefusal::Invalid)
        );
        t.used_at = Some(1_002);
        assert_eq!(t.check(&ann, 1_003), Err(InviteRefusal::Used));
        let open = InviteToken::new(UserId::new_account(), None, 72, 0);
        assert_eq!(open.check(&bob, 1), Ok(()));
    }
}
