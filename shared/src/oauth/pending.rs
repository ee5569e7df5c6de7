//! The sign-in in progress, bound to the browser that started it: the `state`, the PKCE
//! verifier and the OpenID nonce travel in a short-lived HttpOnly cookie, signed with a key
//! derived from the JWT secret. Nothing is kept in process memory or the store, so the start
//! and the callback may land on different instances.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::domain::UnixTime;

/// How long a started sign-in may take to come back.
pub const PENDING_TTL_SECS: i64 = 600;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Pending {
    /// The provider it was started with (`google`, …).
    pub provider: String,
    pub state: String,
    pub verifier: String,
    pub nonce: String,
    pub expires_at: UnixTime,
}

/// The cookie's signing key: HMAC of a fixed label under the JWT secret, so this MAC can never
/// be mistaken for an API token's.
#[derive(Clone)]
pub(super) struct Sealer(Hmac<Sha256>);

impl Sealer {
    pub fn new(secret: &str) -> Self {
        let mut derive =
            Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
        derive.update(b"bedrud oauth pending sign-in v1");
        let key = derive.finalize().into_bytes();
        Self(Hmac::new_from_slice(&key).expect("HMAC takes any key"))
    }

    /// `base64url(json).base64url(mac)`.
    pub fn seal(&self, p: &Pending) -> String {
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(p).expect("plain struct"));
        let mut mac = self.0.clone();
        mac.update(body.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{body}.{tag}")
    }

    /// The sign-in the cookie holds, if it is ours, intact and unexpired.
    pub fn open(&self, value: &str, now: UnixTime) -> Option<Pending> {
        let (body, tag) = value.split_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        let mut mac = self.0.clone();
        mac.update(body.as_bytes());
        // Constant-time comparison.
        mac.verify_slice(&tag).ok()?;
        let p: Pending = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()?;
        (p.expires_at > now).then_some(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(expires_at: UnixTime) -> Pending {
        Pending {
            provider: "github".into(),
            state: "s".into(),
            verifier: "v".into(),
            nonce: "n".into(),
            expires_at,
        }
    }

    #[test]
    fn opens_only_its_own_intact_unexpired_seal() {
        let sealer = Sealer::new("0123456789abcdef0123456789abcdef");
        let sealed = sealer.seal(&pending(100));
        assert_eq!(sealer.open(&sealed, 99), Some(pending(100)));
        assert_eq!(sealer.open(&sealed, 100), None, "expired");
        let other = Sealer::new("another secret of thirty-two byt");
        assert_eq!(other.open(&sealed, 99), None, "another key");
        // A changed body with the old tag.
        let forged = Sealer::new("x").seal(&pending(10_000));
        let (body, _) = forged.split_once('.').unwrap();
        let (_, tag) = sealed.split_once('.').unwrap();
        assert_eq!(sealer.open(&format!("{body}.{tag}"), 99), None);
        for junk in ["", ".", "abc", "a.b", &sealed.replace('.', "")] {
            assert_eq!(sealer.open(junk, 0), None, "{junk}");
        }
    }
}
