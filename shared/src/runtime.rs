//! Building a process's state from configuration, the same way for every entrypoint.

use std::sync::Arc;

use crate::config::{Config, ConfigError};
use crate::ratelimit::{MemoryRateLimiter, RateLimiter, StoreRateLimiter};
use crate::state::AppState;
use crate::store::{StoreError, Stores};

/// Why a process could not start; printed as one line.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Io(String),
}

/// Where rate-limit counts live: in this process, or in the store shared by all instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    InProcess,
    Shared,
}

/// Opens the configured store and builds the state.
pub fn build(config: Config, counting: Counting) -> Result<AppState, StartError> {
    let stores = open_stores(&config)?;
    let limiter: Arc<dyn RateLimiter> = match counting {
        Counting::InProcess => Arc::new(MemoryRateLimiter::default()),
        Counting::Shared => Arc::new(StoreRateLimiter::new(stores.counters.clone())),
    };
    Ok(AppState::new(config, stores, limiter)?)
}

#[cfg(feature = "embedded")]
fn open_stores(config: &Config) -> Result<Stores, StartError> {
    let store = crate::store::sqlite::SqliteStore::open(&config.database.path)?;
    Ok(Stores::from_adapter(store))
}

#[cfg(not(feature = "embedded"))]
fn open_stores(_: &Config) -> Result<Stores, StartError> {
    Err(StartError::Io(
        "this build has no store adapter; enable the `embedded` feature".into(),
    ))
}
