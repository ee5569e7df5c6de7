//! LiveKit at the edge of the core: join-token minting, and the server API (rooms,
//! participants, data, egress) as a port with a Twirp adapter. Only this module names
//! `livekit-api` / `livekit-protocol` types.

mod metadata;
mod port;
mod token;
pub mod twirp;
mod webhook;

use std::sync::Arc;

pub use metadata::participant_metadata;
pub use port::*;
pub use token::{JoinToken, JoinTokens};
pub use webhook::{Connection, LiveEvent, LiveEventKind, WebhookRefusal, WebhookVerifier};

use crate::config::{Config, ConfigError};

/// The LiveKit server API this configuration points at (`internalHost`, else `host`), or
/// `None` when no key pair is configured (nothing to call).
pub fn from_config(config: &Config) -> Result<Option<Arc<dyn LiveKit>>, ConfigError> {
    let lk = &config.livekit;
    let Some((key, secret)) = lk.keys() else {
        return Ok(None);
    };
    let host = server_host(config);
    let client = twirp::TwirpLiveKit::new(host, key, secret, lk.skip_tls_verify).map_err(|e| {
        ConfigError::new(
            "livekit.internalHost",
            e,
            "set livekit.internalHost (or livekit.host) to e.g. http://127.0.0.1:7880",
        )
    })?;
    Ok(Some(Arc::new(client)))
}

/// Where the server API is reached: `internalHost` when set, else the public `host`.
pub fn server_host(config: &Config) -> &str {
    let lk = &config.livekit;
    lk.internal_host.as_deref().unwrap_or(&lk.host)
}
