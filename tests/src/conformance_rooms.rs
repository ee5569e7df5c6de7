//! Room and member cases of the store conformance suite (unique active names, the owner's
//! room limit, capacity, bans, pagination), each invariant under concurrency.

use std::collections::BTreeSet;
use std::sync::Arc;

use bedrud_shared::domain::{
    DisplayName, MemberRole, Restrictions, Room, RoomId, RoomMode, RoomName, RoomPatch,
    RoomSettings, SettingsPatch, Source, UserId, now,
};
use bedrud_shared::store::{CreateRoom, MemberChange, Occupy, RoomStore, RoomWrite, Stores};

use crate::unique;

pub fn room(owner: &UserId, max_participants: u32) -> Room {
    let mut r = Room::new(RoomName::parse(&unique("r")).unwrap(), owner.clone(), now());
    r.is_public = true;
    r.max_participants = max_participants;
    r
}

fn name(s: &str) -> DisplayName {
    DisplayName::parse(s, 50).unwrap()
}

async fn created(s: &Stores, r: &Room) {
    assert_eq!(
        s.rooms.create_room(r, None).await.unwrap(),
        CreateRoom::Created
    );
}

pub async fn rooms_round_trip(s: &Stores) {
    let owner = UserId::new_account();
    let mut r = room(&owner, 7);
    r.is_public = false;
    r.mode = RoomMode::Webinar;
    // Every switch away from its default, so a store that drops `false` (or a switch) is
    // caught.
    let defaults = RoomSettings::default().flags();
    r.settings =
        RoomSettings::from_flags(|k| defaults.iter().find(|(n, _)| *n == k).map(|(_, v)| !v));
    created(s, &r).await;
    assert_eq!(s.rooms.room(&r.id).await.unwrap(), Some(r.clone()));
    let (by_name, member) = s
        .rooms
        .active_room(&r.name, Some(&owner))
        .await
        .unwrap()
        .expect("active by name");
    assert_eq!((by_name, member), (r.clone(), None));
    assert!(s.rooms.room(&RoomId::new()).await.unwrap().is_none());
    let stranger = RoomName::parse(&unique("none")).unwrap();
    assert!(
        s.rooms
            .active_room(&stranger, None)
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn unique_active_name_under_concurrency(s: &Stores) {
    let first = room(&UserId::new_account(), 0);
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let mut r = room(&UserId::new_account(), 0);
            r.name = first.name.clone();
            let rooms = s.rooms.clone();
            tokio::spawn(async move { rooms.create_room(&r, None).await.unwrap() })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    let won = outcomes
        .iter()
        .filter(|o| **o == CreateRoom::Created)
        .count();
    assert_eq!(won, 1, "{outcomes:?}");
    assert!(outcomes.iter().all(|o| *o != CreateRoom::LimitReached));
    // Archiving frees the name; the archived room stays findable by id and by name.
    let (active, _) = s
        .rooms
        .active_room(&first.name, None)
        .await
        .unwrap()
        .unwrap();
    let RoomWrite::Done(archived) = s.rooms.archive_room(&active.id, now()).await.unwrap() else {
        panic!("archive failed");
    };
    assert!(!archived.is_active && archived.archived_at.is_some());
    assert_eq!(
        s.rooms.archive_room(&active.id, now()).await.unwrap(),
        RoomWrite::Archived
    );
    assert_eq!(
        s.rooms.archive_room(&RoomId::new(), now()).await.unwrap(),
        RoomWrite::NotFound
    );
    assert!(
        s.rooms
            .active_room(&first.name, None)
            .await
            .unwrap()
            .is_none()
    );
    let again = Room {
        name: first.name.clone(),
        ..room(&UserId::new_account(), 0)
    };
    created(s, &again).await;
    let last = s.rooms.last_archived_room(&first.name).await.unwrap();
    assert_eq!(last.map(|r| r.id), Some(active.id.clone()));
    let back = s.rooms.room(&active.id).await.unwrap().unwrap();
    assert!(!back.is_active);
}

pub async fn owner_room_limit_under_concurrency(s: &Stores) {
    let owner = UserId::new_account();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let r = room(&owner, 0);
            let rooms = s.rooms.clone();
            tokio::spawn(async move { rooms.create_room(&r, Some(3)).await.unwrap() })
        })
        .collect();
    let mut created_n = 0;
    for t in tasks {
        match t.await.unwrap() {
            CreateRoom::Created => created_n += 1,
            CreateRoom::LimitReached => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(created_n, 3);
    // Archiving one makes room for one more.
    let page = s.rooms.owned_rooms(&owner, 10, None).await.unwrap();
    assert_eq!(page.items.len(), 3);
    s.rooms
        .archive_room(&page.items[0].id, now())
        .await
        .unwrap();
    assert_eq!(
        s.rooms
            .create_room(&room(&owner, 0), Some(3))
            .await
            .unwrap(),
        CreateRoom::Created
    );
    assert_eq!(
        s.rooms
            .create_room(&room(&owner, 0), Some(3))
            .await
            .unwrap(),
        CreateRoom::LimitReached
    );
}

/// 50 concurrent joins of a room with 5 seats: exactly 5 get in.
pub async fn capacity_under_concurrency(s: &Stores) {
    let r = room(&UserId::new_account(), 5);
    created(s, &r).await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (rooms, r) = (s.rooms.clone(), r.clone());
            tokio::spawn(async move {
                let u = UserId::new_guest();
                let out = rooms
                    .occupy(&r, None, &u, &name("Guest"), now())
                    .await
                    .unwrap();
                (u, out)
            })
        })
        .collect();
    let mut joined = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            (u, Occupy::Joined) => joined.push(u),
            (_, Occupy::Full) => {}
            (_, other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(joined.len(), 5);
    let (now_room, _) = s.rooms.active_room(&r.name, None).await.unwrap().unwrap();
    assert_eq!(now_room.active_count, 5);
    let active: BTreeSet<_> = s
        .rooms
        .active_members(&r)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    assert_eq!(active, joined.iter().cloned().collect());
    // A member who already holds a seat keeps it without taking another.
    assert_eq!(
        s.rooms
            .occupy(&r, None, &joined[0], &name("Guest"), now())
            .await
            .unwrap(),
        Occupy::AlreadyActive
    );
    // A ban frees the seat and keeps them out.
    assert!(
        s.rooms
            .change_member(&r, &joined[0], &MemberChange::Ban, now())
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        s.rooms
            .occupy(&r, None, &joined[0], &name("Guest"), now())
            .await
            .unwrap(),
        Occupy::Banned
    );
    let newcomer = UserId::new_guest();
    assert_eq!(
        s.rooms
            .occupy(&r, None, &newcomer, &name("New"), now())
            .await
            .unwrap(),
        Occupy::Joined
    );
    assert_eq!(
        s.rooms
            .occupy(&r, None, &UserId::new_guest(), &name("Late"), now())
            .await
            .unwrap(),
        Occupy::Full
    );
    // An archived room takes nobody.
    s.rooms.archive_room(&r.id, now()).await.unwrap();
    assert_eq!(
        s.rooms
            .occupy(&r, None, &UserId::new_guest(), &name("Xu"), now())
            .await
            .unwrap(),
        Occupy::RoomGone
    );
    assert!(s.rooms.active_members(&r).await.unwrap().is_empty());
}

/// Moderation state survives leaving and re-joining, and a ban can come before any join.
pub async fn member_changes_persist(s: &Stores) {
    let r = room(&UserId::new_account(), 0);
    created(s, &r).await;
    let u = UserId::new_account();
    let mut restricted = Restrictions::default();
    restricted.deny(Source::Microphone);
    restricted.chat_blocked = true;
    for change in [
        MemberChange::Restrict(restricted.clone()),
        MemberChange::Role(MemberRole::Moderator),
    ] {
        assert!(
            s.rooms
                .change_member(&r, &u, &change, now())
                .await
                .unwrap()
                .is_some()
        );
    }
    let (_, m) = s
        .rooms
        .active_room(&r.name, Some(&u))
        .await
        .unwrap()
        .unwrap();
    let m = m.expect("member created by the change");
    assert_eq!(
        (m.role, m.restrictions.clone(), m.is_active, m.banned),
        (MemberRole::Moderator, restricted.clone(), false, false)
    );
    assert_eq!(
        s.rooms
            .occupy(&r, None, &u, &name("Ann"), now())
            .await
            .unwrap(),
        Occupy::Joined
    );
    let (_, m) = s
        .rooms
        .active_room(&r.name, Some(&u))
        .await
        .unwrap()
        .unwrap();
    let m = m.unwrap();
    assert_eq!((m.is_active, m.name.as_str()), (true, "Ann"));
    assert_eq!(m.restrictions, restricted);
    let pre_banned = UserId::new_guest();
    s.rooms
        .change_member(&r, &pre_banned, &MemberChange::Ban, now())
        .await
        .unwrap();
    assert_eq!(
        s.rooms
            .occupy(&r, None, &pre_banned, &name("Bob"), now())
            .await
            .unwrap(),
        Occupy::Banned
    );
    s.rooms
        .change_member(&r, &pre_banned, &MemberChange::Unban, now())
        .await
        .unwrap();
    assert_eq!(
        s.rooms
            .occupy(&r, None, &pre_banned, &name("Bob"), now())
            .await
            .unwrap(),
        Occupy::Joined
    );
    s.rooms.archive_room(&r.id, now()).await.unwrap();
    assert!(
        s.rooms
            .change_member(&r, &u, &MemberChange::Ban, now())
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn room_updates_are_partial(s: &Stores) {
    let r = room(&UserId::new_account(), 10);
    created(s, &r).await;
    let patch = RoomPatch {
        is_public: Some(false),
        max_participants: Some(3),
        suspended: Some(true),
        mode: Some(RoomMode::Broadcast),
        settings: SettingsPatch {
            allow_video: Some(false),
            recordings_allowed: Some(false),
            ..Default::default()
        },
    };
    let RoomWrite::Done(updated) = s.rooms.update_room(&r.id, &patch, now()).await.unwrap() else {
        panic!("update failed");
    };
    let mut expected = r.clone();
    patch.apply(&mut expected);
    expected.updated_at = updated.updated_at;
    assert_eq!(updated, expected);
    assert!(updated.settings.allow_audio && !updated.settings.allow_video);
    assert_eq!(s.rooms.room(&r.id).await.unwrap(), Some(expected));
    s.rooms.archive_room(&r.id, now()).await.unwrap();
    assert_eq!(
        s.rooms.update_room(&r.id, &patch, now()).await.unwrap(),
        RoomWrite::Archived
    );
    assert_eq!(
        s.rooms
            .update_room(&RoomId::new(), &patch, now())
            .await
            .unwrap(),
        RoomWrite::NotFound
    );
}

/// Pages partition the owner's active rooms, newest first, with nothing lost or repeated.
pub async fn owned_rooms_paginate(s: &Stores) {
    let owner = UserId::new_account();
    let mut ids = Vec::new();
    for i in 0..7 {
        let mut r = room(&owner, 0);
        r.created_at += i;
        created(s, &r).await;
        ids.push(r.id);
    }
    created(s, &room(&UserId::new_account(), 0)).await;
    let archived = room(&owner, 0);
    created(s, &archived).await;
    s.rooms.archive_room(&archived.id, now()).await.unwrap();
    let store: Arc<dyn RoomStore> = s.rooms.clone();
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .owned_rooms(&owner, 3, cursor.as_deref())
            .await
            .unwrap();
        sizes.push(page.items.len());
        seen.extend(page.items.into_iter().map(|r| r.id));
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    assert_eq!(sizes.iter().sum::<usize>(), 7, "pages {sizes:?}");
    assert!(sizes.iter().all(|n| *n <= 3), "pages {sizes:?}");
    ids.reverse();
    assert_eq!(seen, ids);
}

/// Presence reports from LiveKit: joins take a seat only while one is free (an old token
/// cannot beat capacity), a leave frees it only for the current connection, older reports
/// never undo newer ones, and a finished meeting frees every seat taken before it ended.
pub async fn presence_reports_are_guarded(s: &Stores) {
    use bedrud_shared::store::{Seen, SeenOutcome};
    let owner = UserId::new_account();
    let r = room(&owner, 1);
    created(s, &r).await;
    let (a, b) = (UserId::new_account(), UserId::new_guest());
    let t = now();
    let seats = |s: &Stores, r: &Room| {
        let (s, r) = (s.rooms.clone(), r.clone());
        async move { s.room(&r.id).await.unwrap().unwrap().active_count }
    };
    let joined = |session| Seen::Joined { session };
    let left = |session| Seen::Left { session };
    assert!(
        s.rooms
            .seen(&r, &a, joined("PA_a1"), t)
            .await
            .unwrap()
            .changed()
    );
    assert!(
        !s.rooms
            .seen(&r, &a, joined("PA_a1"), t)
            .await
            .unwrap()
            .changed(),
        "duplicate"
    );
    assert_eq!(
        s.rooms.seen(&r, &b, joined("PA_b1"), t).await.unwrap(),
        SeenOutcome::Full,
        "no seat left: the caller removes the connection"
    );
    assert_eq!(seats(s, &r).await, 1);
    assert!(s.rooms.member(&r, &b).await.unwrap().is_none());
    let m = s.rooms.member(&r, &a).await.unwrap().unwrap();
    assert_eq!(
        (m.is_active, m.session.as_deref(), m.seen_at),
        (true, Some("PA_a1"), t)
    );

    // A reconnect replaces the session without a second seat; the old one's leave is void.
    assert!(
        s.rooms
            .seen(&r, &a, joined("PA_a2"), t + 1)
            .await
            .unwrap()
            .changed()
    );
    assert_eq!(seats(s, &r).await, 1);
    assert!(
        !s.rooms
            .seen(&r, &a, left("PA_a1"), t + 2)
            .await
            .unwrap()
            .changed()
    );
    assert!(
        s.rooms
            .seen(&r, &a, left("PA_a2"), t + 2)
            .await
            .unwrap()
            .changed()
    );
    assert!(
        !s.rooms
            .seen(&r, &a, left("PA_a2"), t + 2)
            .await
            .unwrap()
            .changed(),
        "once"
    );
    assert_eq!(seats(s, &r).await, 0);
    // An older join arriving late does not bring them back.
    assert!(
        !s.rooms
            .seen(&r, &a, joined("PA_a2"), t + 1)
            .await
            .unwrap()
            .changed()
    );

    // Reordered delivery for someone never seen: the leave (newer) arrives first and is
    // remembered, so the older join that follows takes no seat.
    let late = UserId::new_account();
    assert!(
        s.rooms
            .seen(&r, &late, left("PA_l"), t + 4)
            .await
            .unwrap()
            .changed()
    );
    assert!(
        !s.rooms
            .seen(&r, &late, joined("PA_l"), t + 3)
            .await
            .unwrap()
            .changed()
    );
    assert!(!s.rooms.member(&r, &late).await.unwrap().unwrap().is_active);
    assert_eq!(seats(s, &r).await, 0);
    // With the seat free again, b's connection takes it.
    assert!(
        s.rooms
            .seen(&r, &b, joined("PA_b2"), t + 3)
            .await
            .unwrap()
            .changed()
    );
    assert_eq!(seats(s, &r).await, 1);

    // A seat taken through the API after the meeting finished survives the finish.
    assert_eq!(s.rooms.room_session(&r, "RM_1", true, t).await.unwrap(), 0);
    assert_eq!(
        s.rooms
            .room(&r.id)
            .await
            .unwrap()
            .unwrap()
            .live_sid
            .as_deref(),
        Some("RM_1")
    );
    assert_eq!(
        s.rooms
            .room_session(&r, "RM_0", false, t + 5)
            .await
            .unwrap(),
        0,
        "not this meeting"
    );
    assert_eq!(
        s.rooms
            .room_session(&r, "RM_1", false, t + 5)
            .await
            .unwrap(),
        1
    );
    assert_eq!(seats(s, &r).await, 0);
    assert_eq!(s.rooms.room(&r.id).await.unwrap().unwrap().live_sid, None);
    assert!(!s.rooms.member(&r, &b).await.unwrap().unwrap().is_active);

    // Concurrent duplicate joins and leaves of one connection: one seat, then none.
    let c = UserId::new_account();
    let at = t + 10;
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (st, r, c) = (s.rooms.clone(), r.clone(), c.clone());
            tokio::spawn(async move { st.seen(&r, &c, Seen::Joined { session: "PA_c" }, at).await })
        })
        .collect();
    let mut applied = 0;
    for t in tasks {
        applied += usize::from(t.await.unwrap().unwrap().changed());
    }
    assert_eq!((applied, seats(s, &r).await), (1, 1));
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (st, r, c) = (s.rooms.clone(), r.clone(), c.clone());
            tokio::spawn(async move {
                st.seen(&r, &c, Seen::Left { session: "PA_c" }, at + 1)
                    .await
            })
        })
        .collect();
    let mut applied = 0;
    for t in tasks {
        applied += usize::from(t.await.unwrap().unwrap().changed());
    }
    assert_eq!((applied, seats(s, &r).await), (1, 0));
}

