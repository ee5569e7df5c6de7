//! The auth flows over HTTP with DynamoDB (on moto) as the store and shared rate-limit
//! counts: the configuration the `auth` Lambda runs with.

use bedrud_shared::http::{auth, health, socket};
use bedrud_shared::runtime::{Counting, build};
use bedrud_tests::{Api, TEST_JWT_SECRET, count, fresh_dynamo_table, scenarios};
use serde_json::json;

/// A server on 127.0.0.1:0 over a fresh table; the returned sender stops it.
async fn serve(max_auth: u32) -> (Api, tokio::sync::oneshot::Sender<()>) {
    let table = fresh_dynamo_table().await;
    let mut config = bedrud_shared::config::Config::default();
    config.database.kind = bedrud_shared::config::DatabaseKind::DynamoDb;
    config.database.table = Some(table.table().to_string());
    config.auth.jwt_secret = Some(TEST_JWT_SECRET.into());
    config.rate_limit.auth_max_requests = max_auth;
    config.rate_limit.guest_max_requests = 0;
    let state = build(config, Counting::Shared)
        .await
        .expect("state on DynamoDB");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = Api::new(&format!("http://{}", listener.local_addr().unwrap()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let limits = socket::Limits::from_config(&state.config.server);
    let app = socket::socket_app(auth::routes().merge(health::routes()), state);
    tokio::spawn(socket::serve(listener, app, limits, async {
        let _ = stopped.await;
    }));
    (api, stop)
}

#[tokio::test]
async fn lifecycle_on_dynamodb() {
    let (api, _stop) = serve(0).await;
    api.get("/api/ready", None).await.expect(200);
    scenarios::auth_lifecycle(&api).await;
    scenarios::refresh_token_is_not_a_bearer(&api).await;
}

#[tokio::test]
async fn concurrent_registrations_on_dynamodb() {
    let (api, _stop) = serve(0).await;
    let email = scenarios::unique_email("ddb-race");
    let bodies = (0..8)
        .map(|i| json!({"email": email, "password": scenarios::PASSWORD, "name": format!("Racer {i}")}))
        .collect();
    let statuses = api.post_concurrently("/api/auth/register", bodies).await;
    assert_eq!(count(&statuses, 200), 1, "{statuses:?}");
    assert_eq!(count(&statuses, 409), 7, "{statuses:?}");
}

#[tokio::test]
async fn rate_limit_counts_in_the_table() {
    let (api, _stop) = serve(2).await;
    let body = json!({"email": "nobody@example.com", "password": scenarios::PASSWORD});
    api.post("/api/auth/login", None, &body).await.expect(401);
    api.post("/api/auth/login", None, &body).await.expect(401);
    api.post("/api/auth/login", None, &body).await.expect(429);
}
