//! JSON request bodies with the error envelope on every failure, lenient where the clients
//! are (no `Content-Type`, an empty body as `{}`).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::error::Error;

/// A JSON request body with the error envelope on every failure. Content-Type is not
/// required (the iOS client omits it) and an empty body reads as `{}` (the web client sends
/// `Content-Type: application/json` with no body). Malformed JSON is 400; JSON of the wrong
/// shape (missing field, wrong type) is 422; over the body limit is 413. Unknown fields are
/// ignored, so newer clients keep working.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Error::PayloadTooLarge("request body too large".into())
            } else {
                Error::bad_request("could not read request body")
            }
        })?;
        let body: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        serde_json::from_slice(body)
            .map(JsonBody)
            .map_err(|e| match e.classify() {
                Category::Data => Error::Unprocessable(format!("invalid request body: {e}")),
                Category::Syntax | Category::Eof | Category::Io => {
                    Error::bad_request(format!("malformed JSON: {e}"))
                }
            })
    }
}

/// For small fixed bodies (moderation, admin): a wrong type is a bad request, not 422.
pub(crate) fn shape_is_bad_request(e: Error) -> Error {
    match e {
        Error::Unprocessable(m) => Error::BadRequest(m),
        other => other,
    }
}
