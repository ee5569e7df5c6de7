//! Serving a router from AWS Lambda behind API Gateway HTTP API (payload v2).

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use lambda_http::request::RequestContext;

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
                }))
            }
        },
    ))
    .await
}
