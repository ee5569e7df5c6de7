//! OpenID Connect ID tokens (Google's): RS256 against the issuer's published keys, then the
//! issuer, the audience (our client id), the expiry and the nonce this browser's sign-in
//! carries. The signature is checked with ring directly: `jsonwebtoken`'s backend is one
//! process-wide choice, and the one installed first (ours or LiveKit's) knows HMAC only.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::domain::UnixTime;

/// Clock skew allowed on `exp` and `iat`.
const LEEWAY_SECS: i64 = 60;
/// Keys are fetched again after this long, or at once for an unknown key id.
const KEYS_MAX_AGE: Duration = Duration::from_secs(3600);

/// The claims a sign-in reads.
#[derive(Debug, Deserialize)]
pub(super) struct Claims {
    pub sub: String,
    pub email: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    pub email_verified: bool,
    pub name: Option<String>,
    pub picture: Option<String>,
    iss: String,
    aud: Audience,
    exp: i64,
    #[serde(default)]
    iat: i64,
    nonce: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// Google sends `email_verified` as a boolean; some issuers send `"true"`.
fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Text(String),
    }
    Ok(match Flag::deserialize(d)? {
        Flag::Bool(b) => b,
        Flag::Text(t) => t.eq_ignore_ascii_case("true"),
    })
}

/// What the token must say.
pub(super) struct Expect<'a> {
    pub issuers: &'a [&'a str],
    pub audience: &'a str,
    pub nonce: &'a str,
    pub now: UnixTime,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

/// The issuer's key set, cached per instance.
#[derive(Default)]
pub(super) struct KeyCache(Mutex<Option<(Instant, JwkSet)>>);

impl KeyCache {
    /// The cached set if fresh and holding `kid`, else `fetch`'s (then cached).
    pub async fn keys<F, Fut>(&self, kid: Option<&str>, fetch: F) -> Result<JwkSet, String>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<JwkSet, String>>,
    {
        let mut slot = self.0.lock().await;
        if let Some((at, set)) = slot.as_ref()
            && at.elapsed() < KEYS_MAX_AGE
            && kid.is_none_or(|k| set.find(k).is_some())
        {
            return Ok(set.clone());
        }
        let set = fetch().await?;
        *slot = Some((Instant::now(), set.clone()));
        Ok(set)
    }
}

/// The key id the token names, read before the keys are fetched.
pub(super) fn key_id(token: &str) -> Result<Option<String>, String> {
    Ok(header(token)?.kid)
}

fn header(token: &str) -> Result<Header, String> {
    let head = token.split('.').next().unwrap_or_default();
    let bytes = URL_SAFE_NO_PAD
        .decode(head)
        .map_err(|_| "the ID token is malformed".to_string())?;
    serde_json::from_slice(&bytes).map_err(|_| "the ID token is malformed".into())
}

/// The token's claims, once its signature, issuer, audience, lifetime and nonce hold.
pub(super) fn verify(token: &str, keys: &JwkSet, expect: &Expect<'_>) -> Result<Claims, String> {
    let malformed = || "the ID token is malformed".to_string();
    let parts: Vec<&str> = token.split('.').collect();
    let [head, body, signature] = parts[..] else {
        return Err(malformed());
    };
    let header = header(token)?;
    if header.alg != "RS256" {
        return Err(format!(
            "the ID token is signed with {}, not RS256",
            header.alg
        ));
    }
    let jwk = match &header.kid {
        Some(kid) => keys.find(kid),
        None => keys.keys.first(),
    }
    .ok_or("the ID token's signing key is not among the issuer's keys")?;
    let AlgorithmParameters::RSA(rsa) = &jwk.algorithm else {
        return Err("the ID token's signing key is not an RSA key".into());
    };
    let decode = |s: &str| URL_SAFE_NO_PAD.decode(s).map_err(|_| malformed());
    let (n, e) = (decode(&rsa.n)?, decode(&rsa.e)?);
    let signed = &token[..head.len() + 1 + body.len()];
    ring::signature::RsaPublicKeyComponents { n: &n, e: &e }
        .verify(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            signed.as_bytes(),
            &decode(signature)?,
        )
        .map_err(|_| "the ID token's signature is not valid".to_string())?;
    let claims: Claims = serde_json::from_slice(&decode(body)?).map_err(|_| malformed())?;
    if !expect.issuers.contains(&claims.iss.as_str()) {
        return Err(format!(
            "the ID token is from {}, not the provider",
            claims.iss
        ));
    }
    let ours = match &claims.aud {
        Audience::One(a) => a == expect.audience,
        Audience::Many(list) => list.iter().any(|a| a == expect.audience),
    };
    if !ours {
        return Err("the ID token was issued to another client".into());
    }
    if claims.exp + LEEWAY_SECS <= expect.now || claims.iat > expect.now + LEEWAY_SECS {
        return Err("the ID token has expired".into());
    }
    if claims.nonce.as_deref() != Some(expect.nonce) {
        return Err("the ID token belongs to another sign-in (nonce)".into());
    }
    Ok(claims)
}
