//! The reconciler case of the conformance suite: with every webhook dropped, one pass makes
//! the store agree with what LiveKit (the double) reports, and a second pass changes nothing.

use std::sync::Arc;

use bedrud_shared::domain::{DisplayName, Room, UserId, now};
use bedrud_shared::livekit::twirp::TwirpLiveKit;
use bedrud_shared::reconciler::{GRACE_SECS, Reconciler, Report};
use bedrud_shared::store::{MemberChange, Occupy, Seen, Stores};
use livekit_protocol::TrackSource;

use crate::conformance_rooms::room;
use crate::livekit_double::LiveKitDouble;
use crate::{TEST_LK_KEY, TEST_LK_SECRET};

async fn seat(s: &Stores, r: &Room, user: &UserId, at: i64) {
    let name = DisplayName::parse("Sam", 50).unwrap();
    let got = s.rooms.occupy(r, None, user, &name, at).await.unwrap();
    assert_eq!(got, Occupy::Joined);
}

/// Frees the member's seat as a `participant_left` would.
async fn leave(s: &Stores, r: &Room, user: &UserId, at: i64) {
    let left = Seen::Left { session: "PA_old" };
    assert!(s.rooms.seen(r, user, left, at).await.unwrap().changed());
}

async fn active(s: &Stores, r: &Room) -> Vec<(String, Option<String>)> {
    let mut v: Vec<_> = s
        .rooms
        .active_members(r)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.user_id.to_string(), m.session))
        .collect();
    v.sort();
    v
}

pub async fn reconciler_converges_on_livekits_view(s: &Stores) {
    let lk = LiveKitDouble::start(TEST_LK_KEY, TEST_LK_SECRET).await;
    let client = TwirpLiveKit::new(&lk.url, TEST_LK_KEY, TEST_LK_SECRET, false).unwrap();
    let reconciler = Reconciler::new(s, Arc::new(client));
    let t = now();
    let old = t - GRACE_SECS - 60;
    let owner = UserId::new_account();
    let (live, quiet) = (room(&owner, 0), room(&owner, 0));
    let mut closed = room(&owner, 0);
    closed.is_public = false;
    let full = room(&owner, 1);
    for r in [&live, &quiet, &closed, &full] {
        s.rooms.create_room(r, None).await.unwrap();
    }
    let [a, b, d, e, f, g, x, y, p, q] = std::array::from_fn(|_| UserId::new_account());
    // Seats as the join API left them; every webhook about them was lost.
    seat(s, &live, &a, old).await; // connected
    seat(s, &live, &b, old).await; // never connected: stale
    seat(s, &live, &d, t).await; // joined a moment ago, still connecting
    seat(s, &live, &e, old).await; // its seat freed, then connected on its old token
    leave(s, &live, &e, old + 1).await;
    seat(s, &quiet, &f, old).await; // a room with no meeting at all
    s.rooms
        .change_member(&live, &g, &MemberChange::Ban, old)
        .await
        .unwrap();
    // A private room: y was admitted (an earlier join), x never was.
    seat(s, &closed, &y, old).await;
    leave(s, &closed, &y, old + 1).await;
    // A room of one seat: q's seat went to p meanwhile.
    seat(s, &full, &q, old).await;
    leave(s, &full, &q, old + 1).await;
    seat(s, &full, &p, old + 2).await;
    let (lr, cr, fr) = (
        live.livekit_name(),
        closed.livekit_name(),
        full.livekit_name(),
    );
    lk.connect(&lr, a.as_str(), &[TrackSource::Microphone]);
    lk.connect(&lr, e.as_str(), &[]);
    lk.connect(&lr, g.as_str(), &[]); // banned, still connected
    lk.connect(&lr, "EG_recorder", &[]); // not one of ours
    lk.connect(&cr, y.as_str(), &[]);
    lk.connect(&cr, x.as_str(), &[]); // nobody let them in
    lk.connect(&fr, p.as_str(), &[]);
    lk.connect(&fr, q.as_str(), &[]); // no seat left for them
    // An earlier room of the same name: not this room's meeting.
    let earlier = format!("{}.{}", live.name, bedrud_shared::domain::RoomId::new());
    lk.connect(&earlier, d.as_str(), &[]);
    let sid = |room: &str, user: &UserId| lk.participant(room, user.as_str()).unwrap().sid;
    let (sid_a, sid_e) = (sid(&lr, &a), sid(&lr, &e));

    let report = reconciler.run_at(t).await.unwrap();
    assert_eq!(
        report,
        Report {
            live_rooms: 3,
            joined: 2, // e, y; g (banned), x (not admitted) and q (full) removed again
            freed: 2,  // b's stale seat, f's in the room without a meeting
            egress: 0,
        }
    );
    for (room, who) in [(&lr, &g), (&cr, &x), (&fr, &q)] {
        assert!(
            lk.participant(room, who.as_str()).is_none(),
            "{who} removed"
        );
    }
    assert!(lk.participant(&cr, y.as_str()).is_some());
    let stranger = s.rooms.member(&closed, &x).await.unwrap();
    assert!(
        !stranger.is_some_and(|m| m.admitted || m.is_active),
        "a connection nobody admitted never becomes membership"
    );
    assert_eq!(
        s.rooms.room(&full.id).await.unwrap().unwrap().active_count,
        1
    );
    let mut want = vec![
        (a.to_string(), Some(sid_a)),
        (d.to_string(), None),
        (e.to_string(), Some(sid_e)),
    ];
    want.sort();
    assert_eq!(active(s, &live).await, want);
    let after = s.rooms.room(&live.id).await.unwrap().unwrap();
    assert_eq!(after.active_count, 3);
    assert!(after.live_sid.is_some(), "the meeting's sid is recorded");
    let q = s.rooms.room(&quiet.id).await.unwrap().unwrap();
    assert_eq!((q.active_count, active(s, &quiet).await.len()), (0, 0));
    let busy = s.rooms.busy_rooms(100, None).await.unwrap().items;
    assert!(
        busy.iter().all(|r| r.id != quiet.id),
        "settled rooms leave the busy set"
    );
    assert!(busy.iter().any(|r| r.id == live.id));

    // Converged: a second pass changes nothing.
    let again = reconciler.run_at(t).await.unwrap();
    assert_eq!((again.joined, again.freed), (0, 0));
    // LiveKit unreachable: an error, and nothing freed.
    lk.fail(crate::livekit_double::Failure::all(503, "unavailable"));
    assert!(reconciler.run_at(t + 3600).await.is_err());
    assert_eq!(
        s.rooms.room(&live.id).await.unwrap().unwrap().active_count,
        3
    );
}
