//! The reconciler case of the conformance suite: with every webhook dropped, one pass makes
//! the store agree with what LiveKit (the double) reports, and a second pass changes nothing.

use std::sync::Arc;

use bedrud_shared::domain::{DisplayName, Room, UserId, now};
use bedrud_shared::livekit::twirp::TwirpLiveKit;
use bedrud_shared::reconciler::{GRACE_SECS, Reconciler, Report};
use bedrud_shared::store::{MemberChange, Occupy, Stores};
use livekit_protocol::TrackSource;

use crate::conformance_rooms::room;
use crate::livekit_double::LiveKitDouble;
use crate::{TEST_LK_KEY, TEST_LK_SECRET};

async fn seat(s: &Stores, r: &Room, user: &UserId, at: i64) {
    let name = DisplayName::parse("Sam", 50).unwrap();
    let got = s.rooms.occupy(r, None, user, &name, at).await.unwrap();
    assert_eq!(got, Occupy::Joined);
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
    let reconciler = Reconciler::new(s.rooms.clone(), Arc::new(client));
    let t = now();
    let old = t - GRACE_SECS - 60;
    let owner = UserId::new_account();
    let (live, quiet) = (room(&owner, 0), room(&owner, 0));
    for r in [&live, &quiet] {
        s.rooms.create_room(r, None).await.unwrap();
    }
    let [a, b, d, e, f, g] = std::array::from_fn(|_| UserId::new_account());
    // Seats as the join API left them; every webhook about them was lost.
    seat(s, &live, &a, old).await; // connected
    seat(s, &live, &b, old).await; // never connected: stale
    seat(s, &live, &d, t).await; // joined a moment ago, still connecting
    seat(s, &quiet, &f, old).await; // a room with no meeting at all
    s.rooms
        .change_member(&live, &g, &MemberChange::Ban, old)
        .await
        .unwrap();
    lk.connect(live.name.as_str(), a.as_str(), &[TrackSource::Microphone]);
    lk.connect(live.name.as_str(), e.as_str(), &[]); // connected on an old token, no seat
    lk.connect(live.name.as_str(), g.as_str(), &[]); // banned, still connected
    lk.connect(live.name.as_str(), "EG_recorder", &[]); // not one of ours
    let sid = |user: &UserId| {
        lk.participant(live.name.as_str(), user.as_str())
            .unwrap()
            .sid
    };
    let (sid_a, sid_e) = (sid(&a), sid(&e));

    let report = reconciler.run_at(t).await.unwrap();
    assert_eq!(
        report,
        Report {
            live_rooms: 1,
            joined: 2, // e, and g (removed again at once: banned)
            freed: 2,  // b's stale seat, f's in the room without a meeting
            egress: 0,
        }
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
    assert!(
        lk.participant(live.name.as_str(), g.as_str()).is_none(),
        "banned: removed"
    );
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
