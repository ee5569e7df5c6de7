//! Lambda `moderation`: `POST /api/room/{roomId}/…` (kick, ban, unban, mute, video off,
//! screen-share stop, promote, demote, chat block/unblock, permissions, mute-all, end, the
//! system signals) and the participant profile and info reads. Each
//! action is persisted, then applied through LiveKit's RoomService. Wiring only.

use bedrud_shared::http::moderation;
use bedrud_shared::lambda;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // Built once per instance, before the first invocation.
    let state = lambda::Init::from_env()?
        .secrets()
        .await?
        .livekit()?
        .build()?;
    lambda::serve(moderation::routes(), state).await
}
