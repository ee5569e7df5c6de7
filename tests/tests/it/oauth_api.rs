//! Sign-in with Google, GitHub and X end to end over HTTP, against a provider on loopback that
//! speaks the real protocol (`bedrud_tests::oauth_provider`). The test plays the browser:
//! our login redirect, the provider's authorize, the callback with the cookie it was given.

use bedrud_shared::config::Config;
use bedrud_shared::domain::{Email, now};
use bedrud_shared::http::{auth, health, oauth};
use bedrud_tests::oauth_provider::{Person, Provider};
use bedrud_tests::{
    Api, TestServer, dynamo_config, fresh_dynamo_table, scenarios, serve_routes, unique,
};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

const FRONT: &str = "https://meet.example.com";
/// The callback's origin as registered with the provider; the browser (the test) sends the
/// callback to whichever server it is testing.
const CALLBACK_BASE: &str = "https://api.example.com";

fn configure(c: &mut Config, idp: &Provider) {
    c.auth.google = idp.client("google", "google", CALLBACK_BASE);
    c.auth.github = idp.client("github", "github", CALLBACK_BASE);
    c.auth.twitter = idp.client("x", "twitter", CALLBACK_BASE);
    c.auth.frontend_url = Some(format!("{FRONT}/app"));
}

/// What the callback answered.
#[derive(Debug)]
struct Landing {
    status: u16,
    location: Option<String>,
    cookies: Vec<String>,
    body: Value,
}

impl Landing {
    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies
            .iter()
            .find_map(|c| c.split(';').next()?.strip_prefix(&format!("{name}=")))
            .map(String::from)
    }

    fn error(&self) -> &str {
        self.body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{self:?}"))
    }
}

/// A browser without redirects followed: each step is asserted.
struct Browser {
    http: reqwest::Client,
}

/// A sign-in started at our server and approved at the provider: the callback URL's path and
/// query, and the cookie our server set.
struct Approved {
    callback: String,
    cookie: String,
}

impl Browser {
    fn new() -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap();
        Self { http }
    }

    /// Our login redirect, then the provider's authorize.
    async fn approve(&self, api: &Api, provider: &str) -> Approved {
        let start = self
            .http
            .get(format!("{}/api/auth/{provider}/login", api.base))
            .send()
            .await
            .unwrap();
        assert_eq!(start.status().as_u16(), 307);
        let cookie = start
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("bedrud_oauth="))
            .expect("the sign-in cookie");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        let cookie = cookie.split(';').next().unwrap().to_string();
        let authorize = start.headers()[LOCATION].to_str().unwrap().to_string();
        let answer = self.http.get(&authorize).send().await.unwrap();
        assert_eq!(answer.status().as_u16(), 302, "{authorize}");
        let back = answer.headers()[LOCATION].to_str().unwrap();
        let callback = back
            .strip_prefix(CALLBACK_BASE)
            .unwrap_or_else(|| panic!("the provider sends the browser to the callback: {back}"));
        Approved {
            callback: callback.to_string(),
            cookie,
        }
    }

    async fn land(&self, api: &Api, callback: &str, cookie: Option<&str>) -> Landing {
        let mut req = self.http.get(format!("{}{callback}", api.base));
        if let Some(c) = cookie {
            req = req.header(COOKIE, c);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get(LOCATION)
            .map(|l| l.to_str().unwrap().to_string());
        let cookies = res
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        let body = res.json().await.unwrap_or(Value::Null);
        Landing {
            status,
            location,
            cookies,
            body,
        }
    }

    async fn sign_in(&self, api: &Api, provider: &str) -> Landing {
        let a = self.approve(api, provider).await;
        self.land(api, &a.callback, Some(&a.cookie)).await
    }
}

fn person(email: Option<&str>, verified: bool) -> Person {
    Person {
        subject: format!("{}", rand_id()),
        email: email.map(String::from),
        verified,
        name: "Dana Provider".into(),
    }
}

/// A numeric subject (GitHub's ids are numbers).
fn rand_id() -> u64 {
    let u = unique("id");
    u.bytes().fold(1469598103934665603u64, |h, b| {
        (h ^ b as u64).wrapping_mul(1099511628211)
    }) >> 12
}

fn address(tag: &str) -> String {
    format!("{}@example.com", unique(tag))
}

