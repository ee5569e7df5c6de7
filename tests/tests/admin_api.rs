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
    let s = TestServer::with_config(|c| c.livekit.internal_host = internal).await;
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
            assert_eq!(r.error(), "Admin access required");
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
