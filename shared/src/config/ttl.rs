//! Durations in configuration: `15m`, `7d` or whole seconds.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// A lifetime written as a human duration (`15m`, `7d`) or as whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ttl(Duration);

impl Ttl {
    pub const fn from_secs(secs: u64) -> Self {
        Self(Duration::from_secs(secs))
    }

    pub fn as_secs(self) -> u64 {
        self.0.as_secs()
    }

    pub fn as_duration(self) -> Duration {
        self.0
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Ok(secs) = s.parse::<u64>() {
            return Ok(Self::from_secs(secs));
        }
        humantime::parse_duration(s)
            .map(Self)
            .map_err(|e| format!("`{s}` is not a duration ({e}); use e.g. 15m, 12h or 7d"))
    }
}

impl fmt::Display for Ttl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for Ttl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Secs(s) => Ok(Self::from_secs(s)),
            Raw::Text(t) => Self::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_words_and_seconds() {
        assert_eq!(Ttl::parse("15m").unwrap().as_secs(), 900);
        assert_eq!(Ttl::parse("7d").unwrap().as_secs(), 7 * 86400);
        assert_eq!(Ttl::parse("90").unwrap().as_secs(), 90);
        assert!(Ttl::parse("soon").is_err());
    }
}
