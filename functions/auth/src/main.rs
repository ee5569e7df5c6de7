//! Lambda `auth`: `/api/auth/*` (passkeys, sign-in with Google, GitHub and X, verification and reset
//! links included; their mail is queued for the `mailer`), the admin's verify and resend,
//! `/api/health` and `/api/ready` behind API Gateway HTTP API. Wiring only; everything else
//! lives in `bedrud-shared`.

use bedrud_shared::http::{accounts, auth, health, oauth, passkeys};
use bedrud_shared::lambda;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // Built once per instance, before the first invocation.
    let state = lambda::Init::from_env()?
        .mail_queue()?
        .secrets()
        .await?
        .oauth()?
        .passkeys()?
        .build()?;
    let routes = auth::routes()
        .merge(oauth::routes())
        .merge(passkeys::routes())
        .merge(accounts::routes());
    lambda::serve(routes.merge(health::routes()), state).await
}
