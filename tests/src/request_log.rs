//! A recording pass-through proxy in front of the AWS emulator: tests count the DynamoDB
//! operations a request costs (the `X-Amz-Target` of each call) without touching the SDK,
//! and can make DynamoDB answer with an error of their choice (throttling, say), as the real
//! service does on the wire.

use std::collections::BTreeSet;
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
    actions: Arc<Mutex<BTreeSet<String>>>,
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
    actions: Arc<Mutex<BTreeSet<String>>>,
}

impl RequestLog {
    pub async fn start(upstream: &str) -> Self {
        Self::start_into(upstream, Arc::new(Mutex::new(Vec::new()))).await
    }

    /// A proxy whose operation names go into `log`, which several proxies may share (one per
    /// function, say), while each keeps the IAM actions of its own calls.
    pub async fn start_into(upstream: &str, log: Arc<Mutex<Vec<String>>>) -> Self {
        let fault = Arc::new(Mutex::new(None));
        let actions = Arc::new(Mutex::new(BTreeSet::new()));
        let state = Upstream {
            actions: actions.clone(),
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
            actions,
        }
    }

    /// The IAM actions the calls through this proxy needed, as `dynamodb:GetItem`, or
    /// `dynamodb:Query@gsi1` for an index; a transaction needs the action of each item in it.
    pub fn actions(&self) -> BTreeSet<String> {
        self.actions.lock().unwrap().clone()
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
    if let Some(target) = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        let op = target.rsplit('.').next().unwrap_or(target);
        up.actions.lock().unwrap().extend(iam_actions(op, &bytes));
    }
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

/// What IAM checks for one DynamoDB request.
fn iam_actions(op: &str, body: &[u8]) -> Vec<String> {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    match op {
        "Query" | "Scan" => match json["IndexName"].as_str() {
            Some(index) => vec![format!("dynamodb:{op}@{index}")],
            None => vec![format!("dynamodb:{op}")],
        },
        "TransactWriteItems" => json["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| item.as_object()?.keys().next().cloned())
            .map(|kind| match kind.as_str() {
                "ConditionCheck" => "dynamodb:ConditionCheckItem".to_string(),
                other => format!("dynamodb:{other}Item"),
            })
            .collect(),
        other => vec![format!("dynamodb:{other}")],
    }
}

impl RequestLog {
    /// A DynamoDB client whose calls go through this proxy.
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        let sdk = bedrud_shared::aws::sdk_config(bedrud_shared::aws::Service::DynamoDb)
            .expect("AWS settings");
        let conf = aws_sdk_dynamodb::config::Builder::from(&sdk)
            .endpoint_url(&self.endpoint)
            .build();
        aws_sdk_dynamodb::Client::from_conf(conf)
    }
}

/// One proxy per function, all writing one operation log: what each function's DynamoDB
/// calls needed is checked against that function's role in `infra/template.yaml`.
pub struct Roles {
    upstream: String,
    ops: Arc<Mutex<Vec<String>>>,
    proxies: Vec<(String, RequestLog)>,
}

impl Roles {
    pub fn new() -> Self {
        Self {
            upstream: bedrud_shared::aws::endpoint(bedrud_shared::aws::Service::DynamoDb)
                .ok()
                .flatten()
                .expect(
                    "AWS_ENDPOINT_URL: run the README's test command (bash .ci/test), which starts moto",
                ),
            ops: Arc::new(Mutex::new(Vec::new())),
            proxies: Vec::new(),
        }
    }

    /// A client for `binary`'s calls.
    pub async fn client(&mut self, binary: &str) -> aws_sdk_dynamodb::Client {
        let proxy = RequestLog::start_into(&self.upstream, self.ops.clone()).await;
        let client = proxy.dynamodb();
        self.proxies.push((binary.to_string(), proxy));
        client
    }

    /// `binary`'s `lambda::Init` over `config`'s table through its own proxy.
    pub async fn init(
        &mut self,
        binary: &str,
        config: &bedrud_shared::config::Config,
    ) -> bedrud_shared::lambda::Init {
        let client = self.client(binary).await;
        let table = config.database.table.clone().expect("a DynamoDB table");
        let store = bedrud_shared::store::dynamodb::DynamoStore::new(client, table);
        bedrud_shared::lambda::Init::from_store(config.clone(), store)
    }

    /// Reads (and drains) the shared operation log.
    pub async fn log(&self) -> RequestLog {
        RequestLog::start_into(&self.upstream, self.ops.clone()).await
    }

    /// Every DynamoDB action each function needed so far is one its role allows.
    pub fn check(&self) {
        for (binary, proxy) in &self.proxies {
            let allowed = crate::template::dynamodb_allowed(binary);
            let needed = proxy.actions();
            let denied: Vec<_> = needed.difference(&allowed).collect();
            assert!(denied.is_empty(), "{binary}'s role lacks {denied:?}");
        }
    }
}

impl Default for Roles {
    fn default() -> Self {
        Self::new()
    }
}
