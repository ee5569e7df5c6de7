//! A software passkey authenticator: makes a P-256 credential for `navigator.credentials.create`
//! options and signs `get` challenges, producing the exact bytes a platform authenticator
//! sends (CBOR attestation object with `fmt: none`, authenticator data, DER ECDSA signature,
//! client data JSON), in the base64url fields Bedrud's clients post.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ciborium::Value as Cbor;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// User present, user verified, attested credential data.
const CREATED: u8 = 0x01 | 0x04 | 0x40;
const ASSERTED: u8 = 0x01 | 0x04;

pub struct SoftPasskey {
    key: SigningKey,
    pub credential_id: Vec<u8>,
    /// The signature counter the next assertion carries.
    pub counter: u32,
    /// The origin the "browser" reports in client data.
    pub origin: String,
    /// The RP id whose hash goes into authenticator data.
    pub rp_id: String,
    /// The user handle it was created for.
    pub user_handle: Vec<u8>,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn cbor(value: &Cbor) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).expect("CBOR");
    out
}

impl SoftPasskey {
    pub fn new(rp_id: &str, origin: &str) -> Self {
        let secret: [u8; 32] = rand::random();
        Self {
            key: SigningKey::from_bytes(&secret.into()).expect("a P-256 scalar"),
            credential_id: rand::random::<[u8; 16]>().to_vec(),
            counter: 1,
            origin: origin.into(),
            rp_id: rp_id.into(),
            user_handle: Vec::new(),
        }
    }

    /// The public key as Bedrud stores it: SubjectPublicKeyInfo DER (P-256, uncompressed).
    pub fn spki(&self) -> Vec<u8> {
        const P256_SPKI_PREFIX: [u8; 26] = [
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ];
        let point = self.key.verifying_key().to_encoded_point(false);
        [&P256_SPKI_PREFIX[..], point.as_bytes()].concat()
    }

    fn client_data(&self, kind: &str, options: &Value) -> Vec<u8> {
        let challenge = options["challenge"]
            .as_str()
            .expect("options carry a challenge");
        json!({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false})
            .to_string()
            .into_bytes()
    }

    fn rp_hash(&self) -> [u8; 32] {
        Sha256::digest(self.rp_id.as_bytes()).into()
    }

    /// The answer to create options: `{clientDataJSON, attestationObject}`.
    pub fn create(&mut self, options: &Value) -> Value {
        let handle = options["user"]["id"]
            .as_str()
            .expect("options name the user");
        self.user_handle = URL_SAFE_NO_PAD
            .decode(handle)
            .expect("user id is base64url");
        let point = self.key.verifying_key().to_encoded_point(false);
        let cose = Cbor::Map(vec![
            (Cbor::Integer(1.into()), Cbor::Integer(2.into())),
            (Cbor::Integer(3.into()), Cbor::Integer((-7).into())),
            (Cbor::Integer((-1).into()), Cbor::Integer(1.into())),
            (
                Cbor::Integer((-2).into()),
                Cbor::Bytes(point.x().unwrap().to_vec()),
            ),
            (
                Cbor::Integer((-3).into()),
                Cbor::Bytes(point.y().unwrap().to_vec()),
            ),
        ]);
        let mut auth_data = self.rp_hash().to_vec();
        auth_data.push(CREATED);
        auth_data.extend(0u32.to_be_bytes());
        auth_data.extend([0u8; 16]); // AAGUID
        auth_data.extend((self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend(&self.credential_id);
        auth_data.extend(cbor(&cose));
        let attestation = Cbor::Map(vec![
            (Cbor::Text("fmt".into()), Cbor::Text("none".into())),
            (Cbor::Text("attStmt".into()), Cbor::Map(Vec::new())),
            (Cbor::Text("authData".into()), Cbor::Bytes(auth_data)),
        ]);
        json!({
            "clientDataJSON": b64(&self.client_data("webauthn.create", options)),
            "attestationObject": b64(&cbor(&attestation)),
        })
    }

    /// The answer to get options: `{credentialId, clientDataJSON, authenticatorData,
    /// signature}` (no user handle, as the web and iOS send it). The counter moves on.
    pub fn get(&mut self, options: &Value) -> Value {
        let client_data = self.client_data("webauthn.get", options);
        let mut auth_data = self.rp_hash().to_vec();
        auth_data.push(ASSERTED);
        auth_data.extend(self.counter.to_be_bytes());
        let signed = [auth_data.as_slice(), &Sha256::digest(&client_data)].concat();
        let signature: Signature = self.key.sign(&signed);
        self.counter += 1;
        json!({
            "credentialId": b64(&self.credential_id),
            "clientDataJSON": b64(&client_data),
            "authenticatorData": b64(&auth_data),
            "signature": b64(signature.to_der().as_bytes()),
        })
    }
}
