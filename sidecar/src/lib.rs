//! The sidecar: serves every Bedrud router on one port over the embedded store.

pub mod aws_init;
pub mod run;
