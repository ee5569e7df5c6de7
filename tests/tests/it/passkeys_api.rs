//! Passkeys end to end over HTTP with a software authenticator (`bedrud_tests::soft_passkey`):
//! sign up with one, sign in username-less and by address, add a second, list and remove;
//! replayed, foreign-origin, foreign-RP, cloned (counter back) and spent ceremonies refused;
//! begin and finish on two instances sharing one DynamoDB table.

use bedrud_shared::config::Config;
use bedrud_shared::http::{auth, health, passkeys};
use bedrud_tests::soft_passkey::SoftPasskey;
use bedrud_tests::{
    Api, Reply, TestServer, dynamo_config, fresh_dynamo_table, scenarios, serve_routes, unique,
};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

const RP: &str = "localhost";
const ORIGIN: &str = "https://localhost:5173";

fn configure(c: &mut Config) {
    c.auth.passkey.rp_id = Some(RP.into());
    c.auth.passkey.rp_origins = vec![ORIGIN.into()];
}

/// The ceremony cookie a begin set, as the browser sends it back.
fn ceremony_cookie(r: &Reply) -> String {
    r.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("_gothic_session="))
        .and_then(|c| c.split(';').next())
        .expect("the ceremony cookie")
        .to_string()
}

async fn post(
    api: &Api,
    path: &str,
    bearer: Option<&str>,
    cookie: Option<&str>,
    body: &Value,
) -> Reply {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    if let Some(c) = cookie {
        headers.insert("cookie", HeaderValue::from_str(c).unwrap());
    }
    api.raw(
        Method::POST,
        path,
        bearer,
        headers,
        body.to_string().into_bytes(),
    )
    .await
}

/// A begin; the options and the cookie.
async fn begin(api: &Api, what: &str, bearer: Option<&str>, body: &Value) -> (Value, String) {
    let r = post(
        api,
        &format!("/api/auth/passkey/{what}/begin"),
        bearer,
        None,
        body,
    )
    .await
    .expect(200);
    let cookie = ceremony_cookie(&r);
    (r.body, cookie)
}

async fn finish(
    api: &Api,
    what: &str,
    bearer: Option<&str>,
    cookie: &str,
    answer: &Value,
) -> Reply {
    post(
        api,
        &format!("/api/auth/passkey/{what}/finish"),
        bearer,
        Some(cookie),
        answer,
    )
    .await
}

/// Signs up with a new passkey; the session body and the authenticator.
async fn sign_up(api: &Api, email: &str) -> (Value, SoftPasskey) {
    let (options, cookie) = begin(
        api,
        "signup",
        None,
        &json!({"name": "Pat Key", "email": email}),
    )
    .await;
    let mut key = SoftPasskey::new(RP, ORIGIN);
    let answer = key.create(&options);
    let r = finish(api, "signup", None, &cookie, &answer)
        .await
        .expect(200);
    assert!(r.refresh_cookie_value().is_some());
    (r.body, key)
}

async fn log_in(api: &Api, key: &mut SoftPasskey, email: Option<&str>) -> Reply {
    let body = email.map_or(json!({}), |e| json!({"email": e}));
    let (options, cookie) = begin(api, "login", None, &body).await;
    let answer = key.get(&options);
    finish(api, "login", None, &cookie, &answer).await
}

