//! Passkey ceremonies on `webauthn-rs-core`: the options a client passes to
//! `navigator.credentials.create/get` in Bedrud's flat shape (no `publicKey` wrapper), and the
//! verification of what it sends back (origin, RP id, challenge, signature, counter). Keys are
//! kept as SubjectPublicKeyInfo DER, as Bedrud keeps them; the library's COSE form is made
//! from it for each verification.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use spki::der::asn1::{AnyRef, BitStringRef, ObjectIdentifier};
use spki::der::{Decode, Encode};
use webauthn_rs_core::WebauthnCore;
use webauthn_rs_core::proto::{
    AttestationConveyancePreference, AuthenticationState, COSEAlgorithm, COSEEC2Key, COSEKey,
    COSEKeyType, COSERSAKey, Credential, CredentialV3, ECDSACurve, PublicKeyCredential,
    RegisterPublicKeyCredential, RegistrationState, UserVerificationPolicy,
};

use crate::domain::Passkey;

/// How long a ceremony may take, as the options tell the browser.
const TIMEOUT: Duration = Duration::from_secs(300);
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// Why a ceremony failed, in words for the client (the library's detail is logged).
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("{0}")]
    BadInput(String),
    #[error("the passkey could not be verified")]
    Invalid(#[source] webauthn_rs_core::error::WebauthnError),
}

/// The relying party: its id and the origins allowed to run ceremonies for it.
pub struct RelyingParty {
    core: WebauthnCore,
}

/// A new credential, ready to store.
#[derive(Debug)]
pub struct NewCredential {
    pub credential_id: Vec<u8>,
    pub public_key: Vec<u8>,
    pub algorithm: i64,
    pub sign_count: u32,
}

/// A registration's answer: `{clientDataJSON, attestationObject}` (base64url).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attestation {
    #[serde(rename = "clientDataJSON")]
    pub client_data_json: String,
    pub attestation_object: String,
}

/// A sign-in's answer: `{credentialId, clientDataJSON, authenticatorData, signature}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Assertion {
    pub credential_id: String,
    #[serde(rename = "clientDataJSON")]
    pub client_data_json: String,
    pub authenticator_data: String,
    pub signature: String,
    #[serde(default)]
    pub user_handle: Option<String>,
}

impl Assertion {
    pub fn credential(&self) -> Result<Vec<u8>, Refused> {
        decode(&self.credential_id, "credentialId")
    }
}

/// What a ceremony keeps between begin and finish (stored, opaque, as JSON).
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Saved {
    Register(RegistrationState),
    Login(AuthenticationState),
}

fn decode(value: &str, field: &str) -> Result<Vec<u8>, Refused> {
    URL_SAFE_NO_PAD
        .decode(value.trim_end_matches('='))
        .map_err(|_| Refused::BadInput(format!("{field} is not base64url")))
}

