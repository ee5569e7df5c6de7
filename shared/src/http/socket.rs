//! Serving routers on a TCP socket (the sidecar, and in-process tests).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::middleware;
use tokio::net::TcpListener;

use super::{app, client_ip};
use crate::state::AppState;

/// [`app`] plus the client address from the socket (through trusted proxies only).
pub fn socket_app(routes: Router<AppState>, state: AppState) -> Router {
    let trusted = Arc::new(state.config.server.trusted_proxy_nets());
    app(routes, state).layer(middleware::from_fn(move |req, next| {
        client_ip::from_socket(trusted.clone(), req, next)
    }))
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
