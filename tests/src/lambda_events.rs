//! Feeding a Lambda's service API Gateway HTTP API (v2) events from `events/`, decoded by
//! `lambda_http` exactly as the runtime delivers them.

use serde_json::Value;
use tower::ServiceExt;

/// A fixture from `events/`.
pub fn event(name: &str) -> Value {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("fixture JSON")
}

/// The fixture with the placeholder bearer replaced by a real access token.
pub fn event_as(name: &str, token: &str) -> Value {
    let mut e = event(name);
    e["headers"]["authorization"] = format!("Bearer {token}").into();
    e
}

/// Invokes the service with one event: status, JSON body, Set-Cookie headers.
pub async fn invoke(app: &axum::Router, event: &Value) -> (u16, Value, Vec<String>) {
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

/// The router each HTTP function's `main.rs` serves, by binary name.
pub fn router_of(binary: &str) -> Option<axum::Router<bedrud_shared::AppState>> {
    use bedrud_shared::http::{
        accounts, admin, auth, health, join, moderation, oauth, openapi, passkeys, recordings,
        rooms, webhook,
    };
    Some(match binary {
        "auth" => auth::routes()
            .merge(oauth::routes())
            .merge(passkeys::routes())
            .merge(accounts::routes())
            .merge(health::routes()),
        "rooms" => rooms::routes().merge(openapi::routes()),
        "join" => join::routes(),
        "moderation" => moderation::routes(),
        "webhook" => webhook::routes(),
        "recording" => recordings::routes(),
        "admin" => admin::routes(),
        "queue" => admin::queue_routes(),
        _ => return None,
    })
}
