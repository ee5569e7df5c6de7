//! Password hashing: argon2id off the async runtime, a few at a time, with a dummy hash so
//! unknown accounts cost what known ones do.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::domain::Password;
use crate::error::Error;

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
        let known = stored.is_some();
        let hash = stored.unwrap_or(DUMMY_HASH).to_string();
        let (argon, pw) = (self.argon.clone(), password.expose().to_string());
        let ok = self
            .run(move || {
                let parsed = PasswordHash::new(&hash).map_err(Error::internal)?;
                Ok(argon.verify_password(pw.as_bytes(), &parsed).is_ok())
            })
            .await?;
        Ok(known && ok)
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
