//! The runtime settings service: the configuration's values as defaults, what admins stored
//! over them, read through a short cache so every instance (every Lambda) sees a change
//! within `server.settingsCacheTTL` without a store read on every request.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::domain::{Incoming, RuntimeSettings, StoredSettings};
use crate::error::{Error, Result};
use crate::store::SettingsStore;

/// Attempts at a compare-and-set before giving up (admins rarely race).
const ATTEMPTS: usize = 8;

/// Where an effective value comes from (what `bedrud doctor` shows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Config,
    Stored,
}

pub struct Settings {
    store: Arc<dyn SettingsStore>,
    defaults: RuntimeSettings,
    ttl: Duration,
    cache: Mutex<Option<(Instant, Arc<RuntimeSettings>)>>,
}

impl Settings {
    pub fn new(store: Arc<dyn SettingsStore>, config: &Config) -> Self {
        Self {
            store,
            defaults: defaults(config),
            ttl: config.server.settings_cache_ttl.as_duration(),
            cache: Mutex::new(None),
        }
    }

    /// The effective settings, at most one cache period old. A store that cannot be read
    /// keeps the last good value if there is one.
    pub async fn current(&self) -> Result<Arc<RuntimeSettings>> {
        let cached = self.cache.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some((at, s)) = &cached
            && at.elapsed() < self.ttl
        {
            return Ok(s.clone());
        }
        match self.store.settings().await {
            Ok(stored) => Ok(self.remember(&stored)),
            Err(e) => match cached {
                Some((_, s)) => {
                    tracing::warn!(error = %e, "settings unreadable; using the last known");
                    Ok(s)
                }
                None => Err(e.into()),
            },
        }
    }

    /// Applies an admin's change over what is stored, by compare-and-set (a concurrent
    /// change by another admin is read and kept).
    pub async fn update(&self, change: &[(String, Incoming)]) -> Result<Arc<RuntimeSettings>> {
        for _ in 0..ATTEMPTS {
            let stored = self.store.settings().await?;
            let next = stored
                .merged(change)
                .map_err(|refusal| Error::bad_request(refusal.0))?;
            if self.store.put_settings(&next, stored.rev).await? {
                let mut applied = next;
                applied.rev = stored.rev + 1;
                return Ok(self.remember(&applied));
            }
        }
        Err(Error::Unavailable("settings kept changing".into()))
    }

    /// Each key with its effective value's source.
    pub async fn sources(&self) -> Result<Vec<(&'static str, Source)>> {
        let stored = self.store.settings().await?;
        Ok(RuntimeSettings::KEYS
            .iter()
            .map(|(k, _)| {
                let src = if stored.values.contains_key(*k) {
                    Source::Stored
                } else {
                    Source::Config
                };
                (*k, src)
            })
            .collect())
    }

    fn remember(&self, stored: &StoredSettings) -> Arc<RuntimeSettings> {
        let effective = Arc::new(self.defaults.with(stored));
        *self.cache.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((Instant::now(), effective.clone()));
        effective
    }
}

/// The configuration's values: what each setting is until an admin stores another.
pub fn defaults(config: &Config) -> RuntimeSettings {
    RuntimeSettings {
        server_name: config.server.name.clone(),
        registration_enabled: config.auth.registration_enabled,
        token_registration_only: config.auth.token_registration_only,
        guest_login_enabled: config.auth.guest_login_enabled,
        recordings_enabled: config.recordings.enabled,
        max_participants_limit: config.server.max_participants_limit.into(),
        max_rooms_per_user: config.server.max_rooms_per_user.into(),
        rnnoise_enabled: false,
        krisp_enabled: false,
        chat_message_ttl_hours: 2160,
        chat_max_message_count: 0,
    }
}
