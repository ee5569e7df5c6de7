//! Sign-in with Google, GitHub and X: OAuth 2's authorization code with PKCE (`oauth2`), and
//! for Google OpenID Connect's ID token. `start` says where to send the browser and what to
//! keep in its cookie; `finish` checks the callback against that cookie, exchanges the code
//! and reads who signed in. Which account that is, is `auth`'s business.

mod id_token;
mod pending;
mod providers;

use std::time::Duration;

use http::header::{ACCEPT, AUTHORIZATION, HeaderName, USER_AGENT};
use http::{Method, Response};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::config::{Config, ConfigError, OAuthClient};
use crate::domain::{Provider, ProviderAccount, UnixTime, random_token};
use crate::error::{Error, Result};
use crate::outbound::Http;
use id_token::{Expect, KeyCache};
pub use pending::PENDING_TTL_SECS;
use pending::{Pending, Sealer};
use providers::{Endpoints, GOOGLE_ISSUER, GithubEmail, GithubUser, XUserEnvelope};

/// Each call to a provider (token, profile, keys) gives up after this long.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The providers, in the order the sign-in page lists them.
const PROVIDERS: [Provider; 3] = [Provider::Google, Provider::Github, Provider::Twitter];

/// Who signed in, as the provider tells it.
#[derive(Debug, Clone)]
pub struct Profile {
    pub account: ProviderAccount,
    /// The address, and whether the provider has confirmed it belongs to this person.
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub avatar_url: Option<String>,
}

/// A started sign-in: where to send the browser, and the cookie value that binds the callback
/// to it.
#[derive(Debug)]
pub struct Started {
    pub location: String,
    pub cookie: String,
}

/// The query the provider sends the browser back with.
#[derive(Debug, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// The ID token beside the access token (Google).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct IdToken {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

impl ExtraTokenFields for IdToken {}

type Tokens = StandardTokenResponse<IdToken, BasicTokenType>;
type Code = oauth2::Client<
    BasicErrorResponse,
    Tokens,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

struct Client {
    provider: Provider,
    client_id: String,
    code: Code,
    endpoints: Endpoints,
}

/// The configured providers.
pub struct OAuth {
    clients: Vec<Client>,
    sealer: Sealer,
    http: Http,
    google_keys: KeyCache,
}

/// An HTTP failure on the way to a provider, for `oauth2`'s error type.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct CallFailed(String);

impl OAuth {
    /// Every provider with a client id and secret; a bad endpoint URL is refused at start.
    pub fn new(config: &Config) -> std::result::Result<Self, ConfigError> {
        let secret = config.require_jwt_secret()?;
        let a = &config.auth;
        let mut clients = Vec::new();
        let domain = config.server.domain.as_deref();
        for (provider, c) in PROVIDERS
            .into_iter()
            .zip([&a.google, &a.github, &a.twitter])
        {
            c.validate(&format!("auth.{}", provider.as_str()), domain)?;
            if c.enabled() {
                clients.push(client(provider, c, domain)?);
            }
        }
        Ok(Self {
            clients,
            sealer: Sealer::new(secret),
            http: Http::new(false, CONNECT_TIMEOUT),
            google_keys: KeyCache::default(),
        })
    }

