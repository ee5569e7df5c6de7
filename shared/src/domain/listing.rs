//! The admin console's numbered lists: which users or rooms a page shows, in which order.
//! SQLite answers a query in SQL; DynamoDB answers the plain form (no filter, creation order)
//! from its index and the maintained totals, and any other form by reading the index
//! partition and applying `matches` and `order` here. Both must agree (the conformance
//! suite compares them).

use std::cmp::Ordering;

use super::{Access, Provider, Room, UnixTime, User};

/// A numbered admin table's query, as a store answers it: the plain form (no filter, newest
/// first) from an index and a maintained total, any other by `apply` over every row.
pub trait TableQuery {
    type Row;
    fn is_plain(&self) -> bool;
    fn offset(&self) -> u32;
    fn limit(&self) -> u32;
    /// Filters, orders and pages `all`: the page and how many match.
    fn apply(&self, all: Vec<Self::Row>) -> (u64, Vec<Self::Row>);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserSort {
    #[default]
    Created,
    Name,
    Email,
    Provider,
}

impl UserSort {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "createdAt" | "created" => Some(UserSort::Created),
            "name" => Some(UserSort::Name),
            "email" => Some(UserSort::Email),
            "provider" => Some(UserSort::Provider),
            _ => None,
        }
    }
}

/// Which users a page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserQuery {
    /// Lower-case; matched in the name or the email.
    pub text: Option<String>,
    pub provider: Option<Provider>,
    pub access: Option<Access>,
    pub active: Option<bool>,
    pub verified: Option<bool>,
    /// Created at or after.
    pub created_from: Option<UnixTime>,
    /// Created at or before.
    pub created_to: Option<UnixTime>,
    pub guests: bool,
    pub sort: UserSort,
    pub descending: bool,
    pub offset: u32,
    pub limit: u32,
}

impl Default for UserQuery {
    fn default() -> Self {
        Self {
            text: None,
            provider: None,
            access: None,
            active: None,
            verified: None,
            created_from: None,
            created_to: None,
            guests: true,
            sort: UserSort::Created,
            descending: true,
            offset: 0,
            limit: 50,
        }
    }
}

impl UserQuery {
    /// No filter, newest first, guests included: what the store's index order and the
    /// maintained totals answer without reading the whole list.
    pub fn is_plain(&self) -> bool {
        self.text.is_none()
            && self.provider.is_none()
            && self.access.is_none()
            && self.active.is_none()
            && self.verified.is_none()
            && self.created_from.is_none()
            && self.created_to.is_none()
            && self.guests
            && self.sort == UserSort::Created
            && self.descending
    }

    pub fn matches(&self, u: &User) -> bool {
        let email = u.email.as_ref().map(|e| e.as_str()).unwrap_or_default();
        (self.guests || !u.is_guest())
            && self
                .text
                .as_deref()
                .is_none_or(|t| u.name.as_str().to_lowercase().contains(t) || email.contains(t))
            && self.provider.is_none_or(|p| p == u.provider)
            && self.access.is_none_or(|a| u.accesses.contains(&a))
            && self.active.is_none_or(|a| a == u.is_active)
            && self.verified.is_none_or(|v| v == u.email_verified())
            && self.created_from.is_none_or(|t| u.created_at >= t)
            && self.created_to.is_none_or(|t| u.created_at <= t)
    }

    /// Page order; ties fall back to creation, then id, so pages never overlap.
    pub fn order(&self, a: &User, b: &User) -> Ordering {
        let key = match self.sort {
            UserSort::Created => Ordering::Equal,
            UserSort::Name => a
                .name
                .as_str()
                .to_lowercase()
                .cmp(&b.name.as_str().to_lowercase()),
            UserSort::Email => {
                let e = |u: &User| u.email.as_ref().map(|e| e.as_str().to_string());
                e(a).cmp(&e(b))
            }
            UserSort::Provider => a.provider.as_str().cmp(b.provider.as_str()),
        };
        let o = key
            .then(a.created_at.cmp(&b.created_at))
            .then_with(|| a.id.as_str().cmp(b.id.as_str()));
        if self.descending { o.reverse() } else { o }
    }

    /// Filters, orders and pages `all`: the list and its total.
    pub fn apply(&self, all: Vec<User>) -> (u64, Vec<User>) {
        page(
            all,
            |u| self.matches(u),
            |a, b| self.order(a, b),
            self.offset,
            self.limit,
        )
    }
}

