use std::fmt;

use crate::error::Error;

/// A person's display name: control characters and angle brackets removed (names travel to
/// every client and into LiveKit metadata; `<>` never belong in a name, while `'`, `&` and `"`
/// do: O'Brien, AT&T), whitespace collapsed, 2 to `max` characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

/// Longest account name (Bedrud allows 255).
pub const MAX_USER_NAME: usize = 255;
/// Longest guest name (Bedrud allows 50).
pub const MAX_GUEST_NAME: usize = 50;

impl DisplayName {
    pub fn parse(raw: &str, max: usize) -> Result<Self, Error> {
        let cleaned: String = raw
            .chars()
            .filter(|c| !c.is_control() && !matches!(c, '<' | '>'))
            .collect();
        let name = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
        let n = name.chars().count();
        if n < 2 {
            return Err(Error::bad_request("name must be at least 2 characters"));
        }
        if n > max {
            return Err(Error::bad_request(format!(
                "name must be at most {max} characters"
            )));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A stored value, already validated when it was written.
    pub fn from_trusted(s: String) -> Self {
        Self(s)
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitises_and_bounds() {
        assert_eq!(
            DisplayName::parse("  Ann \n <b>Lee</b> ", 50)
                .unwrap()
                .as_str(),
            "Ann bLee/b"
        );
        assert_eq!(
            DisplayName::parse("Siobhán O'Brien & Co", 50)
                .unwrap()
                .as_str(),
            "Siobhán O'Brien & Co"
        );
        assert!(DisplayName::parse("A", 50).is_err());
        assert!(DisplayName::parse("<>", 50).is_err());
        assert!(DisplayName::parse(&"é".repeat(51), 50).is_err());
        assert!(DisplayName::parse(&"é".repeat(50), 50).is_ok());
    }
}
