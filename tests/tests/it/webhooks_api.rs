//! LiveKit webhooks over real HTTP on the embedded store, delivered by the LiveKit double the
//! way LiveKit delivers them: verification before parsing, every event's effect, duplicates,
//! reordering, and the seat accounting that depends on them.

use std::time::Duration;

use bedrud_shared::domain::{RoomId, now};
use bedrud_shared::livekit::WebhookVerifier;
use bedrud_tests::livekit_double::LiveKitDouble;
use bedrud_tests::people::{self, Person};
use bedrud_tests::{Reply, TEST_LK_KEY, TEST_LK_SECRET, TestServer};
use livekit_api::access_token::AccessToken;
use livekit_protocol as proto;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

struct Hooks {
    s: TestServer,
    lk: LiveKitDouble,
    owner: Person,
    id: String,
    name: String,
    /// LiveKit's name for the room (`<name>.<id>`).
    live: String,
    url: String,
    n: std::sync::atomic::AtomicU64,
}

impl Hooks {
    async fn start(room: Value) -> Self {
        let lk = LiveKitDouble::start(TEST_LK_KEY, TEST_LK_SECRET).await;
        let internal = lk.url.clone();
        let s = TestServer::with_config(|c| c.livekit.internal_host = Some(internal)).await;
        let owner = people::user(&s.api).await;
        let created = people::room(&s.api, &owner, room).await;
        let url = format!("{}/api/livekit/webhook", s.api.base);
        Self {
            id: created["id"].as_str().unwrap().into(),
            name: created["name"].as_str().unwrap().into(),
            live: bedrud_tests::livekit_room(&created),
            s,
            lk,
            owner,
            url,
            n: Default::default(),
        }
    }

