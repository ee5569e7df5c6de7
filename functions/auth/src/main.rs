//! Lambda `auth`: `/api/auth/*`, `/api/health`, `/api/ready` behind API Gateway HTTP API.
//! Wiring only; everything else lives in `bedrud-shared`.

use bedrud_shared::http::{auth, health};
use bedrud_shared::lambda;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // Built once per instance, before the first invocation.
    let state = lambda::Init::from_env()?.secrets().await?.build()?;
    lambda::serve(auth::routes().merge(health::routes()), state).await
}
