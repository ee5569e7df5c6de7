//! Lambda `recording`: `/api/rooms/{id}/recording/start|stop` and `/recordings[/{rid}]`.
//! Egress goes through LiveKit; download links are signed here, files are copied and removed
//! by the processor through the queue. Wiring only.

use bedrud_shared::http::recordings;
use bedrud_shared::lambda;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // Built once per instance, before the first invocation.
    let state = lambda::Init::from_env()?
        .secrets()
        .await?
        .livekit()?
        .queue()?
        .bucket_links()?
        .build()?;
    lambda::serve(recordings::routes(), state).await
}
