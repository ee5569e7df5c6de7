//! Serving a router from AWS Lambda behind API Gateway HTTP API (payload v2).

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use lambda_http::request::RequestContext;

use aws_lambda_events::event::apigw::ApiGatewayV2httpResponse;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};

use crate::accounts::Mail;
use crate::config::{Config, ConfigError, DatabaseKind};
use crate::http::request_id::RequestId;
use crate::http::{ClientIp, app};
use crate::queue::JobHandler;
use crate::reconciler::Reconciler;
use crate::recordings::Media;
use crate::recordings::Recordings;
use crate::runtime::{Counting, StartError, limiter};
use crate::state::{AppState, Parts};
use crate::store::Stores;
use crate::store::dynamodb::DynamoStore;

/// A Lambda instance's state, built once before the first invocation. The table always; the
/// secrets, LiveKit's server API and the recordings queue and bucket only when the function
/// asks, because an adapter never constructed is never linked (each costs the bootstrap from
/// a hundred kilobytes to a megabyte) and a role need not allow what its function never does.
pub struct Init(Parts, std::sync::Arc<DynamoStore>);

impl Init {
    /// Configuration from the environment alone (no file; no local secrets are ever
    /// generated here), the DynamoDB table (`TABLE_NAME`), rate limits counted in it.
    pub fn from_env() -> Result<Self, StartError> {
        let config = Config::from_env()?;
        crate::telemetry::init(&config.logger);
        // The template sets it (parameter MetricsNamespace); empty turns EMF off.
        if let Some(ns) = std::env::var("METRICS_NAMESPACE")
            .ok()
            .filter(|n| !n.is_empty())
        {
            crate::metrics::enable_emf(&ns, None);
        }
        Self::from_config(config)
    }

    /// The secrets in `SECRETS_ARN` (Secrets Manager) over the environment's, read once.
    pub async fn secrets(mut self) -> Result<Self, StartError> {
        if let Some(arn) = std::env::var("SECRETS_ARN").ok().filter(|a| !a.is_empty()) {
            let client = crate::secrets::client_from_env()?;
            crate::secrets::fetch(&client, &arn)
                .await?
                .apply(&mut self.0.config);
        }
        Ok(self)
    }

    /// As [`from_env`](Self::from_env) with the configuration given.
    pub fn from_config(config: Config) -> Result<Self, StartError> {
        let table = match (&config.database.kind, &config.database.table) {
            (DatabaseKind::DynamoDb, Some(table)) => table.clone(),
            _ => {
                return Err(ConfigError::new(
                    "database.type",
                    "a Lambda function runs on DynamoDB",
                    "set TABLE_NAME to the DynamoDB table",
                )
                .into());
            }
        };
        let client = DynamoStore::client_from_env()?;
        let store = DynamoStore::new(client, table);
        Ok(Self::from_store(config, store))
    }

    /// As [`from_config`](Self::from_config) over the store given (tests point it at a
    /// proxy that records each call).
    pub fn from_store(config: Config, store: DynamoStore) -> Self {
        let store = std::sync::Arc::new(store);
        // Every port but the admin console's: a function links the ports it holds.
        let stores = Stores::serving(store.clone());
        let limiter = limiter(Counting::Shared, &stores);
        Self(
            Parts {
                config,
                stores,
                livekit: None,
                oauth: None,
                passkeys: None,
                media: Media::default(),
                mail: Mail::default(),
                limiter,
            },
            store,
        )
    }

    /// The account-links port (verification, reset): the functions that send or use links.
    pub fn accounts(mut self) -> Self {
        let accounts: std::sync::Arc<dyn crate::store::AccountStore> = self.1.clone();
        self.0.stores.accounts = Some(accounts);
        self
    }

    /// The mail queue (SQS, `MAIL_QUEUE_URL`) that requests write mail jobs to, and the
    /// account-links port with it.
    pub fn mail_queue(mut self) -> Result<Self, StartError> {
        use crate::queue::sqs::SqsQueue;
        if let Some(url) = &self.0.config.email.queue_url {
            let sqs = SqsQueue::new(SqsQueue::client_from_env()?, url);
            self.0.mail.queue = Some(std::sync::Arc::new(sqs));
        }
        Ok(self.accounts())
    }

