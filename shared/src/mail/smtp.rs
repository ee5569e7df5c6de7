//! SMTP through `lettre` on rustls (ring, the system's roots): STARTTLS (required),
//! implicit TLS or, for a local relay, none; authenticated when a username is set.

use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{MailError, Mailer, Message, Sender};
use crate::config::{Config, ConfigError, SmtpTls};

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    pub fn new(config: &Config) -> Result<Self, ConfigError> {
        let e = &config.email;
        let host = e.smtp_host.clone().unwrap_or_default();
        let bad = |key: &str, problem: String, fix: &str| ConfigError::new(key, problem, fix);
        let from = Sender::from_config(config)
            .ok_or_else(|| {
                bad(
                    "email.fromAddress",
                    "is not set".into(),
                    "set EMAIL_FROM_ADDRESS",
                )
            })?
            .mailbox()
            .parse::<Mailbox>()
            .map_err(|err| {
                bad(
                    "email.fromAddress",
                    format!("is not a mail address: {err}"),
                    "use an address such as no-reply@example.com",
                )
            })?;
        let params = || {
            TlsParameters::builder(host.clone())
                .dangerous_accept_invalid_certs(e.tls_skip_verify)
                .build_rustls()
                .map_err(|err| {
                    bad(
                        "email.smtpHost",
                        format!("TLS setup failed: {err}"),
                        "check the host name",
                    )
                })
        };
        let tls = match e.tls() {
            SmtpTls::Starttls => Tls::Required(params()?),
            SmtpTls::Tls => Tls::Wrapper(params()?),
            SmtpTls::None => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)
            .port(e.smtp_port)
            .tls(tls)
            .timeout(Some(std::time::Duration::from_secs(30)));
        if let Some(user) = &e.username {
            let password = e.password.as_ref().map(|p| p.expose().to_string());
            builder =
                builder.credentials(Credentials::new(user.clone(), password.unwrap_or_default()));
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, m: &Message) -> Result<(), MailError> {
        let to: Mailbox =
            m.to.as_str()
                .parse()
                .map_err(|e| MailError(format!("bad recipient: {e}")))?;
        let email = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&m.subject)
            .multipart(MultiPart::alternative_plain_html(
                m.text.clone(),
                m.html.clone(),
            ))
            .map_err(|e| MailError(format!("cannot build the message: {e}")))?;
        self.transport
            .send(email)
            .await
            .map(|_| ())
            .map_err(|e| MailError(format!("SMTP: {e}")))
    }
}
