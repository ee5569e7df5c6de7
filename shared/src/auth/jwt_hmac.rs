//! The HMAC-SHA256 backend for `jsonwebtoken`: API tokens are HS256 only, and the crate's
//! `rust_crypto` bundle would link RSA, EC and EdDSA (a few hundred KiB) into every binary.
//! `jsonwebtoken` 10 resolves its backend through a process-wide provider, installed once.

use std::sync::Once;

use hmac::{Hmac, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwkUtils, JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{Error, ErrorKind, Result};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use sha2::Sha256;
use signature::{Error as SignatureError, Signer, Verifier};

type HmacSha256 = Hmac<Sha256>;

struct Hs256(HmacSha256);

impl Hs256 {
    fn new(secret: &[u8]) -> Result<Self> {
        HmacSha256::new_from_slice(secret)
            .map(Self)
            .map_err(|_| Error::from(ErrorKind::InvalidKeyFormat))
    }
}

impl Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, SignatureError> {
        let mut mac = self.0.clone();
        mac.update(msg);
        Ok(mac.finalize().into_bytes().to_vec())
    }
}

impl Verifier<Vec<u8>> for Hs256 {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> std::result::Result<(), SignatureError> {
        let mut mac = self.0.clone();
        mac.update(msg);
        // Constant-time comparison.
        mac.verify_slice(sig).map_err(SignatureError::from_source)
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

fn signer(alg: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    match alg {
        Algorithm::HS256 => Ok(Box::new(Hs256::new(key.try_get_hmac_secret()?)?)),
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

fn verifier(alg: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    match alg {
        Algorithm::HS256 => Ok(Box::new(Hs256::new(key.try_get_hmac_secret()?)?)),
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: signer,
    verifier_factory: verifier,
    jwk_utils: JwkUtils::new_unimplemented(),
};

/// Makes HS256 available to `jsonwebtoken`; idempotent. If another HMAC-capable provider
/// was installed first (livekit-api installs its own), that one serves.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = PROVIDER.install_default();
    });
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{Header, Validation, decode, encode};

    #[test]
    fn signs_and_verifies_hs256_and_refuses_other_algorithms() {
        super::install();
        let key = jsonwebtoken::EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef");
        let dkey = jsonwebtoken::DecodingKey::from_secret(b"0123456789abcdef0123456789abcdef");
        let claims = serde_json::json!({"sub": "u", "exp": 4_000_000_000u64});
        let token = encode(&Header::default(), &claims, &key).unwrap();
        let back: serde_json::Value = decode(&token, &dkey, &Validation::default())
            .unwrap()
            .claims;
        assert_eq!(back["sub"], "u");
        let other = jsonwebtoken::DecodingKey::from_secret(b"another secret of thirty-two byt");
        assert!(decode::<serde_json::Value>(&token, &other, &Validation::default()).is_err());
        // Our factories serve HS256 alone (whichever provider the process installed first).
        assert!(super::signer(&jsonwebtoken::Algorithm::HS512, &key).is_err());
        assert!(super::verifier(&jsonwebtoken::Algorithm::RS256, &dkey).is_err());
    }
}
