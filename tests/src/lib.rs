//! Test support: an in-process server on 127.0.0.1:0 over a temporary embedded store, a small
//! HTTP client that keeps status, headers and JSON together, and black-box scenarios that run
//! unchanged against that server and against the real `bedrud run` binary.

pub mod conformance;
pub mod conformance_accounts;
pub mod conformance_admin;
pub mod conformance_rooms;
pub mod lambda_events;
pub mod livekit_double;
pub mod oauth_provider;
pub mod people;
pub mod postgres;
pub mod reconcile;
pub mod request_log;
pub mod scenarios;
pub mod smtp;
pub mod soft_passkey;
pub mod template;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bedrud_shared::AppState;
use bedrud_shared::config::Config;
use bedrud_shared::http::{all_routes, socket};
use bedrud_shared::runtime::{Counting, build};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A JWT secret for tests (never used outside them).
pub const TEST_JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";
/// The LiveKit key pair tests mint join tokens with.
pub const TEST_LK_KEY: &str = "APItestkey";
pub const TEST_LK_SECRET: &str = "test-livekit-secret-0123456789abcdef";

/// State over a fresh store in a temporary directory (kept alive by the returned guard), with
/// rate limits off unless `adjust` turns them on.
pub async fn test_state(
    counting: Counting,
    adjust: impl FnOnce(&mut Config),
) -> (AppState, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::default();
    config.database.path = dir.path().join("bedrud.db");
    config.auth.jwt_secret = Some(TEST_JWT_SECRET.into());
    config.livekit.api_key = Some(TEST_LK_KEY.into());
    config.livekit.api_secret = Some(TEST_LK_SECRET.into());
    config.livekit.host = "ws://127.0.0.1:7880".into();
    config.rate_limit.auth_max_requests = 0;
    config.rate_limit.guest_max_requests = 0;
    config.rate_limit.account_max_attempts = 0;
    adjust(&mut config);
    config.validate().expect("test config is valid");
    (build(config, counting).await.expect("state builds"), dir)
}

/// A fresh DynamoDB table on the emulator the test command started (moto). Without one this
/// fails loudly: a backend that silently skips is a backend that is not tested.
pub async fn fresh_dynamo_table() -> bedrud_shared::store::dynamodb::DynamoStore {
    use bedrud_shared::store::dynamodb::DynamoStore;
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some()
            || std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_some(),
        "DynamoDB tests need an emulator: run the README's test command (bash .ci/test), \
         which starts moto server and sets AWS_ENDPOINT_URL"
    );
    let table = unique("bedrud-test");
    let store = DynamoStore::new(DynamoStore::client_from_env().unwrap(), table);
    store
        .create_table()
        .await
        .expect("create table on the emulator");
    store
}

/// A DynamoDB configuration over `table` with the test secret and rate limits off.
pub fn dynamo_config(table: &str) -> Config {
    let mut config = Config::default();
    config.database.kind = bedrud_shared::config::DatabaseKind::DynamoDb;
    config.database.table = Some(table.into());
    config.auth.jwt_secret = Some(TEST_JWT_SECRET.into());
    config.rate_limit.auth_max_requests = 0;
    config.rate_limit.guest_max_requests = 0;
    config
}

/// Serves `routes` over `config` on 127.0.0.1:0 (shared rate-limit counts, as a Lambda
/// counts) until the test's runtime ends: a function's routes over a real store.
pub async fn serve_routes(routes: axum::Router<AppState>, config: Config) -> (Api, AppState) {
    let state = build(config, Counting::Shared).await.expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let api = Api::new(&format!("http://{}", listener.local_addr().expect("addr")));
    let limits = socket::Limits::from_config(&state.config.server);
    let app = socket::socket_app(routes, state.clone());
    tokio::spawn(socket::serve(
        listener,
        app,
        limits,
        std::future::pending::<()>(),
    ));
    (api, state)
}

/// A running in-process server. Dropping it stops the server and removes its data.
pub struct TestServer {
    pub api: Api,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// Defaults with rate limits off, so tests do not trip over each other's budgets.
    pub async fn start() -> Self {
        Self::with_config(|_| {}).await
    }

    pub async fn with_config(adjust: impl FnOnce(&mut Config)) -> Self {
        let (state, dir) = test_state(Counting::InProcess, adjust).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = oneshot::channel::<()>();
        let app = socket::socket_app(all_routes(), state.clone());
        let limits = socket::Limits::from_config(&state.config.server);
        let task = tokio::spawn(socket::serve(listener, app, limits, async {
            let _ = stopped.await;
        }));
        Self {
            api: Api::new(&base),
            state,
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
        }
    }

    /// Stops gracefully and reports how serving ended.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        match self.task.take() {
            Some(t) => t.await.expect("server task"),
            None => Ok(()),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// A response with everything tests look at.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub raw: String,
}

