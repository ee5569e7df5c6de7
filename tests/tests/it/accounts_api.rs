//! E-mail verification and password reset over HTTP, with the mail going through a real SMTP
//! server (aiosmtpd) and the embedded job queue worked as the sidecar's worker works it.

use bedrud_shared::config::Config;
use bedrud_shared::domain::{AccountToken, Email, TokenPurpose, UserId, now};
use bedrud_shared::worker;
use bedrud_tests::scenarios::sign_in as login;
use bedrud_tests::scenarios::{PASSWORD, unique_email};
use bedrud_tests::smtp::{Delivered, SmtpSink, mail_to_port};
use bedrud_tests::{Api, TestServer, jwt_claims};
use serde_json::{Value, json};

const FRONTEND: &str = "https://meet.example.com";

fn mail_to(port: u16, required: bool) -> impl FnOnce(&mut Config) {
    move |c| {
        mail_to_port(c, port);
        c.auth.require_email_verification = required;
        c.auth.frontend_url = Some(format!("{FRONTEND}/"));
        c.auth.verification_email_cooldown_mins = 0;
    }
}

/// Runs every due job, as the sidecar's worker does.
async fn deliver(s: &TestServer) {
    let jobs = s.state.media.jobs.clone().expect("embedded queue");
    while worker::run_one(&s.state, &*jobs).await.unwrap() {}
}

async fn register(api: &Api, email: &str) -> bedrud_tests::Reply {
    api.post(
        "/api/auth/register",
        None,
        &json!({"email": email, "password": PASSWORD, "name": "Ann <Lee>"}),
    )
    .await
}

async fn verify(api: &Api, token: &str) -> bedrud_tests::Reply {
    api.post("/api/auth/verify", None, &json!({ "token": token }))
        .await
}

fn link(m: &Delivered, path: &str) -> String {
    m.token(path)
        .unwrap_or_else(|| panic!("no {path} link in {}", m.text))
}

#[tokio::test]
async fn sign_up_confirm_by_mail_then_sign_in() {
    let smtp = SmtpSink::start();
    let s = TestServer::with_config(mail_to(smtp.port, true)).await;
    let api = &s.api;
    let settings = api.get("/api/auth/settings", None).await.expect(200);
    assert_eq!(settings.body["requireEmailVerification"], true);

    let email = unique_email("verify");
    let r = register(api, &email).await.expect(200);
    assert_eq!(r.body["requiresVerification"], true);
    assert_eq!(r.body["email"], email.as_str());
    assert!(r.body.get("tokens").is_none() && r.refresh_cookie().is_none());
    // Unconfirmed: no sign-in, with what the web and Android read to show "check your inbox".
    let refused = login(api, &email, PASSWORD).await.expect(403);
    assert_eq!(
        refused.body,
        json!({"error": "Please verify your email before signing in",
               "requiresVerification": true, "email": email})
    );

    deliver(&s).await;
    let m = smtp.wait_for(&email, 1).await;
    assert_eq!(
        m.header("Subject").as_deref(),
        Some("Verify your Bedrud email")
    );
    assert!(m.header("From").unwrap().contains("no-reply@bedrud.test"));
    assert!(m.raw.contains("multipart/alternative") && m.raw.contains("text/html"));
    assert!(m.text.contains(&format!("{FRONTEND}/auth/verify?token=")));
    assert!(m.text.contains("Hello Ann Lee,"), "{}", m.text);
    assert!(
        m.text
            .contains(&format!("<a href=\"{FRONTEND}/auth/verify?token="))
    );
    let token = link(&m, "/auth/verify");

    // Bad links change nothing.
    verify(api, "").await.expect(400);
    let tampered = format!("{}0", &token[..token.len() - 1]);
    let tampered = if tampered == token {
        format!("{}1", &token[..token.len() - 1])
    } else {
        tampered
    };
    assert_eq!(
        verify(api, &tampered).await.expect(401).error(),
        "The verification link has expired"
    );
    login(api, &email, PASSWORD).await.expect(403);

    let ok = verify(api, &token).await.expect(200);
    assert_eq!(ok.body["verified"], true);
    let access = ok.body["access_token"].as_str().unwrap().to_string();
    assert!(ok.body["refresh_token"].is_string() && ok.refresh_cookie().is_some());
    assert_eq!(jwt_claims(&access)["emailVerified"], true);
    let again = verify(api, &token).await.expect(409);
    assert_eq!(again.body["already_verified"], true);
    let status = api
        .get("/api/auth/verify/status", Some(&access))
        .await
        .expect(200);
    assert_eq!(
        (
            status.body["verified"].as_bool(),
            status.body["email"].as_str()
        ),
        (Some(true), Some(email.as_str()))
    );
    login(api, &email, PASSWORD).await.expect(200);
}

