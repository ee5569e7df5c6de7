//! Workspace integration tests (black-box HTTP, both stores, Lambda handlers, the template).
//! One binary for the crate's integration tests (linking is most of a test build on two
//! cores); `large_recording` stays apart because it measures this process's peak memory.

mod accounts_api;
mod admin_api;
mod admin_console;
mod admin_dashboards;
mod admin_lists;
mod auth_api;
mod auth_api_dynamodb;
mod blobs;
mod conformance;
mod cors;
mod dynamodb_items;
mod events;
mod front_door;
mod imported_passwords;
mod join_tokens;
mod lambda_admin;
mod lambda_auth;
mod lambda_mail;
mod lambda_recordings;
mod lambda_rooms;
mod livekit_double;
mod meeting_extras;
mod metrics_emf;
mod moderation_api;
mod module_graph;
mod oauth_api;
mod oldest_shapes;
mod openapi;
mod passkeys_api;
mod queue;
mod recordings_api;
mod request_ids;
mod rooms_api;
mod secrets;
mod security_api;
mod template_routes;
mod webhooks_api;