impl RelyingParty {
    pub fn new(rp_id: &str, name: &str, origins: &[String]) -> Result<Self, String> {
        let origins = origins
            .iter()
            .map(|o| oauth2::url::Url::parse(o).map_err(|e| format!("{o}: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let core = WebauthnCore::new_unsafe_experts_only(name, rp_id, origins, TIMEOUT, None, None);
        Ok(Self { core })
    }

    /// Options to create a discoverable credential for `user_handle`, and the state to keep.
    pub fn start_registration(
        &self,
        user_handle: &[u8],
        name: &str,
        display_name: &str,
        exclude: Vec<Vec<u8>>,
    ) -> Result<(Value, String), Refused> {
        let builder = self
            .core
            .new_challenge_register_builder(user_handle, name, display_name)
            .map_err(|_| Refused::BadInput("a name is required".into()))?
            .attestation(AttestationConveyancePreference::None)
            .user_verification_policy(UserVerificationPolicy::Preferred)
            .credential_algorithms(vec![COSEAlgorithm::ES256, COSEAlgorithm::RS256])
            .require_resident_key(true)
            .exclude_credentials((!exclude.is_empty()).then_some(exclude));
        let (options, state) = self
            .core
            .generate_challenge_register(builder)
            .map_err(Refused::Invalid)?;
        let mut flat =
            serde_json::to_value(options).expect("options serialize")["publicKey"].take();
        if let Some(o) = flat.as_object_mut() {
            o.remove("timeout");
            o.remove("attestation");
        }
        Ok((flat, save(Saved::Register(state))))
    }

    pub fn finish_registration(
        &self,
        saved: &str,
        answer: &Attestation,
    ) -> Result<NewCredential, Refused> {
        let Saved::Register(state) = restore(saved)? else {
            return Err(Refused::BadInput("this is not a registration".into()));
        };
        let credential: RegisterPublicKeyCredential = serde_json::from_value(json!({
            "id": "", "rawId": "", "type": "public-key", "extensions": {},
            "response": {
                "attestationObject": answer.attestation_object,
                "clientDataJSON": answer.client_data_json,
            },
        }))
        .map_err(|_| {
            Refused::BadInput("clientDataJSON and attestationObject are required, base64url".into())
        })?;
        let made = self
            .core
            .register_credential(&credential, &state, None)
            .map_err(Refused::Invalid)?;
        let (public_key, algorithm) = spki_of(&made.cred)?;
        Ok(NewCredential {
            credential_id: made.cred_id.to_vec(),
            public_key,
            algorithm,
            sign_count: made.counter,
        })
    }

    /// Options to sign in: with `allow` (the named account's credentials) or any discoverable
    /// one when it is empty.
    pub fn start_login(&self, allow: &[Passkey]) -> Result<(Value, String), Refused> {
        let creds = allow
            .iter()
            .map(credential)
            .collect::<Result<Vec<_>, _>>()?;
        let builder = self
            .core
            .new_challenge_authenticate_builder(creds, Some(UserVerificationPolicy::Preferred))
            .map_err(Refused::Invalid)?
            // Synced passkeys may report backup eligibility the stored record does not have.
            .allow_backup_eligible_upgrade(true);
        let (options, state) = self
            .core
            .generate_challenge_authenticate(builder)
            .map_err(Refused::Invalid)?;
        let mut flat =
            serde_json::to_value(options).expect("options serialize")["publicKey"].take();
        if let Some(o) = flat.as_object_mut() {
            o.remove("timeout");
        }
        Ok((flat, save(Saved::Login(state))))
    }

    /// Verifies the assertion against the stored passkey; the authenticator's new counter.
    /// A counter that does not move forward (a cloned authenticator) is refused.
    pub fn finish_login(
        &self,
        saved: &str,
        stored: &Passkey,
        answer: &Assertion,
    ) -> Result<u32, Refused> {
        let Saved::Login(state) = restore(saved)? else {
            return Err(Refused::BadInput("this is not a sign-in".into()));
        };
        let raw = answer.credential()?;
        let assertion: PublicKeyCredential = serde_json::from_value(json!({
            "id": answer.credential_id, "rawId": URL_SAFE_NO_PAD.encode(&raw),
            "type": "public-key", "extensions": {},
            "response": {
                "authenticatorData": answer.authenticator_data,
                "clientDataJSON": answer.client_data_json,
                "signature": answer.signature,
                "userHandle": answer.user_handle,
            },
        }))
        .map_err(|_| Refused::BadInput("the assertion's fields must be base64url".into()))?;
        let mut cred = credential(stored)?;
        // The stored record keeps no backup flags: take the authenticator's, which the
        // library otherwise compares with its own (an out-of-spec check).
        let flags = decode(&answer.authenticator_data, "authenticatorData")?
            .get(32)
            .copied()
            .unwrap_or_default();
        cred.backup_eligible = flags & 0x08 != 0;
        cred.backup_state = flags & 0x10 != 0;
        let done = self
            .core
            .authenticate_single_credential(&assertion, &state, &cred)
            .map_err(Refused::Invalid)?;
        Ok(done.counter())
    }
}

fn save(saved: Saved) -> String {
    serde_json::to_string(&saved).expect("state serializes")
}

fn restore(saved: &str) -> Result<Saved, Refused> {
    serde_json::from_str(saved)
        .map_err(|_| Refused::BadInput("the ceremony's state is unreadable".into()))
}

/// The library's credential for a stored passkey.
fn credential(p: &Passkey) -> Result<Credential, Refused> {
    Ok(CredentialV3 {
        cred_id: p.credential_id.clone(),
        cred: cose_of(&p.public_key, p.algorithm)?,
        counter: p.sign_count,
        verified: false,
        registration_policy: UserVerificationPolicy::Preferred,
    }
    .into())
}

fn unusable() -> Refused {
    Refused::BadInput("the stored passkey's key is unusable".into())
}

/// SubjectPublicKeyInfo DER (P-256 or RSA) → the library's COSE key.
fn cose_of(spki_der: &[u8], algorithm: i64) -> Result<COSEKey, Refused> {
    let info = spki::SubjectPublicKeyInfoRef::from_der(spki_der).map_err(|_| unusable())?;
    let bits = info.subject_public_key.as_bytes().ok_or_else(unusable)?;
    if info.algorithm.oid == EC_PUBLIC_KEY && algorithm == -7 {
        let [0x04, point @ ..] = bits else {
            return Err(unusable());
        };
        if point.len() != 64 {
            return Err(unusable());
        }
        let (x, y) = point.split_at(32);
        return Ok(COSEKey {
            type_: COSEAlgorithm::ES256,
            key: COSEKeyType::EC_EC2(COSEEC2Key {
                curve: ECDSACurve::SECP256R1,
                x: x.to_vec(),
                y: y.to_vec(),
            }),
        });
    }
    if info.algorithm.oid == pkcs1::ALGORITHM_OID && algorithm == -257 {
        let rsa = pkcs1::RsaPublicKey::<spki::der::asn1::UintRef<'_>>::from_der(bits)
            .map_err(|_| unusable())?;
        let e = rsa.public_exponent.as_bytes();
        let mut exponent = [0u8; 3];
        if e.len() > 3 {
            return Err(unusable());
        }
        exponent[3 - e.len()..].copy_from_slice(e);
        return Ok(COSEKey {
            type_: COSEAlgorithm::RS256,
            key: COSEKeyType::RSA(COSERSAKey {
                n: rsa.modulus.as_bytes().to_vec(),
                e: exponent,
            }),
        });
    }
    Err(unusable())
}

/// The library's COSE key → SubjectPublicKeyInfo DER and its COSE algorithm.
fn spki_of(key: &COSEKey) -> Result<(Vec<u8>, i64), Refused> {
    let unsupported =
        || Refused::BadInput("only ES256 (P-256) and RS256 passkeys are accepted".into());
    let der = |info: spki::SubjectPublicKeyInfoRef<'_>| info.to_der().map_err(|_| unsupported());
    match (&key.type_, &key.key) {
        (COSEAlgorithm::ES256, COSEKeyType::EC_EC2(ec)) if ec.curve == ECDSACurve::SECP256R1 => {
            let point = [&[0x04][..], &ec.x, &ec.y].concat();
            let info = spki::SubjectPublicKeyInfoRef {
                algorithm: spki::AlgorithmIdentifierRef {
                    oid: EC_PUBLIC_KEY,
                    parameters: Some(AnyRef::from(&P256)),
                },
                subject_public_key: BitStringRef::from_bytes(&point).map_err(|_| unsupported())?,
            };
            Ok((der(info)?, -7))
        }
        (COSEAlgorithm::RS256, COSEKeyType::RSA(rsa)) => {
            fn uint(b: &[u8]) -> Result<spki::der::asn1::UintRef<'_>, Refused> {
                let start = b
                    .iter()
                    .position(|x| *x != 0)
                    .unwrap_or(b.len().saturating_sub(1));
                spki::der::asn1::UintRef::new(&b[start..]).map_err(|_| {
                    Refused::BadInput("only ES256 (P-256) and RS256 passkeys are accepted".into())
                })
            }
            let pkcs1 = pkcs1::RsaPublicKey {
                modulus: uint(&rsa.n)?,
                public_exponent: uint(&rsa.e)?,
            }
            .to_der()
            .map_err(|_| unsupported())?;
            let info = spki::SubjectPublicKeyInfoRef {
                algorithm: pkcs1::ALGORITHM_ID,
                subject_public_key: BitStringRef::from_bytes(&pkcs1).map_err(|_| unsupported())?,
            };
            Ok((der(info)?, -257))
        }
        _ => Err(unsupported()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bedrud's stored P-256 key (its schema reference's sample) round-trips.
    #[test]
    fn keys_round_trip_between_spki_and_cose() {
        let spki = hex(
            "3059301306072a8648ce3d020106082a8648ce3d030107034200042f8fc49fa7f1343118bd4e090a87cb92379ea42dc83d3302bea8f0b78474d15f68e918eca112af5dab18e08bac5c5bfe454cad64c539ca04212d384885b0a791",
        );
        let cose = cose_of(&spki, -7).unwrap();
        assert_eq!(spki_of(&cose).unwrap(), (spki.clone(), -7));
        assert!(
            cose_of(&spki, -257).is_err(),
            "the algorithm must match the key"
        );
        assert!(cose_of(&spki[..40], -7).is_err());
        let rsa = COSEKey {
            type_: COSEAlgorithm::RS256,
            key: COSEKeyType::RSA(COSERSAKey {
                n: [&[0xc5u8][..], &[7u8; 255]].concat(),
                e: [1, 0, 1],
            }),
        };
        let (der, alg) = spki_of(&rsa).unwrap();
        assert_eq!(alg, -257);
        let back = cose_of(&der, -257).unwrap();
        assert_eq!(spki_of(&back).unwrap().0, der);
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