#[tokio::test]
async fn links_of_other_purposes_users_and_ages_are_refused() {
    let smtp = SmtpSink::start();
    let s = TestServer::with_config(mail_to(smtp.port, true)).await;
    let api = &s.api;
    let (ann, bob) = (unique_email("ann"), unique_email("bob"));
    register(api, &ann).await.expect(200);
    register(api, &bob).await.expect(200);
    // A reset link for Ann (forgot-password works for unconfirmed accounts too).
    api.post("/api/auth/forgot-password", None, &json!({ "email": ann }))
        .await
        .expect(200);
    deliver(&s).await;
    smtp.wait_for(&ann, 2).await;
    let ann_verify = link(&smtp.about(&ann, "Verify"), "/auth/verify");
    let ann_reset = link(&smtp.about(&ann, "Reset"), "/auth/reset-password");
    let bob_verify = link(&smtp.wait_for(&bob, 1).await, "/auth/verify");

    // Wrong purpose, both ways.
    verify(api, &ann_reset).await.expect(401);
    api.post(
        "/api/auth/reset-password",
        None,
        &json!({"token": ann_verify, "newPassword": "another long password"}),
    )
    .await
    .expect(400);
    // Bob's secret under Ann's name (and the reverse) is no link at all.
    let (ann_part, _) = ann_verify.split_once('.').unwrap();
    let (_, bob_secret) = bob_verify.split_once('.').unwrap();
    verify(api, &format!("{ann_part}.{bob_secret}"))
        .await
        .expect(401);
    // Expired: a link whose time is up.
    let ann_user = s
        .state
        .stores
        .users
        .user_by_email(&Email::parse(&ann).unwrap())
        .await
        .unwrap()
        .unwrap();
    let (old, rec) = AccountToken::issue(
        &ann_user.id,
        TokenPurpose::VerifyEmail,
        ann_user.email.as_ref().unwrap(),
        -1,
        now(),
    );
    s.state
        .stores
        .accounts()
        .unwrap()
        .put_token(&rec)
        .await
        .unwrap();
    verify(api, &old).await.expect(401);
    // The expired link superseded the mailed one, so nothing verified Ann.
    verify(api, &ann_verify).await.expect(401);
    login(api, &ann, PASSWORD).await.expect(403);
    // Bob's own link still works; a link for a removed user answers 404.
    verify(api, &bob_verify).await.expect(200);
    let ghost = UserId::new_account();
    let (ghost_token, _) = AccountToken::issue(
        &ghost,
        TokenPurpose::VerifyEmail,
        &Email::parse("ghost@example.com").unwrap(),
        600,
        now(),
    );
    verify(api, &ghost_token).await.expect(404);
}

