//! The `auth` Lambda's service, fed API Gateway HTTP API (v2) events from `events/` through
//! `lambda_http`'s own event decoding, exactly as the runtime delivers them.

use bedrud_shared::http::{auth, health};
use bedrud_shared::lambda;
use bedrud_shared::runtime::Counting;
use bedrud_tests::lambda_events::{event, invoke};
use bedrud_tests::test_state;

async fn service(
    counting: Counting,
    adjust: impl FnOnce(&mut bedrud_shared::config::Config),
) -> (axum::Router, tempfile::TempDir) {
    let (state, dir) = test_state(counting, adjust).await;
    (
        lambda::service(auth::routes().merge(health::routes()), state),
        dir,
    )
}

#[tokio::test]
async fn register_login_and_health_through_api_gateway_events() {
    let (app, _dir) = service(Counting::Shared, |_| {}).await;
    let (status, body, cookies) = invoke(&app, &event("apigw-v2-auth-register.json")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["email"], "lambda@example.com");
    assert!(cookies.iter().any(|c| c.starts_with("refresh_token=")));
    let (status, body, _) = invoke(&app, &event("apigw-v2-auth-login.json")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["tokens"]["accessToken"].is_string());
    let (status, body, _) = invoke(&app, &event("apigw-v2-health.json")).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("healthy")));
    let mut unknown = event("apigw-v2-health.json");
    unknown["rawPath"] = "/api/unknown".into();
    unknown["requestContext"]["http"]["path"] = "/api/unknown".into();
    let (status, body, _) = invoke(&app, &unknown).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not found")));
}

/// Lambda counts in the shared store, keyed by API Gateway's `sourceIp`.
#[tokio::test]
async fn rate_limit_keys_on_the_source_ip_from_the_request_context() {
    let (app, _dir) = service(Counting::Shared, |c| {
        c.rate_limit.auth_max_requests = 2;
        c.rate_limit.auth_window_secs = 3600;
    })
    .await;
    let from = |ip: &str| {
        let mut e = event("apigw-v2-auth-login.json");
        e["requestContext"]["http"]["sourceIp"] = ip.into();
        e
    };
    assert_eq!(invoke(&app, &from("198.51.100.1")).await.0, 401);
    assert_eq!(invoke(&app, &from("198.51.100.1")).await.0, 401);
    let (status, body, _) = invoke(&app, &from("198.51.100.1")).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(
        invoke(&app, &from("198.51.100.2")).await.0,
        401,
        "another client has its own budget"
    );
}
