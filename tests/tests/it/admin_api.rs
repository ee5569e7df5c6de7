//! `/api/admin/livekit/*` over real HTTP: only admins; the LiveKit status tells up, down,
//! slow, not ready and wrong key apart (each probe step has a short time limit), and warns
//! when rooms are live but no webhook arrives.

use bedrud_shared::domain::now;
use bedrud_tests::livekit_double::{Failure, LiveKitDouble};
use bedrud_tests::people::{self, Person};
use bedrud_tests::{TEST_LK_KEY, TEST_LK_SECRET, TestServer};
use livekit_protocol as proto;
use serde_json::{Value, json};

const ROUTES: [&str; 2] = ["/api/admin/livekit/status", "/api/admin/livekit/stats"];

async fn server(internal: &str) -> (TestServer, Person) {
    let internal = internal.to_string();
    let s = TestServer::with_config(|c| c.livekit.internal_host = Some(internal)).await;
    let admin = people::admin(&s.api, &s.state).await;
    (s, admin)
}

async fn status(s: &TestServer, admin: &Person) -> Value {
    s.api.get(ROUTES[0], admin.bearer()).await.expect(200).body
}

#[tokio::test]
async fn only_admins() {
    let lk = LiveKitDouble::start(TEST_LK_KEY, TEST_LK_SECRET).await;
    let (s, admin) = server(&lk.url).await;
    let user = people::user(&s.api).await;
    let guest = people::guest(&s.api, "Gus").await;
    for path in ROUTES {
        s.api.get(path, None).await.expect(401);
        for who in [&user, &guest] {
            let r = s.api.get(path, who.bearer()).await.expect(403);
            assert_eq!(r.error(), "Insufficient access rights");
        }
        s.api.get(path, admin.bearer()).await.expect(200);
    }
}

#[tokio::test]
async fn connected_with_counts_and_a_webhook_warning() {
    let lk = LiveKitDouble::start(TEST_LK_KEY, TEST_LK_SECRET).await;
    let (s, admin) = server(&lk.url).await;
    let st = status(&s, &admin).await;
    assert_eq!(st["status"], "connected", "{st}");
    assert_eq!(st["mode"], "embedded");
    assert_eq!(st["internalHost"], lk.url);
    assert_eq!(
        (&st["health"]["ok"], &st["api"]["ok"]),
        (&json!(true), &json!(true))
    );
    assert_eq!(st["activeRooms"], 0);
    assert!(st["warning"].is_null());
    assert!(
        st["supervisor"].is_null(),
        "no embedded LiveKit supervised here"
    );
    // The sidecar hands in its supervisor; the status shows its phase.
    s.state.admin.set_supervisor(std::sync::Arc::new(
        || json!({"state": "restarting", "attempt": 2, "lastExit": "exit status: 1"}),
    ));
    assert_eq!(
        status(&s, &admin).await["supervisor"]["state"],
        "restarting"
    );

    // Rooms in use and not one webhook: say so.
    lk.connect("busy-room", "alice", &[proto::TrackSource::Microphone]);
    lk.connect("busy-room", "bob", &[]);
    let st = status(&s, &admin).await;
    assert_eq!(st["activeRooms"], 1);
    assert_eq!(st["webhooks"]["count"], 0);
    let warning = st["warning"].as_str().unwrap();
    assert!(warning.contains("no webhook has arrived yet"), "{warning}");
    let stats = s.api.get(ROUTES[1], admin.bearer()).await.expect(200).body;
    assert_eq!(
        (&stats["activeRooms"], &stats["totalParticipants"]),
        (&json!(1), &json!(2))
    );
    assert_eq!(stats["rooms"][0]["name"], "busy-room");

    // A delivered webhook clears the warning and is counted.
    let event = proto::WebhookEvent {
        event: "track_published".into(),
        id: "EV_admin".into(),
        created_at: now(),
        ..Default::default()
    };
    let url = format!("{}/api/livekit/webhook", s.api.base);
    assert_eq!(lk.send_webhook(&url, &event).await.status(), 200);
    let st = status(&s, &admin).await;
    assert_eq!(st["webhooks"]["count"], 1);
    assert!(st["webhooks"]["lastReceivedAt"].is_string());
    assert!(st["warning"].is_null());
}