#[tokio::test]
async fn forgot_and_reset_password() {
    let smtp = SmtpSink::start();
    let s = TestServer::with_config(mail_to(smtp.port, false)).await;
    let api = &s.api;
    let email = unique_email("reset");
    let r = register(api, &email).await.expect(200);
    let old_refresh = r.body["tokens"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();

    // The same answer for a known and an unknown address (and a malformed one).
    let known = api
        .post(
            "/api/auth/forgot-password",
            None,
            &json!({ "email": email }),
        )
        .await
        .expect(200);
    for other in ["nobody@example.com", "not an address"] {
        let unknown = api
            .post(
                "/api/auth/forgot-password",
                None,
                &json!({ "email": other }),
            )
            .await
            .expect(200);
        assert_eq!((unknown.status, &unknown.body), (known.status, &known.body));
    }
    api.post("/api/auth/forgot-password", None, &json!({ "email": "" }))
        .await
        .expect(400);
    deliver(&s).await;
    let m = smtp.wait_for(&email, 1).await;
    assert_eq!(
        m.header("Subject").as_deref(),
        Some("Reset your Bedrud password")
    );
    assert_eq!(smtp.all().len(), 1, "mail only to the known address");
    let token = link(&m, "/auth/reset-password");
    assert!(
        m.text
            .contains(&format!("{FRONTEND}/auth/reset-password?token="))
    );

    let reset = |token: &str, password: &str| {
        let body = json!({"token": token, "newPassword": password});
        async move { api.post("/api/auth/reset-password", None, &body).await }
    };
    // Registration's rules; nothing changes on refusal.
    reset(&token, "short").await.expect(400);
    reset("", "a perfectly long password").await.expect(400);
    assert_eq!(
        reset("abc.def", "a perfectly long password")
            .await
            .expect(400)
            .error(),
        "Invalid or expired reset token"
    );
    login(api, &email, PASSWORD).await.expect(200);

    reset(&token, "a brand new passphrase").await.expect(200);
    reset(&token, "yet another passphrase").await.expect(400);
    login(api, &email, PASSWORD).await.expect(401);
    login(api, &email, "a brand new passphrase")
        .await
        .expect(200);
    // Every session from before is signed out.
    api.post(
        "/api/auth/refresh",
        None,
        &json!({"refresh_token": old_refresh}),
    )
    .await
    .expect(401);
}

#[tokio::test]
async fn mail_requests_are_rate_limited_per_client() {
    let smtp = SmtpSink::start();
    let s = TestServer::with_config(|c| {
        mail_to(smtp.port, false)(c);
        c.rate_limit.auth_resend_max_requests = 2;
        c.rate_limit.auth_resend_window_secs = 3600;
    })
    .await;
    for path in ["/api/auth/verify/resend", "/api/auth/forgot-password"] {
        let body = json!({"email": unique_email("limit")});
        s.api.post(path, None, &body).await.expect(200);
    }
    let third = s
        .api
        .post(
            "/api/auth/verify/resend",
            None,
            &json!({"email": "x@example.com"}),
        )
        .await
        .expect(429);
    assert!(
        third.body["retryAfter"].as_u64().unwrap() > 0,
        "{}",
        third.body
    );
    assert!(third.headers.contains_key("retry-after"));
    s.api
        .post(
            "/api/auth/forgot-password",
            None,
            &json!({"email": "x@example.com"}),
        )
        .await
        .expect(429);
}

#[tokio::test]
async fn resend_has_a_silent_cooldown_per_address() {
    let smtp = SmtpSink::start();
    let s = TestServer::with_config(|c| {
        mail_to(smtp.port, true)(c);
        c.auth.verification_email_cooldown_mins = 2;
    })
    .await;
    let email = unique_email("cool");
    register(&s.api, &email).await.expect(200);
    for _ in 0..3 {
        let r = s
            .api
            .post("/api/auth/verify/resend", None, &json!({ "email": email }))
            .await
            .expect(200);
        assert_eq!(
            r.body["message"],
            "If the account exists, a verification email has been sent"
        );
    }
    deliver(&s).await;
    smtp.wait_for(&email, 1).await;
    assert_eq!(
        smtp.all().len(),
        1,
        "the sign-up's mail, and no more within the cooldown"
    );
}

/// SMTP down: the request is answered, the job retries with backoff and then dead-letters
/// with the reason; nothing is lost or sent twice.
#[tokio::test]
async fn smtp_down_retries_then_dead_letters() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let s = TestServer::with_config(mail_to(closed, true)).await;
    let email = unique_email("down");
    register(&s.api, &email).await.expect(200);
    let jobs = s.state.media.jobs.clone().unwrap();
    let watch = s.state.media.watch.clone().unwrap();
    let mut at = now();
    let mut attempts = 0;
    while worker::run_one_at(&s.state, &*jobs, at).await.unwrap() {
        attempts += 1;
        at += 3600;
    }
    let depth = watch.depth(at).await.unwrap();
    assert_eq!(
        (attempts, depth.pending, depth.dead),
        (5, 0, 1),
        "{depth:?}"
    );
    let failure = &depth.recent_failures[0];
    assert_eq!(failure.kind, "send_verification_email");
    assert!(failure.error.contains("SMTP"), "{}", failure.error);
}

