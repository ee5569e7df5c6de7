//! Feeding a Lambda's service API Gateway HTTP API (v2) events from `events/`, decoded by
//! `lambda_http` exactly as the runtime delivers them.

use serde_json::Value;

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

/// Invokes the service with one event, as the runtime does (`lambda::handle`: the v2 request
/// decoded by `lambda_http`, the v2 response): status, JSON body, the `cookies` it sets.
pub async fn invoke(app: &axum::Router, event: &Value) -> (u16, Value, Vec<String>) {
    let payload: lambda_http::request::LambdaRequest =
        serde_json::from_value(event.clone()).expect("API Gateway v2 event");
    let event = lambda_http::LambdaEvent::new(payload, lambda_http::Context::default());
    let res = bedrud_shared::lambda::handle(app.clone(), event)
        .await
        .expect("answered");
    let body = match &res.body {
        Some(lambda_http::Body::Text(t)) => serde_json::from_str(t).unwrap_or(Value::Null),
        Some(lambda_http::Body::Binary(b)) => serde_json::from_slice(b).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    assert!(
        res.headers.get("set-cookie").is_none(),
        "cookies travel in `cookies`"
    );
    (res.status_code as u16, body, res.cookies)
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
