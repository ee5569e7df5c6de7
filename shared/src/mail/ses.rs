//! Amazon SES v2 `SendEmail` (simple content: subject, text and HTML) from the configured
//! identity, optionally through a configuration set.

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message as SesMessage};

use super::{MailError, Mailer, Message, Sender};
use crate::config::{Config, ConfigError};

pub struct SesMailer {
    client: Client,
    from: String,
    configuration_set: Option<String>,
}

impl SesMailer {
    pub fn new(client: Client, config: &Config) -> Result<Self, ConfigError> {
        let from = Sender::from_config(config).ok_or_else(|| {
            ConfigError::new(
                "email.fromAddress",
                "is required to send mail through SES",
                "set EMAIL_FROM_ADDRESS to an address of the verified SES identity",
            )
        })?;
        Ok(Self {
            client,
            from: from.mailbox(),
            configuration_set: config.email.ses_configuration_set.clone(),
        })
    }

    /// The client from the environment (region, credentials, `AWS_ENDPOINT_URL`).
    pub fn from_env(config: &Config) -> Result<Self, ConfigError> {
        let client = Client::new(&crate::aws::sdk_config(crate::aws::Service::SesV2)?);
        Self::new(client, config)
    }
}

fn content(text: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|e| MailError(e.to_string()))
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, m: &Message) -> Result<(), MailError> {
        let message = SesMessage::builder()
            .subject(content(&m.subject)?)
            .body(
                Body::builder()
                    .text(content(&m.text)?)
                    .html(content(&m.html)?)
                    .build(),
            )
            .build();
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(m.to.as_str()).build())
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                MailError(format!(
                    "SES: {}",
                    aws_sdk_sesv2::error::DisplayErrorContext(e)
                ))
            })
    }
}
