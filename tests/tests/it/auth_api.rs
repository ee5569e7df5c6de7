//! Auth API, black-box through the real router on 127.0.0.1:0 over the embedded store.

use bedrud_shared::auth::TokenKeys;
use bedrud_shared::domain::{Email, SessionId, UserId, now};
use bedrud_tests::scenarios::{self, PASSWORD, login, register, unique_email};
use bedrud_tests::{TestServer, count, jwt_claims};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::json;

#[tokio::test]
async fn lifecycle_register_login_refresh_reuse_logout() {
    let s = TestServer::start().await;
    scenarios::auth_lifecycle(&s.api).await;
}

#[tokio::test]
async fn refresh_token_used_as_bearer_is_401() {
    let s = TestServer::start().await;
    scenarios::refresh_token_is_not_a_bearer(&s.api).await;
}

#[tokio::test]
async fn unknown_route_and_method_are_json_errors() {
    let s = TestServer::start().await;
    scenarios::unknown_routes_are_json(&s.api).await;
}

async fn user_exists(s: &TestServer, email: &str) -> bool {
    let e = Email::parse(email).unwrap();
    s.state
        .stores
        .users
        .user_by_email(&e)
        .await
        .unwrap()
        .is_some()
}

/// Each bad registration gets its status and `{"error"}`, and creates nothing.
#[tokio::test]
async fn bad_registrations_change_nothing() {
    let s = TestServer::with_config(|c| c.server.max_body_bytes = 4096).await;
    let email = unique_email("bad");
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("malformed JSON", b"{\"email\": ".to_vec(), 400),
        ("not JSON at all", b"email=a@b.c".to_vec(), 400),
        (
            "missing password",
            json!({"email": email, "name": "Ann"})
                .to_string()
                .into_bytes(),
            422,
        ),
        ("missing everything", b"{}".to_vec(), 422),
        (
            "wrong type",
            json!({"email": email, "password": 123456789012345i64, "name": "Ann"})
                .to_string()
                .into_bytes(),
            422,
        ),
        ("array body", b"[1,2]".to_vec(), 422),
        (
            "invalid email",
            json!({"email": "not-an-email", "password": PASSWORD, "name": "Ann"})
                .to_string()
                .into_bytes(),
            400,
        ),
        (
            "short password",
            json!({"email": email, "password": "short", "name": "Ann"})
                .to_string()
                .into_bytes(),
            400,
        ),
        (
            "long password",
            json!({"email": email, "password": "x".repeat(129), "name": "Ann"})
                .to_string()
                .into_bytes(),
            400,
        ),
        (
            "short name",
            json!({"email": email, "password": PASSWORD, "name": "A"})
                .to_string()
                .into_bytes(),
            400,
        ),
        (
            "oversize body",
            json!({"email": email, "password": PASSWORD, "name": "x".repeat(5000)})
                .to_string()
                .into_bytes(),
            413,
        ),
    ];
    for (what, body, status) in cases {
        let r = s
            .api
            .raw(
                Method::POST,
                "/api/auth/register",
                None,
                json_headers(),
                body,
            )
            .await;
        assert_eq!(r.status, status, "{what}: {}", r.raw);
        assert!(!r.error().is_empty(), "{what}");
        assert!(r.refresh_cookie().is_none(), "{what}: no cookie on failure");
    }
    assert!(
        !user_exists(&s, &email).await,
        "no bad request created the user"
    );
}

fn json_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h
}

#[tokio::test]
async fn duplicate_email_is_409_and_keeps_the_first_account() {
    let s = TestServer::start().await;
    let email = unique_email("dup");
    let first = register(&s.api, &email).await;
    let r = s
        .api
        .post("/api/auth/register", None, &json!({"email": email.to_uppercase(), "password": "another password 1", "name": "Bob"}))
        .await
        .expect(409);
    assert_eq!(r.error(), "user already exists");
    // The original password still works; the second one never did.
    login(&s.api, &email).await;
    let me = s
        .api
        .get("/api/auth/me", first["tokens"]["accessToken"].as_str())
        .await
        .expect(200);
    assert_eq!(me.body["name"], "Ann Lee");
}

