//! `/livekit/*` → LiveKit, on the API's own port, as Bedrud serves it: one origin (and one
//! certificate) for the API and LiveKit's signalling, so clients get `wss://<domain>/livekit`.
//! The prefix is stripped; HTTP requests and responses stream through; a WebSocket upgrade
//! (`/rtc`, LiveKit's signalling socket) is handed to LiveKit and the two upgraded connections
//! are joined byte for byte, so frames of any size pass as they are. `X-Forwarded-For`,
//! `-Proto` and `-Host` tell LiveKit who the client is.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bedrud_shared::config::Config;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tracing::{debug, warn};

/// Where the proxy sends requests: LiveKit's plain-HTTP port on this machine.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub addr: String,
    /// `https` when clients reach us over TLS (for `X-Forwarded-Proto`).
    pub scheme: &'static str,
    /// Proxies whose `X-Forwarded-For` is kept (appended to); anyone else's is replaced.
    trusted: Vec<ipnet::IpNet>,
}

impl Upstream {
    /// The proxy's target, when `/livekit` is served (embedded mode, or `livekit.proxy`).
    pub fn from_config(config: &Config) -> Option<Arc<Self>> {
        let lk = &config.livekit;
        if !lk.proxied() {
            return None;
        }
        // A LiveKit run by someone else on this machine is reached where the API reaches it.
        let addr = lk
            .internal_host
            .as_deref()
            .and_then(|h| h.split_once("://").map(|(_, rest)| rest))
            .map(|rest| rest.trim_end_matches('/').to_string())
            .unwrap_or_else(|| format!("127.0.0.1:{}", lk.port));
        let scheme = if config.server.enable_tls {
            "https"
        } else {
            "http"
        };
        Some(Arc::new(Self {
            addr,
            scheme,
            trusted: config.server.trusted_proxy_nets(),
        }))
    }
}

/// Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection, never forwarded.
const HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

pub async fn serve(State(up): State<Arc<Upstream>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let Some(rest) = path.strip_prefix("/livekit") else {
        return next.run(req).await;
    };
    if !(rest.is_empty() || rest.starts_with('/')) {
        return next.run(req).await;
    }
    match forward(&up, req).await {
        Ok(res) => res,
        Err(e) => e.into_response(),
    }
}

/// Why a request could not be forwarded.
enum ProxyError {
    /// LiveKit did not accept a connection or broke the exchange.
    Unreachable(String),
    BadRequest(&'static str),
}

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            ProxyError::Unreachable(m) => (StatusCode::BAD_GATEWAY, m),
            ProxyError::BadRequest(m) => (StatusCode::BAD_REQUEST, m.to_string()),
        };
        (status, axum::Json(json!({ "error": message }))).into_response()
    }
}

fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
}

/// The headers to send on: hop-by-hop ones (and any the `Connection` header names) dropped.
fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .collect();
    let mut out = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let n = name.as_str();
        if !HOP.contains(&n) && !named.iter().any(|x| x == n) {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

async fn forward(up: &Upstream, mut req: Request) -> Result<Response, ProxyError> {
    let upgrade = is_upgrade(req.headers());
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/livekit");
    let stripped = &path_and_query["/livekit".len()..];
    let target = match stripped.chars().next() {
        Some('/') => stripped.to_string(),
        _ => format!("/{stripped}"),
    };
    let uri: Uri = target
        .parse()
        .map_err(|_| ProxyError::BadRequest("invalid path"))?;
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let mut headers = end_to_end(req.headers());
    if upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        if let Some(u) = req.headers().get(header::UPGRADE) {
            headers.insert(header::UPGRADE, u.clone());
        }
    }
    if let Some(ip) = peer {
        let before = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .filter(|_| up.trusted.iter().any(|net| net.contains(&ip)));
        let forwarded = match before {
            Some(before) => format!("{before}, {ip}"),
            None => ip.to_string(),
        };
        if let Ok(v) = HeaderValue::from_str(&forwarded) {
            headers.insert(HeaderName::from_static("x-forwarded-for"), v);
        }
    }
    headers.insert(
        HeaderName::from_static("x-forwarded-proto"),
        HeaderValue::from_static(up.scheme),
    );
    if let Some(host) = req.headers().get(header::HOST).cloned() {
        headers.insert(HeaderName::from_static("x-forwarded-host"), host);
    }
    if let Ok(host) = HeaderValue::from_str(&up.addr) {
        headers.insert(header::HOST, host);
    }
    let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut req));
    let mut out = hyper::Request::builder()
        .method(req.method().clone())
        .uri(uri)
        .body(req.into_body())
        .map_err(|_| ProxyError::BadRequest("invalid request"))?;
    *out.headers_mut() = headers;

    let unreachable = |e: &dyn std::fmt::Display| {
        ProxyError::Unreachable(format!(
            "LiveKit is not reachable at {} ({e}): is it running? `bedrud doctor` checks it \
             (livekit.port, or livekit.internalHost for a LiveKit run by someone else)",
            up.addr
        ))
    };
    let stream = tokio::net::TcpStream::connect(&up.addr)
        .await
        .map_err(|e| unreachable(&e))?;
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| unreachable(&e))?;
    tokio::spawn(async move {
        if let Err(e) = conn.with_upgrades().await {
            debug!(error = %e, "LiveKit proxy connection ended");
        }
    });
    let mut res = sender
        .send_request(out)
        .await
        .map_err(|e| unreachable(&e))?;

    if res.status() == StatusCode::SWITCHING_PROTOCOLS
        && let Some(client) = client_upgrade
    {
        let upstream = hyper::upgrade::on(&mut res);
        tokio::spawn(async move {
            match tokio::try_join!(client, upstream) {
                Ok((client, upstream)) => {
                    let (mut a, mut b) = (TokioIo::new(client), TokioIo::new(upstream));
                    if let Err(e) = tokio::io::copy_bidirectional(&mut a, &mut b).await {
                        debug!(error = %e, "LiveKit WebSocket ended");
                    }
                }
                Err(e) => warn!(error = %e, "LiveKit WebSocket upgrade failed"),
            }
        });
        let mut back = Response::builder().status(StatusCode::SWITCHING_PROTOCOLS);
        for (name, value) in res.headers() {
            back = back.header(name, value);
        }
        return Ok(back.body(Body::empty()).expect("valid response"));
    }
    let (mut parts, body) = res.into_parts();
    parts.headers = end_to_end(&parts.headers);
    Ok(Response::from_parts(parts, Body::new(body)))
}
