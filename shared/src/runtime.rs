//! Building a process's state from configuration, the same way for every entrypoint.

use std::sync::Arc;

use crate::accounts::Mail;
use crate::blobs::BlobStore;
use crate::config::{Config, ConfigError, DatabaseKind};
use crate::ratelimit::{MemoryRateLimiter, RateLimiter, StoreRateLimiter};
use crate::recordings::Media;
use crate::state::{AppState, Parts};
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

/// Opens the configured store and builds the state with every adapter (the sidecar; a Lambda
/// builds only what it calls, see `lambda::Init`).
pub async fn build(config: Config, counting: Counting) -> Result<AppState, StartError> {
    let (stores, media) = open_stores(&config).await?;
    let livekit = crate::livekit::from_config(&config)?;
    let limiter = limiter(counting, &stores);
    let mail = mail(&config, &media)?;
    let oauth = Some(Arc::new(crate::oauth::OAuth::new(&config)?));
    let passkeys = crate::passkeys::Passkeys::new(&config, &stores)?.map(Arc::new);
    Ok(AppState::from_parts(Parts {
        config,
        stores,
        livekit,
        oauth,
        passkeys,
        media,
        mail,
        limiter,
    })?)
}

/// Mail jobs go where recording jobs go on the embedded store (one job table, one worker);
/// on AWS to the mail queue (`MAIL_QUEUE_URL`). The mailer is the configured provider's.
fn mail(config: &Config, media: &Media) -> Result<Mail, StartError> {
    let queue = match config.database.kind {
        DatabaseKind::Sqlite => media.queue.clone(),
        #[cfg(feature = "aws")]
        DatabaseKind::DynamoDb => match &config.email.queue_url {
            Some(url) => {
                use crate::queue::sqs::SqsQueue;
                let sqs = SqsQueue::new(SqsQueue::client_from_env()?, url);
                Some(Arc::new(sqs) as Arc<dyn crate::queue::JobQueue>)
            }
            None => None,
        },
        #[allow(unreachable_patterns)]
        _ => None,
    };
    Ok(Mail {
        queue,
        mailer: crate::mail::from_config(config)?,
    })
}

pub fn limiter(counting: Counting, stores: &Stores) -> Arc<dyn RateLimiter> {
    match counting {
        Counting::InProcess => Arc::new(MemoryRateLimiter::default()),
        Counting::Shared => Arc::new(StoreRateLimiter::new(stores.counters.clone())),
    }
}

/// The adapter `database.type` names, if this build links it, and where recordings go.
pub async fn open_stores(config: &Config) -> Result<(Stores, Media), StartError> {
    match config.database.kind {
        #[cfg(feature = "embedded")]
        DatabaseKind::Sqlite => {
            let store = Arc::new(crate::store::sqlite::SqliteStore::open(
                &config.database.path,
            )?);
            let media = Media {
                queue: Some(store.clone()),
                watch: Some(store.clone()),
                blobs: Some(recording_blobs(config)?),
                links: None,
                jobs: Some(store.clone()),
            };
            Ok((Stores::from_shared(store), media))
        }
        #[cfg(feature = "aws")]
        DatabaseKind::DynamoDb => {
            use crate::queue::sqs::SqsQueue;
            use crate::store::dynamodb::DynamoStore;
            let client = DynamoStore::client_from_env()?;
            let table = config.database.table.as_deref().unwrap_or_default();
            let stores = Stores::from_adapter(DynamoStore::new(client, table));
            let rec = &config.recordings;
            let media = match (&rec.queue_url, &rec.bucket) {
                (Some(queue), Some(bucket)) => {
                    let sqs = Arc::new(SqsQueue::new(SqsQueue::client_from_env()?, queue));
                    let links = crate::blobs::s3_links::S3Links::from_env(bucket)?;
                    Media {
                        queue: Some(sqs.clone()),
                        watch: Some(sqs),
                        blobs: Some(recording_blobs(config)?),
                        links: Some(Arc::new(links)),
                        jobs: None,
                    }
                }
                _ => Media::default(),
            };
            Ok((stores, media))
        }
        #[allow(unreachable_patterns)]
        other => Err(StartError::Config(ConfigError::new(
            "database.type",
            format!("`{other:?}` is not built into this binary"),
            "set TABLE_NAME for DynamoDB in Lambda; the sidecar uses sqlite",
        ))),
    }
}

/// S3 when a recordings bucket is named (and this build links AWS), else the directory.
pub fn recording_blobs(config: &Config) -> Result<Arc<dyn BlobStore>, ConfigError> {
    let rec = &config.recordings;
    #[cfg(feature = "aws")]
    if let Some(bucket) = &rec.bucket {
        use crate::blobs::s3::S3BlobStore;
        return Ok(Arc::new(S3BlobStore::new(
            S3BlobStore::client_from_env()?,
            bucket,
        )));
    }
    Ok(Arc::new(crate::blobs::fs::FsBlobStore::new(&rec.dir)))
}