/// Each webhook event id is claimed once, even by concurrent deliveries; a released claim
/// can be taken again; deliveries are counted.
pub async fn webhook_events_are_claimed_once(s: &Stores) {
    let id = unique("EV");
    let t = now();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (log, id) = (s.webhooks.clone(), id.clone());
            tokio::spawn(async move { log.claim_event(&id, t, t + 60).await })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        won += usize::from(task.await.unwrap().unwrap());
    }
    assert_eq!(won, 1);
    s.webhooks.release_event(&id).await.unwrap();
    assert!(s.webhooks.claim_event(&id, t, t + 60).await.unwrap());
    // An expired claim is as good as none.
    assert!(s.webhooks.claim_event(&id, t + 61, t + 120).await.unwrap());
    let stats = s.webhooks.webhook_stats().await.unwrap();
    assert_eq!(stats.count, 22);
    assert!(stats.last_at.unwrap() >= t);
}

/// A webhook's join or leave as one step (`RoomStore::seen_and_record`): the claim, the
/// seat and the record together; a claimed id changes nothing more, a refused seat records
/// nothing, a leave ends the record.
pub async fn seats_and_records_are_one_step(s: &Stores) {
    use bedrud_shared::domain::Attendance;
    use bedrud_shared::store::{Claim, Seen, SeenOutcome};
    let owner = UserId::new_account();
    let r = room(&owner, 1);
    created(s, &r).await;
    let (a, b) = (UserId::new_account(), UserId::new_account());
    let t = now();
    let visit = |user: &UserId, session: &str, left: Option<i64>| Attendance {
        session: session.into(),
        user_id: user.clone(),
        user_name: "Ann Lee".into(),
        room_id: r.id.clone(),
        room_name: r.name.clone(),
        joined_at: t,
        left_at: left,
    };
    let ids: Vec<String> = (0..3).map(|_| unique("EV")).collect();
    let claim = |i: usize| {
        Some(Claim {
            id: &ids[i],
            now: t,
            expires_at: t + 60,
        })
    };
    let seats = || async { s.rooms.room(&r.id).await.unwrap().unwrap().active_count };
    let records = |user: UserId| async move {
        let got = s.admin().unwrap().attendance(&user, 0, 10).await.unwrap();
        got.items.iter().map(|v| v.left_at).collect::<Vec<_>>()
    };
    let joined = |session| Seen::Joined { session };

    let va = visit(&a, "PA_a1", None);
    let first = s
        .rooms
        .seen_and_record(claim(0), &r, &a, joined("PA_a1"), t, Some(&va))
        .await
        .unwrap();
    assert_eq!(first, Some(SeenOutcome::Applied));
    assert_eq!((seats().await, records(a.clone()).await), (1, vec![None]));

    // The same event id again (a redelivery carrying someone else): nothing applied.
    let vb = visit(&b, "PA_b1", None);
    let again = s
        .rooms
        .seen_and_record(claim(0), &r, &b, joined("PA_b1"), t, Some(&vb))
        .await
        .unwrap();
    assert_eq!(again, None);
    assert!(s.rooms.member(&r, &b).await.unwrap().is_none());

    // No seat left: refused, and no record.
    let full = s
        .rooms
        .seen_and_record(claim(1), &r, &b, joined("PA_b1"), t, Some(&vb))
        .await
        .unwrap();
    assert_eq!(full, Some(SeenOutcome::Full));
    assert_eq!((seats().await, records(b.clone()).await), (1, vec![]));

    // The leave frees the seat and ends the record, in one step.
    let ended = visit(&a, "PA_a1", Some(t + 5));
    let left = s
        .rooms
        .seen_and_record(
            claim(2),
            &r,
            &a,
            Seen::Left { session: "PA_a1" },
            t + 5,
            Some(&ended),
        )
        .await
        .unwrap();
    assert_eq!(left, Some(SeenOutcome::Applied));
    assert_eq!((seats().await, records(a).await), (0, vec![Some(t + 5)]));

    // Without a claim (the reconciler's reports) it applies as often as asked.
    let unclaimed = s
        .rooms
        .seen_and_record(None, &r, &b, joined("PA_b2"), t + 6, None)
        .await
        .unwrap();
    assert_eq!(unclaimed, Some(SeenOutcome::Applied));
    assert_eq!(seats().await, 1);
    let stats = s.webhooks.webhook_stats().await.unwrap();
    assert!(
        stats.count >= 4,
        "every claimed delivery counted: {stats:?}"
    );
}

