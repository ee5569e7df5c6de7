//! Admin-console cases of the store conformance suite: an owner's archived rooms, the
//! maintained tallies and totals (exact under concurrency), the numbered admin lists, the
//! attendance history and the room events log.

use std::collections::BTreeSet;

use bedrud_shared::domain::{
    Access, Attendance, DisplayName, EventQuery, Metric, Provider, Room, RoomEventKind, RoomPatch,
    RoomQuery, RoomSort, RoomStatus, Scope, SettingsPatch, Tallies, Tally, User, UserId, UserQuery,
    UserSort, now,
};
use bedrud_shared::store::{CreateRoom, Stores};
use futures_util::FutureExt;
use futures_util::future::join_all;

use crate::conformance::{account, guest};
use crate::conformance_rooms::room;
use crate::unique;

pub async fn archived_rooms_by_owner(s: &Stores) {
    let owner = UserId::new_account();
    let t = now();
    let mut archived = Vec::new();
    for i in 0..5 {
        let r = room(&owner, 0);
        s.rooms.create_room(&r, None).await.unwrap();
        s.rooms.archive_room(&r.id, t + i).await.unwrap();
        archived.push(r.id);
    }
    let active = room(&owner, 0);
    s.rooms.create_room(&active, None).await.unwrap();
    let theirs = room(&UserId::new_account(), 0);
    s.rooms.create_room(&theirs, None).await.unwrap();
    s.rooms.archive_room(&theirs.id, t).await.unwrap();

    archived.reverse();
    let first = s.rooms.archived_rooms(&owner, 0, 2).await.unwrap();
    assert_eq!(first.total, 5);
    let ids: Vec<_> = first.items.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids, archived[..2]);
    assert!(
        first
            .items
            .iter()
            .all(|r| !r.is_active && r.archived_at.is_some())
    );
    let last = s.rooms.archived_rooms(&owner, 4, 2).await.unwrap();
    assert_eq!(last.total, 5);
    assert_eq!(last.items.len(), 1);
    assert_eq!(last.items[0].id, archived[4]);
    let past = s.rooms.archived_rooms(&owner, 10, 2).await.unwrap();
    assert_eq!((past.total, past.items.len()), (5, 0));
    let nobody = s
        .rooms
        .archived_rooms(&UserId::new_account(), 0, 10)
        .await
        .unwrap();
    assert_eq!((nobody.total, nobody.items.len()), (0, 0));
}

/// What `tallies` should read for these users and rooms as they stand (and the sign-ups and
/// creations of their days).
fn expected_tallies(users: &[User], rooms: &[Room]) -> Tallies {
    let mut out = Tallies::default();
    let whole = users
        .iter()
        .map(|u| Tally::user(None, Some(u)))
        .chain(rooms.iter().map(|r| Tally::room(None, Some(r))));
    for t in whole {
        for (scope, metric, n) in t.changes() {
            out.set(scope.clone(), *metric, *n);
        }
    }
    out
}

