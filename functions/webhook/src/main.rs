//! Lambda `webhook`: `POST /api/livekit/webhook`. Each delivery is verified over its exact
//! bytes with LiveKit's key pair, then its event applied once. Wiring only.

use bedrud_shared::http::webhook;
use bedrud_shared::lambda;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // Built once per instance, before the first invocation.
    let state = lambda::state_from_env().await?;
    // Verification needs the key pair: fail the instance's init, not its first request.
    state.config.require_livekit_keys()?;
    lambda::serve(webhook::routes(), state).await
}
