//! The client's address for rate limiting and logs. Each server shape inserts it once:
//! the sidecar from the socket (and `X-Forwarded-For` only via trusted proxies), Lambda from
//! API Gateway's request context.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

impl ClientIp {
    /// A stable key for counters; requests without a known address share one budget.
    pub fn key(&self) -> String {
        self.0.map_or_else(|| "unknown".into(), |ip| ip.to_string())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(parts
            .extensions
            .get::<ClientIp>()
            .copied()
            .unwrap_or(ClientIp(None)))
    }
}

/// The address a socket peer stands for: itself, unless it is a trusted proxy, in which
/// case the right-most `X-Forwarded-For` hop that is not a trusted proxy.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|h| h.trim().parse().ok())
        .collect();
    hops.iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .copied()
        .unwrap_or(peer)
}

/// Middleware for socket servers: sets [`ClientIp`] from `ConnectInfo`.
pub async fn from_socket(
    trusted: std::sync::Arc<Vec<IpNet>>,
    mut req: Request,
    next: Next,
) -> Response {
    if let Some(ConnectInfo(addr)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        let ip = resolve(addr.ip(), req.headers(), &trusted);
        req.extensions_mut().insert(ClientIp(Some(ip)));
        // A trusted proxy's request id is kept; anyone else's is replaced.
        if trusted.iter().any(|n| n.contains(&addr.ip()))
            && let Some(id) = super::request_id::RequestId::from_headers(req.headers())
        {
            req.extensions_mut().insert(id);
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_only_through_trusted_proxies() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "6.6.6.6, 1.2.3.4, 10.0.0.2".parse().unwrap(),
        );
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let stranger: IpAddr = "9.9.9.9".parse().unwrap();
        assert_eq!(
            resolve(proxy, &h, &trusted),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
        assert_eq!(resolve(stranger, &h, &trusted), stranger);
        assert_eq!(resolve(proxy, &HeaderMap::new(), &trusted), proxy);
    }
}