/// The web's landing: the refresh cookie turns into a session, and `me` says who it is.
async fn session_of(api: &Api, landing: &Landing) -> Value {
    assert_eq!(landing.status, 302, "{landing:?}");
    assert_eq!(
        landing.location.as_deref(),
        Some(&*format!("{FRONT}/auth/callback"))
    );
    let refresh = landing.cookie("refresh_token").expect("refresh cookie");
    assert_eq!(landing.cookie("bedrud_oauth").as_deref(), Some(""), "spent");
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    headers.insert(
        "cookie",
        format!("refresh_token={refresh}").parse().unwrap(),
    );
    let tokens = api
        .raw(
            reqwest::Method::POST,
            "/api/auth/refresh",
            None,
            headers,
            b"{}".to_vec(),
        )
        .await
        .expect(200);
    let access = tokens.body["access_token"].as_str().unwrap().to_string();
    api.get("/api/auth/me", Some(&access))
        .await
        .expect(200)
        .body
}

#[tokio::test]
async fn new_then_returning_user_with_each_provider() {
    let idp = Provider::start().await;
    let server = TestServer::with_config(|c| configure(c, &idp)).await;
    let api = &server.api;
    let settings = api.get("/api/auth/settings", None).await.expect(200).body;
    assert_eq!(
        settings["oauthProviders"],
        json!(["google", "github", "twitter"])
    );

    let browser = Browser::new();
    for (name, expected) in [
        ("google", "google"),
        ("github", "github"),
        ("twitter", "twitter"),
    ] {
        let who = person(Some(&address(name)), true);
        idp.next(who.clone());
        let me = session_of(api, &browser.sign_in(api, name).await).await;
        assert_eq!(me["provider"], expected);
        assert_eq!(me["email"], who.email.clone().unwrap());
        assert_eq!(me["name"], "Dana Provider");
        let query = idp.last_authorization();
        assert_eq!(query["code_challenge_method"], "S256");
        assert_eq!(query.contains_key("nonce"), name == "google", "{query:?}");

        // The same identity again: the same account, even with another address at the provider.
        idp.next(Person {
            email: Some(address("moved")),
            ..who.clone()
        });
        let again = session_of(api, &browser.sign_in(api, name).await).await;
        assert_eq!(again["id"], me["id"]);
        // No password: the password routes refuse it.
        let login = json!({"email": who.email.unwrap(), "password": scenarios::PASSWORD});
        api.post("/api/auth/login", None, &login).await.expect(401);
    }
}

