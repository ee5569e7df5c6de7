//! A sign-in provider on loopback that speaks the real protocol for Google (OpenID Connect:
//! authorize, token with an RS256 ID token, JWKS), GitHub (authorize, token, `/user`,
//! `/user/emails`) and X (authorize, token, `/2/users/me`). It checks what the real ones do:
//! the client's credentials, the redirect URI, PKCE (S256), and a code used once.
//!
//! The test plays the browser: `next` says who signs in at the next authorize, which answers
//! with the redirect to the client's callback.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bedrud_shared::config::OAuthClient;
use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const CLIENT_ID: &str = "bedrud-test-client";
pub const CLIENT_SECRET: &str = "bedrud-test-client-secret";
const KEY_ID: &str = "test-key-1";
const KEY_PEM: &str = include_str!("../fixtures/oidc-test-key.pem");

/// Who signs in at the provider.
#[derive(Debug, Clone)]
pub struct Person {
    pub subject: String,
    pub email: Option<String>,
    pub verified: bool,
    pub name: String,
}

/// What the next authorize does.
#[derive(Debug, Clone)]
enum Next {
    SignIn(Person),
    Refuse(&'static str),
}

struct Grant {
    provider: String,
    person: Person,
    redirect_uri: String,
    challenge: String,
    nonce: Option<String>,
}

#[derive(Default)]
struct Inner {
    next: Option<Next>,
    codes: HashMap<String, Grant>,
    tokens: HashMap<String, Person>,
    /// Issue ID tokens with this audience instead of the client id (a foreign token).
    audience: Option<String>,
    /// Every authorize query, for assertions.
    authorizations: Vec<HashMap<String, String>>,
}

#[derive(Clone)]
pub struct Provider {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

type Shared = Arc<Mutex<Inner>>;

impl Provider {
    /// Serves on 127.0.0.1:0 for the life of the test's runtime.
    pub async fn start() -> Self {
        let inner: Shared = Arc::default();
        let app = Router::new()
            .route("/{provider}/authorize", get(authorize))
            .route("/{provider}/token", post(token))
            .route("/google/jwks", get(jwks))
            .route("/github/user", get(github_user))
            .route("/github/emails", get(github_emails))
            .route("/x/users/me", get(x_me))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, inner }
    }

    /// The client settings for `provider` (`google`, `github`, `x`) pointing here; the callback
    /// is `callback_base` + `/api/auth/<name>/callback`.
    pub fn client(&self, provider: &str, name: &str, callback_base: &str) -> OAuthClient {
        let at = |path: &str| Some(format!("{}/{provider}/{path}", self.base));
        OAuthClient {
            client_id: Some(CLIENT_ID.into()),
            client_secret: Some(CLIENT_SECRET.into()),
            redirect_url: Some(format!("{callback_base}/api/auth/{name}/callback")),
            auth_url: at("authorize"),
            token_url: at("token"),
            user_info_url: match provider {
                "github" => at("user"),
                "x" => at("users/me"),
                _ => None,
            },
            emails_url: at("emails"),
            issuer: Some(format!("{}/google", self.base)),
            jwks_url: at("jwks"),
        }
    }

    pub fn next(&self, person: Person) {
        self.inner.lock().unwrap().next = Some(Next::SignIn(person));
    }

    /// The next authorize answers with this OAuth error (e.g. `access_denied`).
    pub fn refuse_next(&self, error: &'static str) {
        self.inner.lock().unwrap().next = Some(Next::Refuse(error));
    }

    /// ID tokens from now on name another audience.
    pub fn issue_for_audience(&self, aud: &str) {
        self.inner.lock().unwrap().audience = Some(aud.into());
    }

    /// The query of the last authorize request.
    pub fn last_authorization(&self) -> HashMap<String, String> {
        let inner = self.inner.lock().unwrap();
        inner.authorizations.last().cloned().unwrap_or_default()
    }
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({"error": error}))).into_response()
}

