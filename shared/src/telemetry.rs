//! Logging: JSON lines inside Lambda (CloudWatch parses them), readable lines elsewhere.
//! `RUST_LOG` wins over the configured level. The readable format is built only with the
//! embedded shape (`bedrud run`): the Lambdas log JSON and do not carry it.

use std::io::IsTerminal;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{LogFormat, LoggerConfig};

/// `RUST_LOG` or `level`: a level (`info`) or `target=level` directives (`bedrud_shared=debug,info`).
/// `Targets` rather than `EnvFilter`: no span or regex directives, and no regex engine in every
/// Lambda binary.
fn filter(level: &str) -> Targets {
    std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .or_else(|| level.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO))
}

/// Readable lines for a terminal.
#[cfg(feature = "embedded")]
fn text(
    builder: tracing_subscriber::fmt::SubscriberBuilder<
        tracing_subscriber::fmt::format::DefaultFields,
        tracing_subscriber::fmt::format::Format,
        tracing::level_filters::LevelFilter,
        fn() -> std::io::Stderr,
    >,
    filter: Targets,
) -> Result<(), tracing_subscriber::util::TryInitError> {
    builder
        .compact()
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .finish()
        .with(filter)
        .try_init()
}

#[cfg(not(feature = "embedded"))]
fn text<B>(_: B, _: Targets) -> Result<(), tracing_subscriber::util::TryInitError> {
    unreachable!("the readable format is only built with the embedded shape")
}

/// Installs the subscriber for `logger`: its level (or `RUST_LOG`) and format.
pub fn init(logger: &LoggerConfig) {
    let filter = filter(&logger.level);
    // `fmt()` alone keeps its own INFO ceiling under any filter layered on it: open it fully
    // and let `filter` decide, or `debug` would show nothing below INFO.
    let builder = tracing_subscriber::fmt()
        .with_max_level(tracing::level_filters::LevelFilter::TRACE)
        .with_writer(std::io::stderr as fn() -> std::io::Stderr);
    let lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let json = match logger.format {
        Some(f) => f == LogFormat::Json,
        None => lambda || !std::io::stderr().is_terminal(),
    };
    // The request span carries the request id onto every JSON line.
    let result = if json && lambda {
        // CloudWatch timestamps each line itself.
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .without_time()
            .with_ansi(false)
            .finish()
            .with(filter)
            .try_init()
    } else if json || cfg!(not(feature = "embedded")) {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_ansi(false)
            .finish()
            .with(filter)
            .try_init()
    } else {
        text(builder, filter)
    };
    // A second init (tests, embedding) keeps the first subscriber.
    let _ = result;
}
