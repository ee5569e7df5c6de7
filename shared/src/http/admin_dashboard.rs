//! `/api/admin/overview`, `queue`, `online-count` and `cert-info`: the dashboards in the
//! shapes the web (every 60 s and 10 s) and iOS (every 30 s) poll them.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use super::admin_lists::{EventView, SignupView};
use super::bearer::AdminCaller;
use super::rfc3339;
use crate::dashboard::{Attention, DayActivity, Kpi, Overview, QueueReport};
use crate::domain::now;
use crate::error::Result;
use crate::queue::JobFailure;
use crate::state::AppState;

#[cfg(feature = "openapi")]
#[derive(utoipa::OpenApi)]
#[openapi(paths(overview, queue, online_count, cert_info))]
pub(super) struct Api;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/admin/overview", get(overview))
        .route("/api/admin/online-count", get(online_count))
        .route("/api/admin/cert-info", get(cert_info))
}

/// The queue page: on AWS its own function, the one that reads SQS.
pub fn queue_routes() -> Router<AppState> {
    Router::new().route("/api/admin/queue", get(queue))
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct KpiView {
    value: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    delta: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delta_label: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delta_percent: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    active_now: Option<i64>,
}

impl From<&Kpi> for KpiView {
    fn from(k: &Kpi) -> Self {
        Self {
            value: k.value,
            delta: k.delta,
            delta_label: k.delta_label,
            delta_percent: k.delta_percent,
            active_now: k.active_now,
        }
    }
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct HealthView {
    status: &'static str,
    /// This server terminates no TLS itself (a proxy, or API Gateway on AWS, does).
    tls: Option<()>,
    realtime: &'static str,
    db_status: &'static str,
    alerts_count: usize,
    uptime_seconds: i64,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct KpisView {
    total_users: KpiView,
    online_now: KpiView,
    total_rooms: KpiView,
    active_sessions: KpiView,
    pending_actions: KpiView,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct DayView {
    date: String,
    rooms_created: i64,
    rooms_active: i64,
    participants: i64,
}

impl From<&DayActivity> for DayView {
    fn from(d: &DayActivity) -> Self {
        Self {
            date: d.date.clone(),
            rooms_created: d.rooms_created,
            rooms_active: d.rooms_active,
            participants: d.participants,
        }
    }
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct CompositionView {
    live: i64,
    public: i64,
    private: i64,
    persistent: i64,
    stale: i64,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct AttentionView {
    #[serde(rename = "type")]
    kind: &'static str,
    severity: &'static str,
    message: String,
}

impl From<&Attention> for AttentionView {
    fn from(a: &Attention) -> Self {
        Self {
            kind: a.kind,
            severity: a.severity.as_str(),
            message: a.message.clone(),
        }
    }
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct InstanceView {
    name: String,
    version: &'static str,
    uptime_seconds: i64,
    started_at: String,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct OverviewView {
    health: HealthView,
    kpis: KpisView,
    activity_trend: Vec<DayView>,
    room_composition: CompositionView,
    needs_attention: Vec<AttentionView>,
    recent_signups: Vec<SignupView>,
    recent_room_events: Vec<EventView>,
    instance_info: InstanceView,
}

impl From<&Overview> for OverviewView {
    fn from(o: &Overview) -> Self {
        let k = &o.kpis;
        let c = &o.composition;
        Self {
            health: HealthView {
                status: o.health.status,
                tls: None,
                realtime: if o.health.livekit_ok {
                    "connected"
                } else {
                    "disconnected"
                },
                db_status: if o.health.store_ok {
                    "connected"
                } else {
                    "error"
                },
                alerts_count: o.attention.len(),
                uptime_seconds: o.health.uptime_secs,
            },
            kpis: KpisView {
                total_users: KpiView::from(&k.total_users),
                online_now: KpiView::from(&k.online_now),
                total_rooms: KpiView::from(&k.total_rooms),
                active_sessions: KpiView::from(&k.active_sessions),
                pending_actions: KpiView::from(&k.pending_actions),
            },
            activity_trend: o.trend.iter().map(DayView::from).collect(),
            room_composition: CompositionView {
                live: c.live,
                public: c.public,
                private: c.private,
                persistent: c.persistent,
                stale: c.stale,
            },
            needs_attention: o.attention.iter().map(AttentionView::from).collect(),
            recent_signups: o.signups.iter().map(SignupView::from).collect(),
            recent_room_events: o.events.iter().map(EventView::from).collect(),
            instance_info: InstanceView {
                name: o.server_name.clone(),
                version: env!("CARGO_PKG_VERSION"),
                uptime_seconds: o.health.uptime_secs,
                started_at: rfc3339(o.started_at),
            },
        }
    }
}

#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/admin/overview", tag = "admin", security(("bearer" = [])), description = "The console's first page: KPIs, days, health, what needs attention.",
    responses((status = 200, body = OverviewView))))]
async fn overview(State(s): State<AppState>, _: AdminCaller) -> Result<Json<OverviewView>> {
    let lk = s.admin.livekit_status().await?;
    let o = s.dashboard.overview(&lk).await?;
    Ok(Json(OverviewView::from(&o)))
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct FailureView {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    error: String,
    attempts: u32,
    /// Seconds since the failure.
    age: i64,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct QueueView {
    pending: u64,
    active: u64,
    dead: u64,
    done24h: i64,
    failed24h: i64,
    total: u64,
    processed_per_min: f64,
    failed_per_min: f64,
    fail_rate: f64,
    /// Seconds the oldest waiting job has waited (where the queue can tell).
    oldest_pending: Option<i64>,
    recent_failures: Vec<FailureView>,
}

fn queue_view(q: &QueueReport, t: i64) -> QueueView {
    let d = &q.depth;
    let attempts = q.done_24h + q.failed_24h;
    QueueView {
        pending: d.pending,
        active: d.active,
        dead: d.dead,
        done24h: q.done_24h,
        failed24h: q.failed_24h,
        total: d.pending + d.active + d.dead,
        processed_per_min: q.done_last_hour as f64 / 60.0,
        failed_per_min: q.failed_last_hour as f64 / 60.0,
        fail_rate: if attempts > 0 {
            q.failed_24h as f64 / attempts as f64
        } else {
            0.0
        },
        oldest_pending: d.oldest_pending.map(|at| (t - at).max(0)),
        recent_failures: d
            .recent_failures
            .iter()
            .map(|f: &JobFailure| FailureView {
                id: f.id.clone(),
                kind: f.kind.clone(),
                error: f.error.clone(),
                attempts: f.attempts,
                age: (t - f.at).max(0),
            })
            .collect(),
    }
}

#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/admin/queue", tag = "admin", security(("bearer" = [])), description = "Job queue depth, attempts and failures.",
    responses((status = 200, body = QueueView))))]
async fn queue(State(s): State<AppState>, _: AdminCaller) -> Result<Json<QueueView>> {
    let t = now();
    let report = s.dashboard.queue_report(t).await?;
    Ok(Json(queue_view(&report, t)))
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct OnlineCount {
    count: u64,
}

/// How many are connected to meetings now, by LiveKit's own count (iOS polls it).
#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/admin/online-count", tag = "admin", security(("bearer" = [])), responses((status = 200, body = OnlineCount))))]
async fn online_count(State(s): State<AppState>, _: AdminCaller) -> Result<Json<OnlineCount>> {
    let rooms = s.admin.livekit_stats().await?;
    Ok(Json(OnlineCount {
        count: rooms.iter().map(|r| u64::from(r.num_participants)).sum(),
    }))
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct CertInfo {
    enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    days_remaining: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_after: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Days before expiry from which the console shows a certificate as expiring.
const EXPIRING_DAYS: i64 = 30;

/// The certificate this server serves HTTPS with (the appliance's), as Bedrud's console
/// reads it; `{enabled:false}` where a proxy or API Gateway terminates TLS. A certificate on
/// disk that does not load answers 503 (the previous one still serves).
#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/api/admin/cert-info", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = CertInfo), (status = 503, description = "The certificate on disk does not load", body = CertInfo))))]
async fn cert_info(State(s): State<AppState>, _: AdminCaller) -> Response {
    let Some(c) = s.admin.certificate() else {
        let off = CertInfo {
            enabled: false,
            status: None,
            days_remaining: None,
            not_after: None,
            error: None,
        };
        return Json(off).into_response();
    };
    let days = (c.not_after - now()).div_euclid(86_400);
    let status = match (&c.error, days) {
        (Some(_), _) => "error",
        (None, d) if d < 0 => "expired",
        (None, d) if d <= EXPIRING_DAYS => "expiring",
        _ => "valid",
    };
    let info = CertInfo {
        enabled: true,
        status: Some(status),
        days_remaining: Some(days),
        not_after: Some(rfc3339(c.not_after)),
        error: c.error.clone(),
    };
    let code = if c.error.is_some() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (code, Json(info)).into_response()
}
