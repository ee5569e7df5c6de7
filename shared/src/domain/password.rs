//! Passwords as presented and as chosen (length rules), never printed.

use std::fmt;

use crate::error::Error;

/// A password within Bedrud's bounds (12..=128 characters). Never printed.
#[derive(Clone)]
pub struct Password(String);

pub const MIN_PASSWORD: usize = 12;
pub const MAX_PASSWORD: usize = 128;

impl Password {
    /// A new password must meet the length rules.
    pub fn new_password(raw: &str) -> Result<Self, Error> {
        let n = raw.chars().count();
        if n < MIN_PASSWORD {
            return Err(Error::bad_request(format!(
                "password must be at least {MIN_PASSWORD} characters"
            )));
        }
        Self::presented(raw)
    }

    /// A password offered for checking: only the upper bound applies (it caps hashing cost),
    /// so accounts made under older rules can still sign in.
    pub fn presented(raw: &str) -> Result<Self, Error> {
        if raw.is_empty() {
            return Err(Error::bad_request("password is required"));
        }
        if raw.chars().count() > MAX_PASSWORD {
            return Err(Error::bad_request(format!(
                "password must be at most {MAX_PASSWORD} characters"
            )));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert!(Password::new_password("short").is_err());
        assert!(Password::new_password(&"x".repeat(12)).is_ok());
        assert!(Password::new_password(&"x".repeat(129)).is_err());
        assert!(Password::presented("short").is_ok());
        assert!(Password::presented("").is_err());
        assert_eq!(
            format!("{:?}", Password::presented("secret").unwrap()),
            "Password(***)"
        );
    }
}
