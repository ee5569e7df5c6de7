//! Keys the item types share: a user's partition (profile, sessions and links live in it) and the
//! opaque page cursors every paged query hands out.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::item::{Item, s};
use crate::domain::{SessionId, TokenPurpose, UserId};
use crate::error::{StoreError, StoreResult};

/// Marks a user or room item whose contribution the tallies hold (`tallies.rs`).
pub(super) const TALLIED: &str = "tallied";

/// The sort key of a user's profile item.
pub const PROFILE: &str = "PROFILE";

/// A user's partition: the profile, the sessions, the active-room count.
pub fn user_pk(id: &UserId) -> AttributeValue {
    s(format!("USER#{id}"))
}

/// One session (refresh family) in its user's partition.
pub fn session(user: &UserId, id: &SessionId) -> (AttributeValue, AttributeValue) {
    (user_pk(user), s(format!("SESSION#{}", id.as_str())))
}

/// A one-time account link in its user's partition: one per purpose.
pub fn token_sk(purpose: TokenPurpose) -> AttributeValue {
    s(format!("TOKEN#{}", purpose.as_str()))
}

/// A page cursor is the query's LastEvaluatedKey (string attributes only), made opaque.
pub fn encode_cursor(key: &Item) -> String {
    let plain: HashMap<&str, &str> = key
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.as_s().ok()?.as_str())))
        .collect();
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&plain).expect("strings serialize"))
}

pub fn decode_cursor(cursor: &str) -> StoreResult<Item> {
    let bad = || StoreError::Other("malformed page cursor".into());
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let plain: HashMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    Ok(plain.into_iter().map(|(k, v)| (k, s(v))).collect())
}