/// The maintained totals are exact when sign-ups, room creations, switches, suspensions
/// and archiving all race (each write carries its own tally), and a meeting reported twice
/// counts once.
pub async fn tallies_are_exact_under_concurrency(s: &Stores) {
    let t = now();
    let users: Vec<User> = (0..16)
        .map(|i| {
            if i % 4 == 0 {
                guest()
            } else {
                account(&format!("{}@example.com", unique("tally")))
            }
        })
        .collect();
    let rooms: Vec<Room> = (0..12).map(|_| room(&UserId::new_account(), 0)).collect();
    let inserts = users.iter().map(|u| s.users.insert_user(u));
    let creates = rooms.iter().map(|r| s.rooms.create_room(r, None));
    let (inserted, created) = tokio::join!(join_all(inserts), join_all(creates));
    assert!(inserted.iter().all(Result::is_ok));
    assert!(
        created
            .iter()
            .all(|c| c.as_ref().unwrap() == &CreateRoom::Created)
    );

    let private = RoomPatch {
        is_public: Some(false),
        ..Default::default()
    };
    let suspend = RoomPatch {
        suspended: Some(true),
        ..Default::default()
    };
    let persistent = RoomPatch {
        settings: SettingsPatch {
            is_persistent: Some(true),
            ..Default::default()
        },
        ..Default::default()
    };
    let mut changes = Vec::new();
    for (i, r) in rooms.iter().enumerate() {
        // Rooms 0..3 go private, 3..6 are suspended, 6..8 archived; room 8 gets all three
        // changes at once, room 9 two writers of the same change.
        let patches: Vec<&RoomPatch> = match i {
            0..3 => vec![&private],
            3..6 => vec![&suspend],
            8 => vec![&private, &suspend, &persistent],
            9 => vec![&persistent, &persistent],
            _ => vec![],
        };
        for p in patches {
            changes.push(
                async move {
                    s.rooms.update_room(&r.id, p, t).await.unwrap();
                }
                .boxed(),
            );
        }
        if (6..8).contains(&i) {
            changes.push(
                async move {
                    s.rooms.archive_room(&r.id, t).await.unwrap();
                }
                .boxed(),
            );
        }
    }
    let meetings = [(10, "RM_a"), (10, "RM_a"), (11, "RM_b"), (11, "RM_c")];
    for (i, sid) in meetings {
        let r = &rooms[i];
        changes.push(
            async move {
                s.rooms.room_session(r, sid, true, t).await.unwrap();
            }
            .boxed(),
        );
    }
    join_all(changes).await;

    let mut finals = Vec::new();
    for r in &rooms {
        finals.push(s.rooms.room(&r.id).await.unwrap().expect("room kept"));
    }
    let day = Scope::day(t);
    let got = s
        .admin()
        .unwrap()
        .tallies(&[Scope::all(), day.clone()])
        .await
        .unwrap();
    let want = expected_tallies(&users, &finals);
    for m in Metric::ALL {
        if m != Metric::Meetings {
            assert_eq!(got.total(m), want.total(m), "{m:?}");
            assert_eq!(got.get(&day, m), want.get(&day, m), "{m:?} today");
        }
    }
    assert_eq!(got.total(Metric::Users), 12);
    assert_eq!(got.total(Metric::Guests), 4);
    assert_eq!(got.get(&day, Metric::Signups), 12);
    assert_eq!(got.total(Metric::Rooms), 12);
    assert_eq!(got.total(Metric::ActiveRooms), 10);
    assert_eq!(got.total(Metric::SuspendedRooms), 4);
    assert_eq!(got.total(Metric::PublicRooms), 6);
    assert_eq!(got.total(Metric::PersistentRooms), 2);
    assert_eq!(got.get(&day, Metric::RoomsCreated), 12);
    assert_eq!(
        got.get(&day, Metric::Meetings),
        3,
        "a meeting reported twice counts once"
    );

    // Job outcomes are counted on their own.
    let hour = Scope::hour(t);
    s.activity
        .count(&Tally::new().add(&hour, Metric::JobsDone, 2))
        .await
        .unwrap();
    let jobs = s
        .admin()
        .unwrap()
        .tallies(std::slice::from_ref(&hour))
        .await
        .unwrap();
    assert_eq!(jobs.get(&hour, Metric::JobsDone), 2);
}

