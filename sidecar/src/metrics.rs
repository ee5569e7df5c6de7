//! `/metrics` in Prometheus's text format (`metrics.enabled`): the counters and histograms the
//! shared code records (requests, webhooks, store, LiveKit calls, jobs, join tokens), the
//! supervised programs' phases, and, read at each scrape, the job queue's depth and LiveKit's
//! participants. Served on `metrics.listen` alone, or on the API port behind
//! `metrics.token`; never open on the public port.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bedrud_shared::domain::now;
use bedrud_shared::state::AppState;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sha2::{Digest, Sha256};

/// Latency buckets (seconds): sub-millisecond store reads up to slow LiveKit calls.
const BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// How often recorded histogram samples are folded into their buckets. Between scrapes they
/// queue up as raw samples: without this, memory grows with traffic until the next scrape
/// (73 MiB after a minute of webhook load with nobody scraping; measured in
/// docs/benchmarks.md).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// How long a scrape waits for LiveKit's participant count.
const LIVEKIT_WAIT: Duration = Duration::from_secs(2);

pub struct Exporter {
    handle: PrometheusHandle,
    state: AppState,
    /// SHA-256 of `metrics.token` when `/metrics` shares the API port.
    token: Option<[u8; 32]>,
}

impl Exporter {
    /// Installs the process's recorder when metrics are on.
    pub fn install(state: &AppState) -> Result<Option<Arc<Self>>, String> {
        let m = &state.config.metrics;
        if !m.enabled {
            return Ok(None);
        }
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
            .map_err(|e| e.to_string())?
            .install_recorder()
            .map_err(|e| format!("metrics: {e}"))?;
        bedrud_shared::metrics::enable();
        let upkeep = handle.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(UPKEEP_EVERY);
            loop {
                tick.tick().await;
                upkeep.run_upkeep();
            }
        });
        Ok(Some(Arc::new(Self {
            handle,
            state: state.clone(),
            token: m.token.as_ref().map(|t| digest(t.expose())),
        })))
    }

    /// The exposition: scrape-time gauges first, then everything recorded.
    pub async fn render(&self) -> String {
        if let Some(watch) = &self.state.media.watch
            && let Ok(d) = watch.depth(now()).await
        {
            for (state, n) in [
                ("pending", d.pending),
                ("active", d.active),
                ("dead", d.dead),
            ] {
                metrics::gauge!("bedrud_jobs", "state" => state).set(n as f64);
            }
        }
        let live = tokio::time::timeout(LIVEKIT_WAIT, self.state.admin.livekit_stats()).await;
        match live {
            Ok(Ok(rooms)) => {
                let seats: u64 = rooms.iter().map(|r| u64::from(r.num_participants)).sum();
                metrics::gauge!("bedrud_livekit_up").set(1.0);
                metrics::gauge!("bedrud_meeting_participants").set(seats as f64);
                metrics::gauge!("bedrud_meeting_rooms").set(rooms.len() as f64);
            }
            _ => metrics::gauge!("bedrud_livekit_up").set(0.0),
        }
        self.handle.render()
    }

    /// `/metrics` on its own listener (`metrics.listen`): loopback or a private network.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/metrics", get(scrape))
            .with_state(self)
    }

    fn allowed(&self, req: &Request) -> bool {
        let Some(want) = &self.token else {
            return false;
        };
        req.headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|got| digest(got.trim()) == *want)
    }
}

/// Compared as digests, so the comparison's time says nothing about the token.
fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

async fn scrape(State(exporter): State<Arc<Exporter>>) -> Response {
    exposition(exporter.render().await)
}

fn exposition(body: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// Middleware on the API port: `GET /metrics` with `Authorization: Bearer <metrics.token>`.
/// Without metrics on the API port, `/metrics` falls through to the API's 404.
pub async fn on_api_port(
    State(exporter): State<Option<Arc<Exporter>>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(exporter) = exporter.filter(|e| e.token.is_some()) else {
        return next.run(req).await;
    };
    if req.uri().path() != "/metrics" || req.method() != Method::GET {
        return next.run(req).await;
    }
    if !exporter.allowed(&req) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            axum::Json(
                serde_json::json!({ "error": "metrics need the bearer token (metrics.token)" }),
            ),
        )
            .into_response();
    }
    exposition(exporter.render().await)
}