    /// The configured providers' names, as `GET /api/auth/settings` lists them.
    pub fn providers(&self) -> Vec<&'static str> {
        self.clients.iter().map(|c| c.provider.as_str()).collect()
    }

    fn client(&self, name: &str) -> Result<&Client> {
        let provider = Provider::parse(name)
            .filter(|p| PROVIDERS.contains(p))
            .ok_or_else(|| Error::not_found("unknown sign-in provider"))?;
        self.clients
            .iter()
            .find(|c| c.provider == provider)
            .ok_or_else(|| {
                Error::bad_request(format!(
                    "sign-in with {} is not configured",
                    title(provider)
                ))
            })
    }

    /// Where to send the browser to sign in with `provider`, with a fresh state, PKCE
    /// verifier and nonce sealed into the cookie that must come back with the callback.
    pub fn start(&self, provider: &str, now: UnixTime) -> Result<Started> {
        let client = self.client(provider)?;
        // Our own randomness (`rand` 0.9): `oauth2`'s helpers would link a second `rand`.
        let verifier = PkceCodeVerifier::new(random_token());
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
        let (nonce, state) = (random_token(), random_token());
        let mut request = client
            .code
            .authorize_url(|| CsrfToken::new(state))
            .add_scopes(
                providers::scopes(client.provider)
                    .iter()
                    .map(|s| Scope::new((*s).into())),
            )
            .set_pkce_challenge(challenge);
        if client.provider == Provider::Google {
            request = request.add_extra_param("nonce", nonce.clone());
        }
        let (url, state) = request.url();
        let cookie = self.sealer.seal(&Pending {
            provider: client.provider.as_str().into(),
            state: state.secret().clone(),
            verifier: verifier.secret().clone(),
            nonce,
            expires_at: now + PENDING_TTL_SECS,
        });
        Ok(Started {
            location: url.to_string(),
            cookie,
        })
    }

    /// Who signed in: the callback must carry the state sealed in this browser's cookie, then
    /// the code is exchanged (with the PKCE verifier) and the profile read.
    pub async fn finish(
        &self,
        provider: &str,
        callback: Callback,
        cookie: Option<&str>,
        now: UnixTime,
    ) -> Result<Profile> {
        let client = self.client(provider)?;
        let name = title(client.provider);
        let expired = || {
            Error::bad_request(format!(
                "this sign-in with {name} has expired or was started in another browser; start again"
            ))
        };
        let pending = cookie
            .and_then(|c| self.sealer.open(c, now))
            .filter(|p| p.provider == client.provider.as_str())
            .ok_or_else(expired)?;
        // The state is no secret from this browser: it is in the URL it was sent to.
        if callback.state.as_deref() != Some(pending.state.as_str()) {
            return Err(expired());
        }
        if let Some(error) = callback.error {
            let detail = callback
                .error_description
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            return Err(Error::bad_request(format!(
                "{name} did not sign you in ({error}{detail})"
            )));
        }
        let code = callback
            .code
            .filter(|c| !c.is_empty())
            .ok_or_else(|| Error::bad_request(format!("{name} sent no authorization code")))?;
        // Owned clients in the future: a borrowed one trips the router's `Send` bound.
        let http = self.http.clone();
        let send = move |req: oauth2::HttpRequest| {
            let http = http.clone();
            async move { call(&http, req).await }
        };
        let tokens = client
            .code
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
            .request_async(&send)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => {
                    Error::bad_request(format!("{name} refused the sign-in ({})", r.error()))
                }
                other => Error::BadGateway(format!("{name}'s token endpoint: {other}")),
            })?;
        match client.provider {
            Provider::Google => self.google(client, &tokens, &pending, now).await,
            Provider::Github => self.github(client, tokens.access_token().secret()).await,
            _ => self.x(client, tokens.access_token().secret()).await,
        }
    }

    async fn google(
        &self,
        client: &Client,
        tokens: &Tokens,
        pending: &Pending,
        now: UnixTime,
    ) -> Result<Profile> {
        let bad = |m: String| Error::BadGateway(format!("Google: {m}"));
        let token = tokens
            .extra_fields()
            .id_token
            .as_deref()
            .ok_or_else(|| bad("no ID token in the token answer".into()))?;
        let kid = id_token::key_id(token).map_err(bad)?;
        let jwks = &client.endpoints.jwks;
        let keys = self
            .google_keys
            .keys(kid.as_deref(), || async {
                self.get_json(jwks, None).await.map_err(|e| e.to_string())
            })
            .await
            .map_err(bad)?;
        let issuer = client.endpoints.issuer.as_str();
        // Google's tokens name their issuer with or without the scheme.
        let issuers: &[&str] = if issuer == GOOGLE_ISSUER {
            &[GOOGLE_ISSUER, "accounts.google.com"]
        } else {
            &[issuer]
        };
        let expect = Expect {
            issuers,
            audience: &client.client_id,
            nonce: &pending.nonce,
            now,
        };
        let claims = id_token::verify(token, &keys, &expect)
            .map_err(|m| Error::bad_request(format!("Google's sign-in was refused: {m}")))?;
        Ok(Profile {
            account: ProviderAccount {
                provider: Provider::Google,
                subject: claims.sub,
            },
            email_verified: claims.email_verified && claims.email.is_some(),
            email: claims.email,
            name: claims.name,
            avatar_url: claims.picture,
        })
    }

    async fn github(&self, client: &Client, access: &str) -> Result<Profile> {
        let user: GithubUser = self
            .get_json(&client.endpoints.user_info, Some(access))
            .await?;
        let emails: Vec<GithubEmail> = self
            .get_json(&client.endpoints.emails, Some(access))
            .await?;
        let (email, email_verified) = match providers::github_address(&emails) {
            Some((e, verified)) => (Some(e.to_string()), verified),
            None => (None, false),
        };
        Ok(Profile {
            account: ProviderAccount {
                provider: Provider::Github,
                subject: user.id.to_string(),
            },
            email_verified,
            email,
            name: user.name.or(Some(user.login)),
            avatar_url: user.avatar_url,
        })
    }

    async fn x(&self, client: &Client, access: &str) -> Result<Profile> {
        let XUserEnvelope { data: user } = self
            .get_json(&client.endpoints.user_info, Some(access))
            .await?;
        Ok(Profile {
            account: ProviderAccount {
                provider: Provider::Twitter,
                subject: user.id,
            },
            // X shares only a confirmed address.
            email_verified: user.confirmed_email.is_some(),
            email: user.confirmed_email,
            name: user.name.or(user.username),
            avatar_url: user.profile_image_url,
        })
    }

    /// A JSON GET, with the access token when given.
    async fn get_json<T: DeserializeOwned>(&self, url: &str, bearer: Option<&str>) -> Result<T> {
        let auth = bearer.map(|t| format!("Bearer {t}"));
        let mut headers = vec![(ACCEPT, "application/json"), (USER_AGENT, "bedrud")];
        if let Some(a) = &auth {
            headers.push((AUTHORIZATION, a.as_str()));
        }
        let host = url.split('/').nth(2).unwrap_or(url);
        let answer = self
            .http
            .send(Method::GET, url, &headers, Vec::new(), CALL_TIMEOUT)
            .await
            .map_err(|e| Error::BadGateway(format!("{host}: {e}")))?;
        if answer.status != 200 {
            return Err(Error::BadGateway(format!(
                "{host} answered {} to the profile request",
                answer.status
            )));
        }
        serde_json::from_slice(&answer.body)
            .map_err(|e| Error::BadGateway(format!("{host} sent an unexpected profile: {e}")))
    }
}

