//! The local default: each message, link included, goes to the server log so `cargo run`
//! works with no mail server. Refused in production unless named (`Config::mail_provider`).

use async_trait::async_trait;

use super::{MailError, Mailer, Message};

pub struct LogMailer;

#[async_trait]
impl Mailer for LogMailer {
    async fn send(&self, m: &Message) -> Result<(), MailError> {
        tracing::info!(
            to = %m.to,
            subject = %m.subject,
            "mail (email.provider: log; not delivered)\n{}",
            m.text
        );
        Ok(())
    }
}
