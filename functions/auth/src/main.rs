//! Lambda `auth`: `/api/auth/*` (verification and reset links included; their mail is queued
//! for the `mailer`), the admin's verify and resend, `/api/health`, `/api/ready`, and the
//! API's description (`/api/openapi.json`, `/api/docs`) behind API Gateway HTTP API. Wiring
//! only; everything else lives in `bedrud-shared`.

use bedrud_shared::http::{accounts, auth, health, openapi};
use bedrud_shared::lambda;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // Built once per instance, before the first invocation.
    let state = lambda::Init::from_env()?
        .mail_queue()?
        .secrets()
        .await?
        .build()?;
    let routes = auth::routes().merge(accounts::routes());
    let meta = health::routes().merge(openapi::routes());
    lambda::serve(routes.merge(meta), state).await
}