/// The admins' numbered lists agree with the domain's definition of each filter and order
/// on every store, and the stale count sees rooms by their last activity.
pub async fn admin_tables_agree(s: &Stores) {
    let t = now() - 1000;
    let mut users = Vec::new();
    for i in 0..7u32 {
        let mut u = if i == 6 {
            guest()
        } else {
            account(&format!("{}@example.com", unique(&format!("tbl{i}"))))
        };
        u.name = DisplayName::parse(&format!("Zed {}", (b'a' + (i * 3 % 7) as u8) as char), 255)
            .unwrap();
        u.created_at = t + i64::from(i);
        if i == 2 {
            u.accesses.push(Access::Admin);
        }
        if i == 3 {
            u.is_active = false;
        }
        s.users.insert_user(&u).await.unwrap();
        users.push(u);
    }
    let owner = UserId::new_account();
    let mut rooms = Vec::new();
    for i in 0..6i64 {
        let mut r = room(&owner, 0);
        r.created_at = t + i;
        r.updated_at = t + i;
        r.last_activity_at = t + i;
        s.rooms.create_room(&r, None).await.unwrap();
        rooms.push(r);
    }
    let patch = |p: RoomPatch| p;
    s.rooms
        .update_room(
            &rooms[1].id,
            &patch(RoomPatch {
                is_public: Some(false),
                ..Default::default()
            }),
            t,
        )
        .await
        .unwrap();
    s.rooms
        .update_room(
            &rooms[2].id,
            &patch(RoomPatch {
                suspended: Some(true),
                ..Default::default()
            }),
            t,
        )
        .await
        .unwrap();
    s.rooms.archive_room(&rooms[3].id, t + 10).await.unwrap();
    // A seat taken now is activity: room 4 is no longer stale.
    let joined = rooms[4].clone();
    s.rooms
        .occupy(
            &joined,
            None,
            &UserId::new_account(),
            &DisplayName::parse("Bo", 50).unwrap(),
            t + 500,
        )
        .await
        .unwrap();
    let mut all_rooms = Vec::new();
    for r in &rooms {
        all_rooms.push(s.rooms.room(&r.id).await.unwrap().unwrap());
    }

    let user_queries = [
        UserQuery {
            limit: 3,
            offset: 2,
            ..Default::default()
        },
        UserQuery {
            guests: false,
            ..Default::default()
        },
        UserQuery {
            text: Some("zed c".into()),
            ..Default::default()
        },
        UserQuery {
            access: Some(Access::Admin),
            ..Default::default()
        },
        UserQuery {
            active: Some(false),
            ..Default::default()
        },
        UserQuery {
            verified: Some(false),
            ..Default::default()
        },
        UserQuery {
            provider: Some(Provider::Guest),
            ..Default::default()
        },
        UserQuery {
            created_from: Some(t + 2),
            created_to: Some(t + 4),
            ..Default::default()
        },
        UserQuery {
            sort: UserSort::Name,
            descending: false,
            limit: 4,
            offset: 1,
            ..Default::default()
        },
        UserQuery {
            sort: UserSort::Email,
            descending: true,
            ..Default::default()
        },
    ];
    for q in user_queries {
        let got = s.admin().unwrap().user_table(&q).await.unwrap();
        let (total, want) = q.apply(users.clone());
        let ids = |v: &[User]| v.iter().map(|u| u.id.clone()).collect::<Vec<_>>();
        assert_eq!((got.total, ids(&got.items)), (total, ids(&want)), "{q:?}");
    }
    let room_queries = [
        RoomQuery {
            limit: 2,
            offset: 1,
            ..Default::default()
        },
        RoomQuery {
            status: Some(RoomStatus::Active),
            ..Default::default()
        },
        RoomQuery {
            status: Some(RoomStatus::Suspended),
            ..Default::default()
        },
        RoomQuery {
            status: Some(RoomStatus::Archived),
            ..Default::default()
        },
        RoomQuery {
            public: Some(false),
            ..Default::default()
        },
        RoomQuery {
            text: Some(rooms[5].name.as_str()[..6].to_string()),
            ..Default::default()
        },
        RoomQuery {
            sort: RoomSort::Name,
            descending: false,
            ..Default::default()
        },
        RoomQuery {
            sort: RoomSort::LastActivity,
            descending: true,
            limit: 3,
            ..Default::default()
        },
        RoomQuery {
            sort: RoomSort::Participants,
            descending: true,
            ..Default::default()
        },
    ];
    for q in room_queries {
        let got = s.admin().unwrap().room_table(&q).await.unwrap();
        let (total, want) = q.apply(all_rooms.clone());
        let ids = |v: &[Room]| v.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
        assert_eq!((got.total, ids(&got.items)), (total, ids(&want)), "{q:?}");
    }
    assert_eq!(all_rooms[4].last_activity_at, t + 500);
    // Active rooms 0, 1, 2 and 5 saw nothing after t + 100; room 4 took a seat at t + 500.
    assert_eq!(s.admin().unwrap().stale_rooms(t + 100).await.unwrap(), 4);
    assert_eq!(s.admin().unwrap().stale_rooms(t + 501).await.unwrap(), 5);
    assert_eq!(s.admin().unwrap().stale_rooms(t).await.unwrap(), 0);
}

