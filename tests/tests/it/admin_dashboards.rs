//! The admin dashboards and actions over HTTP on the embedded store with the LiveKit double:
//! the overview's sections with their numbers, the queue page from the real job table,
//! iOS's online count, the certificate card, and the account and room actions with the
//! statuses the web console expects (202 where Bedrud queues).

use bedrud_shared::domain::{day, now};
use bedrud_shared::queue::JobEnvelope;
use bedrud_tests::livekit_double::LiveKitDouble;
use bedrud_tests::people::{self, Person};
use bedrud_tests::{TEST_LK_KEY, TEST_LK_SECRET, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

struct Console {
    s: TestServer,
    live: Option<LiveKitDouble>,
    admin: Person,
}

async fn console() -> Console {
    let lk = LiveKitDouble::start(TEST_LK_KEY, TEST_LK_SECRET).await;
    let internal = lk.url.clone();
    let s = TestServer::with_config(|c| c.livekit.internal_host = Some(internal)).await;
    let admin = people::admin(&s.api, &s.state).await;
    Console {
        s,
        live: Some(lk),
        admin,
    }
}

impl Console {
    fn lk(&self) -> &LiveKitDouble {
        self.live.as_ref().expect("LiveKit double running")
    }

    async fn get(&self, path: &str) -> Value {
        self.s
            .api
            .get(path, self.admin.bearer())
            .await
            .expect(200)
            .body
    }

    async fn post(&self, path: &str, body: Value, status: u16) -> Value {
        self.s
            .api
            .post(path, self.admin.bearer(), &body)
            .await
            .expect(status)
            .body
    }
}

#[tokio::test]
async fn the_overview_counts_what_happened() {
    let mut c = console().await;
    let (a, b) = (people::user(&c.s.api).await, people::user(&c.s.api).await);
    people::guest(&c.s.api, "Gus").await;
    let public = people::room(&c.s.api, &a, json!({"isPublic": true})).await;
    people::room(&c.s.api, &a, json!({"isPublic": false})).await;
    let gone = people::room(&c.s.api, &b, json!({"isPublic": true})).await;
    let gone_id = gone["id"].as_str().unwrap();
    c.s.api
        .delete(&format!("/api/room/{gone_id}"), b.bearer())
        .await
        .expect(200);
    let live = bedrud_tests::livekit_room(&public);
    c.lk().connect(&live, &b.id, &[]);
    c.lk().connect(&live, "EG_recorder", &[]);

    let o = c.get("/api/admin/overview").await;
    let h = &o["health"];
    assert_eq!(
        (h["dbStatus"].as_str(), h["realtime"].as_str()),
        (Some("connected"), Some("connected"))
    );
    assert_eq!(h["status"], "healthy");
    assert!(h["tls"].is_null() && h["uptimeSeconds"].is_i64());
    let k = &o["kpis"];
    // Three accounts (the admin included), all signed up this week; the guest is no account.
    assert_eq!(
        (
            k["totalUsers"]["value"].as_i64(),
            k["totalUsers"]["delta"].as_i64()
        ),
        (Some(3), Some(3))
    );
    assert_eq!(k["totalUsers"]["deltaLabel"], "this week");
    assert_eq!(k["onlineNow"]["value"], 2, "LiveKit's count");
    assert_eq!(
        (
            k["totalRooms"]["value"].as_i64(),
            k["totalRooms"]["activeNow"].as_i64()
        ),
        (Some(2), Some(1))
    );
    assert!(k["activeSessions"]["value"].is_i64() && k["pendingActions"]["value"].is_i64());
    let trend = o["activityTrend"].as_array().unwrap();
    assert_eq!(trend.len(), 30);
    let today = trend.last().unwrap();
    assert_eq!(today["date"], day(now()));
    assert_eq!(today["roomsCreated"], 3);
    assert!(today["roomsActive"].is_i64() && today["participants"].is_i64());
    let comp = &o["roomComposition"];
    assert_eq!(
        [
            &comp["live"],
            &comp["public"],
            &comp["private"],
            &comp["persistent"],
            &comp["stale"]
        ],
        [&json!(2), &json!(1), &json!(1), &json!(0), &json!(0)]
    );
    // Nothing wrong, but LiveKit has a meeting and no webhook ever came: worth a look.
    let attention = o["needsAttention"].as_array().unwrap();
    assert!(
        attention.iter().all(|a| a["severity"] != "error"),
        "{attention:?}"
    );
    assert!(
        attention.iter().any(|a| a["type"] == "webhooks"),
        "{attention:?}"
    );
    let signups = o["recentSignups"].as_array().unwrap();
    assert_eq!(signups.len(), 3);
    assert!(
        signups
            .iter()
            .all(|u| u["provider"] == "local" && u["createdAt"].is_string())
    );
    let events = o["recentRoomEvents"].as_array().unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e["type"] == "room_created")
            .count(),
        3
    );
    assert!(
        events
            .iter()
            .all(|e| e["timestamp"].is_string() && e["roomName"].is_string())
    );
    assert!(o["instanceInfo"]["name"].is_string());

    // iOS's online count is LiveKit's.
    assert_eq!(c.get("/api/admin/online-count").await, json!({"count": 2}));
    // No TLS of our own to report.
    assert_eq!(
        c.get("/api/admin/cert-info").await,
        json!({"enabled": false})
    );

    // LiveKit down: the overview still answers, and says so.
    drop(c.live.take());
    let o = c.get("/api/admin/overview").await;
    assert_eq!(
        (
            o["health"]["realtime"].as_str(),
            o["health"]["status"].as_str()
        ),
        (Some("disconnected"), Some("degraded"))
    );
    let attention = o["needsAttention"].as_array().unwrap();
    assert!(
        attention
            .iter()
            .any(|a| a["type"] == "livekit" && a["severity"] == "error"),
        "{attention:?}"
    );
    assert!(o["kpis"]["pendingActions"]["value"].as_i64().unwrap() >= 1);
}

