//! Bedrud's application core, shared by every Lambda and by the all-in-one sidecar.
//!
//! Layers, lowest first; a module uses its own layer and those below, never one above, and no
//! two modules use each other (`tests/tests/it/module_graph.rs` checks both):
//!
//! 0. `error`: the application error and the adapters' error.
//! 1. `domain`: validated types and the pure rules (policy, standing, presence, sessions).
//! 2. `config`, `telemetry`, `metrics`.
//! 3. Ports and adapters: `store` (SQLite, DynamoDB), `queue`, `blobs`, `livekit` (server API,
//!    tokens, webhook verification), `mail`, `ratelimit`, `aws`, `secrets`, `outbound` (the
//!    HTTPS client), `oauth` (sign-in providers), `webauthn` (passkey ceremonies).
//! 4. Services, one per capability: `settings`, `auth`, `passkeys`, `accounts`, `rooms`, `moderation`, `attendance`,
//!    `webhooks`, `reconciler`, `recordings`, `participants`, `admin`, `admin_actions`,
//!    `dashboard`.
//! 5. `state`: the services assembled once per process.
//! 6. `http` (one router per capability, every handler through a service), `worker`,
//!    `runtime` (the sidecar's and the tests' assembly).
//! 7. `lambda`: one function's wiring.

pub mod accounts;
pub mod admin;
pub mod admin_actions;
pub mod attendance;
pub mod auth;
#[cfg(feature = "aws")]
pub mod aws;
pub mod blobs;
pub mod config;
pub mod dashboard;
pub mod domain;
pub mod error;
pub mod http;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod livekit;
pub mod mail;
pub mod metrics;
pub mod moderation;
pub mod oauth;
pub mod outbound;
pub mod participants;
pub mod passkeys;
pub mod queue;
pub mod ratelimit;
pub mod reconciler;
pub mod recordings;
pub mod rooms;
pub mod runtime;
#[cfg(feature = "aws")]
pub mod secrets;
pub mod settings;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod webauthn;
pub mod webhooks;
pub mod worker;

pub use error::{Error, Result};
pub use state::AppState;
