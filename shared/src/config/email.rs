//! `email:` (Bedrud's keys, plus `provider` and `tlsMode`): how transactional mail leaves.

use serde::Deserialize;

use super::secret::{Secret, blank_is_none, empty_is_none};
use super::{Config, ConfigError, DatabaseKind};

/// Who delivers mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailProvider {
    Smtp,
    Ses,
    /// Writes each message, link included, to the server log: local use only.
    Log,
}

impl MailProvider {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "smtp" => Some(Self::Smtp),
            "ses" => Some(Self::Ses),
            "log" => Some(Self::Log),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Smtp => "smtp",
            Self::Ses => "ses",
            Self::Log => "log",
        }
    }
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connect, then STARTTLS, required (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465; Bedrud's `smtpsMode: true`).
    Tls,
    /// No encryption: a relay on the same host or network only.
    None,
}

impl SmtpTls {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "starttls" => Some(Self::Starttls),
            "tls" | "smtps" | "implicit" => Some(Self::Tls),
            "none" | "plain" => Some(Self::None),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EmailConfig {
    /// `smtp`, `ses` or `log`. Unset: `smtp` when `smtpHost` is set, `log` on a local
    /// server, none in production (mail then waits in the queue and says why).
    pub provider: Option<MailProvider>,
    #[serde(deserialize_with = "blank_is_none")]
    pub smtp_host: Option<String>,
    pub smtp_port: u16,
    #[serde(deserialize_with = "blank_is_none")]
    pub username: Option<String>,
    #[serde(deserialize_with = "empty_is_none")]
    pub password: Option<Secret>,
    #[serde(deserialize_with = "blank_is_none")]
    pub from_address: Option<String>,
    #[serde(deserialize_with = "blank_is_none")]
    pub from_name: Option<String>,
    /// Accept any certificate from the SMTP server (a self-signed relay).
    pub tls_skip_verify: bool,
    /// Bedrud's switch for implicit TLS; `tlsMode` says the same in full.
    pub smtps_mode: bool,
    pub tls_mode: Option<SmtpTls>,
    /// SES configuration set for sending events (bounces, complaints), if any.
    #[serde(deserialize_with = "blank_is_none")]
    pub ses_configuration_set: Option<String>,
    /// The mail queue on AWS (`MAIL_QUEUE_URL`); the sidecar uses its embedded job table.
    #[serde(deserialize_with = "blank_is_none")]
    pub queue_url: Option<String>,
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            provider: None,
            smtp_host: None,
            smtp_port: 587,
            username: None,
            password: None,
            from_address: None,
            from_name: None,
            tls_skip_verify: false,
            smtps_mode: false,
            tls_mode: None,
            ses_configuration_set: None,
            queue_url: None,
        }
    }
}

impl EmailConfig {
    pub fn tls(&self) -> SmtpTls {
        match (self.tls_mode, self.smtps_mode) {
            (Some(t), _) => t,
            (None, true) => SmtpTls::Tls,
            (None, false) => SmtpTls::Starttls,
        }
    }
}

impl Config {
    /// Whether this looks like a production deployment: TLS, a proxy in front, or AWS.
    pub fn production(&self) -> bool {
        self.server.enable_tls
            || self.server.behind_proxy
            || self.database.kind == DatabaseKind::DynamoDb
    }

    /// The provider mail goes through, if any. The log provider (which writes links that
    /// sign people in) is used in production only when named explicitly.
    pub fn mail_provider(&self) -> Option<MailProvider> {
        match self.email.provider {
            Some(p) => Some(p),
            None if self.email.smtp_host.is_some() => Some(MailProvider::Smtp),
            None if self.production() => None,
            None => Some(MailProvider::Log),
        }
    }

    pub(super) fn validate_email(&self) -> Result<(), ConfigError> {
        let e = &self.email;
        if self.mail_provider() == Some(MailProvider::Smtp) && e.smtp_host.is_none() {
            return Err(ConfigError::new(
                "email.smtpHost",
                "is required when email.provider is smtp",
                "set email.smtpHost (EMAIL_SMTP_HOST) to your mail server",
            ));
        }
        if matches!(
            self.mail_provider(),
            Some(MailProvider::Smtp | MailProvider::Ses)
        ) && e.from_address.is_none()
        {
            return Err(ConfigError::new(
                "email.fromAddress",
                "is required to send mail",
                "set email.fromAddress (EMAIL_FROM_ADDRESS), e.g. no-reply@example.com",
            ));
        }
        if self.auth.require_email_verification && self.mail_provider().is_none() {
            return Err(ConfigError::new(
                "auth.requireEmailVerification",
                "is on, but no mail provider is configured, so nobody could verify",
                "set email.provider (EMAIL_PROVIDER) to smtp or ses, or log to read links from the server log",
            ));
        }
        Ok(())
    }
}
