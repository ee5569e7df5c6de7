//! What the AWS adapters share: the SDK configuration read from the environment, and one
//! mapping of SDK failures onto the adapters' errors.

use std::sync::OnceLock;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
// Every service crate re-exports these same smithy types.
use aws_sdk_dynamodb::config::BehaviorVersion;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_types::SdkConfig;
use aws_types::region::Region;

use crate::config::ConfigError;
use crate::error::StoreError;

/// An AWS service we call, for its endpoint override (`AWS_ENDPOINT_URL_<SERVICE>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    DynamoDb,
    Sqs,
    S3,
    SecretsManager,
    SesV2,
}

impl Service {
    const ALL: [Service; 5] = [
        Service::DynamoDb,
        Service::Sqs,
        Service::S3,
        Service::SecretsManager,
        Service::SesV2,
    ];

    /// The suffix every AWS SDK uses for the service's endpoint variable.
    fn env_suffix(self) -> &'static str {
        match self {
            Service::DynamoDb => "DYNAMODB",
            Service::Sqs => "SQS",
            Service::S3 => "S3",
            Service::SecretsManager => "SECRETS_MANAGER",
            Service::SesV2 => "SESV2",
        }
    }
}

/// What the environment says, read once: region, credentials, endpoints.
#[derive(Debug, Clone)]
struct Env {
    region: String,
    credentials: Credentials,
    /// Per service, in `Service::ALL` order: `AWS_ENDPOINT_URL_<SERVICE>`, else
    /// `AWS_ENDPOINT_URL`, else AWS itself.
    endpoints: [Option<String>; 5],
}

/// The SDK configuration for one service's client: `AWS_REGION` (or `AWS_DEFAULT_REGION`),
/// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` (what Lambda gives every
/// function for its role), and the endpoint an emulator or proxy sets for it. Each call makes
/// a new HTTPS client, so every client owns its connection pool: a process builds its clients
/// once, and a client made on one Tokio runtime never hands another runtime its connections
/// (tests run one runtime each).
///
/// HTTPS is rustls on ring, the stack the LiveKit client uses too (the SDK's default would
/// add aws-lc). Deliberately not `aws-config`'s provider chain: profiles, SSO, STS and IMDS cost every
/// Lambda binary about a megabyte it never runs. Outside Lambda, export credentials first
/// (`eval "$(aws configure export-credentials --format env)"`).
pub fn sdk_config(service: Service) -> Result<SdkConfig, ConfigError> {
    Ok(process_env()?.config(service))
}

/// Where `service`'s requests go when an emulator or proxy is configured.
pub fn endpoint(service: Service) -> Result<Option<String>, ConfigError> {
    Ok(process_env()?.endpoint(service).map(str::to_string))
}

/// The credentials the clients sign with, for signing outside an SDK client (download links).
pub fn credentials() -> Result<&'static Credentials, ConfigError> {
    Ok(&process_env()?.credentials)
}

fn process_env() -> Result<&'static Env, ConfigError> {
    static ENV: OnceLock<Env> = OnceLock::new();
    if let Some(c) = ENV.get() {
        return Ok(c);
    }
    let env = from_env(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))?;
    Ok(ENV.get_or_init(|| env))
}

fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Env, ConfigError> {
    let region = var("AWS_REGION")
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .ok_or_else(|| {
            ConfigError::new(
                "AWS_REGION",
                "no AWS region in the environment",
                "set AWS_REGION (Lambda sets it for every function)",
            )
        })?;
    let (Some(id), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) else {
        return Err(ConfigError::new(
            "AWS_ACCESS_KEY_ID",
            "no AWS credentials in the environment",
            "export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), e.g. \
             eval \"$(aws configure export-credentials --format env)\"",
        ));
    };
    let credentials = Credentials::new(id, secret, var("AWS_SESSION_TOKEN"), None, "environment");
    let general = var("AWS_ENDPOINT_URL");
    let endpoints = Service::ALL.map(|svc| {
        var(&format!("AWS_ENDPOINT_URL_{}", svc.env_suffix())).or_else(|| general.clone())
    });
    Ok(Env {
        region,
        credentials,
        endpoints,
    })
}

impl Env {
    fn endpoint(&self, service: Service) -> Option<&str> {
        let i = Service::ALL
            .iter()
            .position(|s| *s == service)
            .expect("every service is listed");
        self.endpoints[i].as_deref()
    }

    fn config(&self, service: Service) -> SdkConfig {
        build(
            &self.region,
            self.credentials.clone(),
            self.endpoint(service).map(str::to_string),
        )
    }
}

/// The SDK configuration for a service named outright rather than by the environment (the
/// importer reads Bedrud's own S3-compatible storage with Bedrud's key pair), on the same
/// HTTP stack as every other client.
pub fn config_for(region: &str, key_id: &str, secret: &str, endpoint: Option<String>) -> SdkConfig {
    let credentials = Credentials::new(key_id, secret, None, None, "configured");
    build(region, credentials, endpoint)
}

