//! Sign-in providers (`auth.google`, `auth.github`, `auth.twitter`): Bedrud's client id, secret
//! and redirect URL, plus the provider's endpoints, which default to its real ones (a proxy, a
//! regional endpoint or a test provider on loopback may replace them).

use serde::Deserialize;

use super::secret::{blank_is_none, empty_is_none};
use super::{ConfigError, Secret};

/// One provider's settings. It is offered once both the client id and secret are set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OAuthClient {
    #[serde(deserialize_with = "blank_is_none")]
    pub client_id: Option<String>,
    #[serde(deserialize_with = "empty_is_none")]
    pub client_secret: Option<Secret>,
    /// This server's callback as registered with the provider; defaults to
    /// `https://<server.domain>/api/auth/<provider>/callback`.
    #[serde(alias = "redirectURL", deserialize_with = "blank_is_none")]
    pub redirect_url: Option<String>,
    #[serde(deserialize_with = "blank_is_none")]
    pub auth_url: Option<String>,
    #[serde(deserialize_with = "blank_is_none")]
    pub token_url: Option<String>,
    #[serde(deserialize_with = "blank_is_none")]
    pub user_info_url: Option<String>,
    /// GitHub: the addresses endpoint (which one is primary and verified).
    #[serde(deserialize_with = "blank_is_none")]
    pub emails_url: Option<String>,
    /// Google: the ID token's issuer and the keys it is signed with.
    #[serde(deserialize_with = "blank_is_none")]
    pub issuer: Option<String>,
    #[serde(deserialize_with = "blank_is_none")]
    pub jwks_url: Option<String>,
}

impl OAuthClient {
    pub fn enabled(&self) -> bool {
        self.client_id.is_some() && self.client_secret.is_some()
    }

    /// A half-configured provider, or one with no callback URL, is refused at start (by
    /// `oauth::OAuth::new`: only the processes that serve sign-in read these keys).
    pub fn validate(&self, key: &str, domain: Option<&str>) -> Result<(), ConfigError> {
        let env = key.replace('.', "_").to_uppercase();
        if self.client_id.is_some() != self.client_secret.is_some() {
            let missing = if self.client_id.is_none() {
                "clientId"
            } else {
                "clientSecret"
            };
            return Err(ConfigError::new(
                &format!("{key}.{missing}"),
                "is empty while its partner is set",
                format!(
                    "set both {key}.clientId and {key}.clientSecret ({env}_CLIENT_ID, {env}_CLIENT_SECRET), or neither"
                ),
            ));
        }
        if self.enabled() && self.redirect_url.is_none() && domain.is_none() {
            return Err(ConfigError::new(
                &format!("{key}.redirectUrl"),
                "is unset, and so is server.domain to derive it from",
                format!(
                    "set {key}.redirectUrl ({env}_REDIRECT_URL) to the callback registered with the provider"
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn providers_read_from_yaml_and_half_set_ones_are_refused() {
        let yaml = "server:\n  domain: meet.example.com\nauth:\n  github:\n    clientId: abc\n    clientSecret: shh\n  google:\n    clientId: ''\n    clientSecret: ''\n    redirectUrl: ''\n";
        let check = |c: &Config| {
            c.auth
                .github
                .validate("auth.github", c.server.domain.as_deref())
        };
        let (c, _) = Config::from_yaml(yaml).unwrap();
        assert!(c.auth.github.enabled() && !c.auth.google.enabled());
        check(&c).unwrap();

        let half = yaml.replace("    clientSecret: shh\n", "");
        let (c, _) = Config::from_yaml(&half).unwrap();
        assert_eq!(check(&c).unwrap_err().key, "auth.github.clientSecret");
        // Nowhere to come back to: no redirect URL and no domain to derive it from.
        let (c, _) = Config::from_yaml(&yaml.replace("  domain: meet.example.com\n", "")).unwrap();
        assert_eq!(check(&c).unwrap_err().key, "auth.github.redirectUrl");
        let typo = yaml.replace("clientId: abc", "clientID: abc");
        assert!(
            Config::from_yaml(&typo).is_err(),
            "unknown keys stay refused"
        );
    }
}
