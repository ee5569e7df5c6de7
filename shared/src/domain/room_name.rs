//! Room names by Bedrud's rules, and generated ones.

use std::fmt;

use rand::distr::{Distribution, Uniform};

use crate::error::Error;

/// A room's URL name, by Bedrud's rules: trimmed and lower-cased, 3..=63 characters of
/// `[a-z0-9]` in hyphen-separated groups (no leading, trailing or double hyphens).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoomName(String);

impl RoomName {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let s = raw.trim().to_lowercase();
        let n = s.len();
        if !(3..=63).contains(&n) {
            return Err(Error::bad_request("room name must be 3 to 63 characters"));
        }
        let groups_ok = s.split('-').all(|g| {
            !g.is_empty()
                && g.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
        if !groups_ok {
            return Err(Error::bad_request(
                "room name may contain only a-z, 0-9 and single hyphens between them",
            ));
        }
        Ok(Self(s))
    }

    /// A fresh name shaped `abc-defg-hij`, as Bedrud generates (crypto-grade randomness).
    pub fn generate() -> Self {
        let letters = Uniform::new_inclusive(b'a', b'z').expect("valid range");
        let mut rng = rand::rng();
        let mut group =
            |n: usize| -> String { (0..n).map(|_| letters.sample(&mut rng) as char).collect() };
        Self(format!("{}-{}-{}", group(3), group(4), group(3)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoomName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bedrud_rules() {
        assert_eq!(
            RoomName::parse(" Team-Sync ").unwrap().as_str(),
            "team-sync"
        );
        for ok in ["abc", "a1-b2", &"a".repeat(63)] {
            assert!(RoomName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            "-abc",
            "abc-",
            "a--b",
            "a_b",
            "a b",
            "ünï",
            &"a".repeat(64),
        ] {
            assert!(RoomName::parse(bad).is_err(), "{bad}");
        }
        for _ in 0..100 {
            let g = RoomName::generate();
            assert_eq!(RoomName::parse(g.as_str()).unwrap(), g);
            assert_eq!(g.as_str().len(), 12);
        }
    }
}