#[tokio::test]
async fn a_new_address_needs_confirming() {
    let smtp = SmtpSink::start();
    let s = TestServer::with_config(mail_to(smtp.port, true)).await;
    let api = &s.api;
    let email = unique_email("move");
    register(api, &email).await.expect(200);
    deliver(&s).await;
    let token = link(&smtp.wait_for(&email, 1).await, "/auth/verify");
    let ok = verify(api, &token).await.expect(200);
    let access = ok.body["access_token"].as_str().unwrap().to_string();
    let refresh = ok.body["refresh_token"].as_str().unwrap().to_string();

    let moved = unique_email("moved");
    let r = api
        .put(
            "/api/auth/me",
            Some(&access),
            &json!({"name": "Ann Lee", "email": moved}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["requiresVerification"], true);
    assert_eq!(r.body["email"], moved.as_str());
    let status = api
        .get("/api/auth/verify/status", Some(&access))
        .await
        .expect(200);
    assert_eq!(status.body["verified"], false);
    // Until it is confirmed the session is not renewed and sign-in is refused.
    api.post(
        "/api/auth/refresh",
        None,
        &json!({"refresh_token": refresh}),
    )
    .await
    .expect(403);
    login(api, &moved, PASSWORD).await.expect(403);
    deliver(&s).await;
    let token = link(&smtp.wait_for(&moved, 1).await, "/auth/verify");
    verify(api, &token).await.expect(200);
    login(api, &moved, PASSWORD).await.expect(200);
    // A name-only change needs nothing.
    let (a, _) = bedrud_tests::scenarios::login(api, &moved).await;
    let r = api
        .put("/api/auth/me", Some(&a), &json!({"name": "Ann B. Lee"}))
        .await
        .expect(200);
    assert_eq!(r.body["requiresVerification"], false);
}

/// Accounts that existed before verification was required: signed-in sessions cannot join,
/// and the sweep leaves them (only sign-ups made under the requirement are removed).
#[tokio::test]
async fn requirement_gates_join_and_the_sweep_removes_only_pending_sign_ups() {
    let smtp = SmtpSink::start();
    let open = TestServer::with_config(mail_to(smtp.port, false)).await;
    let early = unique_email("early");
    let r = register(&open.api, &early).await.expect(200);
    let access = r.body["tokens"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(jwt_claims(&access)["emailVerified"], false);
    let db = open.state.config.database.path.clone();
    let strict = TestServer::with_config(move |c| {
        mail_to(smtp.port, true)(c);
        c.database.path = db;
    })
    .await;
    let join = strict
        .api
        .post(
            "/api/room/join",
            Some(&access),
            &json!({"roomName": "any-room"}),
        )
        .await
        .expect(403);
    assert_eq!(join.error(), "Email not verified");
    let late = unique_email("late");
    register(&strict.api, &late).await.expect(200);
    let accounts = &strict.state.accounts;
    assert_eq!(accounts.sweep_pending(now()).await.unwrap(), 0, "too young");
    let removed = accounts.sweep_pending(now() + 49 * 3600).await.unwrap();
    assert_eq!(removed, 1);
    login(&strict.api, &late, PASSWORD).await.expect(401);
    login(&strict.api, &early, PASSWORD).await.expect(403);
    // The address is free for a new sign-up.
    register(&strict.api, &late).await.expect(200);
}

#[tokio::test]
async fn admins_confirm_and_resend() {
    let smtp = SmtpSink::start();
    let s = TestServer::with_config(mail_to(smtp.port, true)).await;
    let admin = bedrud_tests::people::admin(&s.api, &s.state).await;
    let email = unique_email("byadmin");
    register(&s.api, &email).await.expect(200);
    let id = s
        .state
        .stores
        .users
        .user_by_email(&Email::parse(&email).unwrap())
        .await
        .unwrap()
        .unwrap()
        .id;
    let user: Value = s
        .api
        .get(&format!("/api/admin/users/{id}"), admin.bearer())
        .await
        .expect(200)
        .body;
    assert!(
        user.to_string().contains("\"verified\":false")
            || user["user"]["emailVerifiedAt"].is_null(),
        "{user}"
    );
    let someone = bedrud_tests::people::guest(&s.api, "Gail").await;
    s.api
        .post(
            &format!("/api/admin/users/{id}/verify/resend"),
            someone.bearer(),
            &json!({}),
        )
        .await
        .expect(403);
    s.api
        .post(
            &format!("/api/admin/users/{id}/verify/resend"),
            admin.bearer(),
            &json!({}),
        )
        .await
        .expect(200);
    deliver(&s).await;
    smtp.wait_for(&email, 2).await;
    s.api
        .post(
            &format!("/api/admin/users/{id}/verify"),
            admin.bearer(),
            &json!({}),
        )
        .await
        .expect(200);
    login(&s.api, &email, PASSWORD).await.expect(200);
    s.api
        .post(
            &format!("/api/admin/users/{id}/verify/resend"),
            admin.bearer(),
            &json!({}),
        )
        .await
        .expect(409);
    s.api
        .post(
            &format!("/api/admin/users/{}/verify", UserId::new_account()),
            admin.bearer(),
            &json!({}),
        )
        .await
        .expect(404);
}
