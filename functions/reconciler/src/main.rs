//! Lambda `reconciler`, on a schedule: heals rooms and seats from LiveKit's own view
//! (ListRooms, ListParticipants) when webhooks were lost, and removes sign-ups never
//! confirmed (`auth.unverifiedAccountTTLHours`); on a second schedule, removes recordings past
//! their retention (`recording.retentionHours`). Wiring only.

use bedrud_shared::lambda;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // Built once per instance, before the first invocation.
    let state = lambda::Init::from_env()?
        .accounts()
        .admin_store()
        .secrets()
        .await?
        .livekit()?
        .queue()?
        .build()?;
    lambda::serve_reconciler(state).await
}
