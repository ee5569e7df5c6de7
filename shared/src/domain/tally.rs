//! What the admin dashboards count, kept as things happen rather than counted on demand:
//! the store adds a change's tally in the same atomic write as the change, so the numbers
//! are exact under concurrency and cost one read to show.
//!
//! Two kinds of metric. A *state* metric says how many things are in a state now (users,
//! active rooms…): each user and room contributes to some, and a write moves the totals by
//! the difference between the thing's contribution after and before it. An *event* metric
//! counts what happened in a day or an hour (sign-ups, meetings, joins, jobs).

use time::OffsetDateTime;

use super::{Room, UnixTime, User};

/// One counted quantity. The name is how both stores spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// Accounts that are not guests.
    Users,
    Guests,
    /// Every room ever created (archived ones included).
    Rooms,
    ActiveRooms,
    /// Active rooms anyone may enter.
    PublicRooms,
    /// Active rooms with the `isPersistent` switch.
    PersistentRooms,
    /// Active rooms an admin suspended.
    SuspendedRooms,
    /// Per day: accounts (not guests) created.
    Signups,
    /// Per day: rooms created.
    RoomsCreated,
    /// Per day: LiveKit meetings started.
    Meetings,
    /// Per day: connections to meetings.
    Joins,
    /// Per hour: background jobs that finished.
    JobsDone,
    /// Per hour: background job attempts that failed.
    JobsFailed,
}

