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
pub async fn build(config: Config, counting: Counting) -> Result<AppState, StartError> {
    let stores = open_stores(&config).await?;
    let limiter: Arc<dyn RateLimiter> = match counting {
        Counting::InProcess => Arc::new(MemoryRateLimiter::default()),
        Counting::Shared => Arc::new(StoreRateLimiter::new(stores.counters.clone())),
    };
    Ok(AppState::new(config, stores, limiter)?)
}

/// The adapter `database.type` names, if this build links it.
async fn open_stores(config: &Config) -> Result<Stores, StartError> {
    match config.database.kind.as_str() {
        #[cfg(feature = "embedded")]
        "sqlite" => Ok(Stores::from_adapter(
            crate::store::sqlite::SqliteStore::open(&config.database.path)?,
        )),
        #[cfg(feature = "aws")]
        "dynamodb" => {
            use crate::store::dynamodb::DynamoStore;
            let client = DynamoStore::client_from_env().await;
            Ok(Stores::from_adapter(DynamoStore::new(
                client,
                &config.database.table,
            )))
        }
        other => Err(StartError::Config(ConfigError::new(
            "database.type",
            format!("`{other}` is not built into this binary"),
            "set TABLE_NAME for DynamoDB in Lambda; the sidecar uses sqlite",
        ))),
    }
}
