//! One-time account links: e-mail verification and password reset. The link carries the
//! user and 256 random bits; the store keeps only a SHA-256 of the whole token, one per user
//! and purpose (a new link supersedes the last), with its expiry and the address it was sent
//! to. Using a link removes it in the same write that acts on it, so it works once.

use rand::RngCore;
use sha2::{Digest, Sha256};

use super::{Email, UnixTime, UserId};

/// What a link may do; a link for one purpose never serves another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenPurpose {
    VerifyEmail,
    ResetPassword,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "verify",
            TokenPurpose::ResetPassword => "reset",
        }
    }
}

/// A link as stored: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountToken {
    pub user_id: UserId,
    pub purpose: TokenPurpose,
    /// Hex SHA-256 of the token.
    pub hash: String,
    /// The address the link was sent to: it acts only while that is still the account's.
    pub email: Email,
    pub expires_at: UnixTime,
}

impl AccountToken {
    /// A fresh link for `user` and the record that stands for it.
    pub fn issue(
        user_id: &UserId,
        purpose: TokenPurpose,
        email: &Email,
        ttl_secs: i64,
        now: UnixTime,
    ) -> (String, Self) {
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        let token = format!("{}.{}", hex(user_id.as_str().as_bytes()), hex(&secret));
        let record = Self {
            user_id: user_id.clone(),
            purpose,
            hash: digest(&token),
            email: email.clone(),
            expires_at: now + ttl_secs,
        };
        (token, record)
    }
}

/// A presented link: whose it claims to be and the hash to look for. `None` if it cannot be
/// one of ours (then it is simply invalid).
pub fn presented(token: &str) -> Option<(UserId, String)> {
    let token = token.trim();
    let (user, secret) = token.split_once('.')?;
    if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let user = String::from_utf8(unhex(user)?).ok()?;
    Some((UserId::parse(&user).ok()?, digest(token)))
}

fn digest(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || !s.len().is_multiple_of(2) || s.len() > 512 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_user_and_only_its_hash_is_kept() {
        let id = UserId::new_account();
        let email = Email::parse("ann@example.com").unwrap();
        let (token, rec) = AccountToken::issue(&id, TokenPurpose::VerifyEmail, &email, 60, 100);
        assert!(!rec.hash.contains(&token) && rec.hash.len() == 64);
        assert_eq!(rec.expires_at, 160);
        assert_eq!(presented(&token), Some((id.clone(), rec.hash.clone())));
        let (again, rec2) = AccountToken::issue(&id, TokenPurpose::VerifyEmail, &email, 60, 100);
        assert_ne!((again, rec2.hash), (token.clone(), rec.hash.clone()));
        // Tampering changes the hash, or makes it unreadable.
        let mut chars: Vec<char> = token.chars().collect();
        let last = chars.len() - 1;
        chars[last] = if chars[last] == '0' { '1' } else { '0' };
        let tampered: String = chars.into_iter().collect();
        assert_ne!(presented(&tampered).map(|p| p.1), Some(rec.hash));
        for bad in ["", ".", "zz.00", "abc", &format!("{}.short", "61")] {
            assert_eq!(presented(bad), None, "{bad}");
        }
    }
}
