//! Lambda `rooms`: `/api/room/*` room management, and the API's description
//! (`/api/openapi.json`, `/api/docs`), behind API Gateway HTTP API. Wiring only; everything
//! else lives in `bedrud-shared`.

use bedrud_shared::http::{openapi, rooms};
use bedrud_shared::lambda;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // Built once per instance, before the first invocation.
    let state = lambda::Init::from_env()?
        .secrets()
        .await?
        .livekit()?
        .build()?;
    lambda::serve(rooms::routes().merge(openapi::routes()), state).await
}
