//! What the server counts: for `/metrics` on `bedrud run` (Prometheus text, through the
//! `metrics` facade, feature `metrics`), and inside Lambda as CloudWatch Embedded Metric
//! Format lines on stdout (feature `lambda`: no SDK call, nothing waited for; CloudWatch Logs
//! turns each line into metrics). Nothing is recorded until one of them is enabled, so a
//! server with metrics off pays a relaxed load per event; with neither feature every function
//! here is empty and compiles away.

use std::time::Duration;

#[cfg(feature = "metrics")]
mod on {
    use std::sync::atomic::{AtomicBool, Ordering};

    static ON: AtomicBool = AtomicBool::new(false);

    pub fn enable() {
        ON.store(true, Ordering::Relaxed);
    }

    pub fn enabled() -> bool {
        ON.load(Ordering::Relaxed)
    }

    fn labels(pairs: &[(&'static str, &str)]) -> Vec<metrics::Label> {
        pairs
            .iter()
            .map(|(k, v)| metrics::Label::new(*k, v.to_string()))
            .collect()
    }

    pub fn count(name: &'static str, pairs: &[(&'static str, &str)]) {
        if enabled() {
            metrics::counter!(name, labels(pairs)).increment(1);
        }
    }

    pub fn observe(name: &'static str, pairs: &[(&'static str, &str)], seconds: f64) {
        if enabled() {
            metrics::histogram!(name, labels(pairs)).record(seconds);
        }
    }
}

#[cfg(feature = "metrics")]
pub use on::{enable, enabled};

/// CloudWatch Embedded Metric Format: each measurement one JSON line whose `_aws` block names
/// the namespace, the dimension sets and the metrics found at the line's root.
#[cfg(feature = "lambda")]
mod emf {
    use std::io::Write;
    use std::sync::{Mutex, OnceLock};

    struct Sink {
        namespace: String,
        out: Mutex<Box<dyn Write + Send>>,
    }

    static SINK: OnceLock<Sink> = OnceLock::new();

    pub fn on() -> bool {
        SINK.get().is_some()
    }

    pub fn enable(namespace: &str, out: Box<dyn Write + Send>) {
        let _ = SINK.set(Sink {
            namespace: namespace.to_string(),
            out: Mutex::new(out),
        });
    }

    /// One line: `metrics` (name, unit, value) under each of `sets` (dimension names taken
    /// from `dims`, which are all written at the root). Written by hand rather than through
    /// `serde_json::Value`: a fraction of the code in every function's binary.
    pub fn emit(metrics: &[(&str, &str, f64)], sets: &[&[&str]], dims: &[(&str, &str)]) {
        use std::fmt::Write as _;
        let Some(sink) = SINK.get() else { return };
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let mut line =
            format!("{{\"_aws\":{{\"Timestamp\":{millis},\"CloudWatchMetrics\":[{{\"Namespace\":");
        quoted(&mut line, &sink.namespace);
        line.push_str(",\"Dimensions\":[");
        for (i, set) in sets.iter().enumerate() {
            line.push_str(if i == 0 { "[" } else { ",[" });
            for (j, name) in set.iter().enumerate() {
                if j > 0 {
                    line.push(',');
                }
                quoted(&mut line, name);
            }
            line.push(']');
        }
        line.push_str("],\"Metrics\":[");
        for (i, (name, unit, _)) in metrics.iter().enumerate() {
            line.push_str(if i == 0 { "{\"Name\":" } else { ",{\"Name\":" });
            quoted(&mut line, name);
            line.push_str(",\"Unit\":");
            quoted(&mut line, unit);
            line.push('}');
        }
        line.push_str("]}]}");
        for (k, v) in dims {
            line.push(',');
            quoted(&mut line, k);
            line.push(':');
            quoted(&mut line, v);
        }
        for (name, _, value) in metrics {
            line.push(',');
            quoted(&mut line, name);
            let _ = write!(line, ":{}", if value.is_finite() { *value } else { 0.0 });
        }
        line.push_str("}\n");
        let mut out = sink.out.lock().unwrap_or_else(|p| p.into_inner());
        let _ = out.write_all(line.as_bytes());
    }

    /// A JSON string (serde_json's escaping).
    fn quoted(line: &mut String, s: &str) {
        line.push_str(&serde_json::to_string(s).unwrap_or_default());
    }
}