#[tokio::test]
async fn concurrent_registrations_of_one_email_exactly_one_wins() {
    let s = TestServer::start().await;
    let email = unique_email("race");
    let bodies = (0..8)
        .map(|i| json!({"email": email, "password": PASSWORD, "name": format!("Racer {i}")}))
        .collect();
    let statuses = s.api.post_concurrently("/api/auth/register", bodies).await;
    assert_eq!(count(&statuses, 200), 1, "{statuses:?}");
    assert_eq!(count(&statuses, 409), 7, "{statuses:?}");
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_keep_the_user_signed_in() {
    // Two tabs (or a retry after a lost answer) refresh with the same token at once: one
    // rotates, the others get the same new generation, and nobody is signed out.
    let s = TestServer::start().await;
    let email = unique_email("rot");
    register(&s.api, &email).await;
    let (_, refresh) = login(&s.api, &email).await;
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (api, body) = (s.api.clone(), json!({"refresh_token": refresh}));
            tokio::spawn(async move { api.post("/api/auth/refresh", None, &body).await })
        })
        .collect();
    let mut newest = Vec::new();
    for t in tasks {
        let r = t.await.unwrap().expect(200);
        newest.push(r.body["refresh_token"].as_str().unwrap().to_string());
    }
    for t in &newest {
        assert_eq!(jwt_claims(t)["generation"], 1, "{t}");
    }
    // The session lives on: any of the answers refreshes again, and its access token works.
    let next = s
        .api
        .post(
            "/api/auth/refresh",
            None,
            &json!({"refresh_token": newest[5]}),
        )
        .await
        .expect(200);
    let access = next.body["access_token"].as_str().unwrap();
    s.api.get("/api/auth/me", Some(access)).await.expect(200);
}

#[tokio::test]
async fn login_rate_limit_returns_429_with_retry_after() {
    let s = TestServer::with_config(|c| {
        c.rate_limit.auth_max_requests = 3;
        c.rate_limit.auth_window_secs = 3600;
    })
    .await;
    let body = json!({"email": "nobody@example.com", "password": PASSWORD});
    for _ in 0..3 {
        s.api.post("/api/auth/login", None, &body).await.expect(401);
    }
    let r = s.api.post("/api/auth/login", None, &body).await.expect(429);
    assert!(r.error().contains("too many requests"));
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry));
    // Registration shares the auth budget.
    s.api
        .post(
            "/api/auth/register",
            None,
            &json!({"email": unique_email("rl"), "password": PASSWORD, "name": "Ann"}),
        )
        .await
        .expect(429);
}

#[tokio::test]
async fn guest_rate_limit_is_separate() {
    let s = TestServer::with_config(|c| {
        c.rate_limit.guest_max_requests = 2;
        c.rate_limit.guest_window_secs = 3600;
    })
    .await;
    for _ in 0..2 {
        s.api
            .post("/api/auth/guest-login", None, &json!({"name": "Visitor"}))
            .await
            .expect(200);
    }
    let r = s
        .api
        .post("/api/auth/guest-login", None, &json!({"name": "Visitor"}))
        .await
        .expect(429);
    assert!(r.error().contains("guest"));
    // The auth bucket is untouched (limits are off there in this config).
    register(&s.api, &unique_email("after-guest")).await;
}

#[tokio::test]
async fn wrong_credentials_are_401_and_unknown_email_looks_the_same() {
    let s = TestServer::start().await;
    let email = unique_email("cred");
    register(&s.api, &email).await;
    let wrong = s
        .api
        .post(
            "/api/auth/login",
            None,
            &json!({"email": email, "password": "wrong password!!"}),
        )
        .await
        .expect(401);
    let unknown = s
        .api
        .post(
            "/api/auth/login",
            None,
            &json!({"email": unique_email("ghost"), "password": "wrong password!!"}),
        )
        .await
        .expect(401);
    assert_eq!(wrong.body, unknown.body);
}