fn build(region: &str, credentials: Credentials, endpoint: Option<String>) -> SdkConfig {
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http_client())
        .region(Region::new(region.to_string()))
        .credentials_provider(SharedCredentialsProvider::new(credentials));
    builder.set_endpoint_url(endpoint);
    builder.build()
}

/// The SDK's HTTP client: ours (`crate::outbound`: HTTP/1.1, rustls on ring), built by the
/// first request, not when a service client is built at a Lambda's init (the system's root
/// certificates cost ~5 ms to load, which a function whose route never calls the service
/// should not pay). The SDK's own client would link HTTP/2 (`h2`), about 300 KB a function,
/// for single requests that gain nothing from it.
fn http_client() -> SharedHttpClient {
    SharedHttpClient::new(SdkHttp::default())
}

type Pooled = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    SdkBody,
>;

#[derive(Debug, Default, Clone)]
struct SdkHttp(std::sync::Arc<OnceLock<Result<Pooled, String>>>);

impl HttpClient for SdkHttp {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(SdkConnector {
            client: self.clone(),
            connect_timeout: settings.connect_timeout(),
            read_timeout: settings.read_timeout(),
        })
    }
}

#[derive(Debug)]
struct SdkConnector {
    client: SdkHttp,
    connect_timeout: Option<Duration>,
    read_timeout: Option<Duration>,
}

impl HttpConnector for SdkConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match request.try_into_http1x() {
            Ok(r) => r,
            Err(e) => return HttpConnectorFuture::ready(Err(ConnectorError::user(e.into()))),
        };
        let connect = self.connect_timeout.unwrap_or(Duration::from_secs(5));
        let pooled = self
            .client
            .0
            .get_or_init(|| crate::outbound::build(false, connect))
            .clone();
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let client = pooled.map_err(|e| ConnectorError::other(e.into(), None))?;
            let sent = client.request(request);
            let answer = match read_timeout {
                Some(t) => tokio::time::timeout(t, sent)
                    .await
                    .map_err(|e| ConnectorError::timeout(e.into()))?,
                None => sent.await,
            };
            let response = answer.map_err(classify)?.map(SdkBody::from_body_1_x);
            HttpResponse::try_from(response).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// Transport failures the SDK's retry strategy should retry are I/O or timeouts.
fn classify(e: hyper_util::client::legacy::Error) -> ConnectorError {
    use std::error::Error as _;
    let hyper = e.source().and_then(|s| s.downcast_ref::<hyper::Error>());
    match hyper {
        _ if e.is_connect() => ConnectorError::io(e.into()),
        Some(h) if h.is_timeout() => ConnectorError::timeout(e.into()),
        Some(h) if h.is_user() => ConnectorError::user(e.into()),
        Some(h) if h.is_closed() || h.is_canceled() || h.is_incomplete_message() => {
            ConnectorError::io(e.into())
        }
        _ => ConnectorError::other(e.into(), None),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::provider::ProvideCredentials;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[tokio::test]
    async fn reads_region_credentials_and_endpoint_from_the_environment() {
        let c = from_env(env(&[
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "session"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"),
        ]))
        .unwrap();
        // The service's own variable wins over the general one, as in every AWS SDK.
        let dynamodb = c.config(Service::DynamoDb);
        assert_eq!(dynamodb.endpoint_url(), Some("http://127.0.0.1:8000"));
        let c = c.config(Service::Sqs);
        assert_eq!(c.region().unwrap().as_ref(), "eu-west-1");
        assert_eq!(c.endpoint_url(), Some("http://127.0.0.1:5000"));
        let creds = c
            .credentials_provider()
            .unwrap()
            .provide_credentials()
            .await
            .unwrap();
        assert_eq!(creds.access_key_id(), "AKIDEXAMPLE");
        assert_eq!(creds.session_token(), Some("session"));
        // AWS_REGION wins over AWS_DEFAULT_REGION; no endpoint means AWS itself.
        let c = from_env(env(&[
            ("AWS_REGION", "us-east-2"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "a"),
            ("AWS_SECRET_ACCESS_KEY", "b"),
        ]))
        .unwrap()
        .config(Service::S3);
        assert_eq!(c.region().unwrap().as_ref(), "us-east-2");
        assert_eq!(c.endpoint_url(), None);
    }

    #[test]
    fn a_missing_region_or_key_is_named() {
        let e = from_env(env(&[
            ("AWS_ACCESS_KEY_ID", "a"),
            ("AWS_SECRET_ACCESS_KEY", "b"),
        ]));
        assert!(e.unwrap_err().to_string().contains("AWS_REGION"));
        let e = from_env(env(&[
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "a"),
        ]));
        assert!(e.unwrap_err().to_string().contains("AWS_ACCESS_KEY_ID"));
    }
}
