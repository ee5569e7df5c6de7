//! What LiveKit's reports of a connection do to a member's seat. One rule for every store
//! adapter and for both sources of reports (webhooks and the reconciler).

use super::{Member, UnixTime};

/// What a presence report does to a member as stored: `Some((active, seat change))` to write
/// (activity after, and +1 / -1 / 0 on the room's seat count), or `None` to ignore it: older
/// than what the store knows, a duplicate, or a leave of a connection that is not the
/// member's current one. A leave of someone not seated is still written (inactive, with its
/// time), so a `joined` that arrives after it but happened before it is refused. One rule
/// for every adapter.
pub fn presence_change(
    m: Option<&Member>,
    joined: bool,
    session: &str,
    at: UnixTime,
) -> Option<(bool, i64)> {
    let seen_at = m.map_or(0, |m| m.seen_at);
    let active = m.is_some_and(|m| m.is_active);
    let current = m.and_then(|m| m.session.as_deref());
    if at < seen_at {
        return None;
    }
    if joined {
        if active && current == Some(session) {
            return None;
        }
        return Some((true, if active { 0 } else { 1 }));
    }
    if !active {
        let news = current != Some(session) || at > seen_at || m.is_none();
        return news.then_some((false, 0));
    }
    // A leave ends the current connection; with none recorded (the join event was lost) it
    // must be newer than the seat taken since.
    let ends_current = current == Some(session) || (current.is_none() && at > seen_at);
    ends_current.then_some((false, -1))
}
