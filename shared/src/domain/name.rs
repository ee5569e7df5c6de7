//! Display names, cleaned of what would spoof or break a client.

use std::fmt;

use crate::error::Error;

/// A person's display name: control characters and angle brackets removed (names travel to
/// every client and into LiveKit metadata; `<>` never belong in a name, while `'`, `&` and `"`
/// do: O'Brien, AT&T), bidirectional overrides and invisible characters removed (they make
/// one name look like another in every client), whitespace collapsed, 2 to `max` characters.
/// The zero-width (non-)joiners some scripts need (Persian, Indic, emoji sequences) stay
/// between two visible characters.
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
            .filter(|c| !c.is_control() && !matches!(c, '<' | '>') && !invisible(*c))
            .collect();
        let name = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
        let name = joiners_between_letters(&name);
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

/// Format characters that change how text around them is drawn or hide in it: bidi marks,
/// embeddings, overrides and isolates, zero-width space, word joiner, invisible operators,
/// byte-order mark, and the like (Unicode `Cf` except the two joiners).
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{180E}'
        | '\u{200B}' | '\u{200E}' | '\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{3164}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{FFF9}'..='\u{FFFB}'
        | '\u{E0000}'..='\u{E007F}')
}

/// Keeps ZWJ/ZWNJ only where they join two visible characters.
fn joiners_between_letters(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let joiner = |c: char| matches!(c, '\u{200C}' | '\u{200D}');
    let visible = |c: Option<&char>| c.is_some_and(|c| !c.is_whitespace() && !joiner(*c));
    chars
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            !joiner(**c) || (*i > 0 && visible(chars.get(i - 1)) && visible(chars.get(i + 1)))
        })
        .map(|(_, c)| *c)
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
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

    #[test]
    fn bidi_overrides_and_invisible_characters_go() {
        let spoof = "Ann\u{202E}nimda\u{202C} \u{200B}Lee\u{2066}\u{FEFF}";
        assert_eq!(
            DisplayName::parse(spoof, 50).unwrap().as_str(),
            "Annnimda Lee"
        );
        assert!(DisplayName::parse("\u{200B}\u{202E}\u{200B}", 50).is_err());
        // Joiners stay inside words (Persian needs ZWNJ), not at the edges.
        let persian = "می\u{200C}خواهم";
        assert_eq!(DisplayName::parse(persian, 50).unwrap().as_str(), persian);
        assert_eq!(
            DisplayName::parse("\u{200D}Ann\u{200C} Lee", 50)
                .unwrap()
                .as_str(),
            "Ann Lee"
        );
    }
}
