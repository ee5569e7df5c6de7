//! The admin console's lists as the clients ask for them, over HTTP on the embedded store:
//! the web's `limit=1000` and iOS's bare request, every filter and sort, the field shapes
//! the clients read (users, sign-ups, sessions, rooms, room events), bad values refused, and the admin gate.

use bedrud_shared::domain::{Attendance, RoomId, RoomName, RoomPatch, UserId, now};
use bedrud_tests::TestServer;
use bedrud_tests::people::{self, Person};
use reqwest::Method;
use serde_json::{Value, json};

struct World {
    s: TestServer,
    admin: Person,
    users: Vec<Person>,
    rooms: Vec<Value>,
}

/// An admin, three accounts, a guest, and three rooms: one archived, one suspended.
async fn world() -> World {
    let s = TestServer::start().await;
    let admin = people::admin(&s.api, &s.state).await;
    let mut users = Vec::new();
    for _ in 0..3 {
        users.push(people::user(&s.api).await);
    }
    people::guest(&s.api, "Gus Guest").await;
    let mut rooms = Vec::new();
    for public in [true, false, true] {
        rooms.push(people::room(&s.api, &users[0], json!({"isPublic": public})).await);
    }
    s.api
        .delete(
            &format!("/api/room/{}", rooms[0]["id"].as_str().unwrap()),
            users[0].bearer(),
        )
        .await
        .expect(200);
    let suspend = RoomPatch {
        suspended: Some(true),
        ..Default::default()
    };
    let id = RoomId::parse(rooms[1]["id"].as_str().unwrap()).unwrap();
    s.state
        .stores
        .rooms
        .update_room(&id, &suspend, now())
        .await
        .unwrap();
    World {
        s,
        admin,
        users,
        rooms,
    }
}

impl World {
    async fn get(&self, path: &str) -> Value {
        self.s
            .api
            .get(path, self.admin.bearer())
            .await
            .expect(200)
            .body
    }

    async fn bad(&self, path: &str) {
        let r = self.s.api.get(path, self.admin.bearer()).await.expect(400);
        assert!(!r.error().is_empty(), "{path}");
    }
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect()
}

fn is_plain_time(v: &Value) -> bool {
    let s = v.as_str().unwrap_or_default();
    s.len() == 19 && s.as_bytes()[10] == b' ' && !s.contains('T') && !s.ends_with('Z')
}

