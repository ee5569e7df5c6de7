//! Request ids: every request has one, so a user's report matches a log line. It is taken
//! from a trusted proxy's `x-request-id` (the socket layer decides trust), from API Gateway's
//! request id on Lambda, or generated; it is on every log line of the request (a span), in
//! the `x-request-id` response header, and in every 5xx body beside `error`.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

pub const HEADER: &str = "x-request-id";
/// Longest id taken from outside; longer ones are replaced.
const MAX_LEN: usize = 128;
/// Largest 5xx body rewritten to carry the id (ours are a line of JSON).
const MAX_BODY: usize = 64 * 1024;

/// The request's id, in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    /// An id from outside, if it is one we can log and echo safely.
    pub fn accept(raw: &str) -> Option<Self> {
        let ok = !raw.is_empty()
            && raw.len() <= MAX_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=".contains(&b));
        ok.then(|| Self(raw.to_string()))
    }

    /// The id a trusted proxy sent, if any.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        headers
            .get(HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(Self::accept)
    }

    fn generate() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }
}

/// Middleware: the id (given or new) on the request, its span and the response.
pub async fn tag(mut req: Request, next: Next) -> Response {
    let id = req
        .extensions()
        .get::<RequestId>()
        .cloned()
        .unwrap_or_else(RequestId::generate);
    req.extensions_mut().insert(id.clone());
    let span = tracing::info_span!("request", id = %id.0);
    let mut res = next.run(req).instrument(span).await;
    if res.status().is_server_error() {
        res = with_id_in_body(res, &id).await;
    }
    if let Ok(v) = HeaderValue::from_str(&id.0) {
        res.headers_mut().insert(HEADER, v);
    }
    res
}

/// A JSON object body gets `requestId` (after `error`: keys stay sorted).
async fn with_id_in_body(res: Response, id: &RequestId) -> Response {
    let json = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return Response::from_parts(parts, Body::from("{\"error\":\"internal server error\"}"));
    };
    let out = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(mut map)) => {
            map.insert("requestId".into(), id.0.clone().into());
            serde_json::to_vec(&map).unwrap_or_else(|_| bytes.to_vec())
        }
        _ => bytes.to_vec(),
    };
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_ids_are_checked() {
        assert!(RequestId::accept("Root=1-67891233-abcdef012345678912345678").is_some());
        assert!(RequestId::accept("c0ffee-42").is_some());
        for bad in ["", "has space", "line\nbreak", &"x".repeat(129), "<script>"] {
            assert!(RequestId::accept(bad).is_none(), "{bad:?}");
        }
        assert_eq!(RequestId::generate().0.len(), 32);
    }
}
