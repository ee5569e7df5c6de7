//! Participant metadata as Bedrud's clients read it: `role`, `accesses` (the web client shows a
//! moderator badge for `"moderator"`) and `chatBlocked` (Android greys out chat) are ours;
//! everything else (display name, avatar, deafen state) is the client's own. The server's
//! fields are always rebuilt from the store, never carried over from what a participant
//! wrote, so a forged `"role":"owner"` is never re-published by the server.

use serde_json::{Map, Value, json};

use crate::domain::Access;
use crate::domain::policy::RoomRole;

/// The keys only the server writes.
const SERVER_KEYS: [&str; 3] = ["role", "accesses", "chatBlocked"];

/// `client` is the participant's current metadata (kept for its own keys), `None` for a
/// fresh token.
pub fn participant_metadata(
    client: Option<&str>,
    role: RoomRole,
    accesses: &[Access],
    chat_blocked: bool,
) -> String {
    let mut meta: Map<String, Value> = client
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or_default();
    for key in SERVER_KEYS {
        meta.remove(key);
    }
    let mut shown: Vec<&str> = accesses
        .iter()
        .filter(|a| **a != Access::Moderator)
        .map(|a| a.as_str())
        .collect();
    if role == RoomRole::Moderator {
        shown.push(Access::Moderator.as_str());
    }
    meta.insert("role".into(), json!(role.as_str()));
    meta.insert("accesses".into(), json!(shown));
    meta.insert("chatBlocked".into(), json!(chat_blocked));
    Value::Object(meta).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_fields_come_from_the_store_and_client_fields_stay() {
        let forged = r#"{"displayName":"Ann","deafened":true,"role":"owner","accesses":["admin"],"chatBlocked":false}"#;
        let out = participant_metadata(Some(forged), RoomRole::Participant, &[Access::User], true);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["displayName"], "Ann");
        assert_eq!(v["deafened"], true);
        assert_eq!(v["role"], "participant");
        assert_eq!(v["accesses"], json!(["user"]));
        assert_eq!(v["chatBlocked"], true);
        let promoted =
            participant_metadata(Some(&out), RoomRole::Moderator, &[Access::User], false);
        let v: Value = serde_json::from_str(&promoted).unwrap();
        assert_eq!(v["accesses"], json!(["user", "moderator"]));
        assert_eq!(v["role"], "moderator");
        let fresh: Value =
            serde_json::from_str(&participant_metadata(None, RoomRole::Owner, &[], false)).unwrap();
        assert_eq!(
            fresh,
            json!({"role": "owner", "accesses": [], "chatBlocked": false})
        );
    }
}
