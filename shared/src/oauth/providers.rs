//! What differs between Google, GitHub and X: endpoints, scopes, how the token endpoint wants
//! the client's credentials, and where the profile (id, address, name, picture) comes from.

use oauth2::AuthType;
use serde::Deserialize;

use crate::config::OAuthClient;
use crate::domain::Provider;

/// A provider's endpoints, the configured ones over its real ones.
#[derive(Debug, Clone)]
pub(super) struct Endpoints {
    pub auth: String,
    pub token: String,
    pub user_info: String,
    pub emails: String,
    pub issuer: String,
    pub jwks: String,
}

impl Endpoints {
    pub fn of(provider: Provider, c: &OAuthClient) -> Self {
        let [auth, token, user_info, emails, issuer, jwks] = match provider {
            Provider::Google => [
                "https://accounts.google.com/o/oauth2/v2/auth",
                "https://oauth2.googleapis.com/token",
                "https://openidconnect.googleapis.com/v1/userinfo",
                "",
                GOOGLE_ISSUER,
                "https://www.googleapis.com/oauth2/v3/certs",
            ],
            Provider::Github => [
                "https://github.com/login/oauth/authorize",
                "https://github.com/login/oauth/access_token",
                "https://api.github.com/user",
                "https://api.github.com/user/emails",
                "",
                "",
            ],
            _ => [
                "https://x.com/i/oauth2/authorize",
                "https://api.x.com/2/oauth2/token",
                "https://api.x.com/2/users/me?user.fields=profile_image_url,confirmed_email",
                "",
                "",
                "",
            ],
        };
        let pick = |set: &Option<String>, default: &str| set.clone().unwrap_or(default.into());
        Self {
            auth: pick(&c.auth_url, auth),
            token: pick(&c.token_url, token),
            user_info: pick(&c.user_info_url, user_info),
            emails: pick(&c.emails_url, emails),
            issuer: pick(&c.issuer, issuer),
            jwks: pick(&c.jwks_url, jwks),
        }
    }
}

pub(super) const GOOGLE_ISSUER: &str = "https://accounts.google.com";

/// The scopes asked for: the account's id, name, picture and confirmed address.
pub(super) fn scopes(provider: Provider) -> &'static [&'static str] {
    match provider {
        Provider::Google => &["openid", "email", "profile"],
        Provider::Github => &["read:user", "user:email"],
        _ => &["users.read", "tweet.read", "users.email"],
    }
}

/// GitHub documents the client's credentials in the body; Google and X take HTTP Basic.
pub(super) fn auth_type(provider: Provider) -> AuthType {
    match provider {
        Provider::Github => AuthType::RequestBody,
        _ => AuthType::BasicAuth,
    }
}

/// `GET /user` on GitHub.
#[derive(Deserialize)]
pub(super) struct GithubUser {
    pub id: u64,
    pub login: String,
    pub name: Option<String>,
    pub avatar_url: Option<String>,
}

/// One entry of `GET /user/emails` on GitHub.
#[derive(Deserialize)]
pub(super) struct GithubEmail {
    pub email: String,
    #[serde(default)]
    pub primary: bool,
    #[serde(default)]
    pub verified: bool,
}

/// The address a GitHub sign-in offers, and whether GitHub verified it: the primary one if
/// verified, else any verified one, else the unverified primary (which links nothing).
pub(super) fn github_address(list: &[GithubEmail]) -> Option<(&str, bool)> {
    list.iter()
        .filter(|e| e.verified || e.primary)
        .max_by_key(|e| (e.verified, e.primary))
        .map(|e| (e.email.as_str(), e.verified))
}

/// `GET /2/users/me` on X: `confirmed_email` only with the `users.email` scope.
#[derive(Deserialize)]
pub(super) struct XUserEnvelope {
    pub data: XUser,
}

#[derive(Deserialize)]
pub(super) struct XUser {
    pub id: String,
    pub name: Option<String>,
    pub username: Option<String>,
    pub profile_image_url: Option<String>,
    pub confirmed_email: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_offers_a_verified_address_first() {
        let e = |email: &str, primary, verified| GithubEmail {
            email: email.into(),
            primary,
            verified,
        };
        let list = [e("a@x.io", false, true), e("b@x.io", true, true)];
        assert_eq!(github_address(&list), Some(("b@x.io", true)));
        let list = [e("a@x.io", true, false), e("c@x.io", false, true)];
        assert_eq!(github_address(&list), Some(("c@x.io", true)));
        let list = [e("a@x.io", true, false), e("d@x.io", false, false)];
        assert_eq!(github_address(&list), Some(("a@x.io", false)));
        assert_eq!(github_address(&[e("d@x.io", false, false)]), None);
    }

    #[test]
    fn configured_endpoints_win_over_the_real_ones() {
        let c = OAuthClient {
            token_url: Some("http://127.0.0.1:9/token".into()),
            ..OAuthClient::default()
        };
        let e = Endpoints::of(Provider::Github, &c);
        assert_eq!(e.token, "http://127.0.0.1:9/token");
        assert_eq!(e.auth, "https://github.com/login/oauth/authorize");
    }
}
