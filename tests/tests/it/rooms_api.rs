//! Rooms and join over real HTTP on the embedded store: wire format, bad input, the
//! authorization matrix, capacity under concurrency, bans, archives and guests.

use bedrud_shared::domain::{Restrictions, RoomName, Source, UserId, now};
use bedrud_shared::store::MemberChange;
use bedrud_tests::people::{self, Person};
use bedrud_tests::{TEST_LK_KEY, TestServer, count, jwt_claims};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

fn name_of(body: &Value) -> String {
    body["name"].as_str().expect("room name").to_string()
}

fn id_of(body: &Value) -> String {
    body["id"].as_str().expect("room id").to_string()
}

async fn room_count(s: &TestServer, owner: &Person) -> usize {
    let r = s
        .api
        .get("/api/room/list", owner.bearer())
        .await
        .expect(200);
    r.body.as_array().expect("list is an array").len()
}

/// Applies a moderation change straight to the store (the moderation routes come later).
async fn moderate(s: &TestServer, room: &str, who: &Person, change: MemberChange) {
    let name = RoomName::parse(room).unwrap();
    let (room, _) = s
        .state
        .stores
        .rooms
        .active_room(&name, None)
        .await
        .unwrap()
        .expect("active room");
    let user = UserId::parse(&who.id).unwrap();
    let changed = s
        .state
        .stores
        .rooms
        .change_member(&room, &user, &change, now())
        .await
        .unwrap();
    assert!(changed.is_some());
}

#[tokio::test]
async fn room_lifecycle_scenario() {
    let s = TestServer::start().await;
    bedrud_tests::scenarios::room_lifecycle(&s.api).await;
}

#[tokio::test]
async fn create_stores_exactly_what_was_sent_and_answers_the_superset() {
    let s = TestServer::start().await;
    let owner = people::user(&s.api).await;
    let settings = json!({
        "allowChat": false, "allowVideo": false, "allowAudio": true, "requireApproval": true,
        "e2ee": true, "isPersistent": true, "recordingsAllowed": false,
    });
    let body = people::room(
        &s.api,
        &owner,
        json!({"name": " Team-Sync ", "isPublic": false, "maxParticipants": 12,
               "mode": "webinar", "settings": settings, "somethingNew": 1}),
    )
    .await;
    assert_eq!(body["name"], "team-sync");
    assert_eq!(body["settings"], settings);
    assert_eq!(
        (&body["isPublic"], &body["maxParticipants"], &body["mode"]),
        (&json!(false), &json!(12), &json!("webinar"))
    );
    assert_eq!(body["createdBy"], json!(owner.id));
    assert_eq!(body["adminId"], json!(owner.id));
    assert_eq!(body["isActive"], true);
    assert_eq!(body["livekitHost"], "ws://127.0.0.1:7880");
    assert!(body["expiresAt"].as_str().is_some_and(|t| t.ends_with('Z')));
    let list = s
        .api
        .get("/api/room/list", owner.bearer())
        .await
        .expect(200);
    assert_eq!(list.body[0]["settings"], settings);
    assert_eq!(list.body[0]["id"], body["id"]);

    // Defaults for what is not sent; generated names as Bedrud makes them.
    for blank in [json!({}), json!({"name": null}), json!({"name": "  "})] {
        let b = people::room(&s.api, &owner, blank).await;
        let name = name_of(&b);
        assert_eq!(name.len(), 12, "{name}");
        assert!(RoomName::parse(&name).is_ok());
        assert_eq!(
            (&b["isPublic"], &b["maxParticipants"], &b["mode"]),
            (&json!(false), &json!(0), &json!("standard"))
        );
        assert_eq!(
            b["settings"],
            json!({"allowChat": true, "allowVideo": true, "allowAudio": true,
                   "requireApproval": false, "e2ee": false, "isPersistent": false,
                   "recordingsAllowed": true})
        );
    }
    // Creating a room does not touch LiveKit: the test config points at no server at all.
    assert_eq!(room_count(&s, &owner).await, 4);
}

