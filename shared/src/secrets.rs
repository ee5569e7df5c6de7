//! A Lambda's secrets from AWS Secrets Manager, read once at init: the JWT secret and
//! LiveKit's key pair stay out of the function's environment (which anyone allowed to read
//! its configuration sees) and rotate without a redeploy. The secret is a JSON object with
//! any of `jwtSecret`, `livekitApiKey`, `livekitApiSecret` and the sign-in providers' client
//! secrets (`googleClientSecret`, `githubClientSecret`, `twitterClientSecret`); what it holds
//! wins over the environment.

use aws_sdk_secretsmanager::Client;
use serde::Deserialize;

use crate::config::{Config, ConfigError, Secret};

/// The secret's fields; unknown fields are refused, since a typo would silently leave a
/// secret unset.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Secrets {
    jwt_secret: Option<Secret>,
    livekit_api_key: Option<String>,
    livekit_api_secret: Option<Secret>,
    google_client_secret: Option<Secret>,
    github_client_secret: Option<Secret>,
    twitter_client_secret: Option<Secret>,
}

impl Secrets {
    pub fn parse(json: &str) -> Result<Self, ConfigError> {
        serde_json::from_str(json).map_err(|e| {
            ConfigError::new(
                "SECRETS_ARN",
                format!("the secret is not the expected JSON object: {e}"),
                r#"store {"jwtSecret": "...", "livekitApiKey": "...", "livekitApiSecret": "..."}"#,
            )
        })
    }

    pub fn apply(self, config: &mut Config) {
        let blank = |s: &Secret| s.expose().is_empty();
        if let Some(v) = self.jwt_secret.filter(|v| !blank(v)) {
            config.auth.jwt_secret = Some(v);
        }
        if let Some(v) = self.livekit_api_key.filter(|v| !v.is_empty()) {
            config.livekit.api_key = Some(v);
        }
        if let Some(v) = self.livekit_api_secret.filter(|v| !blank(v)) {
            config.livekit.api_secret = Some(v);
        }
        let a = &mut config.auth;
        for (slot, value) in [
            (&mut a.google.client_secret, self.google_client_secret),
            (&mut a.github.client_secret, self.github_client_secret),
            (&mut a.twitter.client_secret, self.twitter_client_secret),
        ] {
            if let Some(v) = value.filter(|v| !blank(v)) {
                *slot = Some(v);
            }
        }
    }
}

/// Reads the secret `arn` (its current version).
pub async fn fetch(client: &Client, arn: &str) -> Result<Secrets, ConfigError> {
    let out = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| {
            let e = crate::aws::map_sdk("secretsmanager", e);
            ConfigError::new(
                "SECRETS_ARN",
                format!("cannot read {arn}: {e}"),
                "check the ARN and that the function's role may secretsmanager:GetSecretValue on it",
            )
        })?;
    let text = out.secret_string.ok_or_else(|| {
        ConfigError::new(
            "SECRETS_ARN",
            format!("{arn} holds binary data"),
            "store the secret as a JSON string",
        )
    })?;
    Secrets::parse(&text)
}

/// A client on the process's shared SDK configuration (see `crate::aws`).
pub fn client_from_env() -> Result<Client, ConfigError> {
    Ok(Client::new(&crate::aws::sdk_config(
        crate::aws::Service::SecretsManager,
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_present_win_and_unknown_fields_are_refused() {
        let mut config = Config::default();
        config.livekit.api_key = Some("from-env".into());
        Secrets::parse(r#"{"jwtSecret": "j", "livekitApiSecret": "s", "livekitApiKey": ""}"#)
            .unwrap()
            .apply(&mut config);
        assert_eq!(config.auth.jwt_secret, Some("j".into()));
        assert_eq!(config.livekit.api_secret, Some("s".into()));
        assert_eq!(
            config.livekit.api_key.as_deref(),
            Some("from-env"),
            "an empty field changes nothing"
        );
        let e = Secrets::parse(r#"{"jwt_secret": "j"}"#).unwrap_err();
        assert!(e.to_string().contains("jwt_secret"), "{e}");
        assert!(Secrets::parse("not json").is_err());
    }
}
