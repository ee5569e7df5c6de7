//! The sidecar: serves every Bedrud router on one port over the embedded store.

pub mod acme;
pub mod admin;
pub mod aws_init;
pub mod doctor;
pub mod front;
pub mod harden;
pub mod import;
pub mod livekit_config;
pub mod livekit_proxy;
pub mod metrics;
pub mod recorder;
pub mod run;
pub mod supervisor;
pub mod tls;
pub mod web;

use std::process::ExitCode;

/// Runs `f` on a multi-threaded Tokio runtime; a runtime that cannot start is reported and
/// exits non-zero.
pub fn block_on<F: std::future::Future<Output = ExitCode>>(f: F) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(f),
        Err(e) => {
            eprintln!("bedrud: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}