#[tokio::test]
async fn bad_input_is_refused_and_nothing_is_stored() {
    let s = TestServer::with_config(|c| {
        c.server.max_participants_limit = 50;
    })
    .await;
    let owner = people::user(&s.api).await;
    let taken = name_of(&people::room(&s.api, &owner, json!({"name": "taken-name"})).await);
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"name": "ab"}), 400, "3 to 63"),
        (json!({"name": "-abc"}), 400, "hyphens"),
        (json!({"name": "a--b"}), 400, "hyphens"),
        (json!({"name": "ünïcode"}), 400, "hyphens"),
        (json!({"name": "x".repeat(64)}), 400, "3 to 63"),
        (json!({"maxParticipants": 51}), 400, "maxParticipants"),
        (json!({"maxParticipants": -1}), 400, "maxParticipants"),
        (json!({"mode": "meeting"}), 400, "mode"),
        (json!({"isPublic": "yes"}), 422, "invalid"),
        (json!({"settings": {"allowChat": 1}}), 422, "invalid"),
        (json!({"maxParticipants": "many"}), 422, "invalid"),
        (json!({"name": taken}), 409, "already exists"),
    ];
    for (body, status, words) in cases {
        let r = s
            .api
            .post("/api/room/create", owner.bearer(), &body)
            .await
            .expect(status);
        assert!(r.error().contains(words), "{body}: {}", r.error());
    }
    let raw = s
        .api
        .raw(
            Method::POST,
            "/api/room/create",
            owner.bearer(),
            HeaderMap::new(),
            b"{not json".to_vec(),
        )
        .await
        .expect(400);
    assert!(raw.error().contains("malformed"));
    assert_eq!(room_count(&s, &owner).await, 1);

    // Settings updates: same rules, and a refused update changes nothing.
    let id = id_of(&s.api.get("/api/room/list", owner.bearer()).await.body[0]);
    let path = format!("/api/room/{id}/settings");
    for (body, status) in [
        (json!({"maxParticipants": 51}), 400),
        (json!({"mode": "party"}), 400),
        (json!({"isPublic": 3}), 422),
    ] {
        s.api.put(&path, owner.bearer(), &body).await.expect(status);
    }
    let after = s.api.get("/api/room/list", owner.bearer()).await.body[0].clone();
    assert_eq!(
        (
            &after["maxParticipants"],
            &after["mode"],
            &after["isPublic"]
        ),
        (&json!(0), &json!("standard"), &json!(false))
    );
    // Join with bad names.
    s.api
        .post(
            "/api/room/join",
            owner.bearer(),
            &json!({"roomName": "a b"}),
        )
        .await
        .expect(400);
    s.api
        .post("/api/room/join", owner.bearer(), &json!({"room": "x"}))
        .await
        .expect(422);
}

