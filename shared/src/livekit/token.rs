//! Join tokens: HS256 JWTs signed with the LiveKit key pair through `livekit-api`, carrying
//! exactly the rights policy decided (`domain::policy::rights`) and never `roomAdmin`.

use std::time::Duration;

use livekit_api::access_token::{AccessToken, VideoGrants};

use crate::domain::policy::Rights;
use crate::domain::{DisplayName, Room, UnixTime, UserId};
use crate::error::Error;

/// The key pair and token policy, built once per process.
pub struct JoinTokens {
    api_key: String,
    api_secret: String,
    ttl: Duration,
    self_metadata: bool,
}

/// A signed join token and when it stops admitting new connections.
#[derive(Debug, Clone)]
pub struct JoinToken {
    pub jwt: String,
    pub expires_at: UnixTime,
}

impl std::fmt::Debug for JoinTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinTokens")
            .field("api_key", &self.api_key)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl JoinTokens {
    pub fn new(api_key: &str, api_secret: &str, ttl_secs: u64, self_metadata: bool) -> Self {
        Self {
            api_key: api_key.into(),
            api_secret: api_secret.into(),
            ttl: Duration::from_secs(ttl_secs),
            self_metadata,
        }
    }

    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// Signs a token for `identity` in this incarnation of `room` (its LiveKit name). Every
    /// right is written out explicitly: LiveKit grants everything that is left unset.
    pub fn mint(
        &self,
        identity: &UserId,
        name: &DisplayName,
        room: &Room,
        rights: &Rights,
        metadata: &str,
        now: UnixTime,
    ) -> Result<JoinToken, Error> {
        let grants = VideoGrants {
            room_join: true,
            room: room.livekit_name(),
            can_publish: Some(!rights.sources.is_empty()),
            can_publish_sources: rights.sources.iter().map(|s| s.as_str().into()).collect(),
            can_publish_data: Some(rights.publish_data),
            can_subscribe: Some(rights.subscribe),
            can_update_own_metadata: Some(self.self_metadata),
            ..Default::default()
        };
        let jwt = AccessToken::with_api_key(&self.api_key, &self.api_secret)
            .with_ttl(self.ttl)
            .with_identity(identity.as_str())
            .with_name(name.as_str())
            .with_metadata(metadata)
            .with_grants(grants)
            .to_jwt()
            .map_err(Error::internal)?;
        Ok(JoinToken {
            jwt,
            expires_at: now + self.ttl.as_secs() as i64,
        })
    }
}
