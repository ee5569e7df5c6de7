//! User ids: account UUIDs, Bedrud's `guest-…` identities and imported provider ids (LiveKit
//! identities too).

use std::fmt;

use rand::distr::{Distribution, Uniform};

use crate::error::Error;

/// A user's id, which is also their LiveKit identity: a UUID for accounts, `guest-xxxxxxxx`
/// for guests. Clients rely on both facts (host = `identity == adminId`; `guest-` = guest).
/// Accounts imported from an early Bedrud that signed in with GitHub, Google or X keep the
/// provider's numeric user id (up to 32 digits), so their LiveKit identity survives.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

const GUEST_PREFIX: &str = "guest-";
const GUEST_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

impl UserId {
    pub fn new_account() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    /// `guest-` + 8 random characters from 36 (≈ 2.8·10¹² ids; the store rejects collisions).
    pub fn new_guest() -> Self {
        let dist = Uniform::new(0, GUEST_ALPHABET.len()).expect("non-empty alphabet");
        let mut rng = rand::rng();
        let tail: String = (0..8)
            .map(|_| GUEST_ALPHABET[dist.sample(&mut rng)] as char)
            .collect();
        Self(format!("{GUEST_PREFIX}{tail}"))
    }

    /// Accepts exactly the shapes we issue or import; anything else is not one of our
    /// identities.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let ok = match raw.strip_prefix(GUEST_PREFIX) {
            Some(tail) => tail.len() == 8 && tail.bytes().all(|b| GUEST_ALPHABET.contains(&b)),
            None if (1..=32).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_digit()) => {
                true
            }
            None => uuid::Uuid::try_parse(raw).is_ok_and(|u| u.hyphenated().to_string() == raw),
        };
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err(Error::bad_request("invalid identity"))
        }
    }

    pub fn is_guest(&self) -> bool {
        self.0.starts_with(GUEST_PREFIX)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_round_trip() {
        let a = UserId::new_account();
        assert_eq!(UserId::parse(a.as_str()).unwrap(), a);
        assert!(!a.is_guest());
        let g = UserId::new_guest();
        assert!(g.is_guest() && g.as_str().len() == 14);
        assert_eq!(UserId::parse(g.as_str()).unwrap(), g);
        assert_eq!(UserId::parse("583231").unwrap().as_str(), "583231");
        for bad in [
            "",
            "-1",
            "123456789012345678901234567890123",
            "guest-",
            "guest-ABCDEFGH",
            "guest-abc",
            "bob",
            "6F9619FF-8B86-D011-B42D-00C04FC964FF",
        ] {
            assert!(UserId::parse(bad).is_err(), "{bad}");
        }
    }
}
