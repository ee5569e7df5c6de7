//! Lambda `reconciler`, on a schedule: heals rooms and seats from LiveKit's own view
//! (ListRooms, ListParticipants) when webhooks were lost. Wiring only.

use bedrud_shared::lambda;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // Built once per instance, before the first invocation.
    let state = lambda::state_from_env().await?;
    state.config.require_livekit_keys()?;
    lambda::serve_reconciler(state).await
}
