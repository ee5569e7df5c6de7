//! Everything `bedrud run` answers on its ports around the API routers: HTTPS (when on) with
//! a plain-HTTP port that redirects to it (and answers ACME's HTTP-01 challenges), `/api/cert`,
//! the `/livekit` proxy, and the web app.
//! One stop signal ends every listener, each after its in-flight requests.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::header;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use bedrud_shared::http::{all_routes, socket};
use bedrud_shared::state::AppState;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::info;

use crate::livekit_proxy::Upstream;
use crate::metrics::Exporter;
use crate::tls::Tls;

/// The API and what surrounds it, as one router.
fn app(state: AppState, tls: Option<Tls>, metrics: Option<Arc<Exporter>>) -> Router {
    let mut app = socket::socket_app(all_routes(), state.clone())
        .layer(from_fn_with_state(state.clone(), crate::web::serve))
        .layer(from_fn_with_state(tls, crate::tls::cert_route))
        .layer(from_fn_with_state(metrics, crate::metrics::on_api_port));
    if let Some(up) = Upstream::from_config(&state.config) {
        info!(upstream = %up.addr, "proxying /livekit to LiveKit");
        app = app.layer(from_fn_with_state(up, crate::livekit_proxy::serve));
    }
    app
}

/// Serves on `listener` (over TLS when `tls` is given) until `shutdown` resolves.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    local: SocketAddr,
    tls: Option<Tls>,
    metrics: Option<Arc<Exporter>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let until = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let limits = socket::Limits::from_config(&state.config.server);
    let Some(tls) = tls else {
        let app = app(state, None, metrics);
        return socket::serve(listener, app, limits, until(stopped)).await;
    };
    let acme = crate::acme::wanted(&state.config).then(crate::acme::Challenges::default);
    // HTTP-01 needs the plain port: Bedrud's default 80 when none is set.
    let http_port = state.config.server.http_port.or(acme.as_ref().map(|_| 80));
    let redirect = match http_port {
        Some(port) => {
            let addr = format!("{}:{port}", state.config.server.host);
            let plain = TcpListener::bind(&addr).await.map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("server.httpPort: cannot listen on {addr}: {e}"),
                )
            })?;
            info!(
                "redirecting http://{} to https",
                plain.local_addr().map_or(addr, |a| a.to_string())
            );
            let mut app = redirect_app(state.config.server.domain.clone(), local.port());
            if let Some(challenges) = &acme {
                let answers = Router::new()
                    .route(
                        "/.well-known/acme-challenge/{token}",
                        get(crate::acme::answer),
                    )
                    .with_state(challenges.clone());
                app = answers.merge(app);
            }
            Some(tokio::spawn(socket::serve(
                plain,
                app,
                limits.clone(),
                until(stopped.clone()),
            )))
        }
        None => None,
    };
    tls.watch();
    if let Some(challenges) = acme {
        let acme = crate::acme::Acme::new(&state.config, challenges);
        tokio::spawn(acme.keep(tls.clone()));
    }
    let served = socket::serve_with(
        listener,
        app(state, Some(tls.clone()), metrics),
        limits,
        until(stopped),
        tls,
    )
    .await;
    if let Some(r) = redirect {
        let _ = r.await;
    }
    served
}

/// Every plain-HTTP request answered with a permanent redirect to the same path over HTTPS:
/// on `server.domain` when set, else on the host the client asked for.
fn redirect_app(domain: Option<String>, https_port: u16) -> Router {
    Router::new().fallback(move |req: Request| {
        let domain = domain.clone();
        async move {
            let asked = req
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(host_only)
                .unwrap_or("localhost")
                .to_string();
            let host = domain.unwrap_or(asked);
            let port = if https_port == 443 {
                String::new()
            } else {
                format!(":{https_port}")
            };
            let path = req
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_string();
            Redirect::permanent(&format!("https://{host}{port}{path}")).into_response()
        }
    })
}

/// `host[:port]` or `[v6]:port` without the port.
fn host_only(h: &str) -> &str {
    if h.starts_with('[') {
        return h.split_inclusive(']').next().unwrap_or(h);
    }
    h.rsplit_once(':').map_or(h, |(host, _)| host)
}