/// A pending recording of `room` made at `at`.
pub fn recording(room: &RoomId, at: i64) -> bedrud_shared::domain::Recording {
    use bedrud_shared::domain::{Recording, RecordingId, RecordingStatus};
    let id = RecordingId::new();
    Recording {
        egress_key: format!("egress/{room}/{id}.mp4"),
        id,
        room_id: room.clone(),
        room_name: "rec-room".into(),
        started_by: UserId::new_account(),
        status: RecordingStatus::Pending,
        egress_id: None,
        key: None,
        size: None,
        duration_ms: None,
        error: None,
        created_at: at,
        started_at: None,
        ended_at: None,
        updated_at: at,
    }
}

/// One live recording per room under concurrency; moves only forward, each applied once
/// even when raced; `started_at` kept; the egress id finds its recording; only finished
/// recordings can be deleted.
pub async fn recordings_move_forward_once(s: &Stores) {
    use bedrud_shared::domain::{RecordingMove, RecordingStatus as St};
    let room = RoomId::new();
    let t = now();
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let (st, r) = (s.recordings.clone(), recording(&room, t + i));
            tokio::spawn(async move { st.insert_recording(&r).await })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        won += usize::from(task.await.unwrap().unwrap());
    }
    assert_eq!(won, 1, "one live recording per room");
    let r = s
        .recordings
        .room_recordings(&room)
        .await
        .unwrap()
        .pop()
        .unwrap();

    let mut start = RecordingMove::to(St::Active);
    start.egress_id = Some(format!("EG_{}", r.id));
    start.started_at = Some(t + 1);
    let r = s
        .recordings
        .move_recording(&r, &start, t)
        .await
        .unwrap()
        .unwrap();
    let found = s
        .recordings
        .recording_by_egress(r.egress_id.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(found.as_ref().map(|f| &f.id), Some(&r.id));
    assert!(
        s.recordings
            .move_recording(&r, &start, t)
            .await
            .unwrap()
            .is_none(),
        "duplicate"
    );

    // Racing `egress_ended` deliveries: exactly one moves it to processing.
    let mut ended = RecordingMove::to(St::Processing);
    ended.started_at = Some(t + 50); // a later report must not replace the first start time
    ended.ended_at = Some(t + 60);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (st, r, m) = (s.recordings.clone(), r.clone(), ended.clone());
            tokio::spawn(async move { st.move_recording(&r, &m, t).await })
        })
        .collect();
    let mut moved = Vec::new();
    for task in tasks {
        moved.extend(task.await.unwrap().unwrap());
    }
    assert_eq!(moved.len(), 1);
    let r = &moved[0];
    assert_eq!(
        (r.status, r.started_at, r.ended_at),
        (St::Processing, Some(t + 1), Some(t + 60))
    );
    assert!(
        s.recordings
            .move_recording(r, &start, t)
            .await
            .unwrap()
            .is_none(),
        "no way back"
    );

    // Out of the live set: the room may record again; this one cannot be deleted yet.
    assert!(
        s.recordings
            .insert_recording(&recording(&room, t + 100))
            .await
            .unwrap()
    );
    assert!(!s.recordings.delete_recording(r).await.unwrap());
    let mut done = RecordingMove::to(St::Completed);
    done.key = Some("recordings/x.mp4".into());
    done.size = Some(42);
    let r = s
        .recordings
        .move_recording(r, &done, t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (r.key.as_deref(), r.size),
        (Some("recordings/x.mp4"), Some(42))
    );
    let all = s.recordings.room_recordings(&room).await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all[0].created_at >= all[1].created_at, "newest first");
    assert!(s.recordings.delete_recording(&r).await.unwrap());
    assert!(
        s.recordings
            .recording(&room, &r.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.recordings
            .recording_by_egress(&format!("EG_{}", r.id))
            .await
            .unwrap()
            .is_none()
    );
    // A failure ends a live recording and frees the slot.
    let live = s
        .recordings
        .room_recordings(&room)
        .await
        .unwrap()
        .pop()
        .unwrap();
    let mut fail = RecordingMove::to(St::Failed);
    fail.error = Some("egress failed".into());
    let f = s
        .recordings
        .move_recording(&live, &fail, t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(f.error.as_deref(), Some("egress failed"));
    assert!(
        s.recordings
            .insert_recording(&recording(&room, t + 200))
            .await
            .unwrap()
    );
}

/// The admins' list of every room: newest first, pages that partition it, filters by state
/// and by part of the name.
pub async fn all_rooms_paginate_and_filter(s: &Stores) {
    use bedrud_shared::store::RoomFilter;
    let owner = UserId::new_account();
    let tag = unique("adm").replace('-', "");
    let mut made = Vec::new();
    for i in 0..5 {
        let mut r = Room::new(
            RoomName::parse(&format!(
                "{}-{tag}-{i}",
                if i % 2 == 0 { "alpha" } else { "beta" }
            ))
            .unwrap(),
            owner.clone(),
            now() + i,
        );
        r.is_public = true;
        created(s, &r).await;
        made.push(r);
    }
    for r in &made[3..] {
        s.rooms.archive_room(&r.id, now()).await.unwrap();
    }
    // Only this test's rooms: filter on the unique tag.
    let mine = |text: &str, active: Option<bool>| RoomFilter {
        text: Some(text.to_string()),
        active,
    };
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = s
            .admin()
            .unwrap()
            .all_rooms(&mine(&tag, None), 2, cursor.as_deref())
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|r| r.id.clone()));
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    let newest_first: Vec<RoomId> = made.iter().rev().map(|r| r.id.clone()).collect();
    assert_eq!(seen, newest_first, "pages partition the list, newest first");
    let active = s
        .admin()
        .unwrap()
        .all_rooms(&mine(&tag, Some(true)), 100, None)
        .await
        .unwrap();
    assert_eq!(active.items.len(), 3);
    let archived = s
        .admin()
        .unwrap()
        .all_rooms(&mine(&tag, Some(false)), 100, None)
        .await
        .unwrap();
    assert_eq!(archived.items.len(), 2);
    assert!(archived.items.iter().all(|r| !r.is_active));
    let alphas = s
        .admin()
        .unwrap()
        .all_rooms(&mine(&format!("alpha-{tag}"), None), 100, None)
        .await
        .unwrap();
    assert_eq!(alphas.items.len(), 3);
}