impl Metric {
    pub const ALL: [Metric; 13] = [
        Metric::Users,
        Metric::Guests,
        Metric::Rooms,
        Metric::ActiveRooms,
        Metric::PublicRooms,
        Metric::PersistentRooms,
        Metric::SuspendedRooms,
        Metric::Signups,
        Metric::RoomsCreated,
        Metric::Meetings,
        Metric::Joins,
        Metric::JobsDone,
        Metric::JobsFailed,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Metric::Users => "users",
            Metric::Guests => "guests",
            Metric::Rooms => "rooms",
            Metric::ActiveRooms => "activeRooms",
            Metric::PublicRooms => "publicRooms",
            Metric::PersistentRooms => "persistentRooms",
            Metric::SuspendedRooms => "suspendedRooms",
            Metric::Signups => "signups",
            Metric::RoomsCreated => "roomsCreated",
            Metric::Meetings => "meetings",
            Metric::Joins => "joins",
            Metric::JobsDone => "jobsDone",
            Metric::JobsFailed => "jobsFailed",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// Where a metric is kept: the totals, one UTC day, or one UTC hour. Rendered as the store
/// key: `ALL`, `D2026-12-01`, `H2026-12-01T13`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope(String);

impl Scope {
    pub fn all() -> Self {
        Self("ALL".into())
    }

    pub fn day(t: UnixTime) -> Self {
        Self(format!("D{}", day(t)))
    }

    pub fn hour(t: UnixTime) -> Self {
        let d = utc(t);
        Self(format!("H{}T{:02}", day(t), d.hour()))
    }

    /// The `days` days up to and including the one holding `t`, oldest first.
    pub fn last_days(t: UnixTime, days: u32) -> Vec<Self> {
        (0..i64::from(days))
            .rev()
            .map(|back| Self::day(t - back * 86_400))
            .collect()
    }

    /// The `hours` hours up to and including the one holding `t`, oldest first.
    pub fn last_hours(t: UnixTime, hours: u32) -> Vec<Self> {
        (0..i64::from(hours))
            .rev()
            .map(|back| Self::hour(t - back * 3_600))
            .collect()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn from_key(key: &str) -> Self {
        Self(key.to_string())
    }
}

fn utc(t: UnixTime) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(t).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `YYYY-MM-DD` of the UTC day holding `t`.
pub fn day(t: UnixTime) -> String {
    let d = utc(t);
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// The start of the UTC day holding `t`.
pub fn day_start(t: UnixTime) -> UnixTime {
    t - t.rem_euclid(86_400)
}

/// Signed changes to metrics in scopes: what one write adds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally(Vec<(Scope, Metric, i64)>);

impl Tally {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(mut self, scope: &Scope, metric: Metric, n: i64) -> Self {
        if n == 0 {
            return self;
        }
        match self
            .0
            .iter_mut()
            .find(|(s, m, _)| s == scope && *m == metric)
        {
            Some((_, _, v)) => *v += n,
            None => self.0.push((scope.clone(), metric, n)),
        }
        self.0.retain(|(_, _, v)| *v != 0);
        self
    }

    pub fn and(mut self, other: Tally) -> Self {
        for (s, m, n) in other.0 {
            self = self.add(&s, m, n);
        }
        self
    }

    pub fn changes(&self) -> &[(Scope, Metric, i64)] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The scopes this tally touches, each once.
    pub fn scopes(&self) -> Vec<&Scope> {
        let mut out: Vec<&Scope> = Vec::new();
        for (s, _, _) in &self.0 {
            if !out.contains(&s) {
                out.push(s);
            }
        }
        out
    }

    /// What moves the totals when a user goes from `before` to `after` (`None`: does not
    /// exist). A new account also counts as a sign-up on the day it was created.
    pub fn user(before: Option<&User>, after: Option<&User>) -> Self {
        let state = |u: &User| {
            if u.is_guest() {
                Metric::Guests
            } else {
                Metric::Users
            }
        };
        let mut t = Tally::new();
        if let Some(u) = before {
            t = t.add(&Scope::all(), state(u), -1);
        }
        if let Some(u) = after {
            t = t.add(&Scope::all(), state(u), 1);
            if before.is_none() && !u.is_guest() {
                t = t.add(&Scope::day(u.created_at), Metric::Signups, 1);
            }
        }
        t
    }

    /// What a user's write adds when the user was stored before tallies existed (so the
    /// totals do not hold it yet): the whole state after the write, no history.
    pub fn user_untallied(after: Option<&User>) -> Self {
        let mut t = Tally::user(None, after);
        t.0.retain(|(_, m, _)| *m != Metric::Signups);
        t
    }

    /// The same for a room stored before tallies existed.
    pub fn room_untallied(after: Option<&Room>) -> Self {
        let mut t = Tally::room(None, after);
        t.0.retain(|(_, m, _)| *m != Metric::RoomsCreated);
        t
    }

    /// What moves the totals when a room goes from `before` to `after`; a new room also
    /// counts as created on its day.
    pub fn room(before: Option<&Room>, after: Option<&Room>) -> Self {
        let mut t = Tally::new();
        if let Some(r) = before {
            t = t.and(room_state(r, -1));
        }
        if let Some(r) = after {
            t = t.and(room_state(r, 1));
            if before.is_none() {
                t = t.add(&Scope::day(r.created_at), Metric::RoomsCreated, 1);
            }
        }
        t
    }
}

fn room_state(r: &Room, sign: i64) -> Tally {
    let all = Scope::all();
    let mut t = Tally::new().add(&all, Metric::Rooms, sign);
    if r.is_active {
        t = t.add(&all, Metric::ActiveRooms, sign);
        if r.is_public {
            t = t.add(&all, Metric::PublicRooms, sign);
        }
        if r.settings.is_persistent {
            t = t.add(&all, Metric::PersistentRooms, sign);
        }
        if r.suspended {
            t = t.add(&all, Metric::SuspendedRooms, sign);
        }
    }
    t
}

/// Metric values as read, by scope; absent means zero.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tallies(std::collections::BTreeMap<(Scope, Metric), i64>);

impl Tallies {
    pub fn set(&mut self, scope: Scope, metric: Metric, n: i64) {
        *self.0.entry((scope, metric)).or_default() += n;
    }

    pub fn get(&self, scope: &Scope, metric: Metric) -> i64 {
        self.0.get(&(scope.clone(), metric)).copied().unwrap_or(0)
    }

    pub fn total(&self, metric: Metric) -> i64 {
        self.get(&Scope::all(), metric)
    }

    /// The sum of `metric` over `scopes`.
    pub fn sum(&self, scopes: &[Scope], metric: Metric) -> i64 {
        scopes.iter().map(|s| self.get(s, metric)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{RoomName, UserId};

    #[test]
    fn scopes_are_utc_days_and_hours() {
        // 2026-12-01T23:30:00Z
        let t = 1_796_167_800;
        assert_eq!(Scope::day(t).as_str(), "D2026-12-01");
        assert_eq!(Scope::hour(t).as_str(), "H2026-12-01T23");
        assert_eq!(day_start(t), 1_796_083_200);
        let days = Scope::last_days(t, 3);
        let names: Vec<_> = days.iter().map(Scope::as_str).collect();
        assert_eq!(names, ["D2026-11-29", "D2026-11-30", "D2026-12-01"]);
        assert_eq!(Scope::last_hours(t, 2)[0].as_str(), "H2026-12-01T22");
    }

    #[test]
    fn a_room_contributes_by_state() {
        let mut r = Room::new(
            RoomName::parse("abc-defg-hij").unwrap(),
            UserId::new_account(),
            0,
        );
        let created = Tally::room(None, Some(&r));
        let all = Scope::all();
        let want = Tally::new()
            .add(&all, Metric::Rooms, 1)
            .add(&all, Metric::ActiveRooms, 1)
            .add(&Scope::day(0), Metric::RoomsCreated, 1);
        assert_eq!(created, want);
        let before = r.clone();
        r.is_public = true;
        assert_eq!(
            Tally::room(Some(&before), Some(&r)),
            Tally::new().add(&all, Metric::PublicRooms, 1)
        );
        let public = r.clone();
        r.is_active = false;
        assert_eq!(
            Tally::room(Some(&public), Some(&r)),
            Tally::new()
                .add(&all, Metric::ActiveRooms, -1)
                .add(&all, Metric::PublicRooms, -1)
        );
        assert!(Tally::room(Some(&r), Some(&r)).is_empty());
    }

    #[test]
    fn metric_names_round_trip() {
        for m in Metric::ALL {
            assert_eq!(Metric::parse(m.name()), Some(m));
        }
    }
}
