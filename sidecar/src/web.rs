//! What `bedrud run` serves beside the API, as Bedrud does: its built web app from
//! `server.webDir` (files as they are, the app shell for the app's own routes, 404 for a
//! missing asset), or without one a small page saying what this server is and how it is
//! doing. `/health` and `/ready` redirect to their `/api` routes. `/api`, `/livekit` and
//! `/metrics` always reach their own handlers, and only GET and HEAD are served here.

use std::path::Path;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use bedrud_shared::mail::escape_html;
use bedrud_shared::state::AppState;
use serde_json::json;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

/// Prefixes the web side never answers.
const RESERVED: [&str; 3] = ["/api", "/livekit", "/metrics"];

/// File types that are assets: a missing one is a 404, never the app shell (a script tag
/// that receives HTML fails in confusing ways).
const ASSET_EXTENSIONS: [&str; 13] = [
    ".css", ".js", ".mjs", ".map", ".woff", ".woff2", ".ttf", ".ico", ".png", ".jpg", ".jpeg",
    ".svg", ".webp",
];

/// Hashed build output: cached for a year by browsers and proxies.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

pub async fn serve(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let reserved = RESERVED.iter().any(|p| {
        path.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    });
    if reserved || !matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    match path {
        "/health" => return Redirect::temporary("/api/health").into_response(),
        "/ready" => return Redirect::temporary("/api/ready").into_response(),
        _ => {}
    }
    match &state.config.server.web_dir {
        Some(dir) => files(dir, req).await,
        None if path == "/" => landing(&state).await,
        None => next.run(req).await,
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "error": message }))).into_response()
}

/// A request path that would leave the web directory once decoded.
fn escapes(path: &str) -> bool {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    decoded.contains('\\')
        || decoded.contains('\0')
        || decoded.split('/').any(|segment| segment == "..")
}

async fn files(dir: &Path, req: Request) -> Response {
    let path = req.uri().path().to_string();
    if escapes(&path) {
        return error(StatusCode::BAD_REQUEST, "invalid path");
    }
    let lower = path.to_ascii_lowercase();
    let asset =
        lower.starts_with("/assets/") || ASSET_EXTENSIONS.iter().any(|e| lower.ends_with(e));
    let shell = ["shell.html", "index.html"]
        .into_iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file());
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    let res = match shell {
        Some(shell) if !asset => {
            let shell = ServeFile::new(shell)
                .precompressed_br()
                .precompressed_gzip();
            files
                .fallback(shell)
                .oneshot(req)
                .await
                .map(|r| r.map(Body::new))
        }
        _ => files.oneshot(req).await.map(|r| r.map(Body::new)),
    };
    let mut res = match res {
        Ok(res) => res,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &format!("web app: {e}")),
    };
    if res.status() == StatusCode::NOT_FOUND {
        return error(StatusCode::NOT_FOUND, "not found");
    }
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    // The HTML names the hashed assets, so it must be revalidated; the assets never change.
    let cache = if html {
        Some("no-cache")
    } else if lower.starts_with("/assets/") {
        Some(IMMUTABLE)
    } else {
        None
    };
    if let Some(c) = cache {
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(c));
    }
    res
}

/// `/` without a web app: the server's name, version and state in words.
async fn landing(s: &AppState) -> Response {
    let name = match s.settings.current().await {
        Ok(current) => current.server_name.clone(),
        Err(_) => s.config.server.name.clone(),
    };
    let store = match s.stores.health.ping().await {
        Ok(()) => "answering".to_string(),
        Err(e) => format!("failing: {e}"),
    };
    let livekit = match s.admin.livekit_status().await {
        Ok(st) if st.connected => format!("connected ({}, {})", st.mode, st.host),
        Ok(st) => format!(
            "not reachable ({}, {}): {}",
            st.mode,
            st.host,
            st.health.error.or(st.api.error).unwrap_or_default()
        ),
        Err(e) => format!("unknown: {e}"),
    };
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{name}</title></head>\n<body style=\"font-family: sans-serif; max-width: 40em; \
         margin: 3em auto; line-height: 1.5\">\n<h1>{name}</h1>\n\
         <p>Bedrud meeting server {version}. This address serves the API; the web app is served \
         here when <code>server.webDir</code> names its build.</p>\n<ul>\n\
         <li>Database: {store}</li>\n<li>LiveKit: {livekit}</li>\n</ul>\n\
         <p><a href=\"/api/health\">/api/health</a> · <a href=\"/api/ready\">/api/ready</a> · \
         <a href=\"/api/auth/settings\">/api/auth/settings</a></p>\n</body></html>\n",
        name = escape_html(&name),
        version = env!("CARGO_PKG_VERSION"),
        store = escape_html(&store),
        livekit = escape_html(&livekit),
    );
    let mut res = Html(page).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}