/// Moderation changes apply to the standing as stored: concurrent denials by several
/// moderators all take effect, an undo takes back only its own change, a ban demotes and frees
/// the seat, and only a join or a promotion admits (never a restriction or a lifted ban).
pub async fn moderation_merges_and_admission_is_explicit(s: &Stores) {
    use bedrud_shared::domain::Standing;
    let r = room(&UserId::new_account(), 0);
    created(s, &r).await;
    let u = UserId::new_account();
    let sources = [
        Source::Camera,
        Source::Microphone,
        Source::ScreenShare,
        Source::ScreenShareAudio,
    ];
    let tasks: Vec<_> = sources
        .iter()
        .map(|src| {
            let (st, r, u, src) = (s.rooms.clone(), r.clone(), u.clone(), *src);
            tokio::spawn(async move {
                st.change_member(&r, &u, &MemberChange::Deny(vec![src]), now())
                    .await
                    .unwrap()
                    .expect("active room")
            })
        })
        .collect();
    let mut changes = Vec::new();
    for t in tasks {
        changes.push(t.await.unwrap());
    }
    let m = s.rooms.member(&r, &u).await.unwrap().unwrap();
    assert_eq!(m.restrictions.denied, sources.to_vec(), "every denial kept");
    assert!(!m.admitted, "restrictions admit nobody");
    // Undo of the camera's (whatever order they ran in): the others stay.
    let camera = &changes[0];
    let undo = MemberChange::Revert {
        from: camera.member.standing(),
        to: camera.before.clone(),
    };
    s.rooms.change_member(&r, &u, &undo, now()).await.unwrap();
    let m = s.rooms.member(&r, &u).await.unwrap().unwrap();
    assert_eq!(m.restrictions.denied, sources[1..].to_vec());
    // Ban, unban: still not admitted. A join admits; a ban then demotes and frees the seat.
    for change in [MemberChange::Ban, MemberChange::Unban] {
        s.rooms.change_member(&r, &u, &change, now()).await.unwrap();
    }
    assert!(!s.rooms.member(&r, &u).await.unwrap().unwrap().admitted);
    let seen = s.rooms.member(&r, &u).await.unwrap();
    let joined = s
        .rooms
        .occupy(&r, seen.as_ref(), &u, &name("Ann"), now())
        .await
        .unwrap();
    assert_eq!(joined, Occupy::Joined);
    let promoted = s
        .rooms
        .change_member(&r, &u, &MemberChange::Role(MemberRole::Moderator), now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        promoted.before,
        Standing {
            role: MemberRole::Participant,
            banned: false,
            admitted: true,
            restrictions: promoted.member.restrictions.clone(),
        }
    );
    let banned = s
        .rooms
        .change_member(&r, &u, &MemberChange::Ban, now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            banned.member.role,
            banned.member.banned,
            banned.member.is_active
        ),
        (MemberRole::Participant, true, false)
    );
    assert_eq!(
        s.rooms.room(&r.id).await.unwrap().unwrap().active_count,
        0,
        "the ban freed the seat"
    );
    // A promotion admits someone never seen.
    let invited = UserId::new_account();
    let p = s
        .rooms
        .change_member(
            &r,
            &invited,
            &MemberChange::Role(MemberRole::Moderator),
            now(),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(p.member.admitted && !p.before.admitted);
}