#[tokio::test]
async fn sign_up_sign_in_add_list_and_remove() {
    let server = TestServer::with_config(configure).await;
    let api = &server.api;
    let settings = api.get("/api/auth/settings", None).await.expect(200).body;
    assert_eq!(settings["passkeysEnabled"], true);

    // Sign-up options in Bedrud's flat shape.
    let email = format!("{}@example.com", unique("pk"));
    let (options, cookie) = begin(
        api,
        "signup",
        None,
        &json!({"name": "Pat Key", "email": email}),
    )
    .await;
    assert!(options.get("publicKey").is_none() && options.get("timeout").is_none());
    assert_eq!(options["rp"]["id"], RP);
    assert_eq!(options["user"]["name"], email.as_str());
    assert_eq!(options["authenticatorSelection"]["residentKey"], "required");
    let algs: Vec<i64> = options["pubKeyCredParams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["alg"].as_i64().unwrap())
        .collect();
    assert_eq!(algs, [-7, -257]);
    let mut key = SoftPasskey::new(RP, ORIGIN);
    let answer = key.create(&options);
    let signed_up = finish(api, "signup", None, &cookie, &answer)
        .await
        .expect(200)
        .body;
    assert_eq!(signed_up["user"]["provider"], "passkey");
    let user_id = signed_up["user"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        key.user_handle,
        user_id.as_bytes(),
        "the user handle is the user id"
    );
    // The same ceremony twice: spent.
    let again = finish(api, "signup", None, &cookie, &answer)
        .await
        .expect(400);
    assert!(again.error().contains("expired"), "{}", again.raw);

    // Username-less, and by address (the web's form): the same account.
    let r = log_in(api, &mut key, None).await.expect(200);
    assert_eq!(r.body["user"]["id"], user_id.as_str());
    let (options, _) = begin(api, "login", None, &json!({"email": email})).await;
    let allowed = &options["allowCredentials"][0]["id"];
    assert_eq!(allowed.as_str().unwrap(), bedrud_b64(&key.credential_id));
    let access =
        log_in(api, &mut key, Some(&email)).await.expect(200).body["tokens"]["accessToken"]
            .as_str()
            .unwrap()
            .to_string();

    // A passkey-only account has no password.
    let password = json!({"email": email, "password": scenarios::PASSWORD});
    api.post("/api/auth/login", None, &password)
        .await
        .expect(401);
    let change =
        json!({"currentPassword": scenarios::PASSWORD, "newPassword": scenarios::PASSWORD});
    let r = api
        .put("/api/auth/password", Some(&access), &change)
        .await
        .expect(403);
    assert_eq!(r.error(), "This account has no password");

    // A second passkey through the signed-in register ceremony (iOS).
    let (options, cookie) = begin(api, "register", Some(&access), &json!({})).await;
    assert_eq!(
        options["excludeCredentials"][0]["id"],
        bedrud_b64(&key.credential_id)
    );
    let mut second = SoftPasskey::new(RP, ORIGIN);
    let answer = second.create(&options);
    let r = finish(api, "register", Some(&access), &cookie, &answer)
        .await
        .expect(200);
    assert_eq!(r.body["message"], "Passkey registered successfully");
    let listed = api
        .get("/api/auth/passkeys", Some(&access))
        .await
        .expect(200)
        .body;
    let listed = listed["passkeys"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    // The first has signed in; the second not yet.
    let id_where = |used: bool| {
        let p = listed.iter().find(|p| p["lastUsedAt"].is_string() == used);
        p.expect("one of each")["id"].as_str().unwrap().to_string()
    };
    let (first_id, second_id) = (id_where(true), id_where(false));
    log_in(api, &mut second, None).await.expect(200);

    // Removing the second: it no longer signs in; another account cannot remove the first.
    api.delete(&format!("/api/auth/passkeys/{second_id}"), Some(&access))
        .await
        .expect(200);
    log_in(api, &mut second, None).await.expect(401);
    let (other, _) = sign_up(api, &format!("{}@example.com", unique("pk2"))).await;
    let other_access = other["tokens"]["accessToken"].as_str().unwrap();
    let first = format!("/api/auth/passkeys/{first_id}");
    api.delete(&first, Some(other_access)).await.expect(404);
    log_in(api, &mut key, None).await.expect(200);
}

fn bedrud_b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn replayed_foreign_and_cloned_assertions_are_refused() {
    let server = TestServer::with_config(configure).await;
    let api = &server.api;
    let (_, mut key) = sign_up(api, &format!("{}@example.com", unique("refuse"))).await;

    // A replayed assertion: its ceremony is spent, and under a new ceremony its challenge is old.
    let (options, cookie) = begin(api, "login", None, &json!({})).await;
    let answer = key.get(&options);
    finish(api, "login", None, &cookie, &answer)
        .await
        .expect(200);
    finish(api, "login", None, &cookie, &answer)
        .await
        .expect(400);
    let (_, fresh) = begin(api, "login", None, &json!({})).await;
    finish(api, "login", None, &fresh, &answer)
        .await
        .expect(401);
    // No ceremony cookie at all (another browser).
    let (options, _) = begin(api, "login", None, &json!({})).await;
    let answer = key.get(&options);
    post(api, "/api/auth/passkey/login/finish", None, None, &answer)
        .await
        .expect(400);

    // Another origin, another relying party.
    for (origin, rp) in [
        ("https://evil.example.com", RP),
        (ORIGIN, "evil.example.com"),
    ] {
        let (saved_origin, saved_rp) = (key.origin.clone(), key.rp_id.clone());
        key.origin = origin.into();
        key.rp_id = rp.into();
        log_in(api, &mut key, None).await.expect(401);
        key.origin = saved_origin;
        key.rp_id = saved_rp;
    }
    log_in(api, &mut key, None).await.expect(200);

    // A counter that goes back (a cloned authenticator).
    key.counter -= 2;
    log_in(api, &mut key, None).await.expect(401);

    // Registering a credential that exists already.
    let email = format!("{}@example.com", unique("dup"));
    let (options, cookie) = begin(
        api,
        "signup",
        None,
        &json!({"name": "Dup Licate", "email": email}),
    )
    .await;
    let mut copy = SoftPasskey::new(RP, ORIGIN);
    copy.credential_id = key.credential_id.clone();
    let answer = copy.create(&options);
    let r = finish(api, "signup", None, &cookie, &answer)
        .await
        .expect(400);
    assert_eq!(r.error(), "passkey already registered");
    let login = json!({"email": email, "password": scenarios::PASSWORD});
    api.post("/api/auth/login", None, &login).await.expect(401);
    // And no account was made: the address is still free for a sign-up.
    sign_up(api, &email).await;
}

#[tokio::test]
async fn registration_rules_apply_to_passkey_sign_up() {
    let server = TestServer::with_config(|c| {
        configure(c);
        c.auth.registration_enabled = false;
    })
    .await;
    let body = json!({"name": "Shut Out", "email": format!("{}@example.com", unique("closed"))});
    let r = post(
        &server.api,
        "/api/auth/passkey/signup/begin",
        None,
        None,
        &body,
    )
    .await
    .expect(403);
    assert_eq!(r.error(), "Registration is currently disabled");

    let open = TestServer::with_config(configure).await;
    let taken = format!("{}@example.com", unique("taken"));
    let register = json!({"email": taken, "password": scenarios::PASSWORD, "name": "Has One"});
    open.api
        .post("/api/auth/register", None, &register)
        .await
        .expect(200);
    let body = json!({"name": "Again", "email": taken});
    let r = post(
        &open.api,
        "/api/auth/passkey/signup/begin",
        None,
        None,
        &body,
    )
    .await
    .expect(400);
    assert_eq!(r.error(), "Email already registered");

    // Without a relying party passkeys are off, and say so.
    let off = TestServer::start().await;
    let settings = off
        .api
        .get("/api/auth/settings", None)
        .await
        .expect(200)
        .body;
    assert_eq!(settings["passkeysEnabled"], false);
    post(
        &off.api,
        "/api/auth/passkey/login/begin",
        None,
        None,
        &json!({}),
    )
    .await
    .expect(400);
}

/// The `auth` function's routes on DynamoDB (moto), two instances over one table: every
/// ceremony begins on one and finishes on the other.
#[tokio::test]
async fn on_dynamodb_begin_and_finish_on_different_instances() {
    let table = fresh_dynamo_table().await;
    let mut config = dynamo_config(table.table());
    configure(&mut config);
    let mut apis = Vec::new();
    for _ in 0..2 {
        let routes = auth::routes()
            .merge(passkeys::routes())
            .merge(health::routes());
        apis.push(serve_routes(routes, config.clone()).await.0);
    }
    let (one, two) = (&apis[0], &apis[1]);
    let email = format!("{}@example.com", unique("ddb-pk"));
    let (options, cookie) = begin(
        one,
        "signup",
        None,
        &json!({"name": "Dyna Mo", "email": email}),
    )
    .await;
    let mut key = SoftPasskey::new(RP, ORIGIN);
    let answer = key.create(&options);
    let user = finish(two, "signup", None, &cookie, &answer)
        .await
        .expect(200)
        .body;
    let (options, cookie) = begin(two, "login", None, &json!({"email": email})).await;
    let answer = key.get(&options);
    let r = finish(one, "login", None, &cookie, &answer)
        .await
        .expect(200);
    assert_eq!(r.body["user"]["id"], user["user"]["id"]);
    // Spent on one, refused on the other.
    finish(two, "login", None, &cookie, &answer)
        .await
        .expect(400);
    key.counter -= 1;
    let (options, cookie) = begin(one, "login", None, &json!({})).await;
    let answer = key.get(&options);
    finish(two, "login", None, &cookie, &answer)
        .await
        .expect(401);
}

/// A passkey stored the way Bedrud stores it (and `bedrud import` carries it): key as
/// SubjectPublicKeyInfo, its counter where Bedrud left it. It signs in, and its counter
/// keeps moving forward.
#[tokio::test]
async fn a_passkey_stored_as_bedrud_stores_it_signs_in() {
    use bedrud_shared::domain::{Passkey, UserId};
    let server = TestServer::with_config(configure).await;
    let api = &server.api;
    let email = format!("{}@example.com", unique("bedrud-pk"));
    let body = json!({"email": email, "password": scenarios::PASSWORD, "name": "Old Timer"});
    let user = api
        .post("/api/auth/register", None, &body)
        .await
        .expect(200)
        .body;
    let user_id = UserId::parse(user["user"]["id"].as_str().unwrap()).unwrap();
    let mut key = SoftPasskey::new(RP, ORIGIN);
    key.counter = 8;
    let imported = Passkey {
        id: unique("bedrud"),
        user_id: user_id.clone(),
        credential_id: key.credential_id.clone(),
        public_key: key.spki(),
        algorithm: -7,
        sign_count: 7,
        name: "Passkey".into(),
        created_at: 1_700_000_000,
        last_used_at: None,
    };
    let store = server.state.stores.passkeys().unwrap();
    assert!(store.insert_passkey(&imported).await.unwrap());
    let r = log_in(api, &mut key, Some(&email)).await.expect(200);
    assert_eq!(r.body["user"]["id"], user_id.as_str());
    let used = store
        .passkey_by_credential(&key.credential_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(used.sign_count, 8);
    key.counter = 7;
    log_in(api, &mut key, None).await.expect(401);
}

/// A ceremony finished after its time is refused, even with a valid answer.
#[tokio::test]
async fn an_expired_ceremony_is_refused() {
    use bedrud_shared::domain::{PendingCeremony, now};
    let server = TestServer::with_config(configure).await;
    let api = &server.api;
    let (_, mut key) = sign_up(api, &format!("{}@example.com", unique("late"))).await;
    let (options, cookie) = begin(api, "login", None, &json!({})).await;
    // Age the stored ceremony: take it out, put it back already expired.
    let id = cookie.split_once('=').unwrap().1;
    let store = server.state.stores.passkeys().unwrap();
    let taken = store
        .take_ceremony(id, now())
        .await
        .unwrap()
        .expect("stored");
    let late = PendingCeremony {
        expires_at: now() - 1,
        ..taken
    };
    store.put_ceremony(&late).await.unwrap();
    let answer = key.get(&options);
    let r = finish(api, "login", None, &cookie, &answer)
        .await
        .expect(400);
    assert!(r.error().contains("expired"), "{}", r.raw);
}

/// A passkey-only account sets a password through the reset mail; then the password routes
/// work for it too.
#[tokio::test]
async fn a_passkey_account_sets_a_password_through_the_reset_mail() {
    use bedrud_tests::smtp::SmtpSink;
    let smtp = SmtpSink::start();
    let server = TestServer::with_config(|c| {
        configure(c);
        smtp.configure(c);
        c.auth.frontend_url = Some(ORIGIN.into());
    })
    .await;
    let api = &server.api;
    let email = format!("{}@example.com", unique("pk-reset"));
    sign_up(api, &email).await;
    api.post(
        "/api/auth/forgot-password",
        None,
        &json!({ "email": email }),
    )
    .await
    .expect(200);
    let jobs = server.state.media.jobs.clone().expect("embedded queue");
    while bedrud_shared::worker::run_one(&server.state, &*jobs)
        .await
        .unwrap()
    {}
    let mail = smtp.wait_for(&email, 1).await;
    let token = mail.token("/auth/reset-password").expect("a reset link");
    let reset = json!({"token": token, "newPassword": scenarios::PASSWORD});
    api.post("/api/auth/reset-password", None, &reset)
        .await
        .expect(200);
    let login = json!({"email": email, "password": scenarios::PASSWORD});
    let r = api.post("/api/auth/login", None, &login).await.expect(200);
    assert_eq!(r.body["user"]["provider"], "passkey");
}
