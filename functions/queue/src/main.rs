//! Lambda `queue`: `GET /api/admin/queue` for platform admins: the recordings queue's depth
//! (SQS and its dead-letter queue, read only) and the job outcomes counted per hour. Its own
//! function so only it links the SQS client beside the admin console's store. Wiring only.

use bedrud_shared::http::admin;
use bedrud_shared::lambda;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // Built once per instance, before the first invocation.
    let state = lambda::Init::from_env()?
        .admin_store()
        .secrets()
        .await?
        .queue_watch()?
        .build()?;
    lambda::serve(admin::queue_routes(), state).await
}
