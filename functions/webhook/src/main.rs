//! Lambda `webhook`: `POST /api/livekit/webhook`. Each delivery is verified over its exact
//! bytes with LiveKit's key pair, then its event applied once. Wiring only.

use bedrud_shared::http::webhook;
use bedrud_shared::lambda;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // Built once per instance, before the first invocation.
    let state = lambda::Init::from_env()?
        .secrets()
        .await?
        .livekit()?
        .queue()?
        .build()?;
    lambda::serve(webhook::routes(), state).await
}
