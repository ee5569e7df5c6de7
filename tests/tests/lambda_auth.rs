//! The `auth` Lambda's service, fed API Gateway HTTP API (v2) events from `events/` through
//! `lambda_http`'s own event decoding, exactly as the runtime delivers them.

use bedrud_shared::http::{auth, health};
use bedrud_shared::lambda;
use bedrud_shared::runtime::Counting;
use bedrud_tests::test_state;
use serde_json::Value;
use tower::ServiceExt;

fn event(name: &str) -> Value {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("fixture JSON")
}

async fn invoke(app: &axum::Router, event: &Value) -> (u16, Value, Vec<String>) {
    let req = lambda_http::request::from_str(&event.to_string()).expect("API Gateway v2 event");
    let res = app.clone().oneshot(req).await.expect("infallible");
    let status = res.status().as_u16();
    let cookies = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        cookies,
    )
}

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
