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