impl TableQuery for UserQuery {
    type Row = User;
    fn is_plain(&self) -> bool {
        UserQuery::is_plain(self)
    }
    fn offset(&self) -> u32 {
        self.offset
    }
    fn limit(&self) -> u32 {
        self.limit
    }
    fn apply(&self, all: Vec<User>) -> (u64, Vec<User>) {
        UserQuery::apply(self, all)
    }
}

/// A room's state as admins filter it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomStatus {
    Active,
    Suspended,
    Archived,
}

impl RoomStatus {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(RoomStatus::Active),
            "suspended" => Some(RoomStatus::Suspended),
            "archived" | "deleted" => Some(RoomStatus::Archived),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RoomStatus::Active => "active",
            RoomStatus::Suspended => "suspended",
            RoomStatus::Archived => "archived",
        }
    }

    pub fn of(r: &Room) -> Self {
        match (r.is_active, r.suspended) {
            (false, _) => RoomStatus::Archived,
            (true, true) => RoomStatus::Suspended,
            (true, false) => RoomStatus::Active,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RoomSort {
    #[default]
    Created,
    Name,
    LastActivity,
    Participants,
}

impl RoomSort {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "createdAt" | "created" => Some(RoomSort::Created),
            "name" => Some(RoomSort::Name),
            "lastActivityAt" | "lastActivity" => Some(RoomSort::LastActivity),
            "participantsCount" | "participants" => Some(RoomSort::Participants),
            _ => None,
        }
    }
}

/// Which rooms a page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomQuery {
    /// Lower-case; matched in the name.
    pub text: Option<String>,
    pub status: Option<RoomStatus>,
    pub public: Option<bool>,
    pub sort: RoomSort,
    pub descending: bool,
    pub offset: u32,
    pub limit: u32,
}

impl Default for RoomQuery {
    fn default() -> Self {
        Self {
            text: None,
            status: None,
            public: None,
            sort: RoomSort::Created,
            descending: true,
            offset: 0,
            limit: 50,
        }
    }
}

impl RoomQuery {
    pub fn is_plain(&self) -> bool {
        self.text.is_none()
            && self.status.is_none()
            && self.public.is_none()
            && self.sort == RoomSort::Created
            && self.descending
    }

    pub fn matches(&self, r: &Room) -> bool {
        self.text
            .as_deref()
            .is_none_or(|t| r.name.as_str().to_lowercase().contains(t))
            && self.status.is_none_or(|s| s == RoomStatus::of(r))
            && self.public.is_none_or(|p| p == r.is_public)
    }

    pub fn order(&self, a: &Room, b: &Room) -> Ordering {
        let key = match self.sort {
            RoomSort::Created => Ordering::Equal,
            RoomSort::Name => a.name.as_str().cmp(b.name.as_str()),
            RoomSort::LastActivity => a.last_activity_at.cmp(&b.last_activity_at),
            RoomSort::Participants => a.active_count.cmp(&b.active_count),
        };
        let o = key
            .then(a.created_at.cmp(&b.created_at))
            .then_with(|| a.id.as_str().cmp(b.id.as_str()));
        if self.descending { o.reverse() } else { o }
    }

    pub fn apply(&self, all: Vec<Room>) -> (u64, Vec<Room>) {
        page(
            all,
            |r| self.matches(r),
            |a, b| self.order(a, b),
            self.offset,
            self.limit,
        )
    }
}

fn page<T>(
    all: Vec<T>,
    keep: impl Fn(&T) -> bool,
    order: impl Fn(&T, &T) -> Ordering,
    offset: u32,
    limit: u32,
) -> (u64, Vec<T>) {
    let mut kept: Vec<T> = all.into_iter().filter(|x| keep(x)).collect();
    kept.sort_by(&order);
    let total = kept.len() as u64;
    let items = kept
        .into_iter()
        .skip(offset as usize)
        .take(limit as usize)
        .collect();
    (total, items)
}

impl TableQuery for RoomQuery {
    type Row = Room;
    fn is_plain(&self) -> bool {
        RoomQuery::is_plain(self)
    }
    fn offset(&self) -> u32 {
        self.offset
    }
    fn limit(&self) -> u32 {
        self.limit
    }
    fn apply(&self, all: Vec<Room>) -> (u64, Vec<Room>) {
        RoomQuery::apply(self, all)
    }
}
