use std::ops::Deref;
use std::sync::Arc;

use crate::auth::Auth;
use crate::config::{Config, ConfigError};
use crate::ratelimit::RateLimiter;
use crate::rooms::Rooms;
use crate::store::Stores;

/// Everything a request handler needs, built once at start (per process or Lambda instance).
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub stores: Stores,
    pub auth: Auth,
    pub rooms: Rooms,
    pub limiter: Arc<dyn RateLimiter>,
}

impl AppState {
    /// Fails if the configuration lacks what serving needs (the JWT secret).
    pub fn new(
        config: Config,
        stores: Stores,
        limiter: Arc<dyn RateLimiter>,
    ) -> Result<Self, ConfigError> {
        let secret = config.require_jwt_secret()?;
        let auth = Auth::new(
            stores.users.clone(),
            stores.sessions.clone(),
            &config.auth,
            secret,
        );
        let rooms = Rooms::new(stores.rooms.clone(), &config);
        Ok(Self(Arc::new(Inner {
            config,
            stores,
            auth,
            rooms,
            limiter,
        })))
    }
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}
