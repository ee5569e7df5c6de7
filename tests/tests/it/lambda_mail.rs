//! Account mail on AWS, end to end on the emulator (moto: DynamoDB, SQS, SES v2): the auth
//! function queues the mail job, the mailer function (as its `main.rs` builds it, its table
//! calls checked against its role) issues the link and sends it through SES, and the link
//! works through the auth function.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use bedrud_shared::config::{Config, MailProvider};
use bedrud_shared::http::{accounts, auth};
use bedrud_shared::lambda;
use bedrud_shared::queue::sqs::SqsQueue;
use bedrud_tests::lambda_events::{event, invoke};
use bedrud_tests::request_log::Roles;
use bedrud_tests::scenarios::{PASSWORD, unique_email};
use bedrud_tests::unique;
use serde_json::{Value, json};

const DOMAIN: &str = "bedrud.test";

async fn received(sqs: &aws_sdk_sqs::Client, queue: &str) -> SqsEvent {
    let got = sqs
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let mut e = SqsEvent::default();
    e.records = got
        .messages()
        .iter()
        .map(|m| {
            let mut msg = SqsMessage::default();
            msg.message_id = m.message_id().map(str::to_string);
            msg.body = m.body().map(str::to_string);
            msg
        })
        .collect();
    e
}

/// What the emulator recorded as sent through SES to `to` (subject, HTML body), read from
/// the test command's moto wrapper (`.ci/moto_serial.py`, `GET /_bedrud/ses/sent`).
async fn sent_to(to: &str) -> Vec<(String, String)> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap();
    let sent: Value = reqwest::get(format!("{endpoint}/_bedrud/ses/sent"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    sent.as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|m| m["destinations"].to_string().contains(to))
        .map(|m| {
            let s = |k: &str| m[k].as_str().unwrap_or_default().to_string();
            (s("subject"), s("body"))
        })
        .collect()
}

fn post(path: &str, body: Value) -> Value {
    let mut e = event("apigw-v2-auth-register.json");
    e["rawPath"] = path.into();
    e["requestContext"]["http"]["path"] = path.into();
    e["body"] = body.to_string().into();
    e
}

fn token_in(html: &str, path: &str) -> String {
    let at = html.find(&format!("{path}?token=")).expect("a link") + path.len() + 7;
    html[at..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit() || *c == '.')
        .collect()
}

/// The auth and mailer functions as their `main.rs` build them, over a fresh table and mail
/// queue, sending from `from`; each function's table calls checked against its role.
struct Mail {
    app: axum::Router,
    mailer: std::sync::Arc<bedrud_shared::accounts::Accounts>,
    sqs: aws_sdk_sqs::Client,
    queue: String,
    roles: Roles,
}

async fn functions(from: &str, required: bool) -> Mail {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "needs the emulator the test command starts (bash .ci/test)"
    );
    let store = bedrud_tests::fresh_dynamo_table().await;
    let sqs = SqsQueue::client_from_env().unwrap();
    let queue = SqsQueue::create(&sqs, &unique("bedrud-mail"))
        .await
        .unwrap();
    let mut config: Config = bedrud_tests::lambda_config(store.table(), "http://127.0.0.1:9");
    config.email.provider = Some(MailProvider::Ses);
    config.email.from_address = Some(from.to_string());
    config.email.queue_url = Some(queue.clone());
    config.auth.require_email_verification = required;
    config.auth.frontend_url = Some("https://meet.example.com".into());
    config.validate().unwrap();
    let mut roles = Roles::new();
    let auth_state = roles
        .init("auth", &config)
        .await
        .mail_queue()
        .unwrap()
        .build()
        .unwrap();
    let app = lambda::service(auth::routes().merge(accounts::routes()), auth_state);
    let mailer = roles.init("mailer", &config).await.mail_worker().unwrap();
    Mail {
        app,
        mailer,
        sqs,
        queue,
        roles,
    }
}