#[tokio::test]
async fn down_slow_and_wrong_key_are_told_apart() {
    // Down: nothing listens.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let (s, admin) = server(&closed).await;
    let st = status(&s, &admin).await;
    assert_eq!(st["status"], "disconnected");
    for step in ["health", "api"] {
        let e = st[step]["error"].as_str().unwrap();
        assert!(
            e.contains("unreachable") && e.contains(&closed),
            "{step}: {e}"
        );
    }
    let r = s.api.get(ROUTES[1], admin.bearer()).await.expect(503);
    assert!(r.error().contains("unreachable"));

    // Slow: cut off by the probe's time limit, reported as a timeout.
    let slow = LiveKitDouble::start(TEST_LK_KEY, TEST_LK_SECRET).await;
    slow.fail(Failure::slow(std::time::Duration::from_secs(5)));
    let (s, admin) = server(&slow.url).await;
    let st = status(&s, &admin).await;
    assert_eq!(st["status"], "disconnected");
    assert!(
        st["api"]["error"].as_str().unwrap().contains("timed out"),
        "{st}"
    );
    assert!(
        st["api"]["latencyMs"].as_u64().unwrap() < 4_000,
        "the probe gave up"
    );

    // Another key pair: LiveKit answers, but refuses us.
    let other = LiveKitDouble::start(TEST_LK_KEY, "another-secret-0123456789abcdefghij").await;
    let (s, admin) = server(&other.url).await;
    let st = status(&s, &admin).await;
    assert_eq!(st["status"], "disconnected");
    assert_eq!(st["health"]["ok"], true, "reachable");
    let e = st["api"]["error"].as_str().unwrap();
    assert!(e.contains("refused the API key"), "{e}");
}