#[tokio::test]
async fn the_queue_page_reads_the_job_table() {
    let c = console().await;
    let empty = c.get("/api/admin/queue").await;
    for key in ["pending", "active", "done24h", "failed24h", "total"] {
        assert_eq!(empty[key], 0, "{key}");
    }
    assert!(empty["processedPerMin"].is_number() && empty["failedPerMin"].is_number());
    let queue = c.s.state.media.queue.clone().unwrap();
    let job = |id: &str| JobEnvelope {
        id: id.into(),
        kind: "no_such_job".into(),
        payload: json!({}),
    };
    queue.enqueue(&job("J1")).await.unwrap();
    queue.enqueue(&job("J2")).await.unwrap();
    let jobs = c.s.state.media.jobs.clone().unwrap();
    assert!(
        bedrud_shared::worker::run_one(&c.s.state, &*jobs)
            .await
            .unwrap()
    );
    let q = c.get("/api/admin/queue").await;
    assert_eq!(
        (
            q["pending"].as_u64(),
            q["failed24h"].as_i64(),
            q["done24h"].as_i64()
        ),
        (Some(2), Some(1), Some(0)),
        "{q}"
    );
    assert_eq!(q["failRate"], 1.0);
    let failure = &q["recentFailures"][0];
    assert_eq!(failure["type"], "no_such_job");
    assert!(
        failure["error"]
            .as_str()
            .unwrap()
            .contains("unknown job kind")
    );
    assert_eq!(failure["attempts"], 1);
    assert!(q["oldestPending"].as_i64().unwrap() >= 0);
}

