//! Lambda `admin`: `/api/admin/*` for platform admins: whether Bedrud reaches LiveKit (a real
//! probe of `internalHost`), whether webhooks arrive, LiveKit's room counts. Wiring only.

use bedrud_shared::http::admin;
use bedrud_shared::lambda;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // Built once per instance, before the first invocation.
    let state = lambda::Init::from_env()?
        .secrets()
        .await?
        .livekit()?
        .build()?;
    lambda::serve(admin::routes(), state).await
}