#[tokio::test]
async fn users_as_the_web_and_ios_ask() {
    let w = world().await;
    // The web: everything at once, filtered in the browser.
    let all = w.get("/api/admin/users?limit=1000").await;
    assert_eq!(
        (
            all["total"].as_u64(),
            all["page"].as_u64(),
            all["limit"].as_u64()
        ),
        (Some(5), Some(1), Some(1000))
    );
    let users = all["users"].as_array().unwrap();
    assert_eq!(users.len(), 5);
    for u in users {
        for key in ["id", "name", "provider"] {
            assert!(u[key].is_string(), "{key} in {u}");
        }
        assert!(
            u["isActive"].is_boolean() && u["accesses"].is_array(),
            "{u}"
        );
        assert!(
            is_plain_time(&u["createdAt"]),
            "Bedrud's admin time format: {u}"
        );
    }
    // iOS: no query at all.
    let ios = w.get("/api/admin/users").await;
    assert_eq!(
        (ios["total"].as_u64(), ios["limit"].as_u64()),
        (Some(5), Some(50))
    );
    assert!(ios["users"][0]["email"].is_string() || ios["users"][0]["email"].is_null());
    // Pages partition the list, newest first.
    let mut paged = Vec::new();
    for page in 1..=3 {
        let p = w
            .get(&format!("/api/admin/users?limit=2&page={page}"))
            .await;
        assert_eq!(p["total"], 5);
        paged.extend(ids(&p["users"]));
    }
    assert_eq!(paged, ids(&all["users"]));
    let over = w.get("/api/admin/users?limit=2&page=9").await;
    assert_eq!(
        (
            over["total"].as_u64(),
            over["users"].as_array().unwrap().len()
        ),
        (Some(5), 0)
    );

    // Filters.
    let count = |v: Value| v["total"].as_u64().unwrap();
    assert_eq!(count(w.get("/api/admin/users?provider=guest").await), 1);
    assert_eq!(count(w.get("/api/admin/users?provider=local").await), 4);
    assert_eq!(count(w.get("/api/admin/users?provider=google").await), 0);
    assert_eq!(count(w.get("/api/admin/users?role=admin").await), 1);
    assert_eq!(count(w.get("/api/admin/users?role=guest").await), 1);
    // The guest has no address; the three who registered have not followed a link yet (the
    // admin was made confirmed).
    assert_eq!(count(w.get("/api/admin/users?verified=false").await), 4);
    assert_eq!(count(w.get("/api/admin/users?created=today").await), 5);
    assert_eq!(count(w.get("/api/admin/users?status=banned").await), 0);
    let me = w.get(&format!("/api/admin/users/{}", w.users[1].id)).await;
    let email = me["user"]["email"].as_str().unwrap().to_uppercase();
    let found = w.get(&format!("/api/admin/users?q={email}")).await;
    assert_eq!(ids(&found["users"]), [w.users[1].id.clone()]);
    w.s.api
        .put(
            &format!("/api/admin/users/{}/status", w.users[2].id),
            w.admin.bearer(),
            &json!({"active": false}),
        )
        .await
        .expect(200);
    let banned = w.get("/api/admin/users?status=banned").await;
    assert_eq!(ids(&banned["users"]), [w.users[2].id.clone()]);
    // Sorts.
    let by_name = w
        .get("/api/admin/users?sort=name&order=asc&limit=1000")
        .await;
    let names: Vec<String> = by_name["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap().to_lowercase())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    let oldest_first = w.get("/api/admin/users?order=asc&limit=1000").await;
    let mut reversed = ids(&all["users"]);
    reversed.reverse();
    assert_eq!(ids(&oldest_first["users"]), reversed);
}

#[tokio::test]
async fn rooms_as_the_web_and_ios_ask() {
    let w = world().await;
    let all = w.get("/api/admin/rooms?limit=1000").await;
    assert_eq!(all["total"], 3);
    let rooms = all["rooms"].as_array().unwrap();
    for r in rooms {
        for key in [
            "id",
            "name",
            "createdBy",
            "createdAt",
            "lastActivityAt",
            "status",
        ] {
            assert!(r[key].is_string(), "{key} in {r}");
        }
        assert!(
            r["isActive"].is_boolean() && r["isPublic"].is_boolean(),
            "{r}"
        );
        assert!(
            r["maxParticipants"].is_u64() && r["participantsCount"].is_u64(),
            "{r}"
        );
        assert_eq!(r["ownerName"], "Ann Lee", "{r}");
    }
    let by_id = |id: &Value| {
        rooms
            .iter()
            .find(|r| r["id"] == *id)
            .unwrap_or_else(|| panic!("{id} listed"))
            .clone()
    };
    let archived = by_id(&w.rooms[0]["id"]);
    assert_eq!(
        (archived["status"].as_str(), archived["isActive"].as_bool()),
        (Some("archived"), Some(false))
    );
    assert!(archived["deletedAt"].is_string());
    let suspended = by_id(&w.rooms[1]["id"]);
    assert_eq!(
        (
            suspended["status"].as_str(),
            suspended["isActive"].as_bool()
        ),
        (Some("suspended"), Some(false))
    );
    assert!(suspended.get("deletedAt").is_none());
    let active = by_id(&w.rooms[2]["id"]);
    assert_eq!(
        (active["status"].as_str(), active["isActive"].as_bool()),
        (Some("active"), Some(true))
    );

    for (status, id) in [
        ("active", 2),
        ("suspended", 1),
        ("archived", 0),
        ("deleted", 0),
    ] {
        let page = w
            .get(&format!("/api/admin/rooms?limit=1000&status={status}"))
            .await;
        assert_eq!(
            ids(&page["rooms"]),
            [w.rooms[id]["id"].as_str().unwrap()],
            "{status}"
        );
    }
    let private = w.get("/api/admin/rooms?visibility=private").await;
    assert_eq!(ids(&private["rooms"]), [w.rooms[1]["id"].as_str().unwrap()]);
    let name = w.rooms[2]["name"].as_str().unwrap();
    let found = w
        .get(&format!("/api/admin/rooms?q={}", name.to_uppercase()))
        .await;
    assert_eq!(found["total"], 1);
    let by_name = w.get("/api/admin/rooms?sort=name&order=asc").await;
    let names: Vec<&str> = by_name["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    // iOS: no query.
    let ios = w.get("/api/admin/rooms").await;
    assert_eq!(
        (ios["total"].as_u64(), ios["limit"].as_u64()),
        (Some(3), Some(50))
    );
    // Suspended rooms refuse entry, to their owner too.
    let r =
        w.s.api
            .post(
                "/api/room/join",
                w.users[0].bearer(),
                &json!({"roomName": w.rooms[1]["name"]}),
            )
            .await
            .expect(403);
    assert_eq!(r.error(), "Room is suspended");
}

#[tokio::test]
async fn recent_signups_sessions_and_room_events() {
    let w = world().await;
    let recent = w.get("/api/admin/users/recent?page=1&limit=25").await;
    assert_eq!(
        (recent["total"].as_u64(), recent["limit"].as_u64()),
        (Some(4), Some(25)),
        "guests left out"
    );
    for u in recent["users"].as_array().unwrap() {
        for key in ["id", "name", "email", "provider", "createdAt"] {
            assert!(u[key].is_string(), "{key} in {u}");
        }
    }
    assert_eq!(
        w.get("/api/admin/users/recent?provider=guest").await["total"],
        1
    );
    let today = bedrud_shared::domain::day(now());
    let spanned = w
        .get(&format!(
            "/api/admin/users/recent?dateFrom={today}&dateTo={today}"
        ))
        .await;
    assert_eq!(spanned["total"], 4);
    let later = w.get("/api/admin/users/recent?dateFrom=2999-01-01").await;
    assert_eq!(later["total"], 0);
    w.bad("/api/admin/users/recent?dateFrom=yesterday").await;
    w.bad("/api/admin/users/recent?dateFrom=2026-02-03&dateTo=2026-02-01")
        .await;

    // A user's room sessions (what the webhooks record).
    let user = UserId::parse(&w.users[1].id).unwrap();
    let room = &w.rooms[2];
    let t = now() - 120;
    for (sid, joined, left) in [("PA_a", t, Some(t + 60)), ("PA_b", t + 90, None)] {
        let visit = Attendance {
            session: sid.into(),
            user_id: user.clone(),
            user_name: "Ann Lee".into(),
            room_id: RoomId::parse(room["id"].as_str().unwrap()).unwrap(),
            room_name: RoomName::parse(room["name"].as_str().unwrap()).unwrap(),
            joined_at: joined,
            left_at: left,
        };
        w.s.state.stores.activity.attend(&visit).await.unwrap();
    }
    let path = format!(
        "/api/admin/users/{}/sessions?page=1&limit=20",
        w.users[1].id
    );
    let sessions = w.get(&path).await;
    assert_eq!(
        (
            sessions["total"].as_u64(),
            sessions["limit"].as_u64(),
            sessions["page"].as_u64()
        ),
        (Some(2), Some(20), Some(1))
    );
    let newest = &sessions["sessions"][0];
    assert_eq!(
        (newest["id"].as_str(), newest["isActive"].as_bool()),
        (Some("PA_b"), Some(true))
    );
    assert!(newest["leftAt"].is_null() && newest["durationSeconds"].as_i64().unwrap() >= 30);
    let ended = &sessions["sessions"][1];
    assert_eq!(
        (
            ended["durationSeconds"].as_i64(),
            ended["isActive"].as_bool()
        ),
        (Some(60), Some(false))
    );
    assert_eq!(ended["roomId"], room["id"]);
    assert_eq!(ended["roomName"], room["name"]);
    assert!(ended["joinedAt"].is_string() && ended["leftAt"].is_string());
    let nobody = format!("/api/admin/users/{}/sessions", UserId::new_account());
    w.s.api.get(&nobody, w.admin.bearer()).await.expect(404);

    // The events log, newest first: three rooms created now, two joins before.
    let events = w.get("/api/admin/rooms/events?page=1&limit=50").await;
    assert_eq!(events["total"], 5);
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "room_created",
            "room_created",
            "room_created",
            "room_joined",
            "room_joined"
        ]
    );
    let joined = &events["events"][3];
    assert_eq!(joined["userName"], "Ann Lee");
    assert!(joined["timestamp"].is_string() && joined["roomName"] == room["name"]);
    let created = w.get("/api/admin/rooms/events?type=room_created").await;
    assert_eq!(created["total"], 3);
    let q = format!(
        "/api/admin/rooms/events?q={}",
        room["name"].as_str().unwrap()
    );
    assert_eq!(w.get(&q).await["total"], 3, "its creation and both joins");
    let paged = w.get("/api/admin/rooms/events?limit=2&page=3").await;
    assert_eq!(
        (
            paged["total"].as_u64(),
            paged["events"].as_array().unwrap().len()
        ),
        (Some(5), 1)
    );
    assert_eq!(
        w.get("/api/admin/rooms/events?dateFrom=2999-01-01").await["total"],
        0
    );
    w.bad("/api/admin/rooms/events?type=room_exploded").await;
    w.bad("/api/admin/rooms/events?limit=0").await;
}

#[tokio::test]
async fn only_admins_see_the_lists() {
    let w = world().await;
    let user = &w.users[0];
    let paths = [
        "/api/admin/users?limit=1000".to_string(),
        "/api/admin/rooms?limit=1000".to_string(),
        "/api/admin/users/recent".to_string(),
        format!("/api/admin/users/{}/sessions", user.id),
        "/api/admin/rooms/events".to_string(),
    ];
    for path in paths {
        let r = w.s.api.call(Method::GET, &path, None, None).await;
        assert_eq!(r.status, 401, "{path}");
        let r = w.s.api.call(Method::GET, &path, user.bearer(), None).await;
        assert_eq!(
            (r.status, r.error()),
            (403, "Insufficient access rights"),
            "{path}"
        );
    }
}
