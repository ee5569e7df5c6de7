//! Password hashing: argon2id off the async runtime, a few at a time, with dummy hashes so
//! a wrong password costs the same whatever is stored: an argon2id hash, a bcrypt hash
//! imported from Bedrud (either of its two forms), or nothing (an unknown account).

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use sha2::{Digest, Sha256};

use crate::domain::Password;
use crate::error::Error;

/// What a presented password proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Mismatch,
    Match,
    /// Matched a hash we no longer write (Bedrud's bcrypt): replace it at this sign-in.
    MatchUpgrade,
}

impl Verdict {
    pub fn matched(self) -> bool {
        self != Verdict::Mismatch
    }
}

/// argon2id with OWASP's parameters (19 MiB, 2 passes). Hashing runs on the blocking pool,
/// at most a few at a time, so a login burst cannot exhaust memory or starve requests.
#[derive(Clone)]
pub struct PasswordHasher {
    argon: Argon2<'static>,
    permits: Arc<Semaphore>,
}

const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;

/// Verified against when the account is unknown, so both paths cost the same: a well-formed
/// hash with the live parameters (a test pins them) that no password is known to produce.
/// A constant rather than a hash made at start, so start-up and Lambda cold starts skip one.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$YmVkcnVkLWR1bW15LXNhbHQ$7bFwhkfHgqQ0eyprgUGeBigkr1vJ6Pzuvfi69gazl3Q";

/// bcrypt (cost 10, Bedrud's) of a password no one knows: what a wrong password is also
/// checked against when the stored hash is not bcrypt, twice (Bedrud's two forms).
const DUMMY_BCRYPT: &str = "$2b$10$VCRjHydnJlRqEyiOH0St7uNhG2LQqFu9XTt958OofGzmlrcnIN.ne";

/// Whether a stored hash is bcrypt (`$2a$`, `$2b$`, `$2y$`), as Bedrud wrote them.
pub fn is_bcrypt(stored: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"]
        .iter()
        .any(|p| stored.starts_with(p))
}

/// Bedrud's two bcrypt forms: of the raw SHA-256 digest of the password (its newer
/// releases), or of the password itself (older ones). Nothing marks which; the digest form
/// is tried first, as Bedrud does. Both are always computed, so the time says nothing.
fn bcrypt_matches(stored: &str, password: &str) -> bool {
    let digest = Sha256::digest(password.as_bytes());
    let hashed = bcrypt::verify(&digest[..], stored).unwrap_or(false);
    let plain = bcrypt::verify(password, stored).unwrap_or(false);
    hashed || plain
}

impl PasswordHasher {
    pub fn new() -> Self {
        let params = Params::new(MEMORY_KIB, PASSES, 1, None).expect("valid argon2 params");
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            argon: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            permits: Arc::new(Semaphore::new(cores * 2)),
        }
    }

    pub async fn hash(&self, password: &Password) -> Result<String, Error> {
        let (argon, pw) = (self.argon.clone(), password.expose().to_string());
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon
                .hash_password(pw.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(Error::internal)
        })
        .await
    }

    /// True only if `stored` exists and matches. With `None` it still does the full work.
    pub async fn verify(&self, stored: Option<&str>, password: &Password) -> Result<bool, Error> {
        Ok(self.check(stored, password).await?.matched())
    }

    /// Checks `password` against `stored` (argon2id or bcrypt) and says whether a match
    /// should be re-hashed. A mismatch, or no stored hash, costs one argon2id and two bcrypt
    /// verifications whatever is stored, so the time does not tell an imported account (or
    /// an unknown one) from another.
    pub async fn check(&self, stored: Option<&str>, password: &Password) -> Result<Verdict, Error> {
        let stored = stored.map(str::to_string);
        let (argon, pw) = (self.argon.clone(), password.expose().to_string());
        self.run(move || {
            let argon_check = |hash: &str| -> Result<bool, Error> {
                let parsed = PasswordHash::new(hash).map_err(Error::internal)?;
                Ok(argon.verify_password(pw.as_bytes(), &parsed).is_ok())
            };
            match stored.as_deref() {
                Some(h) if is_bcrypt(h) => {
                    if bcrypt_matches(h, &pw) {
                        return Ok(Verdict::MatchUpgrade);
                    }
                    argon_check(DUMMY_HASH)?;
                    Ok(Verdict::Mismatch)
                }
                known => {
                    if argon_check(known.unwrap_or(DUMMY_HASH))? && known.is_some() {
                        return Ok(Verdict::Match);
                    }
                    bcrypt_matches(DUMMY_BCRYPT, &pw);
                    Ok(Verdict::Mismatch)
                }
            }
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let _permit = self.permits.acquire().await.map_err(Error::internal)?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(Error::internal)?
    }
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_and_verify() {
        let h = PasswordHasher::new();
        let pw = Password::new_password("correct horse battery").unwrap();
        let stored = h.hash(&pw).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(h.verify(Some(&stored), &pw).await.unwrap());
        let wrong = Password::presented("incorrect horse").unwrap();
        assert!(!h.verify(Some(&stored), &wrong).await.unwrap());
        assert!(!h.verify(None, &pw).await.unwrap());
    }

    /// Both of Bedrud's bcrypt forms verify (the reference's two fixture users), and ask to
    /// be upgraded; wrong passwords do not.
    #[tokio::test]
    async fn bedrud_bcrypt_forms() {
        let h = PasswordHasher::new();
        let pw = Password::presented("correct horse battery").unwrap();
        let digest_form = "$2a$10$8BKqf6m42cw7I52TSb8TZeZB.jZhKCtw24xgOzdvvZ1UvFZhw79ia";
        let plain_form = "$2a$10$061BWsCndeGXvmNB6kXLWOZC95pXiDq0h.jkQ6SPW9Ld1N9Tjxohm";
        for stored in [digest_form, plain_form] {
            assert_eq!(
                h.check(Some(stored), &pw).await.unwrap(),
                Verdict::MatchUpgrade
            );
            let wrong = Password::presented("correct horse batterie").unwrap();
            assert_eq!(
                h.check(Some(stored), &wrong).await.unwrap(),
                Verdict::Mismatch
            );
        }
        assert!(is_bcrypt(DUMMY_BCRYPT) && !is_bcrypt(DUMMY_HASH));
        assert!(matches!(bcrypt::verify("x", DUMMY_BCRYPT), Ok(false)));
    }

    /// The dummy must cost what a real hash costs: same algorithm and parameters.
    #[tokio::test]
    async fn dummy_hash_matches_live_parameters() {
        let h = PasswordHasher::new();
        let real = h
            .hash(&Password::new_password("some long password").unwrap())
            .await
            .unwrap();
        let prefix = |s: &str| s.rsplitn(3, '$').nth(2).unwrap().to_string();
        assert_eq!(prefix(DUMMY_HASH), prefix(&real));
        PasswordHash::new(DUMMY_HASH).expect("dummy is a valid PHC string");
    }
}
