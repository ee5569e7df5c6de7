//! Every request has an id: echoed in `x-request-id`, taken from a trusted proxy or from API
//! Gateway, generated otherwise (an untrusted client's is replaced).

use bedrud_shared::http::{auth, health};
use bedrud_shared::lambda;
use bedrud_shared::runtime::Counting;
use bedrud_tests::lambda_events::{event, invoke};
use bedrud_tests::{TestServer, test_state};
use reqwest::header::HeaderValue;

fn id_of(r: &bedrud_tests::Reply) -> String {
    r.headers["x-request-id"].to_str().unwrap().to_string()
}

async fn health_with(s: &TestServer, sent: Option<&str>) -> String {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(v) = sent {
        headers.insert("x-request-id", HeaderValue::from_str(v).unwrap());
    }
    let r = s
        .api
        .raw(
            reqwest::Method::GET,
            "/api/health",
            None,
            headers,
            Vec::new(),
        )
        .await
        .expect(200);
    id_of(&r)
}

#[tokio::test]
async fn ids_are_generated_and_only_trusted_proxies_choose_them() {
    let direct = TestServer::start().await;
    let a = health_with(&direct, None).await;
    let b = health_with(&direct, None).await;
    assert!(a.len() == 32 && a != b, "{a} {b}");
    assert_ne!(
        health_with(&direct, Some("chosen-by-client")).await,
        "chosen-by-client"
    );
    let r = direct.api.get("/api/nowhere", None).await.expect(404);
    assert_eq!(id_of(&r).len(), 32, "errors carry one too");

    let proxied = TestServer::with_config(|c| {
        c.server.behind_proxy = true;
        c.server.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    assert_eq!(
        health_with(&proxied, Some("lb-7f3a.42")).await,
        "lb-7f3a.42"
    );
    let odd = health_with(&proxied, Some("not ok<script>")).await;
    assert_eq!(odd.len(), 32, "an unsafe id is replaced: {odd}");
}

#[tokio::test]
async fn lambda_uses_api_gateways_request_id() {
    let (state, _dir) = test_state(Counting::InProcess, |_| {}).await;
    let app = lambda::service(auth::routes().merge(health::routes()), state);
    let mut e = event("apigw-v2-health.json");
    e["requestContext"]["requestId"] = "Fz3abCdEfGhIJkL=".into();
    let req = lambda_http::request::from_str(&e.to_string()).unwrap();
    let res = tower::ServiceExt::oneshot(app.clone(), req).await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "Fz3abCdEfGhIJkL=");
    let (status, _, _) = invoke(&app, &e).await;
    assert_eq!(status, 200);
}