async fn authorize(
    State(inner): State<Shared>,
    Path(provider): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut inner = inner.lock().unwrap();
    inner.authorizations.push(q.clone());
    let (Some(redirect_uri), Some(state)) = (q.get("redirect_uri"), q.get("state")) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    };
    let proper = q.get("client_id").map(String::as_str) == Some(CLIENT_ID)
        && q.get("response_type").map(String::as_str) == Some("code")
        && q.get("code_challenge_method").map(String::as_str) == Some("S256");
    if !proper {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    let to = match inner.next.take() {
        Some(Next::SignIn(person)) => {
            let code = crate::unique("code");
            inner.codes.insert(
                code.clone(),
                Grant {
                    provider,
                    person,
                    redirect_uri: redirect_uri.clone(),
                    challenge: q.get("code_challenge").cloned().unwrap_or_default(),
                    nonce: q.get("nonce").cloned(),
                },
            );
            format!("{redirect_uri}?code={code}&state={state}")
        }
        Some(Next::Refuse(error)) => {
            format!("{redirect_uri}?error={error}&error_description=The+user+said+no&state={state}")
        }
        None => return oauth_error(StatusCode::BAD_REQUEST, "nobody_signs_in"),
    };
    (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
}

/// The client's credentials: HTTP Basic (Google, X) or in the body (GitHub).
fn client_ok(headers: &HeaderMap, form: &HashMap<String, String>) -> bool {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let body = match (form.get("client_id"), form.get("client_secret")) {
        (Some(id), Some(secret)) => Some(format!("{id}:{secret}")),
        _ => None,
    };
    basic.or(body).as_deref() == Some(&format!("{CLIENT_ID}:{CLIENT_SECRET}"))
}

async fn token(
    State(inner): State<Shared>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !client_ok(&headers, &form) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let mut inner = inner.lock().unwrap();
    let code = form.get("code").cloned().unwrap_or_default();
    // A code works once; a replay is refused (and, as RFC 6749 asks, is not served again).
    let Some(grant) = inner.codes.remove(&code) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    if grant.provider != provider
        || form.get("redirect_uri") != Some(&grant.redirect_uri)
        || challenge != grant.challenge
    {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let access = crate::unique("access");
    inner.tokens.insert(access.clone(), grant.person.clone());
    let mut body = json!({"access_token": access, "token_type": "bearer", "expires_in": 3600});
    if provider == "google" {
        let base = format!(
            "http://{}",
            headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or_default()
        );
        let aud = inner.audience.clone().unwrap_or(CLIENT_ID.into());
        body["id_token"] = id_token(&base, &aud, &grant).into();
    }
    Json(body).into_response()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An RS256 ID token as Google issues them.
fn id_token(base: &str, aud: &str, grant: &Grant) -> String {
    let p = &grant.person;
    let header = json!({"alg": "RS256", "kid": KEY_ID, "typ": "JWT"});
    let mut claims = json!({
        "iss": format!("{base}/google"), "aud": aud, "sub": p.subject,
        "iat": now(), "exp": now() + 3600,
        "email_verified": p.verified, "name": p.name,
        "picture": "https://lh3.example.com/photo.jpg",
    });
    if let Some(email) = &p.email {
        claims["email"] = email.clone().into();
    }
    if let Some(nonce) = &grant.nonce {
        claims["nonce"] = nonce.clone().into();
    }
    sign(&header, &claims)
}

/// The PKCS#1 key in the PEM fixture.
fn test_key() -> EncodingKey {
    let body: String = KEY_PEM
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    EncodingKey::from_rsa_der(&STANDARD.decode(body).expect("PEM body"))
}

/// Signs a JWT with the test key (RS256, PKCS#1 v1.5).
pub fn sign(header: &Value, claims: &Value) -> String {
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let input = format!("{}.{}", part(header), part(claims));
    let key = test_key();
    let signer = (DEFAULT_PROVIDER.signer_factory)(&Algorithm::RS256, &key).expect("RS256");
    let sig: Vec<u8> = signer.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

async fn jwks() -> Json<Value> {
    let key = test_key();
    let (n, e) = (DEFAULT_PROVIDER.jwk_utils.extract_rsa_public_key_components)(key.inner())
        .expect("public components");
    Json(json!({"keys": [{
        "kty": "RSA", "alg": "RS256", "use": "sig", "kid": KEY_ID,
        "n": URL_SAFE_NO_PAD.encode(n), "e": URL_SAFE_NO_PAD.encode(e),
    }]}))
}

/// The person the bearer token was issued for.
fn bearer(inner: &Shared, headers: &HeaderMap) -> Option<Person> {
    let token = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    inner.lock().unwrap().tokens.get(token).cloned()
}

async fn github_user(State(inner): State<Shared>, headers: HeaderMap) -> Response {
    // GitHub refuses requests without a User-Agent.
    if !headers.contains_key(header::USER_AGENT) {
        return oauth_error(StatusCode::FORBIDDEN, "user agent required");
    }
    match bearer(&inner, &headers) {
        Some(p) => Json(json!({
            "id": p.subject.parse::<u64>().expect("GitHub ids are numbers"),
            "login": "octo", "name": p.name,
            "avatar_url": "https://avatars.example.com/u/1",
        }))
        .into_response(),
        None => oauth_error(StatusCode::UNAUTHORIZED, "Bad credentials"),
    }
}

async fn github_emails(State(inner): State<Shared>, headers: HeaderMap) -> Response {
    match bearer(&inner, &headers) {
        Some(p) => {
            let mut list = vec![
                json!({"email": "noreply@users.example.com", "primary": false, "verified": false}),
            ];
            if let Some(e) = p.email {
                list.push(json!({"email": e, "primary": true, "verified": p.verified}));
            }
            Json(Value::Array(list)).into_response()
        }
        None => oauth_error(StatusCode::UNAUTHORIZED, "Bad credentials"),
    }
}

async fn x_me(State(inner): State<Shared>, headers: HeaderMap) -> Response {
    match bearer(&inner, &headers) {
        Some(p) => {
            let mut data = json!({"id": p.subject, "name": p.name, "username": "someone"});
            // X shares only a confirmed address.
            if let (Some(e), true) = (p.email, p.verified) {
                data["confirmed_email"] = e.into();
            }
            Json(json!({"data": data})).into_response()
        }
        None => oauth_error(StatusCode::UNAUTHORIZED, "Unauthorized"),
    }
}