#[tokio::test]
async fn settings_updates_are_partial_and_accept_every_client_shape() {
    let s = TestServer::start().await;
    let owner = people::user(&s.api).await;
    let id = id_of(&people::room(&s.api, &owner, json!({"maxParticipants": 20})).await);
    let path = format!("/api/room/{id}/settings");
    // Web access dialog: `isPublic` only.
    let r = s
        .api
        .put(&path, owner.bearer(), &json!({"isPublic": true}))
        .await
        .expect(200);
    assert_eq!(
        (&r.body["isPublic"], &r.body["maxParticipants"]),
        (&json!(true), &json!(20))
    );
    // Android: no maxParticipants, a settings object.
    let r = s
        .api
        .put(
            &path,
            owner.bearer(),
            &json!({"isPublic": true, "settings": {"allowVideo": false}}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["settings"]["allowVideo"], false);
    assert_eq!(r.body["settings"]["allowAudio"], true);
    // iOS: the settings object itself as the body.
    let r = s
        .api
        .put(
            &path,
            owner.bearer(),
            &json!({"allowChat": false, "e2ee": true}),
        )
        .await
        .expect(200);
    assert_eq!(
        (
            &r.body["settings"]["allowChat"],
            &r.body["settings"]["e2ee"],
            &r.body["settings"]["allowVideo"]
        ),
        (&json!(false), &json!(true), &json!(false))
    );
    let r = s
        .api
        .put(
            &path,
            owner.bearer(),
            &json!({"maxParticipants": 0, "mode": "broadcast"}),
        )
        .await
        .expect(200);
    assert_eq!(
        (&r.body["maxParticipants"], &r.body["mode"]),
        (&json!(0), &json!("broadcast"))
    );
    s.api
        .put("/api/room/not-a-uuid/settings", owner.bearer(), &json!({}))
        .await
        .expect(404);
}

/// Every rooms/join route × anonymous, guest, user, owner, admin.
#[tokio::test]
async fn authorization_matrix() {
    let s = TestServer::start().await;
    let api = &s.api;
    let owner = people::user(api).await;
    let user = people::user(api).await;
    let guest = people::guest(api, "Gus Guest").await;
    let admin = people::admin(api, &s.state).await;
    let public = people::room(api, &owner, json!({"isPublic": true})).await;
    let private = people::room(api, &owner, json!({"isPublic": false})).await;
    let (pub_name, priv_name) = (name_of(&public), name_of(&private));
    let priv_id = id_of(&private);
    let who: [(&str, Option<&str>); 5] = [
        ("anonymous", None),
        ("guest", guest.bearer()),
        ("user", user.bearer()),
        ("owner", owner.bearer()),
        ("admin", admin.bearer()),
    ];
    let status_of = |r: bedrud_tests::Reply| r.status;

    let mut table: Vec<(String, Vec<u16>)> = Vec::new();
    let mut row = |label: &str, got: Vec<u16>| table.push((label.to_string(), got));

    let mut got = Vec::new();
    for (_, b) in who {
        got.push(status_of(api.post("/api/room/create", b, &json!({})).await));
    }
    row("create", got);
    let mut got = Vec::new();
    for (_, b) in who {
        got.push(status_of(api.get("/api/room/list", b).await));
    }
    row("list", got);
    for (label, name) in [("check public", &pub_name), ("check private", &priv_name)] {
        let mut got = Vec::new();
        for (_, b) in who {
            got.push(status_of(
                api.get(&format!("/api/room/check/{name}"), b).await,
            ));
        }
        row(label, got);
    }
    let mut got = Vec::new();
    for (_, b) in who {
        got.push(status_of(
            api.put(
                &format!("/api/room/{priv_id}/settings"),
                b,
                &json!({"e2ee": true}),
            )
            .await,
        ));
    }
    row("settings", got);
    for (label, name) in [("join public", &pub_name), ("join private", &priv_name)] {
        let mut got = Vec::new();
        for (_, b) in who {
            got.push(status_of(
                api.post("/api/room/join", b, &json!({"roomName": name}))
                    .await,
            ));
        }
        row(label, got);
    }
    // After the joins above, refresh works for whoever got in.
    for (label, name) in [
        ("refresh public", &pub_name),
        ("refresh private", &priv_name),
    ] {
        let mut got = Vec::new();
        for (_, b) in who {
            got.push(status_of(
                api.post("/api/room/refresh-token", b, &json!({"roomName": name}))
                    .await,
            ));
        }
        row(label, got);
    }
    let mut got = Vec::new();
    for (_, b) in who {
        got.push(status_of(
            api.get(&format!("/api/room/{priv_id}/presence"), b).await,
        ));
    }
    row("presence private", got);
    let mut got = Vec::new();
    for (_, b) in who {
        got.push(status_of(
            api.get(&format!("/api/room/{priv_id}/presence?countOnly=1"), b)
                .await,
        ));
    }
    row("presence count private", got);
    // Delete last: one room per caller who may try.
    let mut got = Vec::new();
    for (_, b) in who {
        let victim = id_of(&people::room(api, &owner, json!({})).await);
        got.push(status_of(
            api.delete(&format!("/api/room/{victim}"), b).await,
        ));
    }
    row("delete", got);

    //                               anon guest user owner admin
    let expected: Vec<(&str, [u16; 5])> = vec![
        ("create", [401, 403, 200, 200, 200]),
        ("list", [401, 403, 200, 200, 200]),
        ("check public", [200, 200, 200, 200, 200]),
        ("check private", [403, 403, 403, 200, 200]),
        ("settings", [401, 403, 403, 200, 200]),
        ("join public", [401, 200, 200, 200, 200]),
        ("join private", [401, 403, 403, 200, 200]),
        ("refresh public", [401, 200, 200, 200, 200]),
        ("refresh private", [401, 403, 403, 200, 200]),
        ("presence private", [401, 200, 200, 200, 200]),
        ("presence count private", [404, 404, 404, 200, 200]),
        ("delete", [401, 403, 403, 200, 200]),
    ];
    for ((label, got), (want_label, want)) in table.iter().zip(&expected) {
        assert_eq!(label, want_label);
        assert_eq!(
            got.as_slice(),
            want,
            "{label} (anon, guest, user, owner, admin)"
        );
    }
    assert_eq!(table.len(), expected.len());
    // Private presence for outsiders is an empty list, for the owner the real one.
    let outsider = api
        .get(&format!("/api/room/{priv_id}/presence"), user.bearer())
        .await;
    assert_eq!(outsider.body["participants"], json!([]));
    let inside = api
        .get(&format!("/api/room/{priv_id}/presence"), owner.bearer())
        .await;
    let ids: Vec<&str> = inside.body["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["identity"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&owner.id.as_str()) && ids.contains(&admin.id.as_str()));
    // Wording the web client branches on.
    let r = api
        .post(
            "/api/room/join",
            user.bearer(),
            &json!({"roomName": priv_name}),
        )
        .await;
    assert_eq!(r.error(), "This room is private");
}

#[tokio::test]
async fn join_answers_what_clients_decode_and_a_token_with_exact_rights() {
    let s = TestServer::start().await;
    let owner = people::user(&s.api).await;
    let user = people::user(&s.api).await;
    let created = people::room(
        &s.api,
        &owner,
        json!({"isPublic": true, "settings": {"allowVideo": false}}),
    )
    .await;
    let name = name_of(&created);
    let r = s
        .api
        .post("/api/room/join", user.bearer(), &json!({"roomName": name}))
        .await
        .expect(200);
    for key in [
        "id",
        "name",
        "token",
        "createdBy",
        "adminId",
        "isActive",
        "isPublic",
        "maxParticipants",
        "expiresAt",
        "settings",
        "livekitHost",
        "mode",
        "tokenExpiresAt",
    ] {
        assert!(!r.body[key].is_null(), "join answer lacks {key}: {}", r.raw);
    }
    assert!(
        r.body
            .as_object()
            .unwrap()
            .contains_key("activeRecordingId")
    );
    assert_eq!(r.body["adminId"], json!(owner.id));
    let claims = jwt_claims(r.body["token"].as_str().unwrap());
    assert_eq!(claims["iss"], TEST_LK_KEY);
    assert_eq!(claims["sub"], json!(user.id));
    assert_eq!(claims["name"], "Ann Lee");
    assert_eq!(
        claims["video"],
        json!({"roomJoin": true, "room": bedrud_tests::livekit_room(&r.body), "canPublish": true,
               "canPublishSources": ["microphone"], "canPublishData": true,
               "canSubscribe": true, "canUpdateOwnMetadata": true})
    );
    let meta: Value = serde_json::from_str(claims["metadata"].as_str().unwrap()).unwrap();
    assert_eq!(
        meta,
        json!({"role": "participant", "accesses": ["user"], "chatBlocked": false})
    );
    let ttl = claims["exp"].as_i64().unwrap() - claims["nbf"].as_i64().unwrap();
    assert!(
        (895..=905).contains(&ttl),
        "default TTL is 15 min, got {ttl}s"
    );

    // A restriction written by moderation reaches the next token; refresh re-reads it.
    let mut r2 = Restrictions::default();
    r2.deny(Source::Microphone);
    r2.chat_blocked = true;
    moderate(&s, &name, &user, MemberChange::Restrict(r2)).await;
    let again = s
        .api
        .post(
            "/api/room/refresh-token",
            user.bearer(),
            &json!({"roomName": name}),
        )
        .await
        .expect(200);
    let v = &jwt_claims(again.body["token"].as_str().unwrap())["video"];
    assert_eq!(
        (
            &v["canPublish"],
            &v["canPublishData"],
            v.get("canPublishSources")
        ),
        (&json!(false), &json!(false), None)
    );
    // The owner is the host: same identity as adminId, role in metadata.
    let o = s
        .api
        .post("/api/room/join", owner.bearer(), &json!({"roomName": name}))
        .await
        .expect(200);
    let oc = jwt_claims(o.body["token"].as_str().unwrap());
    assert_eq!(oc["sub"], o.body["adminId"]);
    assert!(oc["metadata"].as_str().unwrap().contains("\"owner\""));
    assert!(oc["video"].get("roomAdmin").is_none());
}

#[tokio::test]
async fn fifty_concurrent_joins_of_a_five_seat_room_admit_exactly_five() {
    let s = TestServer::start().await;
    let owner = people::user(&s.api).await;
    let name = name_of(
        &people::room(
            &s.api,
            &owner,
            json!({"isPublic": true, "maxParticipants": 5}),
        )
        .await,
    );
    let mut guests = Vec::new();
    for i in 0..50 {
        guests.push(people::guest(&s.api, &format!("Guest {i}")).await);
    }
    let tasks: Vec<_> = guests
        .into_iter()
        .map(|g| {
            let (api, name) = (s.api.clone(), name.clone());
            tokio::spawn(async move {
                api.post("/api/room/join", g.bearer(), &json!({"roomName": name}))
                    .await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        if r.status == 403 {
            assert_eq!(r.error(), "room is full");
        }
        statuses.push(r.status);
    }
    assert_eq!(count(&statuses, 200), 5, "{statuses:?}");
    assert_eq!(count(&statuses, 403), 45);
    let check = s
        .api
        .get(&format!("/api/room/check/{name}"), None)
        .await
        .expect(403);
    assert!(check.error().contains("full"));
    let presence = s
        .api
        .get(
            &format!(
                "/api/room/{}/presence?countOnly=1",
                id_of(&check_room(&s, &owner).await)
            ),
            None,
        )
        .await
        .expect(200);
    assert_eq!(presence.body["count"], 5);
}

async fn check_room(s: &TestServer, owner: &Person) -> Value {
    s.api.get("/api/room/list", owner.bearer()).await.body[0].clone()
}

#[tokio::test]
async fn a_banned_user_gets_neither_a_join_nor_a_refresh_token() {
    let s = TestServer::start().await;
    let owner = people::user(&s.api).await;
    let user = people::user(&s.api).await;
    let name = name_of(&people::room(&s.api, &owner, json!({"isPublic": true})).await);
    let join = json!({"roomName": name});
    s.api
        .post("/api/room/join", user.bearer(), &join)
        .await
        .expect(200);
    moderate(&s, &name, &user, MemberChange::Ban).await;
    for path in ["/api/room/join", "/api/room/refresh-token"] {
        let r = s.api.post(path, user.bearer(), &join).await.expect(403);
        assert_eq!(r.error(), "you are banned from this room");
        assert!(r.body.get("token").is_none());
    }
}

#[tokio::test]
async fn archived_rooms_answer_owner_and_others_differently_and_free_the_name() {
    let s = TestServer::start().await;
    let owner = people::user(&s.api).await;
    let user = people::user(&s.api).await;
    let created = people::room(
        &s.api,
        &owner,
        json!({"name": "weekly-sync", "isPublic": true, "mode": "webinar",
               "settings": {"allowChat": false}}),
    )
    .await;
    let id = id_of(&created);
    let del = s
        .api
        .delete(&format!("/api/room/{id}"), owner.bearer())
        .await
        .expect(200);
    assert_eq!(del.body["status"], "success");
    // Deleting again is harmless.
    s.api
        .delete(&format!("/api/room/{id}"), owner.bearer())
        .await
        .expect(200);
    let join = json!({"roomName": "weekly-sync"});
    let mine = s
        .api
        .post("/api/room/join", owner.bearer(), &join)
        .await
        .expect(200);
    assert_eq!(mine.body["status"], "archived_owned");
    assert_eq!(
        (&mine.body["name"], &mine.body["mode"]),
        (&json!("weekly-sync"), &json!("webinar"))
    );
    assert_eq!(mine.body["settings"]["allowChat"], false);
    assert!(mine.body.get("token").is_none());
    let theirs = s
        .api
        .post("/api/room/join", user.bearer(), &join)
        .await
        .expect(410);
    assert_eq!(theirs.error(), "room is no longer active");
    s.api
        .get("/api/room/check/weekly-sync", None)
        .await
        .expect(410);
    s.api
        .post("/api/room/refresh-token", owner.bearer(), &join)
        .await
        .expect(410);
    s.api
        .get("/api/room/check/never-made", None)
        .await
        .expect(404);
    // The list no longer shows it; the name can be taken again (here by someone else).
    assert_eq!(room_count(&s, &owner).await, 0);
    let again = people::room(
        &s.api,
        &user,
        json!({"name": "weekly-sync", "isPublic": true}),
    )
    .await;
    assert_ne!(id_of(&again), id);
    s.api
        .post("/api/room/join", owner.bearer(), &join)
        .await
        .expect(200);
}

#[tokio::test]
async fn per_user_room_limit_and_admin_exemption() {
    let s = TestServer::with_config(|c| c.server.max_rooms_per_user = 2).await;
    let owner = people::user(&s.api).await;
    for _ in 0..2 {
        people::room(&s.api, &owner, json!({})).await;
    }
    let r = s
        .api
        .post("/api/room/create", owner.bearer(), &json!({}))
        .await
        .expect(403);
    assert_eq!(r.error(), "Room limit reached (max 2 active rooms)");
    let admin = people::admin(&s.api, &s.state).await;
    for _ in 0..3 {
        people::room(&s.api, &admin, json!({})).await;
    }
}

#[tokio::test]
async fn guest_join_opens_a_session_and_remembers_the_guest() {
    let s = TestServer::start().await;
    let owner = people::user(&s.api).await;
    let name = name_of(&people::room(&s.api, &owner, json!({"isPublic": true})).await);
    let body = json!({"roomName": name, "guestName": "  Gwen <b>  "});
    let r = s
        .api
        .post("/api/room/guest-join", None, &body)
        .await
        .expect(200);
    for key in [
        "id",
        "name",
        "token",
        "livekitHost",
        "adminId",
        "accessToken",
        "refreshToken",
    ] {
        assert!(!r.body[key].is_null(), "guest-join lacks {key}");
    }
    assert_eq!(r.body["tokens"]["accessToken"], r.body["accessToken"]);
    assert_eq!(r.body["user"]["provider"], "guest");
    let identity = jwt_claims(r.body["token"].as_str().unwrap())["sub"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(identity.starts_with("guest-"));
    assert_eq!(
        jwt_claims(r.body["token"].as_str().unwrap())["name"],
        "Gwen b"
    );
    assert!(r.refresh_cookie().is_some());
    let marker = r
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("bedrud_guest_id="))
        .expect("sticky guest cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    // The guest's API session works (the web client reads preferences with it).
    s.api
        .get(
            "/api/auth/preferences",
            Some(r.body["accessToken"].as_str().unwrap()),
        )
        .await
        .expect(200);
    // Coming back with the cookie: the same identity, so a ban follows them.
    let mut headers = HeaderMap::new();
    headers.insert("cookie", HeaderValue::from_str(&marker).unwrap());
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    let back = s
        .api
        .raw(
            Method::POST,
            "/api/room/guest-join",
            None,
            headers.clone(),
            body.to_string().into_bytes(),
        )
        .await
        .expect(200);
    assert_eq!(
        jwt_claims(back.body["token"].as_str().unwrap())["sub"],
        json!(identity)
    );
    let guest = Person {
        id: identity.clone(),
        token: String::new(),
    };
    moderate(&s, &name, &guest, MemberChange::Ban).await;
    let banned = s
        .api
        .raw(
            Method::POST,
            "/api/room/guest-join",
            None,
            headers,
            body.to_string().into_bytes(),
        )
        .await
        .expect(403);
    assert!(banned.error().contains("banned"));
    // Refusals create no guest: private rooms, unknown rooms, bad names.
    let private = name_of(&people::room(&s.api, &owner, json!({"isPublic": false})).await);
    for (b, status) in [
        (json!({"roomName": private, "guestName": "Gus"}), 403),
        (json!({"roomName": "no-such-room", "guestName": "Gus"}), 404),
        (json!({"roomName": name, "guestName": "G"}), 400),
    ] {
        s.api
            .post("/api/room/guest-join", None, &b)
            .await
            .expect(status);
    }
}

#[tokio::test]
async fn guest_join_obeys_the_guest_switch() {
    let s = TestServer::with_config(|c| c.auth.guest_login_enabled = false).await;
    let owner = people::user(&s.api).await;
    let name = name_of(&people::room(&s.api, &owner, json!({"isPublic": true})).await);
    let r = s
        .api
        .post(
            "/api/room/guest-join",
            None,
            &json!({"roomName": name, "guestName": "Gus"}),
        )
        .await
        .expect(403);
    assert_eq!(r.error(), "Guest login is currently disabled");
}