    /// Only the accounts service with the configured mailer (the `mailer` function: SES,
    /// no API tokens, no LiveKit).
    #[cfg(feature = "ses")]
    pub fn mail_worker(self) -> Result<std::sync::Arc<crate::accounts::Accounts>, StartError> {
        let Parts {
            config,
            stores,
            mut mail,
            limiter,
            ..
        } = self.accounts().0;
        config.validate()?;
        mail.mailer = crate::mail::from_config(&config)?;
        if mail.mailer.is_none() {
            return Err(ConfigError::new(
                "EMAIL_PROVIDER",
                "the mailer function has no mail provider",
                "set EMAIL_PROVIDER=ses and EMAIL_FROM_ADDRESS",
            )
            .into());
        }
        let settings = std::sync::Arc::new(crate::settings::Settings::new(
            stores.settings.clone(),
            &config,
        ));
        // The mailer hashes no passwords; the hasher is there for the type.
        let hasher = crate::auth::PasswordHasher::new();
        Ok(std::sync::Arc::new(crate::accounts::Accounts::new(
            &stores, mail, limiter, settings, hasher, &config,
        )))
    }

    /// Sign-in with Google, GitHub and X (the `auth` function), after `secrets`: the client
    /// secrets may come from there.
    pub fn oauth(mut self) -> Result<Self, StartError> {
        let oauth = crate::oauth::OAuth::new(&self.0.config)?;
        self.0.oauth = Some(std::sync::Arc::new(oauth));
        let links: std::sync::Arc<dyn crate::store::LinkStore> = self.1.clone();
        self.0.stores.links = Some(links);
        Ok(self)
    }

    /// Passkeys (the `auth` function): their store port, and the service when a relying
    /// party is configured.
    pub fn passkeys(mut self) -> Result<Self, StartError> {
        let store: std::sync::Arc<dyn crate::store::PasskeyStore> = self.1.clone();
        self.0.stores.passkeys = Some(store);
        let passkeys = crate::passkeys::Passkeys::new(&self.0.config, &self.0.stores)?;
        self.0.passkeys = passkeys.map(std::sync::Arc::new);
        Ok(self)
    }

    /// The admin console's store port (tables, totals, histories): the admin function.
    pub fn admin_store(mut self) -> Self {
        let admin: std::sync::Arc<dyn crate::store::AdminStore> = self.1.clone();
        self.0.stores.admin = Some(admin);
        self
    }

    /// LiveKit's key pair (minting, verifying webhooks): missing keys fail the instance's
    /// init, not its first request.
    pub fn livekit_keys(self) -> Result<Self, StartError> {
        self.0.config.require_livekit_keys()?;
        Ok(self)
    }

    /// LiveKit's server API (Twirp to `internalHost`, else `host`); needs the key pair.
    pub fn livekit(self) -> Result<Self, StartError> {
        let mut init = self.livekit_keys()?;
        init.0.livekit = crate::livekit::from_config(&init.0.config)?;
        Ok(init)
    }

    /// The recordings queue (SQS, `QUEUE_URL`), when one is configured.
    pub fn queue(mut self) -> Result<Self, StartError> {
        use crate::queue::sqs::SqsQueue;
        if let Some(url) = &self.0.config.recordings.queue_url {
            let sqs = SqsQueue::new(SqsQueue::client_from_env()?, url);
            self.0.media.queue = Some(std::sync::Arc::new(sqs));
        }
        Ok(self)
    }

    /// The recordings queue's depth (and its dead-letter queue's), read-only: the admin
    /// console's queue page. Producers use [`Init::queue`].
    pub fn queue_watch(mut self) -> Result<Self, StartError> {
        use crate::queue::sqs::SqsQueue;
        if let Some(url) = &self.0.config.recordings.queue_url {
            let sqs = SqsQueue::new(SqsQueue::client_from_env()?, url);
            self.0.media.watch = Some(std::sync::Arc::new(sqs));
        }
        Ok(self)
    }

    /// Download links into the recordings bucket (`BUCKET_NAME`), when one is configured:
    /// signed here, without the S3 client.
    pub fn bucket_links(mut self) -> Result<Self, StartError> {
        use crate::blobs::s3_links::S3Links;
        if let Some(bucket) = &self.0.config.recordings.bucket {
            let links = S3Links::from_env(bucket)?;
            self.0.media.links = Some(std::sync::Arc::new(links));
        }
        Ok(self)
    }

    /// The recordings bucket (S3, `BUCKET_NAME`) to read and write, when one is configured.
    pub fn bucket(mut self) -> Result<Self, StartError> {
        use crate::blobs::s3::S3BlobStore;
        if let Some(bucket) = &self.0.config.recordings.bucket {
            let s3 = S3BlobStore::new(S3BlobStore::client_from_env()?, bucket);
            self.0.media.blobs = Some(std::sync::Arc::new(s3));
        }
        Ok(self)
    }

