//! Lambda `recording`: `/api/rooms/{id}/recording/start|stop` and `/recordings[/{rid}]`.
//! Egress goes through LiveKit; finished files are processed from the queue. Wiring only.

use bedrud_shared::http::recordings;
use bedrud_shared::lambda;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // Built once per instance, before the first invocation.
    let state = lambda::Init::from_env()
        .await?
        .livekit()?
        .bucket()?
        .build()?;
    lambda::serve(recordings::routes(), state).await
}