/// A connection is recorded once however often it is reported (its join event and its
/// count with it); its end is set once; the events log pages and filters newest first.
pub async fn attendance_and_events_are_recorded_once(s: &Stores) {
    let t = now() - 600;
    let owner = UserId::new_account();
    let mut r = room(&owner, 0);
    r.created_at = t;
    s.rooms.create_room(&r, None).await.unwrap();
    let user = UserId::new_account();
    let visit = |session: &str, at: i64, left: Option<i64>| Attendance {
        session: session.into(),
        user_id: user.clone(),
        user_name: "Ann Lee".into(),
        room_id: r.id.clone(),
        room_name: r.name.clone(),
        joined_at: at,
        left_at: left,
    };
    let first = visit("PA_one", t + 10, None);
    let reports = join_all((0..4).map(|_| s.activity.attend(&first))).await;
    assert_eq!(reports.iter().filter(|r| *r.as_ref().unwrap()).count(), 1);
    assert!(
        !s.activity
            .attend(&visit("PA_one", t + 10, Some(t + 70)))
            .await
            .unwrap()
    );
    // A later end report does not move the end.
    s.activity
        .attend(&visit("PA_one", t + 10, Some(t + 90)))
        .await
        .unwrap();
    // Reported only once it ended: written whole.
    assert!(
        s.activity
            .attend(&visit("PA_two", t + 100, Some(t + 160)))
            .await
            .unwrap()
    );

    let mine = s.admin().unwrap().attendance(&user, 0, 10).await.unwrap();
    assert_eq!(mine.total, 2);
    let got: Vec<_> = mine
        .items
        .iter()
        .map(|a| (a.session.as_str(), a.left_at))
        .collect();
    assert_eq!(got, [("PA_two", Some(t + 160)), ("PA_one", Some(t + 70))]);
    assert_eq!(mine.items[1].duration(t + 1000), 60);
    let second = s.admin().unwrap().attendance(&user, 1, 1).await.unwrap();
    assert_eq!(
        (second.total, second.items[0].session.as_str()),
        (2, "PA_one")
    );
    let nobody = s
        .admin()
        .unwrap()
        .attendance(&UserId::new_account(), 0, 10)
        .await
        .unwrap();
    assert_eq!((nobody.total, nobody.items.len()), (0, 0));

    let all = EventQuery {
        kind: None,
        text: None,
        from: t - 10,
        to: t + 1000,
        offset: 0,
        limit: 10,
    };
    let events = s.admin().unwrap().room_events(&all).await.unwrap();
    let kinds: Vec<_> = events.items.iter().map(|e| (e.kind, e.at)).collect();
    assert_eq!(
        kinds,
        [
            (RoomEventKind::Joined, t + 100),
            (RoomEventKind::Joined, t + 10),
            (RoomEventKind::Created, t)
        ]
    );
    assert_eq!(events.total, 3);
    assert_eq!(events.items[0].user_name.as_deref(), Some("Ann Lee"));
    assert_eq!(events.items[2].user_id.as_ref(), Some(&owner));
    let paged = s
        .admin()
        .unwrap()
        .room_events(&EventQuery {
            offset: 1,
            limit: 1,
            ..all.clone()
        })
        .await
        .unwrap();
    assert_eq!((paged.total, paged.items[0].at), (3, t + 10));
    let created = EventQuery {
        kind: Some(RoomEventKind::Created),
        ..all.clone()
    };
    let only = s.admin().unwrap().room_events(&created).await.unwrap();
    assert_eq!(
        (only.total, only.items[0].room_id.clone()),
        (1, r.id.clone())
    );
    let text = EventQuery {
        text: Some("ann".into()),
        ..all.clone()
    };
    assert_eq!(
        s.admin().unwrap().room_events(&text).await.unwrap().total,
        2
    );
    let span = EventQuery {
        from: t + 5,
        to: t + 50,
        ..all.clone()
    };
    assert_eq!(
        s.admin().unwrap().room_events(&span).await.unwrap().total,
        1
    );
    let joins = s
        .admin()
        .unwrap()
        .tallies(&[Scope::day(t + 10), Scope::day(t + 100)])
        .await
        .unwrap();
    let days: BTreeSet<_> = [Scope::day(t + 10), Scope::day(t + 100)].into();
    let days: Vec<_> = days.into_iter().collect();
    assert_eq!(joins.sum(&days, Metric::Joins), 2);
}

/// Deleting an account removes it and its email claim (the address may sign up again) and
/// moves the totals, once however many deletes race; the last active admin stays.
pub async fn deleting_a_user_frees_its_email_and_counts(s: &Stores) {
    use bedrud_shared::store::UserChangeOutcome as O;
    let mut admin = account(&format!("{}@example.com", unique("del-admin")));
    admin.accesses.push(Access::Admin);
    let user = account(&format!("{}@example.com", unique("del")));
    s.users.insert_user(&admin).await.unwrap();
    s.users.insert_user(&user).await.unwrap();
    assert!(matches!(
        s.admin().unwrap().delete_user(&admin.id).await.unwrap(),
        O::LastAdmin
    ));
    assert!(s.users.user_by_id(&admin.id).await.unwrap().is_some());

    let races = join_all((0..4).map(|_| s.admin().unwrap().delete_user(&user.id))).await;
    let done = races.iter().filter(|r| matches!(r, Ok(O::Done(_)))).count();
    assert_eq!(done, 1, "{races:?}");
    assert!(
        races
            .iter()
            .all(|r| matches!(r, Ok(O::Done(_) | O::NotFound)))
    );
    assert!(s.users.user_by_id(&user.id).await.unwrap().is_none());
    let email = user.email.clone().unwrap();
    assert!(s.users.user_by_email(&email).await.unwrap().is_none());
    let again = User {
        id: UserId::new_account(),
        ..user.clone()
    };
    s.users.insert_user(&again).await.unwrap();
    let totals = s.admin().unwrap().tallies(&[Scope::all()]).await.unwrap();
    assert_eq!(totals.total(Metric::Users), 2);
    let listed = s
        .admin()
        .unwrap()
        .user_table(&UserQuery::default())
        .await
        .unwrap();
    assert_eq!(listed.total, 2);
    assert!(matches!(
        s.admin()
            .unwrap()
            .delete_user(&UserId::new_account())
            .await
            .unwrap(),
        O::NotFound
    ));
}
