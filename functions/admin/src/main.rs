//! Lambda `admin`: `/api/admin/*` for platform admins: the console's tables, dashboards and
//! actions, runtime settings and invites, whether Bedrud reaches LiveKit (a real probe of
//! `internalHost`). The queue page is the `queue` function's. Wiring only.

use bedrud_shared::http::admin;
use bedrud_shared::lambda;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // Built once per instance, before the first invocation.
    let state = lambda::Init::from_env()?
        .admin_store()
        .secrets()
        .await?
        .livekit()?
        .build()?;
    lambda::serve(admin::routes(), state).await
}
