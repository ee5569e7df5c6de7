//! The admin console as the real clients drive it, over HTTP on the embedded store: runtime
//! settings (stored, merged, seen by every instance, driving the behaviour), invite-only
//! registration end to end, and the admin gate on every new route.

use std::time::Duration;

use bedrud_shared::config::Ttl;
use bedrud_shared::http::{all_routes, socket};
use bedrud_shared::runtime::{Counting, build};
use bedrud_tests::people::{self, Person};
use bedrud_tests::scenarios::{PASSWORD, unique_email};
use bedrud_tests::{Api, TestServer, count};
use reqwest::Method;
use serde_json::{Value, json};

async fn console() -> (TestServer, Person) {
    let s = TestServer::start().await;
    let admin = people::admin(&s.api, &s.state).await;
    (s, admin)
}

fn register_body(email: &str, invite: Option<&str>) -> Value {
    let mut b = json!({"email": email, "password": PASSWORD, "name": "New Person"});
    if let Some(t) = invite {
        b["inviteToken"] = json!(t);
    }
    b
}

#[tokio::test]
async fn only_admins_reach_the_new_routes() {
    let (s, _) = console().await;
    let user = people::user(&s.api).await;
    for (method, path) in [
        (Method::GET, "/api/admin/settings"),
        (Method::PUT, "/api/admin/settings"),
        (Method::POST, "/api/admin/settings/validate"),
        (Method::GET, "/api/admin/invite-tokens"),
        (Method::POST, "/api/admin/invite-tokens"),
        (Method::DELETE, "/api/admin/invite-tokens/x"),
    ] {
        let r = s
            .api
            .call(method.clone(), path, None, Some(&json!({})))
            .await;
        assert_eq!(r.status, 401, "{method} {path}");
        let r = s
            .api
            .call(method.clone(), path, user.bearer(), Some(&json!({})))
            .await;
        assert_eq!(r.status, 403, "{method} {path}");
        assert_eq!(r.error(), "Insufficient access rights");
    }
}

