//! CORS from `cors:` (tower-http's layer) for the socket server: off unless origins are
//! listed. On AWS the HTTP API answers preflights itself (the template's `CorsConfiguration`).

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::CorsConfig;

/// Methods the API uses, when `cors.allowedMethods` is empty.
const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
];

/// The layer, or `None` when CORS is off. Values were validated with the configuration;
/// one that still does not parse is skipped.
pub fn layer(c: &CorsConfig) -> Option<CorsLayer> {
    if !c.enabled() {
        return None;
    }
    let origins = if c.allowed_origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            c.allowed_origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok()),
        )
    };
    let methods: Vec<Method> = if c.allowed_methods.is_empty() {
        METHODS.to_vec()
    } else {
        c.allowed_methods
            .iter()
            .filter_map(|m| m.trim().to_ascii_uppercase().parse().ok())
            .collect()
    };
    let headers: Vec<HeaderName> = if c.allowed_headers.is_empty() {
        vec![
            axum::http::header::CONTENT_TYPE,
            axum::http::header::AUTHORIZATION,
        ]
    } else {
        c.allowed_headers
            .iter()
            .filter_map(|h| h.trim().to_ascii_lowercase().parse().ok())
            .collect()
    };
    Some(
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods(methods)
            .allow_headers(headers)
            .allow_credentials(c.allow_credentials)
            .expose_headers([HeaderName::from_static(super::request_id::HEADER)])
            .max_age(Duration::from_secs(c.max_age.as_secs())),
    )
}