/// Emits every measurement as an EMF line in `namespace`, to stdout (CloudWatch Logs) or, in
/// tests, to `out`.
#[cfg(feature = "lambda")]
pub fn enable_emf(namespace: &str, out: Option<Box<dyn std::io::Write + Send>>) {
    emf::enable(
        namespace,
        out.unwrap_or_else(|| Box::new(std::io::stdout())),
    );
}

/// One HTTP request: its method, route template (never raw ids), status and latency.
#[inline(always)]
pub fn request(method: &str, route: &str, status: u16, took: Duration) {
    #[cfg(feature = "metrics")]
    if on::enabled() {
        let status = status.to_string();
        let pairs = [
            ("method", method),
            ("route", route),
            ("status", status.as_str()),
        ];
        on::count("bedrud_http_requests_total", &pairs);
        on::observe(
            "bedrud_http_request_duration_seconds",
            &pairs[..2],
            took.as_secs_f64(),
        );
    }
    #[cfg(feature = "lambda")]
    if emf::on() {
        emf::emit(
            &[
                ("Requests", "Count", 1.0),
                ("Latency", "Milliseconds", took.as_secs_f64() * 1000.0),
            ],
            &[&["Route", "Status"]],
            &[
                ("Method", method),
                ("Route", route),
                ("Status", &status.to_string()),
            ],
        );
    }
    let _ = (method, route, status, took);
}

/// One webhook delivery: the event (`unknown` when it did not verify) and what became of it:
/// `applied`, `duplicate`, `refused` (signature or shape) or `failed` (retried by LiveKit).
#[inline(always)]
pub fn webhook(event: &str, outcome: &'static str) {
    #[cfg(feature = "metrics")]
    on::count(
        "bedrud_webhook_deliveries_total",
        &[("event", event), ("outcome", outcome)],
    );
    #[cfg(feature = "lambda")]
    emf::emit(
        &[("WebhookDeliveries", "Count", 1.0)],
        &[&["Outcome"], &["Event", "Outcome"]],
        &[("Event", event), ("Outcome", outcome)],
    );
    let _ = (event, outcome);
}

/// One store operation (`read` or `write`) on a backend, its latency and whether it failed.
#[inline(always)]
pub fn store(backend: &'static str, op: &'static str, took: Duration, ok: bool) {
    #[cfg(feature = "metrics")]
    {
        let pairs = [("backend", backend), ("op", op)];
        on::observe(
            "bedrud_store_operation_duration_seconds",
            &pairs,
            took.as_secs_f64(),
        );
        if !ok {
            on::count("bedrud_store_errors_total", &pairs);
        }
    }
    let _ = (backend, op, took, ok);
}

/// One call to LiveKit's server API: `ok`, `refused` (LiveKit answered an error) or
/// `unreachable`.
#[inline(always)]
pub fn livekit(method: &str, outcome: &'static str) {
    #[cfg(feature = "metrics")]
    on::count(
        "bedrud_livekit_calls_total",
        &[("method", method), ("outcome", outcome)],
    );
    #[cfg(feature = "lambda")]
    emf::emit(
        &[("LiveKitCalls", "Count", 1.0)],
        &[&["Method", "Outcome"]],
        &[("Method", method), ("Outcome", outcome)],
    );
    let _ = (method, outcome);
}

/// One job attempt: `done`, `retry` or `dead` (dead-lettered).
#[inline(always)]
pub fn job(kind: &str, outcome: &'static str) {
    #[cfg(feature = "metrics")]
    on::count(
        "bedrud_job_attempts_total",
        &[("kind", kind), ("outcome", outcome)],
    );
    #[cfg(feature = "lambda")]
    emf::emit(
        &[("JobAttempts", "Count", 1.0)],
        &[&["Kind", "Outcome"]],
        &[("Kind", kind), ("Outcome", outcome)],
    );
    let _ = (kind, outcome);
}

/// One LiveKit join token minted (`member` or `guest`).
#[inline(always)]
pub fn join_token(who: &'static str) {
    #[cfg(feature = "metrics")]
    on::count("bedrud_join_tokens_total", &[("who", who)]);
    #[cfg(feature = "lambda")]
    emf::emit(
        &[("JoinTokens", "Count", 1.0)],
        &[&["Who"]],
        &[("Who", who)],
    );
    let _ = who;
}