#[tokio::test]
async fn settings_merge_validate_and_drive_the_server() {
    let (s, admin) = console().await;
    let api = &s.api;
    let all = api
        .get("/api/admin/settings", admin.bearer())
        .await
        .expect(200);
    for key in [
        "serverName",
        "registrationEnabled",
        "tokenRegistrationOnly",
        "guestLoginEnabled",
        "recordingsEnabled",
        "maxParticipantsLimit",
        "maxRoomsPerUser",
    ] {
        assert!(!all.body[key].is_null(), "{key} missing: {}", all.raw);
    }
    // Partial: only the keys sent change; unknown keys are ignored.
    let r = api
        .put(
            "/api/admin/settings",
            admin.bearer(),
            &json!({"registrationEnabled": false, "serverName": "Acme Meet", "webxdcEnabled": true}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["registrationEnabled"], false);
    assert_eq!(r.body["guestLoginEnabled"], true);
    assert!(r.body.get("webxdcEnabled").is_none());
    let public = api.get("/api/auth/settings", None).await.expect(200);
    assert_eq!(public.body["serverName"], "Acme Meet");
    assert_eq!(public.body["registrationEnabled"], false);
    let r = api
        .post(
            "/api/auth/register",
            None,
            &register_body(&unique_email("closed"), None),
        )
        .await
        .expect(403);
    assert_eq!(r.error(), "Registration is currently disabled");

    // A wrong type names the key and changes nothing; so does a body that is no object.
    let r = api
        .put(
            "/api/admin/settings",
            admin.bearer(),
            &json!({"registrationEnabled": "yes", "guestLoginEnabled": false}),
        )
        .await
        .expect(400);
    assert_eq!(
        r.error(),
        "registrationEnabled: expected a boolean, got a string"
    );
    api.put("/api/admin/settings", admin.bearer(), &json!([1, 2]))
        .await
        .expect(400);
    let r = api
        .put(
            "/api/admin/settings",
            admin.bearer(),
            &json!({"maxRoomsPerUser": 0}),
        )
        .await
        .expect(400);
    assert!(
        r.error().starts_with("maxRoomsPerUser: must be between"),
        "{}",
        r.raw
    );
    let now = api
        .get("/api/admin/settings", admin.bearer())
        .await
        .expect(200);
    assert_eq!(
        now.body["guestLoginEnabled"], true,
        "the refused change left nothing"
    );

    // Limits apply at once: one room per user.
    api.put(
        "/api/admin/settings",
        admin.bearer(),
        &json!({"registrationEnabled": null, "maxRoomsPerUser": 1, "guestLoginEnabled": false}),
    )
    .await
    .expect(200);
    let user = people::user(api).await;
    people::room(api, &user, json!({})).await;
    let r = api
        .post("/api/room/create", user.bearer(), &json!({}))
        .await
        .expect(403);
    assert!(r.error().contains("max 1 active rooms"), "{}", r.raw);
    let r = api
        .post("/api/auth/guest-login", None, &json!({"name": "Gus"}))
        .await
        .expect(403);
    assert_eq!(r.error(), "Guest login is currently disabled");

    // Checks always answer, one verdict per dependency.
    let v = api
        .post("/api/admin/settings/validate", admin.bearer(), &json!({}))
        .await
        .expect(200);
    for check in ["livekit", "tls", "s3", "email"] {
        let status = v.body["checks"][check]["status"].as_str().unwrap();
        assert!(
            ["ok", "error", "skipped", "warning"].contains(&status),
            "{}",
            v.raw
        );
    }
}

/// A second instance on the same store sees a change made through the first one within its
/// cache period (Lambda instances share only the table).
#[tokio::test]
async fn a_change_reaches_every_instance() {
    let (s, admin) = console().await;
    let mut config = s.state.config.clone();
    config.server.settings_cache_ttl = Ttl::from_secs(1);
    let other = build(config, Counting::InProcess).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b = Api::new(&format!("http://{}", listener.local_addr().unwrap()));
    let limits = socket::Limits::from_config(&other.config.server);
    let app = socket::socket_app(all_routes(), other);
    tokio::spawn(socket::serve(listener, app, limits, std::future::pending()));
    let before = b.get("/api/auth/settings", None).await.expect(200);
    assert_eq!(before.body["guestLoginEnabled"], true);
    s.api
        .put(
            "/api/admin/settings",
            admin.bearer(),
            &json!({"guestLoginEnabled": false}),
        )
        .await
        .expect(200);
    let mut seen = false;
    for _ in 0..100 {
        let r = b.get("/api/auth/settings", None).await.expect(200);
        if r.body["guestLoginEnabled"] == false {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen, "the other instance never saw the change");
    b.post("/api/auth/guest-login", None, &json!({"name": "Gus"}))
        .await
        .expect(403);
}

#[tokio::test]
async fn invite_only_registration_end_to_end() {
    let (s, admin) = console().await;
    let api = &s.api;
    api.put(
        "/api/admin/settings",
        admin.bearer(),
        &json!({"tokenRegistrationOnly": true}),
    )
    .await
    .expect(200);
    let settings = api.get("/api/auth/settings", None).await.expect(200);
    assert_eq!(settings.body["tokenRegistrationOnly"], true);
    let r = api
        .post(
            "/api/auth/register",
            None,
            &register_body(&unique_email("inv"), None),
        )
        .await
        .expect(403);
    assert_eq!(r.error(), "An invite token is required to register");

    // An invite bound to one address.
    let ann = unique_email("ann");
    let made = api
        .post(
            "/api/admin/invite-tokens",
            admin.bearer(),
            &json!({"email": ann, "expiresInHours": 24}),
        )
        .await
        .expect(201);
    assert_eq!(
        made.body["used"], false,
        "iOS decodes `used` on the create answer"
    );
    assert!(made.body["usedAt"].is_null());
    let token = made.body["token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 32);
    let r = api
        .post(
            "/api/auth/register",
            None,
            &register_body(&unique_email("bob"), Some(&token)),
        )
        .await
        .expect(403);
    assert_eq!(r.error(), "Invalid or expired invite token");
    api.post(
        "/api/auth/register",
        None,
        &register_body(&ann, Some("0123456789abcdef0123456789abcdef")),
    )
    .await
    .expect(403);
    api.post(
        "/api/auth/register",
        None,
        &register_body(&ann, Some(&token)),
    )
    .await
    .expect(200);
    let r = api
        .post(
            "/api/auth/register",
            None,
            &register_body(&unique_email("ann2"), Some(&token)),
        )
        .await;
    assert!(r.status == 409 || r.status == 403, "{}", r.raw);

    // An open invite raced by eight registrations: exactly one account.
    let open = api
        .post("/api/admin/invite-tokens", admin.bearer(), &json!({}))
        .await
        .expect(201);
    let token = open.body["token"].as_str().unwrap().to_string();
    let bodies: Vec<Value> = (0..8)
        .map(|i| register_body(&unique_email(&format!("race{i}")), Some(&token)))
        .collect();
    let statuses = api.post_concurrently("/api/auth/register", bodies).await;
    assert_eq!(count(&statuses, 200), 1, "{statuses:?}");
    assert_eq!(count(&statuses, 409), 7, "{statuses:?}");

    // The list shows both, used; a revoke answers success (unknown ids too).
    let list = api
        .get("/api/admin/invite-tokens", admin.bearer())
        .await
        .expect(200);
    assert_eq!(list.body["total"], 2);
    for t in list.body["tokens"].as_array().unwrap() {
        assert_eq!(t["used"], true, "{t}");
        assert!(t["usedAt"].is_string());
    }
    let id = made.body["id"].as_str().unwrap();
    for path in [
        format!("/api/admin/invite-tokens/{id}"),
        "/api/admin/invite-tokens/nope".to_string(),
    ] {
        let r = api.delete(&path, admin.bearer()).await.expect(200);
        assert_eq!(r.body["status"], "success");
    }
    let list = api
        .get("/api/admin/invite-tokens", admin.bearer())
        .await
        .expect(200);
    assert_eq!(list.body["total"], 1);
    // Bad lifetimes and addresses are refused.
    for body in [
        json!({"expiresInHours": 721}),
        json!({"expiresInHours": 0}),
        json!({"email": "not an address"}),
    ] {
        api.post("/api/admin/invite-tokens", admin.bearer(), &body)
            .await
            .expect(400);
    }
}

#[tokio::test]
async fn recordings_enabled_tells_whether_recording_works() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let s = TestServer::with_config(|c| {
        c.recordings.enabled = true;
        c.recordings.dir = path;
    })
    .await;
    let admin = people::admin(&s.api, &s.state).await;
    let on = s.api.get("/api/auth/settings", None).await.expect(200);
    assert_eq!(on.body["recordingsEnabled"], true);
    s.api
        .put(
            "/api/admin/settings",
            admin.bearer(),
            &json!({"recordingsEnabled": false}),
        )
        .await
        .expect(200);
    let off = s.api.get("/api/auth/settings", None).await.expect(200);
    assert_eq!(off.body["recordingsEnabled"], false);
    // Without a LiveKit key pair nothing could record.
    let bare = TestServer::with_config(|c| {
        c.recordings.enabled = true;
        c.livekit.api_key = None;
        c.livekit.api_secret = None;
    })
    .await;
    let r = bare.api.get("/api/auth/settings", None).await.expect(200);
    assert_eq!(r.body["recordingsEnabled"], false);
}
