//! The admin console's dashboards: the overview (health, KPIs with their deltas, a 30-day
//! trend, room composition, what needs attention, recent sign-ups and room events) and the
//! job queue. Every number comes from the maintained tallies, a keyed index, LiveKit's own
//! room list or the queue's counts: nothing here reads all users or rooms.

use std::sync::Arc;

use crate::admin::LiveKitStatus;
use crate::domain::{
    EventQuery, Metric, RoomEvent, Scope, Tallies, UnixTime, User, UserQuery, now,
};
use crate::error::Result;
use crate::queue::{QueueDepth, QueueWatch};
use crate::settings::Settings;
use crate::store::Stores;

/// A room with no join and no meeting start for this long is stale.
pub const STALE_SECS: UnixTime = 48 * 3600;
const TREND_DAYS: u32 = 30;
const RECENT: u32 = 8;

/// One KPI: its value and, where it has one, how it moved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kpi {
    pub value: i64,
    pub delta: Option<i64>,
    pub delta_label: Option<&'static str>,
    pub delta_percent: Option<i64>,
    pub active_now: Option<i64>,
}

impl Kpi {
    fn grew(value: i64, delta: i64, label: &'static str) -> Self {
        let before = value - delta;
        Self {
            value,
            delta: Some(delta),
            delta_label: Some(label),
            delta_percent: (before > 0).then(|| delta * 100 / before),
            active_now: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kpis {
    pub total_users: Kpi,
    pub online_now: Kpi,
    pub total_rooms: Kpi,
    pub active_sessions: Kpi,
    pub pending_actions: Kpi,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayActivity {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    pub rooms_created: i64,
    /// Meetings started that day.
    pub rooms_active: i64,
    /// Connections to meetings that day.
    pub participants: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Composition {
    /// Active rooms open for meetings (not suspended).
    pub live: i64,
    pub public: i64,
    pub private: i64,
    pub persistent: i64,
    /// Active rooms with no activity for `STALE_SECS`.
    pub stale: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// Something an operator should look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attention {
    pub kind: &'static str,
    pub severity: Severity,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// `healthy`, `degraded` (LiveKit unreachable or jobs dead-lettered) or `down` (store).
    pub status: &'static str,
    pub store_ok: bool,
    pub livekit_ok: bool,
    pub uptime_secs: i64,
}

#[derive(Debug, Clone)]
pub struct Overview {
    pub health: Health,
    pub kpis: Kpis,
    pub trend: Vec<DayActivity>,
    pub composition: Composition,
    pub attention: Vec<Attention>,
    pub signups: Vec<User>,
    pub events: Vec<RoomEvent>,
    pub server_name: String,
    pub started_at: UnixTime,
}

/// The queue as the queue page shows it.
#[derive(Debug, Clone)]
pub struct QueueReport {
    pub depth: QueueDepth,
    pub done_24h: i64,
    pub failed_24h: i64,
    pub done_last_hour: i64,
    pub failed_last_hour: i64,
}

/// What the store-backed half of the overview reads.
struct Counts {
    tallies: Tallies,
    stale: u64,
    signups: Vec<User>,
    events: Vec<RoomEvent>,
}

pub struct Dashboard {
    stores: Stores,
    queue: Option<Arc<dyn QueueWatch>>,
    settings: Arc<Settings>,
    started_at: UnixTime,
}

impl Dashboard {
    pub fn new(
        stores: &Stores,
        queue: Option<Arc<dyn QueueWatch>>,
        settings: Arc<Settings>,
    ) -> Self {
        Self {
            stores: stores.clone(),
            queue,
            settings,
            started_at: now(),
        }
    }

    async fn counts(&self, t: UnixTime) -> Result<Counts> {
        let mut scopes = vec![Scope::all()];
        scopes.extend(Scope::last_days(t, TREND_DAYS));
        let signups = UserQuery {
            guests: false,
            limit: RECENT,
            ..Default::default()
        };
        let events = EventQuery {
            kind: None,
            text: None,
            from: 0,
            to: t + 86_400,
            offset: 0,
            limit: RECENT,
        };
        let (tallies, stale, signups, events) = tokio::try_join!(
            self.stores.admin()?.tallies(&scopes),
            self.stores.admin()?.stale_rooms(t - STALE_SECS),
            self.stores.admin()?.user_table(&signups),
            self.stores.admin()?.room_events(&events),
        )?;
        Ok(Counts {
            tallies,
            stale,
            signups: signups.items,
            events: events.items,
        })
    }

    /// The overview, beside LiveKit's status as the admin probe found it. A store that does
    /// not answer is reported (health `down`), not raised: the page still shows why.
    pub async fn overview(&self, lk: &LiveKitStatus) -> Result<Overview> {
        let t = now();
        let (counts, queue, settings) = tokio::join!(
            self.counts(t),
            self.queue_report(t),
            self.settings.current()
        );
        let server_name = settings.map(|s| s.server_name.clone()).unwrap_or_default();
        let store_ok = counts.is_ok();
        let counts = counts.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "overview: the store did not answer");
            Counts {
                tallies: Tallies::default(),
                stale: 0,
                signups: Vec::new(),
                events: Vec::new(),
            }
        });
        let c = &counts.tallies;
        let days = Scope::last_days(t, TREND_DAYS);
        let week = &days[days.len() - 7..];
        let today = Scope::day(t);
        let yesterday = Scope::day(t - 86_400);
        let live_rooms = lk.rooms.as_ref().map(Vec::len).unwrap_or(0) as i64;
        let in_meetings: i64 = lk
            .rooms
            .iter()
            .flatten()
            .map(|r| i64::from(r.num_participants))
            .sum();

        let mut attention = Vec::new();
        let mut note = |kind, severity, message: String| {
            attention.push(Attention {
                kind,
                severity,
                message,
            })
        };
        if !store_ok {
            note(
                "store",
                Severity::Error,
                "The store is not answering".into(),
            );
        }
        if !lk.connected {
            let why = lk.api.error.clone().or(lk.health.error.clone());
            let message = match why {
                Some(w) => format!("LiveKit is not reachable: {w}"),
                None => "LiveKit is not reachable".into(),
            };
            note("livekit", Severity::Error, message);
        }
        if let Some(w) = &lk.warning {
            note("webhooks", Severity::Warning, w.clone());
        }
        if let Ok(q) = &queue {
            if q.depth.dead > 0 {
                note(
                    "dead_jobs",
                    Severity::Error,
                    format!("{} background jobs failed for good", q.depth.dead),
                );
            }
            if q.failed_24h > 0 {
                note(
                    "failed_jobs",
                    Severity::Warning,
                    format!("{} job attempts failed in the last 24 hours", q.failed_24h),
                );
            }
        }
        if counts.stale > 0 {
            note(
                "stale_room",
                Severity::Info,
                format!(
                    "{} rooms have had no activity for {} hours",
                    counts.stale,
                    STALE_SECS / 3600
                ),
            );
        }
        let urgent = attention
            .iter()
            .filter(|a| a.severity != Severity::Info)
            .count() as i64;

        let active_rooms = c.total(Metric::ActiveRooms);
        let kpis = Kpis {
            total_users: Kpi::grew(
                c.total(Metric::Users),
                c.sum(week, Metric::Signups),
                "this week",
            ),
            online_now: Kpi {
                value: in_meetings,
                ..Default::default()
            },
            total_rooms: Kpi {
                active_now: Some(live_rooms),
                ..Kpi::grew(active_rooms, c.sum(week, Metric::RoomsCreated), "this week")
            },
            active_sessions: Kpi {
                value: c.get(&today, Metric::Joins),
                delta: Some(c.get(&today, Metric::Joins) - c.get(&yesterday, Metric::Joins)),
                delta_label: Some("joins today vs yesterday"),
                delta_percent: None,
                active_now: Some(in_meetings),
            },
            pending_actions: Kpi {
                value: urgent,
                ..Default::default()
            },
        };
        let trend = days
            .iter()
            .map(|d| DayActivity {
                date: d.as_str().trim_start_matches('D').to_string(),
                rooms_created: c.get(d, Metric::RoomsCreated),
                rooms_active: c.get(d, Metric::Meetings),
                participants: c.get(d, Metric::Joins),
            })
            .collect();
        let public = c.total(Metric::PublicRooms);
        let composition = Composition {
            live: active_rooms - c.total(Metric::SuspendedRooms),
            public,
            private: active_rooms - public,
            persistent: c.total(Metric::PersistentRooms),
            stale: counts.stale as i64,
        };
        let degraded = !lk.connected || queue.as_ref().is_ok_and(|q| q.depth.dead > 0);
        Ok(Overview {
            health: Health {
                status: match (store_ok, degraded) {
                    (false, _) => "down",
                    (true, true) => "degraded",
                    (true, false) => "healthy",
                },
                store_ok,
                livekit_ok: lk.connected,
                uptime_secs: t - self.started_at,
            },
            kpis,
            trend,
            composition,
            attention,
            signups: counts.signups,
            events: counts.events,
            server_name,
            started_at: self.started_at,
        })
    }

    /// The queue's depth from the queue itself, and what finished or failed from the hourly
    /// tallies the job runners keep.
    pub async fn queue_report(&self, t: UnixTime) -> Result<QueueReport> {
        let hours = Scope::last_hours(t, 24);
        let depth = async {
            match &self.queue {
                Some(q) => q.depth(t).await,
                None => Ok(QueueDepth::default()),
            }
        };
        let (depth, tallies) = tokio::try_join!(depth, self.stores.admin()?.tallies(&hours))?;
        let last = std::slice::from_ref(&hours[hours.len() - 1]);
        Ok(QueueReport {
            depth,
            done_24h: tallies.sum(&hours, Metric::JobsDone),
            failed_24h: tallies.sum(&hours, Metric::JobsFailed),
            done_last_hour: tallies.sum(last, Metric::JobsDone),
            failed_last_hour: tallies.sum(last, Metric::JobsFailed),
        })
    }
}
