//! Transactional mail: the port, its adapters (`log` for local use, SMTP on the VM, Amazon
//! SES on AWS) and the messages. Mail is never sent inside a request: requests queue a job,
//! and the worker (the sidecar's, or the `mailer` function) sends it with retries.

mod compose;
mod log;
#[cfg(feature = "ses")]
pub mod ses;
#[cfg(feature = "embedded")]
mod smtp;

use std::sync::Arc;

use async_trait::async_trait;

pub use compose::{Compose, Link, escape_html};
pub use log::LogMailer;

use crate::config::{Config, ConfigError, MailProvider};
use crate::domain::Email;

/// One message, in both forms every client can show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub to: Email,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Why a message was not sent; the job retries, then dead-letters with this text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MailError(pub String);

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, message: &Message) -> Result<(), MailError>;
}

/// The sender every adapter writes in `From`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    pub address: String,
    pub name: Option<String>,
}

impl Sender {
    pub fn from_config(config: &Config) -> Option<Self> {
        Some(Self {
            address: config.email.from_address.clone()?,
            name: config.email.from_name.clone(),
        })
    }

    /// `"Name" <address>` (or the bare address), as a `From` header takes it.
    pub fn mailbox(&self) -> String {
        match &self.name {
            Some(n) => format!("\"{}\" <{}>", n.replace(['"', '\\'], ""), self.address),
            None => self.address.clone(),
        }
    }
}

/// The mailer this process's configuration names, if it can build it here: `log`, or SMTP
/// where the embedded adapters are built in. SES needs the AWS SDK and is built by the
/// process that sends on AWS (`lambda::Init::mailer`).
pub fn from_config(config: &Config) -> Result<Option<Arc<dyn Mailer>>, ConfigError> {
    match config.mail_provider() {
        None => Ok(None),
        Some(MailProvider::Log) => Ok(Some(Arc::new(LogMailer))),
        #[cfg(feature = "embedded")]
        Some(MailProvider::Smtp) => Ok(Some(Arc::new(smtp::SmtpMailer::new(config)?))),
        #[cfg(feature = "ses")]
        Some(MailProvider::Ses) => Ok(Some(Arc::new(ses::SesMailer::from_env(config)?))),
        #[allow(unreachable_patterns)]
        Some(p) => Err(ConfigError::new(
            "email.provider",
            format!("`{}` is not built into this binary", p.as_str()),
            "use smtp on the VM and ses on AWS",
        )),
    }
}
