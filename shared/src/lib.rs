//! Bedrud's application core, shared by every Lambda and by the all-in-one sidecar.
//!
//! Layers: `domain` (validated types) ← `auth` (flows) ← `store` / `ratelimit` (ports and
//! adapters) ← `http` (routers). `config`, `telemetry` and `runtime` wire a process.

pub mod admin;
pub mod attendance;
pub mod auth;
#[cfg(feature = "aws")]
pub mod aws;
pub mod blobs;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod livekit;
pub mod moderation;
pub mod queue;
pub mod ratelimit;
pub mod reconciler;
pub mod recordings;
pub mod rooms;
pub mod runtime;
#[cfg(feature = "aws")]
pub mod secrets;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod webhooks;
pub mod worker;

pub use error::{Error, Result};
pub use state::AppState;
