//! Serving a router from AWS Lambda behind API Gateway HTTP API (payload v2).

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use lambda_http::request::RequestContext;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};

use crate::config::Config;
use crate::http::{ClientIp, app};
use crate::runtime::{Counting, StartError, build};
use crate::state::AppState;

/// State for a Lambda instance: configuration from the environment (no local secrets are
/// ever generated here), rate limits counted in the shared store.
pub async fn state_from_env() -> Result<AppState, StartError> {
    let loaded = Config::load(None)?;
    crate::telemetry::init(&loaded.config.logger.level);
    if !loaded.ignored_keys.is_empty() {
        tracing::warn!(keys = ?loaded.ignored_keys, "config keys not used by bedrud");
    }
    build(loaded.config, Counting::Shared).await
}

/// The service a Lambda runs: the capability's routes, the shared layers, and the caller's
/// address taken from API Gateway's request context.
pub fn service(routes: Router<AppState>, state: AppState) -> Router {
    app(routes, state).layer(middleware::from_fn(client_ip_from_context))
}

/// Runs `routes` until the Lambda runtime stops.
pub async fn serve(routes: Router<AppState>, state: AppState) -> Result<(), lambda_http::Error> {
    lambda_http::run(service(routes, state)).await
}

async fn client_ip_from_context(mut req: Request, next: Next) -> Response {
    let ip = match req.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) => {
            ctx.http.source_ip.as_deref().and_then(|s| s.parse().ok())
        }
        _ => None,
    };
    req.extensions_mut().insert(ClientIp(ip));
    next.run(req).await
}

/// Runs the reconciler once per scheduled invocation (EventBridge); the answer is the pass's
/// report, and a failed pass fails the invocation so it shows in the function's metrics.
pub async fn serve_reconciler(state: AppState) -> Result<(), lambda_http::Error> {
    let reconciler = state
        .reconciler()
        .ok_or("LiveKit keys are not configured (LIVEKIT_API_KEY / LIVEKIT_API_SECRET)")?;
    let reconciler = std::sync::Arc::new(reconciler);
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |_: lambda_http::LambdaEvent<serde_json::Value>| {
            let r = reconciler.clone();
            async move {
                let report = r.run_once().await?;
                Ok::<_, lambda_http::Error>(serde_json::json!({
                    "liveRooms": report.live_rooms,
                    "joined": report.joined,
                    "freed": report.freed,
                    "egress": report.egress,
                }))
            }
        },
    ))
    .await
}

/// Runs the recording processor on SQS batches, reporting failures per message
/// (`ReportBatchItemFailures`), so one bad message is retried (and dead-lettered after the
/// queue's `maxReceiveCount`) without the rest.
pub async fn serve_recording_processor(state: AppState) -> Result<(), lambda_http::Error> {
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |event: lambda_http::LambdaEvent<SqsEvent>| {
            let state = state.clone();
            async move { Ok::<_, lambda_http::Error>(process_batch(&state, event.payload).await) }
        },
    ))
    .await
}

/// One SQS batch through the processor: every message that fails (or cannot be read) is
/// reported by its message id; a message without an id cannot be reported and is logged.
pub async fn process_batch(state: &AppState, event: SqsEvent) -> SqsBatchResponse {
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
            Some(Ok(job)) if job.kind == crate::recordings::PROCESS_RECORDING => {
                state.recordings.process(&job).await.map(|_| ())
            }
            Some(Ok(job)) => Err(crate::Error::bad_request(format!(
                "unknown job kind {}",
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