/// `oauth2`'s request on our client.
async fn call(
    http: &Http,
    req: oauth2::HttpRequest,
) -> std::result::Result<oauth2::HttpResponse, CallFailed> {
    let (parts, body) = req.into_parts();
    let owned: Vec<(HeaderName, String)> = parts
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.to_str().ok()?.to_string())))
        .collect();
    let headers: Vec<(HeaderName, &str)> =
        owned.iter().map(|(k, v)| (k.clone(), v.as_str())).collect();
    let answer = http
        .send(
            parts.method,
            &parts.uri.to_string(),
            &headers,
            body,
            CALL_TIMEOUT,
        )
        .await
        .map_err(CallFailed)?;
    Response::builder()
        .status(answer.status)
        .body(answer.body.to_vec())
        .map_err(|e| CallFailed(e.to_string()))
}

/// The `oauth2` client for one provider, its URLs checked.
fn client(
    provider: Provider,
    c: &OAuthClient,
    domain: Option<&str>,
) -> std::result::Result<Client, ConfigError> {
    let key = format!("auth.{}", provider.as_str());
    let endpoints = Endpoints::of(provider, c);
    let redirect = c.redirect_url.clone().unwrap_or_else(|| {
        format!(
            "https://{}/api/auth/{}/callback",
            domain.unwrap_or_default(),
            provider.as_str()
        )
    });
    let url_error = |field: &str| {
        let key = format!("{key}.{field}");
        move |e: oauth2::url::ParseError| {
            ConfigError::new(
                &key,
                format!("is not a URL ({e})"),
                "give an absolute http(s) URL",
            )
        }
    };
    let client_id = c.client_id.clone().unwrap_or_default();
    let code = oauth2::Client::new(ClientId::new(client_id.clone()))
        .set_client_secret(ClientSecret::new(
            c.client_secret
                .as_ref()
                .map(|s| s.expose().to_string())
                .unwrap_or_default(),
        ))
        .set_auth_uri(AuthUrl::new(endpoints.auth.clone()).map_err(url_error("authUrl"))?)
        .set_token_uri(TokenUrl::new(endpoints.token.clone()).map_err(url_error("tokenUrl"))?)
        .set_redirect_uri(RedirectUrl::new(redirect).map_err(url_error("redirectUrl"))?)
        .set_auth_type(providers::auth_type(provider));
    Ok(Client {
        provider,
        client_id,
        code,
        endpoints,
    })
}

/// The provider's name as people know it.
pub fn title(provider: Provider) -> &'static str {
    match provider {
        Provider::Google => "Google",
        Provider::Github => "GitHub",
        Provider::Twitter => "X",
        _ => "the provider",
    }
}
