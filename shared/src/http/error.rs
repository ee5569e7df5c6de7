//! The HTTP face of [`Error`]: a status and `{"error": ...}`, detail logged (and shown to
//! platform admins for dependency failures).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::Error;

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Gone(_) => StatusCode::GONE,
            Error::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Unavailable(_) | Error::NotSetUp(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::BadGateway(_) => StatusCode::BAD_GATEWAY,
            Error::UpstreamDown(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A dependency failure's detail, carried on the response so [`reveal_to_admins`] can show it
/// to a platform admin; everyone else sees the generic message.
#[derive(Debug, Clone)]
pub(crate) struct UpstreamDetail(pub String);

/// `{"error": "<message>"}` with the status; server-side detail goes to the log (and, for a
/// dependency failure, to admins).
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match &self {
            Error::Internal(cause) => {
                tracing::error!(error = %crate::error::chain(cause.as_ref()), "request failed")
            }
            Error::Unavailable(detail) => tracing::warn!(%detail, "dependency unavailable"),
            Error::BadGateway(detail) | Error::UpstreamDown(detail) => {
                tracing::warn!(%detail, "dependency failed")
            }
            _ => {}
        }
        let mut body = json!({ "error": self.to_string() });
        if let Error::TooManyRequests {
            retry_after_secs, ..
        } = &self
        {
            // The web's resend button waits this many seconds (else 60).
            body["retryAfter"] = json!(retry_after_secs);
        }
        let mut res = (self.status(), Json(body)).into_response();
        if let Some(detail) = self.upstream_detail() {
            res.extensions_mut()
                .insert(UpstreamDetail(detail.to_string()));
        }
        if let Error::TooManyRequests {
            retry_after_secs, ..
        } = self
        {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        res
    }
}

/// Middleware: a dependency failure answered to a platform admin (a live admin session)
/// carries the operator's detail instead of the generic message.
pub(crate) async fn reveal_to_admins(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim_start_matches("Bearer ").trim().to_string());
    let res = next.run(req).await;
    let Some(UpstreamDetail(detail)) = res.extensions().get::<UpstreamDetail>().cloned() else {
        return res;
    };
    let Some(token) = bearer else { return res };
    match state.auth.authenticate(&token).await {
        Ok(claims) if claims.caller().is_ok_and(|c| c.is_admin()) => {
            let mut shown = (res.status(), Json(json!({ "error": detail }))).into_response();
            if let Some(v) = res.headers().get(header::RETRY_AFTER) {
                shown.headers_mut().insert(header::RETRY_AFTER, v.clone());
            }
            shown
        }
        _ => res,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_internal_error_answers_without_its_cause() {
        let cause = std::io::Error::other("disk /var/lib/bedrud is full");
        let res = Error::internal(cause).into_response();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], br#"{"error":"internal server error"}"#);
    }
}