    fn event(&self, name: &str, identity: Option<(&str, &str)>, at: i64) -> proto::WebhookEvent {
        let n = self.n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        proto::WebhookEvent {
            event: name.into(),
            id: format!("EV_{}_{n}", self.id),
            created_at: at,
            room: Some(proto::Room {
                sid: "RM_live".into(),
                name: self.live.clone(),
                ..Default::default()
            }),
            participant: identity.map(|(identity, sid)| proto::ParticipantInfo {
                sid: sid.into(),
                identity: identity.into(),
                name: "Via LiveKit".into(),
                joined_at: at,
                state: proto::participant_info::State::Active as i32,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    async fn deliver(&self, event: &proto::WebhookEvent) -> Value {
        let res = self.lk.send_webhook(&self.url, event).await;
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }

    async fn joined(&self, who: &Person, session: &str) -> Value {
        let e = self.event("participant_joined", Some((&who.id, session)), now());
        self.deliver(&e).await
    }

    async fn left(&self, who: &Person, session: &str) -> Value {
        let e = self.event("participant_left", Some((&who.id, session)), now());
        self.deliver(&e).await
    }

    async fn join(&self, who: &Person) -> Reply {
        self.s
            .api
            .post(
                "/api/room/join",
                who.bearer(),
                &json!({"roomName": self.name}),
            )
            .await
    }

    /// Seats held, as the presence count reports them.
    async fn seats(&self) -> u64 {
        let r = self
            .s
            .api
            .get(
                &format!("/api/room/{}/presence?countOnly=1", self.id),
                self.owner.bearer(),
            )
            .await
            .expect(200);
        r.body["count"].as_u64().unwrap()
    }

    async fn post_raw(&self, auth: Option<&str>, body: Vec<u8>) -> Reply {
        let mut h = HeaderMap::new();
        h.insert(
            "content-type",
            HeaderValue::from_static("application/webhook+json"),
        );
        if let Some(a) = auth {
            h.insert("authorization", HeaderValue::from_str(a).unwrap());
        }
        self.s
            .api
            .raw(Method::POST, "/api/livekit/webhook", None, h, body)
            .await
    }
}

#[tokio::test]
async fn leaving_frees_the_seat_and_a_late_leave_never_unseats_a_returner() {
    let h = Hooks::start(json!({"isPublic": true, "maxParticipants": 2})).await;
    let (a, b, c) = (
        people::user(&h.s.api).await,
        people::user(&h.s.api).await,
        people::user(&h.s.api).await,
    );
    h.join(&a).await.expect(200);
    h.join(&b).await.expect(200);
    assert_eq!(h.join(&c).await.expect(403).error(), "room is full");
    assert_eq!(h.joined(&a, "PA_a1").await["status"], "ok");
    h.joined(&b, "PA_b1").await;
    assert_eq!(h.seats().await, 2);

    // a leaves: the seat is free for c.
    h.left(&a, "PA_a1").await;
    assert_eq!(h.seats().await, 1);
    h.join(&c).await.expect(200);
    h.joined(&c, "PA_c1").await;
    assert_eq!(h.join(&a).await.expect(403).error(), "room is full");

    // b leaves and comes back with a new connection; the old connection's `left` arrives
    // late (another event id): b keeps the seat.
    h.left(&b, "PA_b1").await;
    h.join(&b).await.expect(200);
    h.joined(&b, "PA_b2").await;
    let late = h.event(
        "participant_connection_aborted",
        Some((&b.id, "PA_b1")),
        now(),
    );
    h.deliver(&late).await;
    assert_eq!(h.seats().await, 2);
    let members =
        h.s.api
            .get(&format!("/api/room/{}/presence", h.id), h.owner.bearer())
            .await
            .expect(200);
    assert!(members.raw.contains(&b.id), "{}", members.raw);
}

#[tokio::test]
async fn left_before_joined_and_duplicates_change_nothing_twice() {
    let h = Hooks::start(json!({"isPublic": true})).await;
    let a = people::user(&h.s.api).await;
    h.join(&a).await.expect(200);
    let t = now();
    // LiveKit's order was joined(t) then left(t+1); they arrive the other way round.
    let joined = h.event("participant_joined", Some((&a.id, "PA_1")), t);
    let left = h.event("participant_left", Some((&a.id, "PA_1")), t + 1);
    h.deliver(&left).await;
    h.deliver(&joined).await;
    assert_eq!(h.seats().await, 0, "the newer fact (left) wins");

    // Five deliveries of one event: applied once, then acknowledged as duplicates.
    h.join(&a).await.expect(200);
    let again = h.event("participant_joined", Some((&a.id, "PA_2")), now());
    let mut answers = Vec::new();
    for _ in 0..5 {
        answers.push(h.deliver(&again).await["status"].clone());
    }
    assert_eq!(
        answers,
        ["ok", "duplicate", "duplicate", "duplicate", "duplicate"]
    );
    let bye = h.event("participant_left", Some((&a.id, "PA_2")), now() + 1);
    for _ in 0..5 {
        h.deliver(&bye).await;
    }
    assert_eq!(h.seats().await, 0, "one leave frees one seat, never more");
    let stats = h.s.state.webhooks.stats().await.unwrap();
    assert_eq!(stats.count, 12);
    assert!(stats.last_at.unwrap() >= now() - 60);
}

#[tokio::test]
async fn room_started_and_finished_and_the_other_events() {
    let h = Hooks::start(json!({"isPublic": true})).await;
    let (a, b) = (people::user(&h.s.api).await, people::user(&h.s.api).await);
    let id = RoomId::parse(&h.id).unwrap();
    h.deliver(&h.event("room_started", None, now())).await;
    let room = h.s.state.stores.rooms.room(&id).await.unwrap().unwrap();
    assert_eq!(room.live_sid.as_deref(), Some("RM_live"));
    for (p, sid) in [(&a, "PA_a"), (&b, "PA_b")] {
        h.join(p).await.expect(200);
        h.joined(p, sid).await;
    }
    assert_eq!(h.seats().await, 2);
    // Events we do not act on are still acknowledged.
    for name in [
        "track_published",
        "track_unpublished",
        "ingress_started",
        "brand_new_event",
    ] {
        assert_eq!(h.deliver(&h.event(name, None, now())).await["status"], "ok");
    }
    let mut egress = h.event("egress_started", None, now());
    egress.egress_info = Some(proto::EgressInfo {
        egress_id: "EG_1".into(),
        room_name: h.live.clone(),
        status: proto::EgressStatus::EgressActive as i32,
        ..Default::default()
    });
    h.deliver(&egress).await;
    // An unknown room and a stranger's identity are acknowledged and change nothing.
    let mut elsewhere = h.event("participant_joined", Some((&a.id, "PA_x")), now());
    elsewhere.room.as_mut().unwrap().name = "no-such-room".into();
    h.deliver(&elsewhere).await;
    let bot = h.event("participant_joined", Some(("EG_recorder", "PA_bot")), now());
    h.deliver(&bot).await;
    assert_eq!(h.seats().await, 2);

    // A finished meeting frees every seat and forgets its sid.
    h.deliver(&h.event("room_finished", None, now())).await;
    assert_eq!(h.seats().await, 0);
    let room = h.s.state.stores.rooms.room(&id).await.unwrap().unwrap();
    assert_eq!(room.live_sid, None);
}

/// Each seated connection is recorded once for the admin console (its join logged and
/// counted for its day), gets its end from the leave, and carries the name the person joined
/// under; a connection that was removed again is not a visit.
#[tokio::test]
async fn seated_connections_are_recorded_once_with_their_end() {
    use bedrud_shared::domain::{EventQuery, Metric, RoomEventKind, Scope, UserId};
    let h = Hooks::start(json!({"isPublic": true})).await;
    let a = people::user(&h.s.api).await;
    h.join(&a).await.expect(200);
    let t = now();
    let joined = h.event("participant_joined", Some((&a.id, "PA_seen")), t);
    h.deliver(&joined).await;
    // LiveKit retries with a new delivery id now and then: still one visit.
    let again = h.event("participant_joined", Some((&a.id, "PA_seen")), t);
    h.deliver(&again).await;
    h.deliver(&h.event("participant_left", Some((&a.id, "PA_seen")), t + 30))
        .await;
    let activity = h.s.state.stores.admin().unwrap();
    let user = UserId::parse(&a.id).unwrap();
    let visits = activity.attendance(&user, 0, 10).await.unwrap();
    assert_eq!(visits.total, 1);
    let v = &visits.items[0];
    assert_eq!(
        (v.session.as_str(), v.joined_at, v.left_at),
        ("PA_seen", t, Some(t + 30))
    );
    assert_eq!(v.room_id.as_str(), h.id);
    assert_ne!(v.user_name, "Via LiveKit", "the name they joined under");
    let events = activity
        .room_events(&EventQuery {
            kind: Some(RoomEventKind::Joined),
            text: None,
            from: t - 5,
            to: t + 5,
            offset: 0,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(events.total, 1);
    let day = Scope::day(t);
    let joins = activity.tallies(std::slice::from_ref(&day)).await.unwrap();
    assert_eq!(joins.get(&day, Metric::Joins), 1);

    // Banned, connected with an old token: removed, and no visit.
    let b = people::user(&h.s.api).await;
    h.join(&b).await.expect(200);
    h.s.api
        .post(
            &format!("/api/room/{}/ban/{}", h.id, b.id),
            h.owner.bearer(),
            &json!({}),
        )
        .await
        .expect(200);
    h.joined(&b, "PA_banned").await;
    h.left(&b, "PA_banned").await;
    let theirs = activity
        .attendance(&UserId::parse(&b.id).unwrap(), 0, 10)
        .await
        .unwrap();
    assert_eq!(theirs.total, 0);
}

#[tokio::test]
async fn a_banned_participant_who_connects_anyway_is_removed() {
    let h = Hooks::start(json!({"isPublic": true})).await;
    let a = people::user(&h.s.api).await;
    h.join(&a).await.expect(200);
    h.s.api
        .post(
            &format!("/api/room/{}/ban/{}", h.id, a.id),
            h.owner.bearer(),
            &json!({}),
        )
        .await
        .expect(200);
    // Their old token still admits them on self-hosted LiveKit.
    h.lk.connect(&h.live, &a.id, &[proto::TrackSource::Microphone]);
    h.lk.clear_calls();
    h.joined(&a, "PA_sneaky").await;
    assert_eq!(h.lk.methods(), ["RemoveParticipant"]);
    assert!(h.lk.participant(&h.live, &a.id).is_none());
    assert_eq!(h.seats().await, 0);
}

#[tokio::test]
async fn only_deliveries_signed_over_these_bytes_by_our_key_are_accepted() {
    let h = Hooks::start(json!({"isPublic": true})).await;
    let a = people::user(&h.s.api).await;
    h.join(&a).await.expect(200);
    // (Its join event was lost: a leave must then be newer than the seat.)
    let event = h.event("participant_left", Some((&a.id, "PA_1")), now() + 1);
    let body = serde_json::to_vec(&event).unwrap();
    let good = h.lk.sign_body(&body);

    let forged = LiveKitDouble::start(TEST_LK_KEY, "another-secret-0123456789abcdefghij")
        .await
        .sign_body(&body);
    let wrong_key = LiveKitDouble::start("APIother", TEST_LK_SECRET)
        .await
        .sign_body(&body);
    let mut tampered = body.clone();
    let at = tampered.len() - 2;
    tampered[at] = b' ';
    let expired = expired_token(&body);
    let unsigned_sha = AccessToken::with_api_key(TEST_LK_KEY, TEST_LK_SECRET)
        .to_jwt()
        .unwrap();
    for (label, auth, bytes) in [
        ("missing header", None, body.clone()),
        ("empty header", Some(String::new()), body.clone()),
        ("forged", Some(forged), body.clone()),
        ("wrong key", Some(wrong_key), body.clone()),
        ("tampered", Some(good.clone()), tampered),
        ("expired", Some(expired), body.clone()),
        ("no sha256 claim", Some(unsigned_sha), body.clone()),
        ("garbage", Some("not.a.jwt".into()), body.clone()),
    ] {
        let r = h.post_raw(auth.as_deref(), bytes).await;
        assert_eq!(r.status, 401, "{label}: {}", r.raw);
        assert_eq!(r.error(), "invalid webhook signature", "{label}");
    }
    assert_eq!(h.seats().await, 1, "nothing applied");
    assert_eq!(h.s.state.webhooks.stats().await.unwrap().count, 0);

    // Signed, but not an event: 400.
    for junk in [&b"{not json"[..], b"[1,2]", b"{\"createdAt\": {}}"] {
        let r = h.post_raw(Some(&h.lk.sign_body(junk)), junk.to_vec()).await;
        assert_eq!(
            r.status,
            400,
            "{}: {}",
            String::from_utf8_lossy(junk),
            r.raw
        );
    }
    // Over the body limit: 413 before anything else.
    let big = vec![b' '; 2 * 1024 * 1024];
    assert_eq!(h.post_raw(Some(&good), big).await.status, 413);
    // `Bearer ` is tolerated; the real thing applies.
    let r = h.post_raw(Some(&format!("Bearer {good}")), body).await;
    assert_eq!((r.status, &r.body["status"]), (200, &json!("ok")));
    assert_eq!(h.seats().await, 0);
}

/// A correctly signed token for `body` that expired two minutes ago (beyond the leeway).
fn expired_token(body: &[u8]) -> String {
    use base64::Engine;
    use sha2::Digest;
    let sha = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(body));
    let mut claims = livekit_api::access_token::Claims::from_unverified(
        &AccessToken::with_api_key(TEST_LK_KEY, TEST_LK_SECRET)
            .with_sha256(&sha)
            .to_jwt()
            .unwrap(),
    )
    .unwrap();
    let past = (now() - 600) as usize;
    claims.nbf = past;
    claims.exp = past + 480;
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(TEST_LK_SECRET.as_bytes()),
    )
    .unwrap()
}

#[test]
fn the_parser_never_panics_on_any_signed_input() {
    // Random and mutated bodies, each correctly signed so they reach the parser.
    let lk_sign = |body: &[u8]| {
        use base64::Engine;
        use sha2::Digest;
        let sha = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(body));
        AccessToken::with_api_key(TEST_LK_KEY, TEST_LK_SECRET)
            .with_sha256(&sha)
            .with_ttl(Duration::from_secs(600))
            .to_jwt()
            .unwrap()
    };
    let verifier = WebhookVerifier::new(TEST_LK_KEY, TEST_LK_SECRET);
    let seed = serde_json::to_vec(&proto::WebhookEvent {
        event: "participant_joined".into(),
        id: "EV_1".into(),
        created_at: 1,
        participant: Some(proto::ParticipantInfo {
            identity: "x".into(),
            ..Default::default()
        }),
        egress_info: Some(proto::EgressInfo::default()),
        ..Default::default()
    })
    .unwrap();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut ok, mut refused) = (0, 0);
    for i in 0..3000 {
        let mut body = seed.clone();
        if i % 3 == 0 {
            body = (0..(next() % 200)).map(|_| next() as u8).collect();
        } else {
            for _ in 0..(1 + next() % 4) {
                let at = (next() as usize) % body.len();
                body[at] = next() as u8;
            }
        }
        let auth = lk_sign(&body);
        match verifier.verify(Some(&auth), &body) {
            Ok(_) => ok += 1,
            Err(_) => refused += 1,
        }
    }
    assert!(ok > 0 && refused > 0, "ok {ok}, refused {refused}");
}