#[tokio::test]
async fn web_client_refresh_uses_only_the_cookie_and_it_rotates() {
    let s = TestServer::start().await;
    let email = unique_email("cookie");
    let r = s
        .api
        .post(
            "/api/auth/login",
            None,
            &json!({"email": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 401);
    let reg = s
        .api
        .raw(
            Method::POST,
            "/api/auth/register",
            None,
            json_headers(),
            json!({"email": email, "password": PASSWORD, "name": "Web"})
                .to_string()
                .into_bytes(),
        )
        .await
        .expect(200);
    let set = reg
        .refresh_cookie()
        .expect("register sets the refresh cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("Path=/api/auth"),
        "{set}"
    );
    let cookie1 = reg.refresh_cookie_value().unwrap();

    // Exactly what the web client sends: JSON content type, no body, the cookie.
    let with_cookie = |v: &str| {
        let mut h = json_headers();
        h.insert(
            "cookie",
            HeaderValue::from_str(&format!("theme=dark; refresh_token={v}")).unwrap(),
        );
        h
    };
    let r1 = s
        .api
        .raw(
            Method::POST,
            "/api/auth/refresh",
            None,
            with_cookie(&cookie1),
            Vec::new(),
        )
        .await
        .expect(200);
    let cookie2 = r1
        .refresh_cookie_value()
        .expect("refresh rotates the cookie");
    assert_ne!(cookie1, cookie2);
    assert!(r1.body["access_token"].is_string());
    s.api
        .raw(
            Method::POST,
            "/api/auth/refresh",
            None,
            with_cookie(&cookie2),
            Vec::new(),
        )
        .await
        .expect(200);
    // The old cookie is a replay now.
    s.api
        .raw(
            Method::POST,
            "/api/auth/refresh",
            None,
            with_cookie(&cookie1),
            Vec::new(),
        )
        .await
        .expect(401);
    // No token anywhere: 400, not 401.
    s.api
        .raw(
            Method::POST,
            "/api/auth/refresh",
            None,
            json_headers(),
            Vec::new(),
        )
        .await
        .expect(400);
}

#[tokio::test]
async fn logout_with_bearer_only_revokes_the_session_and_clears_the_cookie() {
    let s = TestServer::start().await;
    let email = unique_email("out");
    register(&s.api, &email).await;
    let (access, refresh) = login(&s.api, &email).await;
    // iOS style: no body, no content type.
    let r = s
        .api
        .call(Method::POST, "/api/auth/logout", Some(&access), None)
        .await
        .expect(200);
    let cleared = r.refresh_cookie().expect("cookie cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    s.api
        .post(
            "/api/auth/refresh",
            None,
            &json!({"refresh_token": refresh}),
        )
        .await
        .expect(401);
    let claims = jwt_claims(&access);
    let sid = claims["sid"].as_str().unwrap().to_string();
    let user = UserId::parse(claims["sub"].as_str().unwrap()).unwrap();
    let session = s
        .state
        .stores
        .sessions
        .session(&user, &SessionId::from_trusted(sid))
        .await
        .unwrap()
        .unwrap();
    assert!(session.revoked, "revocation is persisted");
    // Nothing identifying a session: 401.
    s.api
        .call(Method::POST, "/api/auth/logout", None, None)
        .await
        .expect(401);
}

#[tokio::test]
async fn expired_and_forged_access_tokens_are_401() {
    let s = TestServer::start().await;
    let reg = register(&s.api, &unique_email("exp")).await;
    let user = s
        .state
        .stores
        .users
        .user_by_id(&UserId::parse(reg["user"]["id"].as_str().unwrap()).unwrap())
        .await
        .unwrap()
        .unwrap();
    let keys = TokenKeys::new(bedrud_tests::TEST_JWT_SECRET, 60, 3600);
    let expired = keys
        .issue_access(&user, &SessionId::new(), now() - 600)
        .unwrap();
    assert_eq!(
        s.api
            .get("/api/auth/me", Some(&expired))
            .await
            .expect(401)
            .error(),
        "Token expired"
    );
    let forged = TokenKeys::new(&"f".repeat(40), 60, 3600)
        .issue_access(&user, &SessionId::new(), now())
        .unwrap();
    s.api.get("/api/auth/me", Some(&forged)).await.expect(401);
    s.api.get("/api/auth/me", Some("garbage")).await.expect(401);
    assert_eq!(
        s.api.get("/api/auth/me", None).await.expect(401).error(),
        "Missing authorization"
    );
}

#[tokio::test]
async fn guest_login_identity_claims_and_access() {
    let s = TestServer::start().await;
    let r = s
        .api
        .post(
            "/api/auth/guest-login",
            None,
            &json!({"name": "  Visiting <Guest> "}),
        )
        .await
        .expect(200);
    let user = &r.body["user"];
    let id = user["id"].as_str().unwrap();
    assert!(id.starts_with("guest-") && id.len() == 14, "{id}");
    assert_eq!(user["provider"], "guest");
    assert_eq!(user["accesses"], json!(["guest"]));
    assert_eq!(user["name"], "Visiting Guest");
    assert!(user["email"].is_string(), "iOS decodes email as a string");
    let access = r.body["tokens"]["accessToken"].as_str().unwrap();
    let claims = jwt_claims(access);
    assert_eq!(claims["provider"], "guest");
    assert_eq!(claims["accesses"], json!(["guest"]));
    // The web client calls these with guest tokens.
    s.api.get("/api/auth/me", Some(access)).await.expect(200);
    s.api
        .get("/api/auth/preferences", Some(access))
        .await
        .expect(200);
    // A guest has no password to change and no email to set.
    s.api
        .put(
            "/api/auth/password",
            Some(access),
            &json!({"currentPassword": PASSWORD, "newPassword": "new password 123"}),
        )
        .await
        .expect(403);
    s.api
        .put(
            "/api/auth/me",
            Some(access),
            &json!({"email": unique_email("g")}),
        )
        .await
        .expect(403);
    s.api
        .post("/api/auth/guest-login", None, &json!({"name": "X"}))
        .await
        .expect(400);
    s.api
        .post(
            "/api/auth/guest-login",
            None,
            &json!({"name": "x".repeat(51)}),
        )
        .await
        .expect(400);
}

#[tokio::test]
async fn switches_in_config_are_enforced() {
    let s = TestServer::with_config(|c| {
        c.auth.guest_login_enabled = false;
        c.auth.registration_enabled = false;
    })
    .await;
    s.api
        .post("/api/auth/guest-login", None, &json!({"name": "Visitor"}))
        .await
        .expect(403);
    let r = s
        .api
        .post(
            "/api/auth/register",
            None,
            &json!({"email": unique_email("off"), "password": PASSWORD, "name": "Ann"}),
        )
        .await
        .expect(403);
    assert_eq!(r.error(), "Registration is currently disabled");
    let settings = s.api.get("/api/auth/settings", None).await.expect(200);
    assert_eq!(settings.body["registrationEnabled"], false);
    assert_eq!(settings.body["guestLoginEnabled"], false);
}

#[tokio::test]
async fn public_settings_carry_what_clients_read() {
    let s = TestServer::start().await;
    let b = s.api.get("/api/auth/settings", None).await.expect(200).body;
    for (k, is_bool) in [
        ("registrationEnabled", true),
        ("tokenRegistrationOnly", true),
        ("guestLoginEnabled", true),
        ("passkeysEnabled", true),
        ("rnnoiseEnabled", true),
        ("krispEnabled", true),
    ] {
        assert_eq!(b[k].is_boolean(), is_bool, "{k}: {b}");
    }
    assert!(b["oauthProviders"].is_array());
    assert!(b["serverName"].is_string());
    assert!(b["chatMessageTTLHours"].is_number());
}

#[tokio::test]
async fn profile_update_and_email_conflict() {
    let s = TestServer::start().await;
    let (a, b) = (unique_email("pa"), unique_email("pb"));
    let ra = register(&s.api, &a).await;
    register(&s.api, &b).await;
    let token = ra["tokens"]["accessToken"].as_str().unwrap();
    let r = s
        .api
        .put("/api/auth/me", Some(token), &json!({"name": "Ann Renamed"}))
        .await
        .expect(200);
    assert_eq!(r.body["name"], "Ann Renamed");
    assert_eq!(r.body["requiresVerification"], false);
    let r = s
        .api
        .put(
            "/api/auth/me",
            Some(token),
            &json!({"name": "Ann", "email": b}),
        )
        .await
        .expect(409);
    assert!(!r.error().is_empty());
    // The failed update changed nothing, the name included.
    let me = s.api.get("/api/auth/me", Some(token)).await.expect(200);
    assert_eq!(me.body["name"], "Ann Renamed");
    assert_eq!(me.body["email"], a.as_str());
    s.api
        .put("/api/auth/me", Some(token), &json!({"name": "A"}))
        .await
        .expect(400);
    s.api
        .put("/api/auth/me", Some(token), &json!({}))
        .await
        .expect(400);
    let new_email = unique_email("moved");
    s.api
        .put(
            "/api/auth/me",
            Some(token),
            &json!({"name": "Ann", "email": new_email}),
        )
        .await
        .expect(200);
    login(&s.api, &new_email).await;
}

#[tokio::test]
async fn password_change_rules_and_other_sessions_revoked() {
    let s = TestServer::start().await;
    let email = unique_email("pw");
    register(&s.api, &email).await;
    let (access_a, refresh_a) = login(&s.api, &email).await;
    let (_, refresh_b) = login(&s.api, &email).await;
    // A wrong current password is 400 (a 401 would log mobile clients out).
    let r = s
        .api
        .put(
            "/api/auth/password",
            Some(&access_a),
            &json!({"currentPassword": "not my password", "newPassword": "brand new password"}),
        )
        .await
        .expect(400);
    assert!(r.error().contains("current password"));
    s.api
        .put(
            "/api/auth/password",
            Some(&access_a),
            &json!({"currentPassword": PASSWORD, "newPassword": "short"}),
        )
        .await
        .expect(400);
    s.api
        .put(
            "/api/auth/password",
            Some(&access_a),
            &json!({"currentPassword": PASSWORD, "newPassword": "brand new password"}),
        )
        .await
        .expect(200);
    s.api
        .post(
            "/api/auth/login",
            None,
            &json!({"email": email, "password": PASSWORD}),
        )
        .await
        .expect(401);
    s.api
        .post(
            "/api/auth/login",
            None,
            &json!({"email": email, "password": "brand new password"}),
        )
        .await
        .expect(200);
    // The session that changed it continues; the other device is signed out.
    s.api
        .post(
            "/api/auth/refresh",
            None,
            &json!({"refresh_token": refresh_a}),
        )
        .await
        .expect(200);
    s.api
        .post(
            "/api/auth/refresh",
            None,
            &json!({"refresh_token": refresh_b}),
        )
        .await
        .expect(401);
}

#[tokio::test]
async fn preferences_round_trip_and_limits() {
    let s = TestServer::start().await;
    let reg = register(&s.api, &unique_email("prefs")).await;
    let t = reg["tokens"]["accessToken"].as_str().unwrap();
    assert_eq!(
        s.api
            .get("/api/auth/preferences", Some(t))
            .await
            .expect(200)
            .body["preferencesJson"],
        "{}"
    );
    let blob =
        json!({"audio": {"noiseSuppression": true}, "interface": {"theme": "dark"}}).to_string();
    let r = s
        .api
        .put(
            "/api/auth/preferences",
            Some(t),
            &json!({"preferencesJson": blob}),
        )
        .await
        .expect(200);
    assert!(r.body["message"].is_string());
    assert_eq!(
        s.api.get("/api/auth/preferences", Some(t)).await.body["preferencesJson"],
        blob.as_str()
    );
    s.api
        .put(
            "/api/auth/preferences",
            Some(t),
            &json!({"preferencesJson": "not json"}),
        )
        .await
        .expect(400);
    s.api
        .put(
            "/api/auth/preferences",
            Some(t),
            &json!({"preferencesJson": "[1]"}),
        )
        .await
        .expect(400);
    let big = json!({"x": "y".repeat(5000)}).to_string();
    s.api
        .put(
            "/api/auth/preferences",
            Some(t),
            &json!({"preferencesJson": big}),
        )
        .await
        .expect(413);
    assert_eq!(
        s.api.get("/api/auth/preferences", Some(t)).await.body["preferencesJson"],
        blob.as_str()
    );
}

#[tokio::test]
async fn health_and_ready() {
    let s = TestServer::start().await;
    let h = s.api.get("/api/health", None).await.expect(200);
    assert_eq!(h.body["status"], "healthy");
    assert!(h.body["version"].is_string());
    assert_eq!(
        s.api.get("/api/ready", None).await.expect(200).body["status"],
        "ready"
    );
}

#[tokio::test]
async fn graceful_stop_reports_clean_exit() {
    let s = TestServer::start().await;
    register(&s.api, &unique_email("stop")).await;
    s.stop().await.expect("server stops cleanly");
}

/// Bedrud's `access_token` cookie (A5): set with the session, accepted on reads that carry no
/// `Authorization` header, never on a change, cleared at logout. A stale one leaves public
/// pages anonymous instead of refusing them.
#[tokio::test]
async fn the_access_cookie_authenticates_reads_only() {
    let s = TestServer::start().await;
    let email = unique_email("cookie");
    let body = json!({"email": email, "password": PASSWORD, "name": "Cookie Reader"});
    let reg = s
        .api
        .post("/api/auth/register", None, &body)
        .await
        .expect(200);
    let set = reg.set_cookie("access_token").expect("the access cookie");
    assert!(set.contains("HttpOnly") && set.contains("Path=/"), "{set}");
    let access = reg.set_cookie_value("access_token").unwrap();
    assert_eq!(
        Some(access.as_str()),
        reg.body["tokens"]["accessToken"].as_str()
    );
    let with_cookie = |v: &str| {
        let mut h = json_headers();
        let cookie = format!("theme=dark; access_token={v}");
        h.insert("cookie", HeaderValue::from_str(&cookie).unwrap());
        h
    };
    let api = &s.api;
    let read = |v: &str, path: &'static str| {
        let h = with_cookie(v);
        async move { api.raw(Method::GET, path, None, h, Vec::new()).await }
    };

    let me = read(&access, "/api/auth/me").await.expect(200);
    assert_eq!(me.body["email"], email);
    let create = json!({"name": "cookie-made"}).to_string().into_bytes();
    let h = with_cookie(&access);
    let r = s
        .api
        .raw(Method::POST, "/api/room/create", None, h, create)
        .await;
    assert_eq!(r.expect(401).error(), "Missing authorization");

    read("not-a-token", "/api/auth/me").await.expect(401);
    // Anyone may ask whether a room exists: a stale cookie asks as nobody.
    read("not-a-token", "/api/room/check/no-such-room")
        .await
        .expect(404);

    let out = s
        .api
        .raw(
            Method::POST,
            "/api/auth/logout",
            Some(&access),
            json_headers(),
            b"{}".to_vec(),
        )
        .await
        .expect(200);
    let cleared = out.set_cookie("access_token").expect("cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    read(&access, "/api/auth/me").await.expect(401);
}