#[tokio::test]
async fn account_actions_answer_as_the_console_expects() {
    let c = console().await;
    let users: Vec<Person> =
        futures_util::future::join_all((0..3).map(|_| people::user(&c.s.api))).await;
    let owned = people::room(&c.s.api, &users[0], json!({"isPublic": true})).await;

    // Bulk ban: per-id results; yourself and strangers fail, the rest succeed.
    let ids = json!({"ids": [users[1].id, c.admin.id, "not-an-id"]});
    let r = c.post("/api/admin/users/bulk/ban", ids, 200).await;
    assert_eq!(
        (r["totalProcessed"].as_u64(), r["totalFailed"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(r["results"][&users[1].id]["success"], true);
    assert!(r["results"][&users[1].id]["name"].is_string());
    assert_eq!(r["results"][&c.admin.id]["success"], false);
    assert!(r["results"]["not-an-id"]["error"].is_string());
    // Banned: their tokens are refused at once (as a single ban's are).
    c.s.api
        .get("/api/auth/me", users[1].bearer())
        .await
        .expect(401);
    // Nobody eligible, none, or too many: 400.
    c.post(
        "/api/admin/users/bulk/ban",
        json!({"ids": [c.admin.id]}),
        400,
    )
    .await;
    c.post("/api/admin/users/bulk/ban", json!({"ids": []}), 400)
        .await;
    let many: Vec<String> = (0..501).map(|i| format!("id-{i}")).collect();
    c.post("/api/admin/users/bulk/ban", json!({"ids": many}), 400)
        .await;
    c.post(
        "/api/admin/users/bulk/explode",
        json!({"ids": [users[2].id]}),
        400,
    )
    .await;
    // Promote is for superadmins.
    c.post(
        "/api/admin/users/bulk/promote",
        json!({"ids": [users[2].id]}),
        403,
    )
    .await;

    // Delete: 202; the account's rooms are closed and its email may sign up again.
    let email = c.get(&format!("/api/admin/users/{}", users[0].id)).await["user"]["email"]
        .as_str()
        .unwrap()
        .to_string();
    let r =
        c.s.api
            .delete(
                &format!("/api/admin/users/{}", users[0].id),
                c.admin.bearer(),
            )
            .await
            .expect(202);
    assert_eq!(r.body["rooms"], 1);
    c.s.api
        .get(
            &format!("/api/admin/users/{}", users[0].id),
            c.admin.bearer(),
        )
        .await
        .expect(404);
    let room = c
        .get(&format!(
            "/api/admin/rooms?q={}",
            owned["name"].as_str().unwrap()
        ))
        .await;
    assert_eq!(room["rooms"][0]["status"], "archived");
    // Its sessions went with it: the client signs out.
    c.s.api
        .get("/api/auth/me", users[0].bearer())
        .await
        .expect(401);
    c.s.api
        .post(
            "/api/auth/register",
            None,
            &json!({"email": email, "password": bedrud_tests::scenarios::PASSWORD, "name": "Back Again"}),
        )
        .await
        .expect(200);
    c.s.api
        .delete(
            &format!("/api/admin/users/{}", c.admin.id),
            c.admin.bearer(),
        )
        .await
        .expect(400);
    c.s.api
        .delete(
            &format!("/api/admin/users/{}", users[0].id),
            c.admin.bearer(),
        )
        .await
        .expect(404);
    // Bulk delete: 202 with what went and what was skipped.
    let r = c
        .post(
            "/api/admin/users/bulk/delete",
            json!({"ids": [users[2].id, c.admin.id]}),
            202,
        )
        .await;
    assert_eq!(
        (r["count"].as_u64(), r["skipped"].as_u64()),
        (Some(1), Some(1))
    );
    let totals = c.get("/api/admin/users?limit=1000").await;
    assert_eq!(
        totals["total"], 3,
        "admin, the banned user, the one who came back"
    );
}

#[tokio::test]
async fn room_actions_answer_as_the_console_expects() {
    let c = console().await;
    let owner = people::user(&c.s.api).await;
    let guest = people::user(&c.s.api).await;
    let mut rooms = Vec::new();
    for _ in 0..3 {
        rooms.push(people::room(&c.s.api, &owner, json!({"isPublic": true})).await);
    }
    let id = |i: usize| rooms[i]["id"].as_str().unwrap().to_string();
    let name = |i: usize| rooms[i]["name"].as_str().unwrap().to_string();

    // Kick and mute from the admin room page.
    c.s.api
        .post(
            "/api/room/join",
            guest.bearer(),
            &json!({"roomName": name(0)}),
        )
        .await
        .expect(200);
    let live = bedrud_tests::livekit_room(&rooms[0]);
    c.lk().connect(
        &live,
        &guest.id,
        &[livekit_protocol::TrackSource::Microphone],
    );
    let base = format!("/api/admin/rooms/{}/participants/{}", id(0), guest.id);
    assert_eq!(
        c.post(&format!("{base}/mute"), json!({}), 200).await,
        json!({"status": "success"})
    );
    assert_eq!(
        c.post(&format!("{base}/kick"), json!({}), 200).await,
        json!({"status": "success"})
    );
    assert!(c.lk().participant(&live, &guest.id).is_none());
    c.post(&format!("{base}/kick"), json!({}), 404).await;
    c.post(&format!("{base}/wave"), json!({}), 400).await;

    // Suspend: 202; nobody enters; again is 400; reactivate lets people in.
    let r = c
        .post(
            &format!("/api/admin/rooms/{}/suspend", id(0)),
            json!({}),
            202,
        )
        .await;
    assert_eq!(r["id"], id(0));
    let refused =
        c.s.api
            .post(
                "/api/room/join",
                owner.bearer(),
                &json!({"roomName": name(0)}),
            )
            .await
            .expect(403);
    assert_eq!(refused.error(), "Room is suspended");
    let again =
        c.s.api
            .post(
                &format!("/api/admin/rooms/{}/suspend", id(0)),
                c.admin.bearer(),
                &json!({}),
            )
            .await
            .expect(400);
    assert_eq!(again.error(), "Room is not active");
    let listed = c.get("/api/admin/rooms?status=suspended").await;
    assert_eq!(listed["total"], 1);
    c.post(
        &format!("/api/admin/rooms/{}/reactivate", id(0)),
        json!({}),
        200,
    )
    .await;
    c.post(
        &format!("/api/admin/rooms/{}/reactivate", id(0)),
        json!({}),
        400,
    )
    .await;
    c.s.api
        .post(
            "/api/room/join",
            owner.bearer(),
            &json!({"roomName": name(0)}),
        )
        .await
        .expect(200);
    c.post("/api/admin/rooms/no-such-room/suspend", json!({}), 404)
        .await;

    // Bulk suspend and close: 202 with counts.
    let r = c
        .post(
            "/api/admin/rooms/bulk/suspend",
            json!({"ids": [id(1), "nope"]}),
            202,
        )
        .await;
    assert_eq!(
        (r["count"].as_u64(), r["skipped"].as_u64()),
        (Some(1), Some(1))
    );
    let r = c
        .post(
            "/api/admin/rooms/bulk/close",
            json!({"ids": [id(1), id(2)]}),
            202,
        )
        .await;
    assert_eq!(
        (r["count"].as_u64(), r["skipped"].as_u64()),
        (Some(2), Some(0))
    );
    let archived = c.get("/api/admin/rooms?status=archived").await;
    assert_eq!(archived["total"], 2);
    c.post("/api/admin/rooms/bulk/melt", json!({"ids": [id(0)]}), 400)
        .await;
    // Settings from the admin page: the web's body and iOS's.
    let r =
        c.s.api
            .put(
                &format!("/api/admin/rooms/{}", id(0)),
                c.admin.bearer(),
                &json!({"settings": {"allowChat": false, "isPersistent": true}}),
            )
            .await
            .expect(200);
    assert_eq!(r.body["settings"]["allowChat"], false);
    c.s.api
        .put(
            &format!("/api/admin/rooms/{}", id(0)),
            c.admin.bearer(),
            &json!({"maxParticipants": 5}),
        )
        .await
        .expect(200);
}

#[tokio::test]
async fn only_admins_reach_dashboards_and_actions() {
    let c = console().await;
    let user = people::user(&c.s.api).await;
    for (method, path) in [
        (Method::GET, "/api/admin/overview".to_string()),
        (Method::GET, "/api/admin/queue".to_string()),
        (Method::GET, "/api/admin/online-count".to_string()),
        (Method::GET, "/api/admin/cert-info".to_string()),
        (Method::DELETE, format!("/api/admin/users/{}", c.admin.id)),
        (Method::POST, "/api/admin/users/bulk/ban".to_string()),
        (Method::POST, "/api/admin/rooms/x/suspend".to_string()),
        (Method::POST, "/api/admin/rooms/x/reactivate".to_string()),
        (Method::POST, "/api/admin/rooms/bulk/close".to_string()),
        (
            Method::POST,
            "/api/admin/rooms/x/participants/y/kick".to_string(),
        ),
    ] {
        let body = json!({"ids": ["x"]});
        let r = c.s.api.call(method.clone(), &path, None, Some(&body)).await;
        assert_eq!(r.status, 401, "{method} {path}");
        let r =
            c.s.api
                .call(method.clone(), &path, user.bearer(), Some(&body))
                .await;
        assert_eq!(
            (r.status, r.error()),
            (403, "Insufficient access rights"),
            "{method} {path}"
        );
    }
}
