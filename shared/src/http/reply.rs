//! Small answers many routes share, typed so the OpenAPI description is the code's own.

use serde::Serialize;

/// `{"message": …}`: what a done action says (the clients show it).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    pub message: &'static str,
}

/// `{"status": …}`: `success` for a done action, `ok`/`duplicate` for a webhook.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Status {
    pub status: &'static str,
}

/// `{"status": "success", "message": …}`: Bedrud's answer to a done room action.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Done {
    pub status: &'static str,
    pub message: &'static str,
}

impl Message {
    pub fn json(message: &'static str) -> axum::Json<Self> {
        axum::Json(Self { message })
    }
}

impl Status {
    pub fn json(status: &'static str) -> axum::Json<Self> {
        axum::Json(Self { status })
    }
}

impl Done {
    pub fn json(message: &'static str) -> axum::Json<Self> {
        axum::Json(Self {
            status: "success",
            message,
        })
    }
}
