//! A recording pass-through proxy in front of the AWS emulator: tests count the DynamoDB
//! operations a request costs (the `X-Amz-Target` of each call) without touching the SDK,
//! and can make DynamoDB answer with an error of their choice (throttling, say), as the real
//! service does on the wire.

use std::sync::{Arc, Mutex};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::response::Response;

#[derive(Clone)]
struct Upstream {
    base: String,
    http: reqwest::Client,
    log: Arc<Mutex<Vec<String>>>,
    fault: Arc<Mutex<Option<Fault>>>,
}

/// A DynamoDB error answered instead of forwarding: HTTP status and the `__type` code.
#[derive(Debug, Clone)]
pub struct Fault {
    pub status: u16,
    pub code: String,
}

/// A running proxy: point an SDK client at `endpoint`; `take()` drains what it saw.
pub struct RequestLog {
    pub endpoint: String,
    log: Arc<Mutex<Vec<String>>>,
    fault: Arc<Mutex<Option<Fault>>>,
}

impl RequestLog {
    pub async fn start(upstream: &str) -> Self {
        let log = Arc::new(Mutex::new(Vec::new()));
        let fault = Arc::new(Mutex::new(None));
        let state = Upstream {
            fault: fault.clone(),
            base: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client"),
            log: log.clone(),
        };
        let app = axum::Router::new().fallback(forward).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            endpoint,
            log,
            fault,
        }
    }

    /// Every DynamoDB call answers with this error until `heal`.
    pub fn fail(&self, status: u16, code: &str) {
        *self.fault.lock().unwrap() = Some(Fault {
            status,
            code: code.into(),
        });
    }

    pub fn heal(&self) {
        *self.fault.lock().unwrap() = None;
    }

    /// Operation names seen since the last call (`BatchGetItem`, `TransactWriteItems`, …).
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

async fn forward(State(up): State<Upstream>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    if let Some(target) = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        let op = target.rsplit('.').next().unwrap_or(target).to_string();
        up.log.lock().unwrap().push(op);
        let fault = up.fault.lock().unwrap().clone();
        if let Some(f) = fault {
            let body = format!(
                r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{}","message":"injected"}}"#,
                f.code
            );
            return Response::builder()
                .status(f.status)
                .header("content-type", "application/x-amz-json-1.0")
                .header("x-amzn-errortype", f.code.as_str())
                .body(Body::from(body))
                .expect("response");
        }
    }
    let bytes = to_bytes(body, usize::MAX).await.expect("request body");
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut headers = parts.headers.clone();
    headers.remove("host");
    let res = up
        .http
        .request(parts.method, format!("{}{path}", up.base))
        .headers(headers)
        .body(bytes)
        .send()
        .await
        .expect("emulator reachable");
    let mut out = Response::builder().status(res.status());
    for (k, v) in res.headers() {
        out = out.header(k, v);
    }
    out.body(Body::from(res.bytes().await.expect("emulator body")))
        .expect("response")
}