#[tokio::test]
async fn admins_list_inspect_update_and_close_every_room() {
    let lk = LiveKitDouble::start(TEST_LK_KEY, TEST_LK_SECRET).await;
    let (s, admin) = server(&lk.url).await;
    let owner = people::user(&s.api).await;
    let user = people::user(&s.api).await;
    let tag = bedrud_tests::unique("adm").replace('-', "");
    let mut ids = Vec::new();
    for i in 0..3 {
        let r = people::room(
            &s.api,
            &owner,
            json!({"name": format!("{tag}-{i}"), "isPublic": true}),
        )
        .await;
        ids.push(r["id"].as_str().unwrap().to_string());
    }
    let id = &ids[0];
    let room_paths = [
        ("GET", "/api/admin/rooms".to_string()),
        ("GET", format!("/api/admin/rooms/{id}/participants")),
        ("PUT", format!("/api/admin/rooms/{id}")),
        ("DELETE", format!("/api/admin/rooms/{id}")),
    ];
    for (method, path) in &room_paths {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let body = json!({});
        s.api
            .call(m.clone(), path, None, Some(&body))
            .await
            .expect(401);
        let r = s
            .api
            .call(m, path, owner.bearer(), Some(&body))
            .await
            .expect(403);
        assert_eq!(r.error(), "Insufficient access rights", "{method} {path}");
    }

    // The cursor form (`cursor=` starts it): pages of one, newest first, filtered to this
    // test's rooms.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let path = format!("/api/admin/rooms?q={tag}&limit=1&cursor={cursor}");
        let page = s.api.get(&path, admin.bearer()).await.expect(200).body;
        for r in page["rooms"].as_array().unwrap() {
            seen.push(r["id"].as_str().unwrap().to_string());
        }
        match page["nextCursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    // Pages partition the list (rooms made within one second have no order among them).
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    let mut all = ids.clone();
    all.sort();
    assert_eq!((seen.len(), sorted), (3, all));
    for bad in [
        "status=sleeping",
        "limit=0",
        "limit=x",
        "cursor=&limit=1000",
        "sort=size",
        "order=up",
        "visibility=hidden",
        "page=0",
    ] {
        s.api
            .get(&format!("/api/admin/rooms?{bad}"), admin.bearer())
            .await
            .expect(400);
    }

    // Live participants beside the stored seats.
    let name = format!("{tag}-0");
    let joined = s
        .api
        .post("/api/room/join", user.bearer(), &json!({"roomName": name}))
        .await
        .expect(200);
    let live = bedrud_tests::livekit_room(&joined.body);
    lk.connect(&live, &user.id, &[proto::TrackSource::Microphone]);
    let p = s
        .api
        .get(
            &format!("/api/admin/rooms/{id}/participants"),
            admin.bearer(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(p["participants"][0]["identity"], json!(user.id));
    assert_eq!(p["participants"][0]["tracks"][0]["source"], "MICROPHONE");
    assert_eq!(p["participants"][0]["tracks"][0]["type"], "AUDIO");
    assert_eq!(p["stored"][0]["identity"], json!(user.id));
    assert!(p["livekitError"].is_null());

    // Update any room; close it for everyone.
    let r = s
        .api
        .put(
            &format!("/api/admin/rooms/{id}"),
            admin.bearer(),
            &json!({"maxParticipants": 7}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["maxParticipants"], 7);
    s.api
        .delete(&format!("/api/admin/rooms/{id}"), admin.bearer())
        .await
        .expect(200);
    assert!(!lk.has_room(&live), "LiveKit's room deleted");
    let archived = s
        .api
        .get(
            &format!("/api/admin/rooms?q={tag}&status=archived"),
            admin.bearer(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(archived["rooms"][0]["id"], json!(id));
    assert_eq!(archived["rooms"][0]["isActive"], false);
}

#[tokio::test]
async fn admins_manage_accounts_and_their_changes_bind_at_once() {
    let lk = LiveKitDouble::start(TEST_LK_KEY, TEST_LK_SECRET).await;
    let (s, admin) = server(&lk.url).await;
    let other_admin = people::admin(&s.api, &s.state).await;
    let user = people::user(&s.api).await;
    let uid = &user.id;
    let paths = [
        ("GET", "/api/admin/users".to_string(), json!({})),
        ("GET", format!("/api/admin/users/{uid}"), json!({})),
        (
            "PUT",
            format!("/api/admin/users/{uid}/status"),
            json!({"active": false}),
        ),
        (
            "PUT",
            format!("/api/admin/users/{uid}/accesses"),
            json!({"accesses": ["user"]}),
        ),
        (
            "POST",
            format!("/api/admin/users/{uid}/force-logout"),
            json!({}),
        ),
    ];
    for (method, path, body) in &paths {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        s.api
            .call(m.clone(), path, None, Some(body))
            .await
            .expect(401);
        let r = s
            .api
            .call(m, path, user.bearer(), Some(body))
            .await
            .expect(403);
        assert_eq!(r.error(), "Insufficient access rights", "{method} {path}");
    }

    // One account, its rooms.
    people::room(&s.api, &user, json!({"isPublic": true})).await;
    let one = s
        .api
        .get(&format!("/api/admin/users/{uid}"), admin.bearer())
        .await
        .expect(200)
        .body;
    assert_eq!(one["user"]["id"], json!(uid));
    assert_eq!(one["user"]["isAdmin"], false);
    assert!(one["user"].get("passwordHash").is_none());
    assert_eq!(one["rooms"].as_array().unwrap().len(), 1);
    for bad in ["not-a-uuid", "8f9c3a52-6b1d-4e8a-9f2b-1c3d5e7f9a0b"] {
        s.api
            .get(&format!("/api/admin/users/{bad}"), admin.bearer())
            .await
            .expect(404);
    }

    // Deactivated: the token in hand is refused on the next request, and login too.
    s.api.get("/api/auth/me", user.bearer()).await.expect(200);
    let r = s
        .api
        .put(
            &format!("/api/admin/users/{uid}/status"),
            admin.bearer(),
            &json!({"active": false}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["user"]["isActive"], false);
    s.api.get("/api/auth/me", user.bearer()).await.expect(401);
    s.api
        .post(
            "/api/room/join",
            user.bearer(),
            &json!({"roomName": "any-room"}),
        )
        .await
        .expect(401);
    s.api
        .put(
            &format!("/api/admin/users/{uid}/status"),
            admin.bearer(),
            &json!({"active": true}),
        )
        .await
        .expect(200);

    // Force-logout ends sessions without locking the account (Bedrud's bug): sign in again.
    let email = s
        .state
        .stores
        .users
        .user_by_id(&bedrud_shared::domain::UserId::parse(uid).unwrap())
        .await
        .unwrap()
        .unwrap()
        .email
        .unwrap()
        .to_string();
    let (token, _) = bedrud_tests::scenarios::login(&s.api, &email).await;
    let r = s
        .api
        .post(
            &format!("/api/admin/users/{uid}/force-logout"),
            admin.bearer(),
            &json!({}),
        )
        .await
        .expect(200);
    assert!(r.body["sessions"].as_u64().unwrap() >= 1);
    s.api.get("/api/auth/me", Some(&token)).await.expect(401);
    let r = s
        .api
        .post(
            "/api/room/refresh-token",
            Some(&token),
            &json!({"roomName": "any-room"}),
        )
        .await
        .expect(401);
    assert_eq!(r.error(), "Session ended: sign in again");
    let (again, _) = bedrud_tests::scenarios::login(&s.api, &email).await;
    s.api.get("/api/auth/me", Some(&again)).await.expect(200);

    // Accesses: validated, applied, and the old token ends with them.
    let acc = format!("/api/admin/users/{uid}/accesses");
    for bad in [
        json!({"accesses": []}),
        json!({"accesses": ["wizard"]}),
        json!({"accesses": "admin"}),
    ] {
        s.api.put(&acc, admin.bearer(), &bad).await.expect(400);
    }
    let r = s
        .api
        .put(
            &acc,
            admin.bearer(),
            &json!({"accesses": ["user", "admin"]}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["user"]["isAdmin"], true);
    s.api.get("/api/auth/me", Some(&again)).await.expect(401);
    let (promoted, _) = bedrud_tests::scenarios::login(&s.api, &email).await;
    s.api
        .get("/api/admin/users?limit=1", Some(&promoted))
        .await
        .expect(200);

    // Nobody changes their own account here.
    let me = format!("/api/admin/users/{}/status", admin.id);
    let r = s
        .api
        .put(&me, admin.bearer(), &json!({"active": false}))
        .await
        .expect(400);
    assert!(r.error().contains("your own account"));
    // Paging and bad queries.
    for bad in [
        "status=sleepy",
        "role=wizard",
        "limit=0",
        "cursor=&limit=101",
        "provider=myspace",
        "verified=maybe",
        "created=yesterday",
        "sort=age",
        "order=sideways",
        "page=-1",
    ] {
        s.api
            .get(&format!("/api/admin/users?{bad}"), Some(&promoted))
            .await
            .expect(400);
    }
    let page = s
        .api
        .get("/api/admin/users?limit=1&cursor=", Some(&promoted))
        .await
        .expect(200)
        .body;
    assert_eq!(page["users"].as_array().unwrap().len(), 1);
    assert!(page["nextCursor"].is_string());

    // With two admins left, both demoting the other at once: one wins, never zero admins.
    s.api
        .put(&acc, admin.bearer(), &json!({"accesses": ["user"]}))
        .await
        .expect(200);
    let demote = |who: &Person, target: &Person| {
        let (api, path, bearer) = (
            s.api.clone(),
            format!("/api/admin/users/{}/accesses", target.id),
            who.token.clone(),
        );
        async move {
            api.put(&path, Some(&bearer), &json!({"accesses": ["user"]}))
                .await
                .status
        }
    };
    let (x, y) = tokio::join!(demote(&admin, &other_admin), demote(&other_admin, &admin));
    assert!(
        !(x == 200 && y == 200),
        "both demotions went through: {x} {y}"
    );
    let filter = bedrud_shared::store::UserFilter {
        access: Some(bedrud_shared::domain::Access::Admin),
        active: Some(true),
        ..Default::default()
    };
    let left = s
        .state
        .stores
        .admin()
        .unwrap()
        .list_users(&filter, 100, None)
        .await
        .unwrap();
    assert_eq!(left.items.len(), 1, "one admin left");
}