impl Reply {
    /// The Set-Cookie header for cookie `name`, if any, whole.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        let prefix = format!("{name}=");
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&prefix))
            .map(str::to_string)
    }

    /// The value cookie `name` is being set to (`None` when absent or cleared).
    pub fn set_cookie_value(&self, name: &str) -> Option<String> {
        let c = self.set_cookie(name)?;
        let v = c.split(';').next()?.strip_prefix(&format!("{name}="))?;
        (!v.is_empty()).then(|| v.to_string())
    }

    /// The `refresh_token` Set-Cookie header, if any, whole.
    pub fn refresh_cookie(&self) -> Option<String> {
        self.set_cookie("refresh_token")
    }

    /// The value of the `refresh_token` cookie being set.
    pub fn refresh_cookie_value(&self) -> Option<String> {
        self.set_cookie_value("refresh_token")
    }

    /// `body["error"]`, asserting the envelope is there.
    pub fn error(&self) -> &str {
        self.body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error envelope in {}: {}", self.status, self.raw))
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.raw);
        self
    }
}

/// A plain HTTP client for one base URL.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    http: reqwest::Client,
}

impl Api {
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .no_proxy()
            .build()
            .expect("client");
        Self {
            base: base.trim_end_matches('/').to_string(),
            http,
        }
    }

    /// Sends a request. `body` is sent as JSON text when given; `bearer` as `Authorization`.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let mut headers = HeaderMap::new();
        if let Some(b) = body {
            headers.insert("content-type", HeaderValue::from_static("application/json"));
            return self
                .raw(method, path, bearer, headers, b.to_string().into_bytes())
                .await;
        }
        self.raw(method, path, bearer, headers, Vec::new()).await
    }

    /// Sends exact bytes with exact headers (malformed bodies, cookies, web-client quirks).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        mut headers: HeaderMap,
        body: Vec<u8>,
    ) -> Reply {
        if let Some(t) = bearer {
            headers.insert(
                "authorization",
                HeaderValue::from_str(&format!("Bearer {t}")).expect("token header"),
            );
        }
        let res = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .headers(headers)
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("request to {path} failed: {e}"));
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let raw = res.text().await.expect("body");
        let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            raw,
        }
    }

    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Reply {
        self.call(Method::GET, path, bearer, None).await
    }

    pub async fn post(&self, path: &str, bearer: Option<&str>, body: &Value) -> Reply {
        self.call(Method::POST, path, bearer, Some(body)).await
    }

    /// POSTs every body at once (one task each) and returns the statuses in order.
    pub async fn post_concurrently(&self, path: &str, bodies: Vec<Value>) -> Vec<u16> {
        let tasks: Vec<_> = bodies
            .into_iter()
            .map(|body| {
                let (api, path) = (self.clone(), path.to_string());
                tokio::spawn(async move { api.post(&path, None, &body).await.status })
            })
            .collect();
        let mut statuses = Vec::with_capacity(tasks.len());
        for t in tasks {
            statuses.push(t.await.expect("request task"));
        }
        statuses
    }

    pub async fn put(&self, path: &str, bearer: Option<&str>, body: &Value) -> Reply {
        self.call(Method::PUT, path, bearer, Some(body)).await
    }

    pub async fn delete(&self, path: &str, bearer: Option<&str>) -> Reply {
        self.call(Method::DELETE, path, bearer, None).await
    }
}

/// A name no other test, thread or process has used: `tag-<pid>-<nanos>-<n>`, only
/// `[a-z0-9-]` after the tag, so it is valid as an email local part, a table, queue or bucket
/// name.
pub fn unique(tag: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    format!(
        "{tag}-{}-{nanos:x}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// How many of `statuses` equal `code`.
pub fn count(statuses: &[u16], code: u16) -> usize {
    statuses.iter().filter(|&&s| s == code).count()
}

/// LiveKit's name for a room as the API answered it (create, join): `<name>.<id>`, one name
/// per incarnation of a room name.
pub fn livekit_room(room: &Value) -> String {
    format!(
        "{}.{}",
        room["name"].as_str().expect("room name"),
        room["id"].as_str().expect("room id")
    )
}

/// Decodes a JWT's payload without verifying it (clients do exactly this).
pub fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("three-part JWT");
    let bytes = URL_SAFE_NO_PAD.decode(payload).expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// A Lambda function's configuration in tests: DynamoDB `table`, the test secrets, and an
/// external LiveKit whose server API is `livekit` (the double).
pub fn lambda_config(table: &str, livekit: &str) -> Config {
    let mut config = Config::default();
    config.database.kind = bedrud_shared::config::DatabaseKind::DynamoDb;
    config.database.table = Some(table.into());
    config.auth.jwt_secret = Some(TEST_JWT_SECRET.into());
    config.livekit.api_key = Some(TEST_LK_KEY.into());
    config.livekit.api_secret = Some(TEST_LK_SECRET.into());
    config.livekit.host = "wss://livekit.example.com".into();
    config.livekit.internal_host = Some(livekit.into());
    config.livekit.external = true;
    config
}
