//! The auth flows over HTTP with DynamoDB (on moto) as the store and shared rate-limit
//! counts: the configuration the `auth` Lambda runs with.

use bedrud_shared::http::{auth, health};
use bedrud_tests::{Api, count, dynamo_config, fresh_dynamo_table, scenarios, serve_routes};
use serde_json::json;

/// The auth routes on 127.0.0.1:0 over a fresh table.
async fn serve(max_auth: u32) -> Api {
    let table = fresh_dynamo_table().await;
    let mut config = dynamo_config(table.table());
    config.rate_limit.auth_max_requests = max_auth;
    // Counts are per fixed window: an hour keeps a test's few requests inside one.
    config.rate_limit.auth_window_secs = 3600;
    serve_routes(auth::routes().merge(health::routes()), config)
        .await
        .0
}

#[tokio::test]
async fn lifecycle_on_dynamodb() {
    let api = serve(0).await;
    api.get("/api/ready", None).await.expect(200);
    scenarios::auth_lifecycle(&api).await;
    scenarios::refresh_token_is_not_a_bearer(&api).await;
}

#[tokio::test]
async fn concurrent_registrations_on_dynamodb() {
    let api = serve(0).await;
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
    let api = serve(2).await;
    let body = json!({"email": "nobody@example.com", "password": scenarios::PASSWORD});
    api.post("/api/auth/login", None, &body).await.expect(401);
    api.post("/api/auth/login", None, &body).await.expect(401);
    api.post("/api/auth/login", None, &body).await.expect(429);
}