#[tokio::test]
async fn links_by_a_verified_address_only() {
    let idp = Provider::start().await;
    let server = TestServer::with_config(|c| configure(c, &idp)).await;
    let (api, browser) = (&server.api, Browser::new());
    let email = address("owner");
    let body = json!({"email": email, "password": scenarios::PASSWORD, "name": "Owner One"});
    let owner = api
        .post("/api/auth/register", None, &body)
        .await
        .expect(200)
        .body;

    // Unconfirmed at our end: someone else may have claimed the address (pre-hijacking).
    idp.next(person(Some(&email), true));
    let refused = browser.sign_in(api, "github").await;
    assert_eq!(refused.status, 409, "{refused:?}");
    assert!(refused.cookie("refresh_token").is_none());

    let accounts = server.state.stores.accounts().unwrap();
    let id = bedrud_shared::domain::UserId::parse(owner["user"]["id"].as_str().unwrap()).unwrap();
    accounts.mark_verified(&id, now()).await.unwrap();
    // The provider has not verified it: never linked.
    idp.next(person(Some(&email), false));
    let refused = browser.sign_in(api, "github").await;
    assert_eq!(refused.status, 409, "{refused:?}");
    assert!(refused.error().contains("not verified"), "{refused:?}");

    // Verified at both ends: linked, and the password still works.
    let who = person(Some(&email), true);
    idp.next(who.clone());
    let me = session_of(api, &browser.sign_in(api, "github").await).await;
    assert_eq!(me["id"], owner["user"]["id"]);
    assert_eq!(me["provider"], "local");
    let login = json!({"email": email, "password": scenarios::PASSWORD});
    api.post("/api/auth/login", None, &login).await.expect(200);
    idp.next(who);
    let again = session_of(api, &browser.sign_in(api, "github").await).await;
    assert_eq!(again["id"], owner["user"]["id"]);

    // A new person with an unverified address, or none: no account is made.
    let stray = address("stray");
    idp.next(person(Some(&stray), false));
    assert_eq!(browser.sign_in(api, "github").await.status, 403);
    idp.next(person(None, true));
    let none = browser.sign_in(api, "twitter").await;
    assert_eq!(none.status, 403, "{none:?}");
    let users = &server.state.stores.users;
    assert!(
        users
            .user_by_email(&Email::parse(&stray).unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn forged_replayed_and_refused_callbacks_sign_nobody_in() {
    let idp = Provider::start().await;
    let server = TestServer::with_config(|c| configure(c, &idp)).await;
    let (api, browser) = (&server.api, Browser::new());
    let users = &server.state.stores.users;
    let gone = |email: String| async move {
        users
            .user_by_email(&Email::parse(&email).unwrap())
            .await
            .unwrap()
            .is_none()
    };

    // No cookie (another browser), a state that is not this browser's, another provider's.
    let email = address("forged");
    idp.next(person(Some(&email), true));
    let a = browser.approve(api, "google").await;
    let no_cookie = browser.land(api, &a.callback, None).await;
    assert_eq!(no_cookie.status, 400, "{no_cookie:?}");
    assert!(no_cookie.error().contains("start again"), "{no_cookie:?}");
    let wrong_state = a.callback.replace("state=", "state=x");
    assert_eq!(
        browser
            .land(api, &wrong_state, Some(&a.cookie))
            .await
            .status,
        400
    );
    let elsewhere = a.callback.replace("/google/", "/github/");
    assert_eq!(
        browser.land(api, &elsewhere, Some(&a.cookie)).await.status,
        400
    );
    let tampered = format!("{}x", a.cookie);
    assert_eq!(
        browser.land(api, &a.callback, Some(&tampered)).await.status,
        400
    );
    assert!(gone(email.clone()).await);
    // The untouched one still works once; replaying it is refused by the provider.
    let landed = browser.land(api, &a.callback, Some(&a.cookie)).await;
    session_of(api, &landed).await;
    let replay = browser.land(api, &a.callback, Some(&a.cookie)).await;
    assert_eq!(replay.status, 400, "{replay:?}");
    assert!(replay.error().contains("refused"), "{replay:?}");

    // PKCE: a code from one sign-in injected into another (its verifier) is refused.
    let victim = address("pkce");
    idp.next(person(Some(&victim), true));
    let first = browser.approve(api, "github").await;
    idp.next(person(Some(&address("other")), true));
    let second = browser.approve(api, "github").await;
    let code = first
        .callback
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let state = second.callback.split("state=").nth(1).unwrap();
    let injected = format!("/api/auth/github/callback?code={code}&state={state}");
    let refused = browser.land(api, &injected, Some(&second.cookie)).await;
    assert_eq!(refused.status, 400, "{refused:?}");
    assert!(gone(victim).await);

    // The provider's own refusal.
    idp.refuse_next("access_denied");
    let denied = browser.sign_in(api, "twitter").await;
    assert_eq!(denied.status, 400);
    assert!(denied.error().contains("access_denied"), "{denied:?}");

    // An ID token for another client.
    idp.issue_for_audience("someone-else");
    let email = address("aud");
    idp.next(person(Some(&email), true));
    let foreign = browser.sign_in(api, "google").await;
    assert_eq!(foreign.status, 400, "{foreign:?}");
    assert!(foreign.error().contains("another client"), "{foreign:?}");
    assert!(gone(email).await);

    // Unknown and unconfigured providers.
    assert_eq!(api.get("/api/auth/myspace/login", None).await.status, 404);
}

#[tokio::test]
async fn closed_registration_and_unconfigured_providers() {
    let idp = Provider::start().await;
    let server = TestServer::with_config(|c| {
        c.auth.google = idp.client("google", "google", CALLBACK_BASE);
        c.auth.registration_enabled = false;
    })
    .await;
    let (api, browser) = (&server.api, Browser::new());
    let settings = api.get("/api/auth/settings", None).await.expect(200).body;
    assert_eq!(settings["oauthProviders"], json!(["google"]));
    let off = api.get("/api/auth/github/login", None).await.expect(400);
    assert_eq!(off.error(), "sign-in with GitHub is not configured");

    idp.next(person(Some(&address("closed")), true));
    let closed = browser.sign_in(api, "google").await;
    assert_eq!(closed.status, 403, "{closed:?}");
    assert_eq!(closed.error(), "Registration is currently disabled");
}

/// Without `auth.frontendURL` the callback answers the session itself.
#[tokio::test]
async fn without_a_front_end_the_callback_answers_json() {
    let idp = Provider::start().await;
    let server = TestServer::with_config(|c| {
        c.auth.github = idp.client("github", "github", CALLBACK_BASE);
    })
    .await;
    let email = address("json");
    idp.next(person(Some(&email), true));
    let landed = Browser::new().sign_in(&server.api, "github").await;
    assert_eq!(landed.status, 200, "{landed:?}");
    assert_eq!(landed.body["user"]["email"], email);
    assert!(landed.body["tokens"]["accessToken"].is_string());
    assert!(landed.cookie("refresh_token").is_some());
}

/// Started on one instance, finished on another: nothing of a sign-in lives in a process.
#[tokio::test]
async fn start_and_callback_on_different_instances() {
    let idp = Provider::start().await;
    let one = TestServer::with_config(|c| configure(c, &idp)).await;
    let two = TestServer::with_config(|c| configure(c, &idp)).await;
    let browser = Browser::new();
    idp.next(person(Some(&address("two")), true));
    let a = browser.approve(&one.api, "google").await;
    let landed = browser.land(&two.api, &a.callback, Some(&a.cookie)).await;
    let me = session_of(&two.api, &landed).await;
    assert_eq!(me["provider"], "google");
}

/// The `auth` function's routes over DynamoDB (moto), every flow's store writes included.
#[tokio::test]
async fn on_dynamodb_through_the_auth_routes() {
    let idp = Provider::start().await;
    let table = fresh_dynamo_table().await;
    let mut config = dynamo_config(table.table());
    configure(&mut config, &idp);
    let routes = auth::routes()
        .merge(oauth::routes())
        .merge(health::routes());
    let (api, state) = serve_routes(routes, config).await;
    let browser = Browser::new();

    let who = person(Some(&address("ddb")), true);
    idp.next(who.clone());
    let me = session_of(&api, &browser.sign_in(&api, "google").await).await;
    idp.next(who);
    let again = session_of(&api, &browser.sign_in(&api, "google").await).await;
    assert_eq!(again["id"], me["id"]);

    // Linked by a verified address to a confirmed account.
    let email = address("ddb-owner");
    let body = json!({"email": email, "password": scenarios::PASSWORD, "name": "Owner Two"});
    let owner = api
        .post("/api/auth/register", None, &body)
        .await
        .expect(200)
        .body;
    let id = bedrud_shared::domain::UserId::parse(owner["user"]["id"].as_str().unwrap()).unwrap();
    state
        .stores
        .accounts()
        .unwrap()
        .mark_verified(&id, now())
        .await
        .unwrap();
    idp.next(person(Some(&email), true));
    let linked = session_of(&api, &browser.sign_in(&api, "twitter").await).await;
    assert_eq!(linked["id"], owner["user"]["id"]);

    // Refusals write nothing.
    let stray = address("ddb-stray");
    idp.next(person(Some(&stray), false));
    assert_eq!(browser.sign_in(&api, "github").await.status, 403);
    let stray = Email::parse(&stray).unwrap();
    let found = state.stores.users.user_by_email(&stray).await.unwrap();
    assert!(found.is_none());
}

/// The provider routes count against the auth routes' per-client budget.
#[tokio::test]
async fn provider_routes_are_rate_limited_like_the_other_auth_routes() {
    let idp = Provider::start().await;
    let server = TestServer::with_config(|c| {
        configure(c, &idp);
        c.rate_limit.auth_max_requests = 2;
        c.rate_limit.auth_window_secs = 3600;
    })
    .await;
    let (base, browser) = (&server.api.base, Browser::new());
    let status = |path: &'static str| {
        let req = browser.http.get(format!("{base}{path}")).send();
        async move { req.await.unwrap().status().as_u16() }
    };
    assert_eq!(status("/api/auth/google/login").await, 307);
    assert_eq!(
        status("/api/auth/google/callback?code=x&state=y").await,
        400
    );
    assert_eq!(status("/api/auth/github/login").await, 429);
}

/// The iOS app's sign-in sheet: a front end URL in the app's own scheme gets the access token
/// in the callback's query (the only thing the app reads), and no cookie; a web front end
/// never gets a token in its URL (above).
#[tokio::test]
async fn an_apps_own_scheme_receives_the_token_in_the_callback() {
    let idp = Provider::start().await;
    let server = TestServer::with_config(|c| {
        configure(c, &idp);
        c.auth.frontend_url = Some("bedrud://oauth".into());
    })
    .await;
    let (api, browser) = (&server.api, Browser::new());
    // An app's scheme is no web address: passkeys are not bound to it (nor mailed links).
    let settings = api.get("/api/auth/settings", None).await.expect(200).body;
    assert_eq!(settings["passkeysEnabled"], false, "{settings}");
    let who = person(Some(&address("ios")), true);
    idp.next(who.clone());
    let landing = browser.sign_in(api, "github").await;
    assert_eq!(landing.status, 302, "{landing:?}");
    let to = landing.location.clone().unwrap();
    let token = to
        .strip_prefix("bedrud://oauth/auth/callback?token=")
        .unwrap_or_else(|| panic!("{to}"));
    assert!(landing.cookie("refresh_token").is_none(), "{landing:?}");
    let me = api.get("/api/auth/me", Some(token)).await.expect(200).body;
    assert_eq!(me["email"], who.email.unwrap());
}
