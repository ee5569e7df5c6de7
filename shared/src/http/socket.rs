//! Serving routers on a TCP socket (the sidecar, and in-process tests), with what a server on
//! the open Internet needs against slow or greedy clients: a time limit on reading request
//! headers that also closes idle keep-alive connections, a time limit per request, a cap on
//! connections in all and per client address, and a graceful stop.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use ipnet::IpNet;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt;

use super::{app, client_ip};
use crate::config::ServerConfig;
use crate::error::Error;
use crate::state::AppState;

/// How long in-flight requests may take to finish once a stop is asked for.
const DRAIN: Duration = Duration::from_secs(30);

/// The limits one listener enforces.
#[derive(Debug, Clone)]
pub struct Limits {
    /// From a connection's first byte (or from the end of the previous response on a
    /// keep-alive connection) to the end of the request's headers.
    pub header_timeout: Duration,
    /// From the end of the headers to the response (body reads included).
    pub request_timeout: Duration,
    pub max_connections: usize,
    /// Connections one client address may hold; trusted proxies are exempt.
    pub max_per_client: usize,
    pub trusted_proxies: Vec<IpNet>,
}

impl Limits {
    pub fn from_config(s: &ServerConfig) -> Self {
        Self {
            header_timeout: s.header_timeout.as_duration(),
            request_timeout: s.request_timeout.as_duration(),
            max_connections: s.max_connections,
            max_per_client: s.max_connections_per_client,
            trusted_proxies: s.trusted_proxy_nets(),
        }
    }
}

/// [`app`] plus the client address from the socket (through trusted proxies only) and the
/// per-request time limit.
pub fn socket_app(routes: Router<AppState>, state: AppState) -> Router {
    let trusted = Arc::new(state.config.server.trusted_proxy_nets());
    let limit = state.config.server.request_timeout.as_duration();
    let cors = super::cors::layer(&state.config.cors);
    let app = app(routes, state)
        .layer(middleware::from_fn(move |req, next| {
            client_ip::from_socket(trusted.clone(), req, next)
        }))
        .layer(middleware::from_fn(move |req, next| {
            time_limit(limit, req, next)
        }));
    // Outermost: a preflight is answered before anything else runs. Socket servers only: on
    // AWS the HTTP API answers CORS, and the Lambdas do not link the layer.
    match cors {
        Some(layer) => app.layer(layer),
        None => app,
    }
}

/// 408 when a request (reading its body included) is not answered in time.
async fn time_limit(limit: Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => Error::RequestTimeout("request took too long".into()).into_response(),
    }
}

/// Connections held per client address.
#[derive(Default)]
struct PerClient(Mutex<HashMap<IpAddr, usize>>);

/// One client's slot: given back when the connection closes.
struct ClientSlot {
    table: Arc<PerClient>,
    ip: IpAddr,
}

impl PerClient {
    fn take(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<ClientSlot> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(ClientSlot {
            table: self.clone(),
            ip,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut map = self.table.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// What a connection holds while it is open.
struct Held {
    _total: OwnedSemaphorePermit,
    _client: Option<ClientSlot>,
}

/// What an accepted connection becomes before HTTP is spoken on it: itself ([`Plain`]), or a
/// TLS session (the appliance's HTTPS). It runs on the connection's own task, within the
/// header time limit, so a slow handshake holds up nobody else.
pub trait Handshake: Clone + Send + Sync + 'static {
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    fn handshake(
        &self,
        tcp: TcpStream,
    ) -> impl Future<Output = std::io::Result<Self::Stream>> + Send;
}

/// Plain HTTP: the TCP connection as it is.
#[derive(Debug, Clone, Copy)]
pub struct Plain;

impl Handshake for Plain {
    type Stream = TcpStream;

    async fn handshake(&self, tcp: TcpStream) -> std::io::Result<TcpStream> {
        Ok(tcp)
    }
}

/// Serves until `shutdown` resolves, then stops accepting, asks every connection to close
/// after its current request, and waits for them (at most 30 s).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, app, limits, shutdown, Plain).await
}

/// [`serve`], speaking HTTP over what `handshake` makes of each connection.
pub async fn serve_with<H: Handshake>(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
    handshake: H,
) -> std::io::Result<()> {
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let total = Arc::new(Semaphore::new(max));
    let per_client = Arc::new(PerClient::default());
    let (stop, stopping) = watch::channel(false);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors or the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(held) = admit(&limits, &total, &per_client, peer) else {
            drop(stream); // over a cap: closed at once, the server stays reachable
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = app.clone().map_request(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            req
        });
        let mut stopping = stopping.clone();
        let (http, handshake) = (http.clone(), handshake.clone());
        let limit = limits.header_timeout;
        tokio::spawn(async move {
            let _held = held;
            let stream = match tokio::time::timeout(limit, handshake.handshake(stream)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, %peer, "handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "handshake timed out");
                    return;
                }
            };
            let conn = http
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                .with_upgrades();
            tokio::pin!(conn);
            let ended = tokio::select! {
                r = conn.as_mut() => r,
                _ = async { stopping.wait_for(|s| *s).await.map(|_| ()) } => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(error = %e, %peer, "connection ended");
            }
        });
    }
    drop(listener);
    let _ = stop.send(true);
    // Every open connection holds a permit: all of them back means all closed.
    let drained = tokio::time::timeout(DRAIN, total.acquire_many(max as u32)).await;
    if drained.is_err() {
        tracing::warn!("requests still running after {DRAIN:?}; stopping anyway");
    }
    Ok(())
}

/// A slot in the total and in the client's share, or `None` (refused).
fn admit(
    limits: &Limits,
    total: &Arc<Semaphore>,
    per_client: &Arc<PerClient>,
    peer: SocketAddr,
) -> Option<Held> {
    let Ok(permit) = total.clone().try_acquire_owned() else {
        tracing::warn!(%peer, max = limits.max_connections, "connection refused: server full");
        return None;
    };
    let proxy = limits
        .trusted_proxies
        .iter()
        .any(|n| n.contains(&peer.ip()));
    let client = if proxy {
        None
    } else {
        match per_client.take(peer.ip(), limits.max_per_client) {
            Some(slot) => Some(slot),
            None => {
                tracing::warn!(%peer, max = limits.max_per_client, "connection refused: too many from this client");
                return None;
            }
        }
    };
    Some(Held {
        _total: permit,
        _client: client,
    })
}
