//! Lambda `join`: `POST /api/room/{join,guest-join,refresh-token}`, the hot path: one store
//! read, at most one conditional write, one HMAC signature. Wiring only.

use bedrud_shared::http::join;
use bedrud_shared::lambda;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // Built once per instance, before the first invocation.
    let state = lambda::state_from_env().await?;
    // Minting needs LiveKit's key pair: fail the instance's init, not its first request.
    state.config.require_livekit_keys()?;
    lambda::serve(join::routes(), state).await
}
