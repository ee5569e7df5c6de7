//! The application state: every service, built once per process (or Lambda instance) from
//! the configuration and the adapters that process uses.

use std::ops::Deref;
use std::sync::Arc;

use crate::accounts::{Accounts, Mail};
use crate::admin::Admin;
use crate::admin_actions::Actions;
use crate::attendance::Attendance;
use crate::auth::Auth;
use crate::config::{Config, ConfigError};
use crate::dashboard::Dashboard;
use crate::livekit::{self, LiveKit};
use crate::moderation::Moderation;
use crate::oauth::OAuth;
use crate::participants::Participants;
use crate::passkeys::Passkeys;
use crate::ratelimit::RateLimiter;
use crate::recordings::{Media, Recordings};
use crate::rooms::Rooms;
use crate::settings::Settings;
use crate::store::Stores;
use crate::webhooks::Webhooks;

/// Everything a request handler needs, built once at start (per process or Lambda instance).
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// What a process's state is assembled from. A Lambda passes only the adapters its routes
/// call: an adapter never constructed is never linked (the S3, SQS and LiveKit clients each
/// cost a binary megabytes).
pub struct Parts {
    pub config: Config,
    pub stores: Stores,
    pub livekit: Option<Arc<dyn LiveKit>>,
    /// Sign-in providers: only where their routes are served (the `auth` function, `bedrud
    /// run`), so the others do not link them.
    pub oauth: Option<Arc<OAuth>>,
    /// Passkeys: likewise, and only with a relying party configured.
    pub passkeys: Option<Arc<Passkeys>>,
    pub media: Media,
    pub mail: Mail,
    pub limiter: Arc<dyn RateLimiter>,
}

pub struct Inner {
    pub config: Config,
    pub stores: Stores,
    pub settings: Arc<Settings>,
    pub auth: Auth,
    /// Sign-in with Google, GitHub and X; `None` where those routes are not served.
    pub oauth: Option<Arc<OAuth>>,
    /// Passkeys; `None` where they are not served or no relying party is configured.
    pub passkeys: Option<Arc<Passkeys>>,
    pub accounts: Accounts,
    pub rooms: Rooms,
    pub moderation: Moderation,
    pub participants: Participants,
    pub webhooks: Webhooks,
    pub recordings: Arc<Recordings>,
    pub admin: Admin,
    pub actions: Actions,
    pub dashboard: Dashboard,
    pub media: Media,
    /// LiveKit's server API; `None` when no key pair is configured.
    pub livekit: Option<Arc<dyn LiveKit>>,
    pub limiter: Arc<dyn RateLimiter>,
}

impl AppState {
    /// The state with LiveKit's server API when keys are configured and no recordings
    /// storage. Fails if the configuration lacks what serving needs (the JWT secret) or names
    /// an unusable LiveKit host.
    pub fn new(
        config: Config,
        stores: Stores,
        limiter: Arc<dyn RateLimiter>,
    ) -> Result<Self, ConfigError> {
        let livekit = livekit::from_config(&config)?;
        let oauth = Some(Arc::new(OAuth::new(&config)?));
        let passkeys = Passkeys::new(&config, &stores)?.map(Arc::new);
        Self::from_parts(Parts {
            config,
            stores,
            livekit,
            oauth,
            passkeys,
            media: Media::default(),
            mail: Mail::default(),
            limiter,
        })
    }

    pub fn from_parts(parts: Parts) -> Result<Self, ConfigError> {
        let Parts {
            config,
            stores,
            livekit,
            oauth,
            passkeys,
            media,
            mail,
            limiter,
        } = parts;
        let secret = config.require_jwt_secret()?;
        let settings = Arc::new(Settings::new(stores.settings.clone(), &config));
        let auth = Auth::new(&stores, settings.clone(), &config.auth, secret);
        let accounts = Accounts::new(
            &stores,
            mail,
            limiter.clone(),
            settings.clone(),
            auth.hasher().clone(),
            &config,
        );
        let rooms = Rooms::new(
            stores.rooms.clone(),
            stores.recordings.clone(),
            livekit.clone(),
            settings.clone(),
            &config,
        );
        let moderation = Moderation::new(
            stores.rooms.clone(),
            stores.users.clone(),
            livekit.clone(),
            &config,
        );
        let recordings = Arc::new(Recordings::new(
            &stores,
            livekit.clone(),
            media.clone(),
            settings.clone(),
            &config,
        ));
        let webhooks = Webhooks::new(
            &stores,
            Attendance::new(&stores, livekit.clone()),
            recordings.clone(),
            &config,
        );
        let admin = Admin::new(&stores, livekit.clone(), &config);
        let actions = Actions::new(&stores, livekit.clone());
        let dashboard = Dashboard::new(&stores, media.watch.clone(), settings.clone());
        let participants =
            Participants::new(stores.rooms.clone(), stores.users.clone(), livekit.clone());
        Ok(Self(Arc::new(Inner {
            config,
            stores,
            settings,
            auth,
            oauth,
            passkeys,
            accounts,
            rooms,
            moderation,
            participants,
            webhooks,
            recordings,
            admin,
            actions,
            dashboard,
            media,
            livekit,
            limiter,
        })))
    }
}

impl AppState {
    /// The reconciler over this state's store and LiveKit; `None` without LiveKit keys.
    pub fn reconciler(&self) -> Option<crate::reconciler::Reconciler> {
        let lk = self.livekit.clone()?;
        let r = crate::reconciler::Reconciler::new(&self.stores, lk);
        Some(match self.media.queue {
            Some(_) => r.with_recordings(self.recordings.clone()),
            None => r,
        })
    }
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}
