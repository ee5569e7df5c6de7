//! The OpenAPI 3.1 description of the API (`GET /api/openapi.json`) and a page that reads
//! it (`GET /api/docs`, no CDN). The description is generated from the handlers'
//! annotations and the views' own types ([`document`], feature `openapi`, which the tests
//! turn on) and checked in as `docs/openapi.json`; both shapes serve that file, so no Lambda
//! carries the generator, and a test fails when the file and the code differ.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::state::AppState;

/// The checked-in description, byte for byte what [`document`] prints.
pub const DOCUMENT: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json"));

const PAGE: &str = include_str!("openapi.html");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/docs", get(docs_page))
}

#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "This description", content_type = "application/json"))))]
async fn openapi_json() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        DOCUMENT,
    )
}

#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/docs", tag = "meta",
    responses((status = 200, description = "A page listing the operations", content_type = "text/html"))))]
async fn docs_page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
            // Its own script and style only; nothing from elsewhere.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
            ),
        ],
        PAGE,
    )
}

/// Every error's body: `error` first (what the clients read), `requestId` on 5xx,
/// `retryAfter` (seconds) on some 429s.
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
#[schema(as = Error)]
struct ErrorBody {
    error: String,
    #[schema(rename = "requestId")]
    request_id: Option<String>,
    #[schema(rename = "retryAfter")]
    retry_after: Option<u64>,
}

/// The whole description: every module's operations, the error body as every operation's
/// `default` answer, and the bearer scheme.
#[cfg(feature = "openapi")]
pub fn document() -> utoipa::openapi::OpenApi {
    use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    use utoipa::{OpenApi, PartialSchema};

    #[derive(OpenApi)]
    #[openapi(
        info(
            title = "Bedrud API",
            description = "Accounts, rooms, join tokens, moderation, recordings and the admin console of a LiveKit meeting platform. Served the same by `bedrud run` and the AWS functions."
        ),
        paths(openapi_json, docs_page)
    )]
    struct Root;

    let mut doc = Root::openapi();
    for part in [
        super::health::Api::openapi(),
        super::auth::Api::openapi(),
        super::oauth::Api::openapi(),
        super::passkeys::Api::openapi(),
        super::accounts::Api::openapi(),
        super::rooms::Api::openapi(),
        super::join::Api::openapi(),
        super::moderation::Api::openapi(),
        super::participants::Api::openapi(),
        super::recordings::Api::openapi(),
        super::webhook::Api::openapi(),
        super::admin::Api::openapi(),
        super::admin_users::Api::openapi(),
        super::admin_actions::Api::openapi(),
        super::admin_lists::Api::openapi(),
        super::admin_settings::Api::openapi(),
        super::admin_dashboard::Api::openapi(),
    ] {
        doc.merge(part);
    }

    let components = doc.components.get_or_insert_with(Default::default);
    components
        .schemas
        .insert("Error".into(), ErrorBody::schema());
    let mut bearer = Http::new(HttpAuthScheme::Bearer);
    bearer.bearer_format = Some("JWT".into());
    components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
    components.responses.insert(
        "Error".into(),
        RefOr::T(
            ResponseBuilder::new()
                .description("Refused or failed: a 4xx or 5xx with `{\"error\": …}`")
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Error")))
                        .build(),
                )
                .build(),
        ),
    );
    let error_content = || {
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Error")))
            .build()
    };
    let mut ids = std::collections::BTreeSet::new();
    for (path, item) in doc.paths.paths.iter_mut() {
        let ops = [
            ("get", &mut item.get),
            ("put", &mut item.put),
            ("post", &mut item.post),
            ("delete", &mut item.delete),
            ("patch", &mut item.patch),
        ];
        for (method, op) in ops {
            let Some(op) = op.as_mut() else { continue };
            // Handler names repeat across modules (`list`, `status`); the route does not.
            let id = operation_id(method, path);
            assert!(ids.insert(id.clone()), "two operations are {id}");
            op.operation_id = Some(id);
            for (code, answer) in op.responses.responses.iter_mut() {
                let RefOr::T(answer) = answer else { continue };
                let status = code
                    .parse()
                    .ok()
                    .and_then(|c| axum::http::StatusCode::from_u16(c).ok());
                if answer.description.is_empty() {
                    let reason = status
                        .and_then(|s| s.canonical_reason())
                        .unwrap_or("Answer");
                    answer.description = reason.into();
                }
                // Every refusal carries `{"error": …}`, whether or not its line says so.
                if status.is_some_and(|s| s.is_client_error() || s.is_server_error())
                    && answer.content.is_empty()
                {
                    answer
                        .content
                        .insert("application/json".into(), RefOr::T(error_content()));
                }
            }
            op.responses
                .responses
                .entry("default".into())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name("Error")));
        }
    }
    doc
}

/// `post /api/room/{room_id}/kick/{identity}` → `postRoomByRoomIdKickByIdentity`.
#[cfg(feature = "openapi")]
fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_string();
    let capitalised = |w: &str| {
        let mut c = w.chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect::<String>())
            .unwrap_or_default()
    };
    for segment in path.trim_start_matches("/api/").split('/') {
        let (by, words) = match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(param) => ("By", param),
            None => ("", segment),
        };
        id.push_str(by);
        for w in words.split(['-', '_', '.']) {
            id.push_str(&capitalised(w));
        }
    }
    id
}

/// The description as the checked-in file holds it (pretty JSON, one trailing newline).
#[cfg(feature = "openapi")]
pub fn document_text() -> String {
    let mut text = document()
        .to_pretty_json()
        .expect("the description serialises");
    text.push('\n');
    text
}
