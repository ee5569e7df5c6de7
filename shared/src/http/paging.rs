//! Numbered pages, as Bedrud's list routes take them: `?page=` (from 1) and `?limit=`. A
//! limit over the route's cap is served as the cap (the web asks for 1000 and pages in the
//! browser; `total` tells it the real count); zero, negatives and junk are refused.

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: u32,
    pub limit: u32,
}

impl Paging {
    pub fn parse(page: Option<&str>, limit: Option<&str>, default: u32, cap: u32) -> Result<Self> {
        let number = |name: &str, raw: Option<&str>, default: u32| -> Result<u32> {
            match raw.map(str::trim).filter(|v| !v.is_empty()) {
                None => Ok(default),
                Some(v) => v
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .map(|n| n.min(u64::from(u32::MAX)) as u32)
                    .ok_or_else(|| {
                        Error::bad_request(format!("{name} must be a whole number from 1"))
                    }),
            }
        };
        Ok(Self {
            page: number("page", page, 1)?,
            limit: number("limit", limit, default)?.min(cap),
        })
    }

    /// Items before this page.
    pub fn offset(&self) -> u32 {
        (self.page - 1).saturating_mul(self.limit)
    }
}

/// A `YYYY-MM-DD` query value as the start of that UTC day; junk is a 400 naming `name`.
pub fn date(name: &str, raw: Option<&str>) -> Result<Option<i64>> {
    let Some(v) = raw.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let bad = || Error::bad_request(format!("{name} must be a date as YYYY-MM-DD"));
    let parts: Vec<&str> = v.split('-').collect();
    let [y, m, d] = parts[..] else {
        return Err(bad());
    };
    let (y, m, d) = (
        y.parse::<i32>().map_err(|_| bad())?,
        m.parse::<u8>().map_err(|_| bad())?,
        d.parse::<u8>().map_err(|_| bad())?,
    );
    let month = time::Month::try_from(m).map_err(|_| bad())?;
    let day = time::Date::from_calendar_date(y, month, d).map_err(|_| bad())?;
    Ok(Some(day.midnight().assume_utc().unix_timestamp()))
}

/// A query string as a typed struct, its failure a 400 naming the problem.
pub fn query<T: DeserializeOwned>(q: std::result::Result<Query<T>, QueryRejection>) -> Result<T> {
    q.map(|Query(v)| v)
        .map_err(|e| Error::bad_request(format!("bad query: {}", e.body_text())))
}

/// The envelope every numbered list answers with, beside its items.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PageInfo {
    pub total: u64,
    pub page: u32,
    pub limit: u32,
}

impl PageInfo {
    pub fn new(total: u64, p: Paging) -> Self {
        Self {
            total,
            page: p.page,
            limit: p.limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_capped_and_junk_refused() {
        let p = Paging::parse(Some("3"), Some("1000"), 20, 100).unwrap();
        assert_eq!((p.page, p.limit, p.offset()), (3, 100, 200));
        assert_eq!(Paging::parse(None, None, 20, 100).unwrap().limit, 20);
        assert_eq!(date("d", Some("2026-12-01")).unwrap(), Some(1_796_083_200));
        assert_eq!(date("d", Some(" ")).unwrap(), None);
        for bad in ["2026-13-01", "2026-02-30", "yesterday", "2026-1"] {
            assert!(date("d", Some(bad)).is_err(), "{bad}");
        }
        for bad in ["0", "-1", "x", "1.5"] {
            assert!(Paging::parse(Some(bad), None, 20, 100).is_err(), "{bad}");
            assert!(Paging::parse(None, Some(bad), 20, 100).is_err(), "{bad}");
        }
    }
}