#[tokio::test]
async fn verification_mail_through_sqs_and_ses() {
    let ses = aws_sdk_sesv2::Client::new(
        &bedrud_shared::aws::sdk_config(bedrud_shared::aws::Service::SesV2).unwrap(),
    );
    ses.create_email_identity()
        .email_identity(DOMAIN)
        .send()
        .await
        .unwrap();
    let Mail {
        app,
        mailer,
        sqs,
        queue,
        roles,
    } = functions(&format!("no-reply@{DOMAIN}"), true).await;

    let email = unique_email("ses");
    let register = post(
        "/api/auth/register",
        json!({"email": email, "password": PASSWORD, "name": "Ses Tester"}),
    );
    let (status, body, _) = invoke(&app, &register).await;
    assert_eq!(
        (status, &body["requiresVerification"]),
        (200, &json!(true)),
        "{body}"
    );
    assert!(
        sent_to(&email).await.is_empty(),
        "nothing is sent inside the request"
    );

    // The mailer takes the batch, issues the link, sends it through SES.
    let batch = received(&sqs, &queue).await;
    assert_eq!(batch.records.len(), 1);
    let answer = lambda::process_batch(&*mailer, batch).await;
    assert!(answer.batch_item_failures.is_empty());
    let sent = sent_to(&email).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, "Verify your Bedrud email");
    assert!(
        sent[0]
            .1
            .contains("https://meet.example.com/auth/verify?token=")
    );
    let token = token_in(&sent[0].1, "/auth/verify");

    let login = post(
        "/api/auth/login",
        json!({"email": email, "password": PASSWORD}),
    );
    assert_eq!(invoke(&app, &login).await.0, 403);
    let (status, body, cookies) =
        invoke(&app, &post("/api/auth/verify", json!({ "token": token }))).await;
    assert_eq!(status, 200, "{body}");
    assert!(cookies.iter().any(|c| c.starts_with("refresh_token=")));
    assert_eq!(
        invoke(&app, &post("/api/auth/verify", json!({ "token": token })))
            .await
            .0,
        409
    );
    assert_eq!(invoke(&app, &login).await.0, 200);

    // Forgot password: the same path, a reset link.
    let forgot = post("/api/auth/forgot-password", json!({ "email": email }));
    assert_eq!(invoke(&app, &forgot).await.0, 200);
    let answer = lambda::process_batch(&*mailer, received(&sqs, &queue).await).await;
    assert!(answer.batch_item_failures.is_empty());
    let sent = sent_to(&email).await;
    let reset = sent
        .iter()
        .find(|m| m.0.starts_with("Reset"))
        .expect("reset mail");
    let token = token_in(&reset.1, "/auth/reset-password");
    let new = "a new passphrase for ses";
    let body = json!({"token": token, "newPassword": new});
    assert_eq!(
        invoke(&app, &post("/api/auth/reset-password", body.clone()))
            .await
            .0,
        200
    );
    assert_eq!(
        invoke(&app, &post("/api/auth/reset-password", body))
            .await
            .0,
        400
    );
    let login = post("/api/auth/login", json!({"email": email, "password": new}));
    assert_eq!(invoke(&app, &login).await.0, 200);
    roles.check();
}

/// SES refuses a sender outside any verified identity: the message is reported failed, so
/// SQS redelivers it (and dead-letters it after the queue's receives); nothing is lost.
#[tokio::test]
async fn a_refused_send_is_reported_for_redelivery() {
    let from = format!("no-reply@{}.invalid", unique("nobody"));
    let Mail {
        app,
        mailer,
        sqs,
        queue,
        roles,
    } = functions(&from, false).await;
    let email = unique_email("refused");
    let register = post(
        "/api/auth/register",
        json!({"email": email, "password": PASSWORD, "name": "Ses Tester"}),
    );
    assert_eq!(invoke(&app, &register).await.0, 200);
    let resend = post("/api/auth/verify/resend", json!({ "email": email }));
    assert_eq!(invoke(&app, &resend).await.0, 200);
    let batch = received(&sqs, &queue).await;
    assert_eq!(
        batch.records.len(),
        1,
        "one job: verification is not required here"
    );
    let answer = lambda::process_batch(&*mailer, batch).await;
    assert_eq!(answer.batch_item_failures.len(), 1);
    assert!(sent_to(&email).await.is_empty());
    roles.check();
}