/// What an oldest-shape fixture wrote (each backend writes it raw, in the shape of the
/// first release: no admission, presence, revision or rotation attributes, and only the
/// switches the room was created with).
pub struct Legacy {
    pub room: Room,
    /// An ordinary member who joined under a display name (so: admitted).
    pub member: UserId,
    /// A moderator who was banned before bans demoted.
    pub banned_moderator: UserId,
    /// A session of `member` at generation 0, never rotated.
    pub session: bedrud_shared::domain::SessionId,
}

/// Records in the oldest shape are read with defaults for everything added since, and every
/// flow still works on them: join (admission by the legacy rule), presence, moderation, a
/// settings change, a refresh rotation and archiving.
pub async fn oldest_shapes_work(s: &Stores, f: &Legacy) {
    use bedrud_shared::domain::policy::{self, Caller, RoomRole};
    use bedrud_shared::domain::{Access, RoomPatch, SettingsPatch};
    use bedrud_shared::store::{Rotation, Seen};
    let r = s
        .rooms
        .room(&f.room.id)
        .await
        .unwrap()
        .expect("legacy room");
    assert_eq!(
        r.settings, f.room.settings,
        "switches as written, defaults for the rest"
    );
    assert_eq!(r.live_sid, None);
    // Accounts from before verification count as confirmed at creation, and never pending.
    let owner = s
        .users
        .user_by_id(&f.room.created_by)
        .await
        .unwrap()
        .unwrap();
    assert!(owner.email_verified() && !owner.signup_pending);
    assert_eq!(owner.email_verified_at, Some(owner.created_at));
    let (active, member) = s
        .rooms
        .active_room(&r.name, Some(&f.member))
        .await
        .unwrap()
        .unwrap();
    let member = member.expect("legacy member");
    assert!(
        member.admitted,
        "a member who joined under a name was admitted"
    );
    let caller = Caller {
        id: f.member.clone(),
        name: member.name.clone(),
        accesses: vec![Access::User],
    };
    policy::admit(&active, Some(&member), Some(&caller)).expect("admitted to the private room");
    let banned = s
        .rooms
        .member(&r, &f.banned_moderator)
        .await
        .unwrap()
        .unwrap();
    let them = Caller {
        id: f.banned_moderator.clone(),
        name: banned.name.clone(),
        accesses: vec![Access::User],
    };
    assert_eq!(
        policy::role(&r, Some(&banned), Some(&them)),
        RoomRole::Participant
    );

    let got = s
        .rooms
        .occupy(&active, Some(&member), &f.member, &member.name, now())
        .await
        .unwrap();
    assert_eq!(got, Occupy::Joined);
    let joined = Seen::Joined {
        session: "PA_legacy",
    };
    assert!(
        s.rooms
            .seen(&r, &f.member, joined, now())
            .await
            .unwrap()
            .changed()
    );
    let changed = s
        .rooms
        .change_member(
            &r,
            &f.member,
            &MemberChange::Deny(vec![Source::Microphone]),
            now(),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(changed.member.restrictions.denies(Source::Microphone));
    assert!(changed.member.admitted && changed.member.is_active);

    let patch = RoomPatch {
        settings: SettingsPatch {
            e2ee: Some(true),
            ..Default::default()
        },
        ..Default::default()
    };
    let RoomWrite::Done(updated) = s.rooms.update_room(&r.id, &patch, now()).await.unwrap() else {
        panic!("legacy room not updated");
    };
    let mut want = f.room.settings;
    want.e2ee = true;
    assert_eq!(
        updated.settings, want,
        "a partial change leaves the other switches"
    );

    let exp = now() + 3600;
    let rotated = s
        .sessions
        .rotate_session(&f.member, &f.session, 0, exp, now())
        .await
        .unwrap();
    assert!(
        matches!(rotated, Rotation::Rotated(ref x) if x.generation == 1),
        "{rotated:?}"
    );
    let again = s
        .sessions
        .rotate_session(&f.member, &f.session, 0, exp, now())
        .await
        .unwrap();
    assert!(matches!(again, Rotation::Current(_)), "{again:?}");

    assert!(matches!(
        s.rooms.archive_room(&r.id, now()).await.unwrap(),
        RoomWrite::Done(_)
    ));
    assert!(!s.rooms.room(&r.id).await.unwrap().unwrap().is_active);

    // Counted (SQLite: by the migration; DynamoDB: adopted by its first change) and
    // listed for admins.
    use bedrud_shared::domain::{Metric, RoomQuery, Scope};
    let totals = s.admin().unwrap().tallies(&[Scope::all()]).await.unwrap();
    assert_eq!(totals.total(Metric::Rooms), 1);
    assert_eq!(totals.total(Metric::ActiveRooms), 0);
    let listed = s
        .admin()
        .unwrap()
        .room_table(&RoomQuery::default())
        .await
        .unwrap();
    assert_eq!(listed.total, 1);
    assert_eq!(listed.items[0].id, r.id);
}
