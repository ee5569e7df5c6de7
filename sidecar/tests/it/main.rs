//! The `bedrud` binary and its supervisor, tested from outside.
//! One binary for the crate's integration tests: linking is most of a test build on two cores.

mod acme;
mod bedrud_config;
mod doctor;
mod import;
mod livekit_config;
mod livekit_proxy;
mod mail;
mod metrics;
mod pebble;
mod recorder;
mod run_binary;
mod supervisor;
mod tls;
mod web;
