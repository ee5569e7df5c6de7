//! Reading one Bedrud column in any of the shapes its two variants and two databases write:
//! booleans as 1/0 or true/false, timestamps with the server's offset and up to nanoseconds
//! (the zero time meaning unset), roles as `{a,b}` text or a real array.
//! NULL reads like the zero value, as GORM's upgrades leave it.

use serde_json::Value;
use time::{Date, PrimitiveDateTime, Time, macros::format_description};

use super::source::Row;

/// A column read from one row, for messages that name it.
pub struct Field<'a> {
    pub name: &'static str,
    value: Option<&'a Value>,
}

pub fn field<'a>(row: &'a Row, name: &'static str) -> Field<'a> {
    Field {
        name,
        value: row.get(name).filter(|v| !v.is_null()),
    }
}

impl Field<'_> {
    /// Why a value Bedrud's own code would never have written is refused, and the fix.
    fn corrupt(&self, what: String) -> String {
        format!(
            "{}: {what} (correct the row in Bedrud, then run again)",
            self.name
        )
    }

    /// Text, `None` for NULL or empty.
    pub fn text(&self) -> Option<String> {
        match self.value? {
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// A boolean; NULL (a column added by an upgrade) reads as `default`.
    pub fn flag(&self, default: bool) -> Result<bool, String> {
        match self.value {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::Number(n)) => Ok(n.as_f64() != Some(0.0)),
            Some(Value::String(s)) => match s.as_str() {
                "1" | "t" | "true" | "TRUE" => Ok(true),
                "0" | "f" | "false" | "FALSE" | "" => Ok(false),
                other => Err(self.corrupt(format!("not a boolean: {other:?}"))),
            },
            Some(other) => Err(self.corrupt(format!("not a boolean: {other}"))),
        }
    }

    pub fn int(&self) -> Result<Option<i64>, String> {
        match self.value {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.corrupt(format!("not a whole number: {n}"))),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| self.corrupt(format!("not a whole number: {s:?}"))),
            Some(other) => Err(self.corrupt(format!("not a whole number: {other}"))),
        }
    }

    /// Bytes from PostgreSQL's JSON spelling of `bytea` (`\\x` + hex), which SQLite blobs are
    /// read as too; `None` for NULL or empty.
    pub fn bytes(&self) -> Result<Option<Vec<u8>>, String> {
        let Some(text) = self.text() else {
            return Ok(None);
        };
        let bad = || self.corrupt(format!("not bytes: {text:?}"));
        let hex = text.strip_prefix("\\x").ok_or_else(bad)?;
        if hex.len() % 2 != 0 {
            return Err(bad());
        }
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad()))
            .collect::<Result<Vec<_>, _>>()
            .map(|b| (!b.is_empty()).then_some(b))
    }

    /// Seconds since the epoch; `None` for NULL, empty or Go's zero time.
    pub fn time(&self) -> Result<Option<i64>, String> {
        match self.text() {
            None => Ok(None),
            Some(s) => parse_time(&s).map_err(|()| self.corrupt(format!("not a timestamp: {s:?}"))),
        }
    }

    /// The items of a Postgres-array text (`{superadmin,user}`) or a real array.
    pub fn list(&self) -> Vec<String> {
        match self.value {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            Some(Value::String(s)) => s
                .trim()
                .trim_start_matches('{')
                .trim_end_matches('}')
                .split(',')
                .map(|x| x.trim().trim_matches('"').to_string())
                .filter(|x| !x.is_empty())
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Bedrud's timestamp spellings: `2006-01-02 15:04:05.999999999-07:00` (SQLite, trailing zeros
/// trimmed), `2006-01-02T15:04:05.5+00:00` (PostgreSQL JSON), with `Z`, `±hh`, `±hhmm` or no
/// offset (UTC). `Ok(None)` for the zero time GORM writes for "unset".
pub fn parse_time(raw: &str) -> Result<Option<i64>, ()> {
    let s = raw.trim();
    let (date, rest) = s.split_at_checked(10).ok_or(())?;
    let rest = rest.strip_prefix(['T', ' ']).ok_or(())?;
    let date = Date::parse(date, format_description!("[year]-[month]-[day]")).map_err(|_| ())?;
    let cut = rest.find(['+', '-', 'Z', ' ']).unwrap_or(rest.len());
    let (clock, offset) = rest.split_at(cut);
    let clock = clock.split('.').next().unwrap_or_default();
    let clock =
        Time::parse(clock, format_description!("[hour]:[minute]:[second]")).map_err(|_| ())?;
    let offset = offset_seconds(offset.trim())?;
    if date.year() <= 1 {
        return Ok(None);
    }
    Ok(Some(
        PrimitiveDateTime::new(date, clock)
            .assume_utc()
            .unix_timestamp()
            - offset,
    ))
}

fn offset_seconds(raw: &str) -> Result<i64, ()> {
    // A trailing zone name (`+0000 UTC`) adds nothing the offset does not say.
    let raw = raw.split(' ').next().unwrap_or_default();
    if raw.is_empty() || raw == "Z" {
        return Ok(0);
    }
    let (sign, digits) = match raw.split_at(1) {
        ("+", d) => (1, d),
        ("-", d) => (-1, d),
        _ => return Err(()),
    };
    let digits: String = digits.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(());
    }
    let (h, m) = match digits.len() {
        2 => (&digits[..2], "0"),
        4 => (&digits[..2], &digits[2..]),
        _ => return Err(()),
    };
    let (h, m): (i64, i64) = (h.parse().map_err(|_| ())?, m.parse().map_err(|_| ())?);
    Ok(sign * (h * 3600 + m * 60))
}
