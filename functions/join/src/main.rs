//! Lambda `join`: `POST /api/room/{join,guest-join,refresh-token}`, the hot path: one store
//! read, at most one conditional write, one HMAC signature. Wiring only.

use bedrud_shared::http::join;
use bedrud_shared::lambda;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // Built once per instance, before the first invocation.
    let state = lambda::Init::from_env()?
        .secrets()
        .await?
        .livekit_keys()?
        .build()?;
    lambda::serve(join::routes(), state).await
}