    /// The API's state (an HTTP function): needs the JWT secret.
    pub fn build(self) -> Result<AppState, StartError> {
        self.0.config.validate()?;
        Ok(AppState::from_parts(self.0)?)
    }

    /// Only the recordings service (the processor: no API tokens, no LiveKit); needs the
    /// bucket.
    pub fn recordings(self) -> Result<std::sync::Arc<Recordings>, StartError> {
        if self.0.media.blobs.is_none() {
            return Err(ConfigError::new(
                "BUCKET_NAME",
                "the recording processor has no bucket",
                "set BUCKET_NAME to the recordings bucket",
            )
            .into());
        }
        let Parts {
            config,
            stores,
            livekit,
            media,
            ..
        } = self.0;
        config.validate()?;
        let settings = std::sync::Arc::new(crate::settings::Settings::new(
            stores.settings.clone(),
            &config,
        ));
        Ok(std::sync::Arc::new(Recordings::new(
            &stores, livekit, media, settings, &config,
        )))
    }
}

/// The service a Lambda runs: the capability's routes, the shared layers, and the caller's
/// address taken from API Gateway's request context.
pub fn service(routes: Router<AppState>, state: AppState) -> Router {
    app(routes, state).layer(middleware::from_fn(client_ip_from_context))
}

/// Runs `routes` until the Lambda runtime stops.
pub async fn serve(routes: Router<AppState>, state: AppState) -> Result<(), lambda_http::Error> {
    let app = service(routes, state);
    lambda_http::lambda_runtime::run(lambda_http::service_fn(move |event| {
        handle(app.clone(), event)
    }))
    .await
}

/// One API Gateway HTTP API (v2) invocation through the router: the request as `lambda_http`
/// decodes it, the answer in the v2 shape (Set-Cookie headers in `cookies`, text as text,
/// anything else base64). Done here rather than by `lambda_http::run`, whose conversion links
/// every character set of `encoding_rs` (about 150 KB a function) to decode bodies this API
/// only ever sends as UTF-8.
pub async fn handle(
    app: Router,
    event: lambda_http::LambdaEvent<lambda_http::request::LambdaRequest>,
) -> Result<ApiGatewayV2httpResponse, lambda_http::Error> {
    use lambda_http::RequestExt;
    use tower::ServiceExt;
    let lambda_http::LambdaEvent { payload, context } = event;
    let request = lambda_http::Request::from(payload).with_lambda_context(context);
    let response = app.oneshot(request).await?;
    Ok(v2_response(response).await)
}

async fn v2_response(response: Response) -> ApiGatewayV2httpResponse {
    use axum::http::header::{CONTENT_ENCODING, CONTENT_TYPE, SET_COOKIE};
    use http_body_util::BodyExt;
    use lambda_http::Body;
    let (parts, body) = response.into_parts();
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes().to_vec(),
        Err(e) => {
            tracing::error!(error = %e, "response body failed");
            Vec::new()
        }
    };
    let mut headers = parts.headers;
    let cookies = headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(String::from))
        .collect();
    headers.remove(SET_COOKIE);
    let text = !headers.contains_key(CONTENT_ENCODING)
        && headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|t| {
                let t = t.to_ascii_lowercase();
                t.starts_with("text/")
                    || ["json", "xml", "javascript"].iter().any(|k| t.contains(k))
            });
    let (body, is_base64_encoded) = match bytes {
        b if b.is_empty() => (None, false),
        b if text => match String::from_utf8(b) {
            Ok(s) => (Some(Body::Text(s)), false),
            Err(e) => (Some(Body::Binary(e.into_bytes())), true),
        },
        b => (Some(Body::Binary(b)), true),
    };
    let mut v2 = ApiGatewayV2httpResponse::default();
    v2.status_code = i64::from(parts.status.as_u16());
    // v2 has no multi-value headers: API Gateway joins repeated ones with commas.
    v2.headers = headers;
    v2.cookies = cookies;
    v2.body = body;
    v2.is_base64_encoded = is_base64_encoded;
    v2
}

/// The caller's address and the request id, from API Gateway's request context.
async fn client_ip_from_context(mut req: Request, next: Next) -> Response {
    let (ip, id) = match req.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) => (
            ctx.http.source_ip.as_deref().and_then(|s| s.parse().ok()),
            ctx.request_id.as_deref().and_then(RequestId::accept),
        ),
        _ => (None, None),
    };
    req.extensions_mut().insert(ClientIp(ip));
    if let Some(id) = id {
        req.extensions_mut().insert(id);
    }
    next.run(req).await
}

