//! Lambda `mailer`, fed by the mail queue (SQS): each job issues a one-time link (only its
//! hash is stored) and sends the verification or reset mail through Amazon SES; failures are
//! reported per message (`ReportBatchItemFailures`), retried, then dead-lettered. Wiring only.

use bedrud_shared::lambda;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // Built once per instance, before the first invocation.
    // No LiveKit, no API tokens: it reads accounts, writes links and sends mail.
    let accounts = lambda::Init::from_env()?.mail_worker()?;
    lambda::serve_jobs(accounts).await
}
