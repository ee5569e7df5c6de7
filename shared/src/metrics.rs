//! What the server counts, for `/metrics` on `bedrud run` (Prometheus text, through the
//! `metrics` facade). Nothing is recorded until [`enable`] is called, so a server with metrics
//! off pays one relaxed load per event; without the `metrics` feature (the Lambdas) every
//! function here is empty and compiles away.

use std::time::Duration;

#[cfg(feature = "metrics")]
mod on {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    static ON: AtomicBool = AtomicBool::new(false);

    pub fn enable() {
        ON.store(true, Ordering::Relaxed);
    }

    pub fn enabled() -> bool {
        ON.load(Ordering::Relaxed)
    }

    pub fn request(method: &str, route: &str, status: u16, took: Duration) {
        if !enabled() {
            return;
        }
        let (method, route) = (method.to_string(), route.to_string());
        metrics::counter!("bedrud_http_requests_total", "method" => method.clone(),
            "route" => route.clone(), "status" => status.to_string())
        .increment(1);
        metrics::histogram!("bedrud_http_request_duration_seconds", "method" => method,
            "route" => route)
        .record(took.as_secs_f64());
    }

    pub fn webhook(event: &str, outcome: &'static str) {
        if enabled() {
            metrics::counter!("bedrud_webhook_deliveries_total", "event" => event.to_string(),
                "outcome" => outcome)
            .increment(1);
        }
    }

    pub fn store(backend: &'static str, op: &'static str, took: Duration, ok: bool) {
        if !enabled() {
            return;
        }
        metrics::histogram!("bedrud_store_operation_duration_seconds", "backend" => backend,
            "op" => op)
        .record(took.as_secs_f64());
        if !ok {
            metrics::counter!("bedrud_store_errors_total", "backend" => backend, "op" => op)
                .increment(1);
        }
    }

    pub fn livekit(method: &str, outcome: &'static str) {
        if enabled() {
            metrics::counter!("bedrud_livekit_calls_total", "method" => method.to_string(),
                "outcome" => outcome)
            .increment(1);
        }
    }

    pub fn job(kind: &str, outcome: &'static str) {
        if enabled() {
            metrics::counter!("bedrud_job_attempts_total", "kind" => kind.to_string(),
                "outcome" => outcome)
            .increment(1);
        }
    }

    pub fn join_token(who: &'static str) {
        if enabled() {
            metrics::counter!("bedrud_join_tokens_total", "who" => who).increment(1);
        }
    }
}

#[cfg(feature = "metrics")]
pub use on::{enable, enabled};

/// One HTTP request: its method, route template (never raw ids), status and latency.
#[inline(always)]
pub fn request(method: &str, route: &str, status: u16, took: Duration) {
    #[cfg(feature = "metrics")]
    on::request(method, route, status, took);
    #[cfg(not(feature = "metrics"))]
    let _ = (method, route, status, took);
}

/// One webhook delivery: the event (`unknown` when it did not verify) and what became of it:
/// `applied`, `duplicate`, `refused` (signature or shape) or `failed` (retried by LiveKit).
#[inline(always)]
pub fn webhook(event: &str, outcome: &'static str) {
    #[cfg(feature = "metrics")]
    on::webhook(event, outcome);
    #[cfg(not(feature = "metrics"))]
    let _ = (event, outcome);
}

/// One store operation (`read` or `write`) on a backend, its latency and whether it failed.
#[inline(always)]
pub fn store(backend: &'static str, op: &'static str, took: Duration, ok: bool) {
    #[cfg(feature = "metrics")]
    on::store(backend, op, took, ok);
    #[cfg(not(feature = "metrics"))]
    let _ = (backend, op, took, ok);
}

/// One call to LiveKit's server API: `ok`, `refused` (LiveKit answered an error) or
/// `unreachable`.
#[inline(always)]
pub fn livekit(method: &str, outcome: &'static str) {
    #[cfg(feature = "metrics")]
    on::livekit(method, outcome);
    #[cfg(not(feature = "metrics"))]
    let _ = (method, outcome);
}

/// One job attempt: `done`, `retry` or `dead` (dead-lettered).
#[inline(always)]
pub fn job(kind: &str, outcome: &'static str) {
    #[cfg(feature = "metrics")]
    on::job(kind, outcome);
    #[cfg(not(feature = "metrics"))]
    let _ = (kind, outcome);
}

/// One LiveKit join token minted (`member` or `guest`).
#[inline(always)]
pub fn join_token(who: &'static str) {
    #[cfg(feature = "metrics")]
    on::join_token(who);
    #[cfg(not(feature = "metrics"))]
    let _ = who;
}