/// Runs the reconciler's schedules (EventBridge): a reconcile pass every minute, and recording
/// retention on its own schedule. The answer is the pass's report; a failed pass fails the
/// invocation so it shows in the function's metrics.
pub async fn serve_reconciler(state: AppState) -> Result<(), lambda_http::Error> {
    let reconciler = state
        .reconciler()
        .ok_or("LiveKit keys are not configured (LIVEKIT_API_KEY / LIVEKIT_API_SECRET)")?;
    let reconciler = std::sync::Arc::new(reconciler);
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |event: lambda_http::LambdaEvent<EventBridgeEvent>| {
            let (r, state) = (reconciler.clone(), state.clone());
            async move { scheduled(&state, &r, event.payload).await }
        },
    ))
    .await
}

/// The `source` the template's retention schedule puts in its event: a retention pass.
pub const RETENTION_SOURCE: &str = "bedrud.recording-retention";

/// One invocation of the reconciler function: recording retention when the event is the
/// retention schedule's, else a reconcile pass followed by the sweep of sign-ups never
/// confirmed (when the function holds the account-links port).
pub async fn scheduled(
    state: &AppState,
    reconciler: &Reconciler,
    event: EventBridgeEvent,
) -> Result<serde_json::Value, lambda_http::Error> {
    if event.source == RETENTION_SOURCE {
        return expire_recordings(state).await;
    }
    let mut report = reconcile(reconciler, event).await?;
    if state.stores.accounts.is_some() {
        let removed = state.accounts.sweep_pending(crate::domain::now()).await?;
        report["unconfirmedRemoved"] = removed.into();
    }
    Ok(report)
}

/// Bedrud's `recording.retentionHours` on AWS (`RECORDING_RETENTION_HOURS`, 0 keeps every
/// recording): the finished recordings of rooms archived longer ago are removed, their files
/// by queued jobs the processor runs.
async fn expire_recordings(state: &AppState) -> Result<serde_json::Value, lambda_http::Error> {
    let hours = state.config.recordings.retention_hours;
    let mut removed = 0;
    if hours > 0 {
        let keep = std::time::Duration::from_secs(u64::from(hours) * 3600);
        let admin = state.stores.admin()?;
        removed = state
            .recordings
            .expire(&**admin, keep, crate::domain::now())
            .await?;
    }
    Ok(serde_json::json!({ "retentionHours": hours, "removed": removed }))
}

/// One scheduled invocation (an EventBridge schedule, which carries nothing the pass needs):
/// a reconciler pass, answered with its counts.
pub async fn reconcile(
    reconciler: &Reconciler,
    event: EventBridgeEvent,
) -> Result<serde_json::Value, lambda_http::Error> {
    tracing::debug!(id = ?event.id, time = ?event.time, "scheduled reconcile");
    let report = reconciler.run_once().await?;
    Ok(serde_json::json!({
        "liveRooms": report.live_rooms,
        "joined": report.joined,
        "freed": report.freed,
        "egress": report.egress,
    }))
}

/// Runs a job handler (the recording processor, the mailer) on SQS batches, reporting
/// failures per message (`ReportBatchItemFailures`), so one bad message is retried (and
/// dead-lettered after the queue's `maxReceiveCount`) without the rest.
pub async fn serve_jobs(handler: std::sync::Arc<dyn JobHandler>) -> Result<(), lambda_http::Error> {
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |event: lambda_http::LambdaEvent<SqsEvent>| {
            let handler = handler.clone();
            async move { Ok::<_, lambda_http::Error>(process_batch(&*handler, event.payload).await) }
        },
    ))
    .await
}

/// One SQS batch through a handler: every message that fails (or cannot be read, or is of a
/// kind the handler does not run) is reported by its message id; a message without an id
/// cannot be reported and is logged.
pub async fn process_batch(handler: &dyn JobHandler, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for message in event.records {
        let Some(id) = message.message_id.clone().filter(|i| !i.is_empty()) else {
            tracing::error!("SQS message without a message id: cannot report it");
            continue;
        };
        let job = message
            .body
            .as_deref()
            .map(serde_json::from_str::<crate::queue::JobEnvelope>);
        let outcome = match job {
            Some(Ok(job)) if handler.handles(&job.kind) => handler.run_job(&job).await,
            Some(Ok(job)) => Err(crate::Error::bad_request(format!(
                "job kind {} does not belong on this queue",
                job.kind
            ))),
            Some(Err(e)) => Err(crate::Error::bad_request(format!("unreadable job: {e}"))),
            None => Err(crate::Error::bad_request("empty message")),
        };
        if let Err(e) = outcome {
            tracing::warn!(message_id = %id, error = ?e, "job failed; SQS will redeliver it");
            response.add_failure(id);
        }
    }
    response
}
