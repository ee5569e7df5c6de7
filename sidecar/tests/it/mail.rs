//! Account mail through `bedrud run` as an operator configures it (Bedrud's `EMAIL_*`
//! variables) to a real SMTP server: sign up, follow the mailed link, sign in; forget the
//! password, follow the mailed link, sign in with the new one.

use bedrud_tests::Api;
use bedrud_tests::scenarios::{PASSWORD, unique_email};
use bedrud_tests::smtp::SmtpSink;
use serde_json::json;

use super::run_binary::start;

#[tokio::test]
async fn verification_and_reset_links_arrive_by_smtp_and_work() {
    let smtp = SmtpSink::start();
    let port = smtp.port.to_string();
    let dir = tempfile::tempdir().unwrap();
    let running = start(
        dir.path(),
        &[
            ("RATELIMIT_AUTH_MAX", "0"),
            ("EMAIL_SMTP_HOST", "127.0.0.1"),
            ("EMAIL_SMTP_PORT", &port),
            ("EMAIL_TLS_MODE", "none"),
            ("EMAIL_FROM_ADDRESS", "no-reply@bedrud.test"),
            ("AUTH_REQUIRE_EMAIL_VERIFICATION", "true"),
            ("AUTH_FRONTEND_URL", "https://meet.example.com"),
        ],
    );
    let api = Api::new(&running.url);
    let email = unique_email("smtp");
    let body = json!({"email": email, "password": PASSWORD, "name": "Ann Lee"});
    let r = api
        .post("/api/auth/register", None, &body)
        .await
        .expect(200);
    assert_eq!(r.body["requiresVerification"], true);
    let login = json!({"email": email, "password": PASSWORD});
    api.post("/api/auth/login", None, &login).await.expect(403);

    // The worker sends it: recipient, subject, link.
    let m = smtp.wait_for(&email, 1).await;
    assert_eq!(m.header("To").as_deref(), Some(email.as_str()));
    assert_eq!(
        m.header("Subject").as_deref(),
        Some("Verify your Bedrud email")
    );
    assert!(
        m.text
            .contains("https://meet.example.com/auth/verify?token=")
    );
    let token = m.token("/auth/verify").unwrap();
    let v = api
        .post("/api/auth/verify", None, &json!({ "token": token }))
        .await
        .expect(200);
    assert!(v.body["access_token"].is_string());
    api.post("/api/auth/login", None, &login).await.expect(200);

    api.post(
        "/api/auth/forgot-password",
        None,
        &json!({ "email": email }),
    )
    .await
    .expect(200);
    let m = smtp.wait_for(&email, 2).await;
    assert_eq!(
        m.header("Subject").as_deref(),
        Some("Reset your Bedrud password")
    );
    let token = m.token("/auth/reset-password").unwrap();
    let new = "the new and longer passphrase";
    api.post(
        "/api/auth/reset-password",
        None,
        &json!({"token": token, "newPassword": new}),
    )
    .await
    .expect(200);
    api.post("/api/auth/login", None, &login).await.expect(401);
    api.post(
        "/api/auth/login",
        None,
        &json!({"email": email, "password": new}),
    )
    .await
    .expect(200);
    running.terminate();
}
