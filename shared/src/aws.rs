//! What the AWS adapters share: one SDK configuration per process (region, credentials,
//! `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` for emulators), and one mapping of SDK
//! failures onto the store's errors.

use aws_config::SdkConfig;
// Every service crate re-exports these same smithy types.
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use tokio::sync::OnceCell;

use crate::store::StoreError;

/// The process's SDK configuration, loaded from the environment on first use.
pub async fn sdk_config() -> &'static SdkConfig {
    static CONFIG: OnceCell<SdkConfig> = OnceCell::const_new();
    CONFIG
        .get_or_init(|| aws_config::defaults(aws_config::BehaviorVersion::latest()).load())
        .await
}

/// Error codes that mean "try again later" in any of the services we call.
const RETRYABLE: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "SlowDown",
    "InternalServerError",
    "InternalError",
    "ServiceUnavailable",
];

/// Throttling and transport trouble are retryable (`Unavailable`); anything else is a
/// failure with the service's code and message for the log.
pub fn map_sdk<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    service: &str,
    e: SdkError<E, R>,
) -> StoreError {
    match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            StoreError::Unavailable(format!("{service} unreachable: {e:?}"))
        }
        _ if e.code().is_some_and(|c| RETRYABLE.contains(&c)) => {
            StoreError::Unavailable(format!("{service}: {}", e.code().unwrap_or_default()))
        }
        _ => StoreError::Other(format!(
            "{service}: {} {}",
            e.code().unwrap_or("error"),
            e.message().unwrap_or_default()
        )),
    }
}
