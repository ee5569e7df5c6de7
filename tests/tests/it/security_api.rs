//! Regressions of the outside audit (issue "Security and reliability hardening"), each
//! black-box over HTTP on the embedded store, against the LiveKit double and with webhooks
//! signed the way LiveKit signs them. Each test says which finding it pins.

use std::time::Duration;

use bedrud_shared::domain::{RoomId, now};
use bedrud_tests::livekit_double::{Failure, LiveKitDouble};
use bedrud_tests::people::{self, Person};
use bedrud_tests::scenarios::{PASSWORD, login, register, unique_email};
use bedrud_tests::{Reply, TEST_LK_KEY, TEST_LK_SECRET, TestServer, jwt_claims, livekit_room};
use livekit_protocol as proto;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A server pointed at a LiveKit double, with recordings on.
struct Site {
    s: TestServer,
    lk: LiveKitDouble,
    _dir: tempfile::TempDir,
    n: std::sync::atomic::AtomicU64,
}

/// A room as created: its id, name and LiveKit name.
struct Made {
    id: String,
    name: String,
    live: String,
}

impl Site {
    async fn start() -> Self {
        let lk = LiveKitDouble::start(TEST_LK_KEY, TEST_LK_SECRET).await;
        let dir = tempfile::tempdir().unwrap();
        let (internal, path) = (lk.url.clone(), dir.path().to_path_buf());
        let s = TestServer::with_config(|c| {
            c.livekit.internal_host = Some(internal);
            c.recordings.enabled = true;
            c.recordings.dir = path;
        })
        .await;
        Self {
            s,
            lk,
            _dir: dir,
            n: Default::default(),
        }
    }

    async fn room(&self, owner: &Person, body: Value) -> Made {
        let r = people::room(&self.s.api, owner, body).await;
        Made {
            id: r["id"].as_str().unwrap().into(),
            name: r["name"].as_str().unwrap().into(),
            live: livekit_room(&r),
        }
    }

    async fn join(&self, who: &Person, name: &str) -> Reply {
        self.s
            .api
            .post("/api/room/join", who.bearer(), &json!({ "roomName": name }))
            .await
    }

    async fn act(&self, who: &Person, room: &Made, route: &str, target: &Person) -> Reply {
        let path = format!("/api/room/{}/{}", room.id, route.replace("{}", &target.id));
        let body = if route.starts_with("permissions") {
            json!({"canPublishSources": ["camera", "microphone"], "canPublishData": true})
        } else {
            json!({})
        };
        self.s.api.post(&path, who.bearer(), &body).await
    }

    async fn post(&self, who: &Person, path: &str) -> Reply {
        self.s.api.post(path, who.bearer(), &json!({})).await
    }

    /// A `participant_joined`/`left` for `identity` in LiveKit room `live`, as LiveKit sends it.
    async fn presence(&self, event: &str, live: &str, identity: &str, sid: &str) {
        let n = self.n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let e = proto::WebhookEvent {
            event: event.into(),
            id: format!("EV_sec_{n}_{sid}"),
            created_at: now(),
            room: Some(proto::Room {
                sid: "RM_sec".into(),
                name: live.into(),
                ..Default::default()
            }),
            participant: Some(proto::ParticipantInfo {
                sid: sid.into(),
                identity: identity.into(),
                state: proto::participant_info::State::Active as i32,
                ..Default::default()
            }),
            ..Default::default()
        };
        let url = format!("{}/api/livekit/webhook", self.s.api.base);
        assert_eq!(self.lk.send_webhook(&url, &e).await.status(), 200);
    }

    async fn seats(&self, owner: &Person, room: &Made) -> u64 {
        let path = format!("/api/room/{}/presence?countOnly=1", room.id);
        let r = self.s.api.get(&path, owner.bearer()).await.expect(200);
        r.body["count"].as_u64().unwrap()
    }
}

const MIC: &[proto::TrackSource] = &[proto::TrackSource::Microphone];

/// Finding 1 (High): a banned room moderator keeps no moderator power, and the ban demotes.
#[tokio::test]
async fn a_banned_moderator_moderates_nothing() {
    let site = Site::start().await;
    let api = &site.s.api;
    let owner = people::user(api).await;
    let room = site.room(&owner, json!({"isPublic": false})).await;
    site.join(&owner, &room.name).await.expect(200);
    site.lk.connect(&room.live, &owner.id, MIC);
    let m = people::user(api).await;
    site.act(&owner, &room, "promote/{}", &m).await.expect(200);
    site.join(&m, &room.name).await.expect(200);
    let victim = people::user(api).await;
    site.act(&owner, &room, "promote/{}", &victim)
        .await
        .expect(200); // let in, then demoted again: an ordinary admitted member
    site.act(&owner, &room, "demote/{}", &victim)
        .await
        .expect(200);
    site.join(&victim, &room.name).await.expect(200);
    site.lk.connect(&room.live, &victim.id, MIC);
    let accomplice = people::user(api).await;
    site.act(&owner, &room, "ban/{}", &m).await.expect(200);

    for route in [
        "kick/{}",
        "ban/{}",
        "mute/{}",
        "video/{}/off",
        "chat/{}/block",
        "permissions/{}",
    ] {
        let r = site.act(&m, &room, route, &victim).await.expect(403);
        assert_eq!(r.error(), "Insufficient permissions", "{route}");
    }
    let r = site.act(&m, &room, "promote/{}", &accomplice).await;
    r.expect(403);
    site.join(&accomplice, &room.name).await.expect(403);
    let rec = format!("/api/rooms/{}/recording/start", room.id);
    site.post(&m, &rec).await.expect(403);
    let list = format!("/api/rooms/{}/recordings", room.id);
    api.get(&list, m.bearer()).await.expect(403);
    site.post(&m, &format!("/api/room/{}/mute-all", room.id))
        .await
        .expect(403);
    site.post(&m, &format!("/api/room/{}/end", room.id))
        .await
        .expect(403);
    // Unbanned, they are a participant again, not a moderator.
    site.act(&owner, &room, "unban/{}", &m).await.expect(200);
    site.join(&m, &room.name).await.expect(200);
    site.act(&m, &room, "mute/{}", &victim).await.expect(403);
}

/// Finding 2 (High): a join token of an archived room cannot reach a later private room of the
/// same name, and a connection nobody admitted is removed, never seated or made a member.
#[tokio::test]
async fn an_old_token_never_becomes_membership_of_a_later_room() {
    let site = Site::start().await;
    let api = &site.s.api;
    let (a, b) = (people::user(api).await, people::user(api).await);
    let first = site
        .room(&a, json!({"name": "standup", "isPublic": true}))
        .await;
    let mallory = people::user(api).await;
    let old = site.join(&mallory, "standup").await.expect(200);
    let old_room = jwt_claims(old.body["token"].as_str().unwrap())["video"]["room"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(old_room, first.live);
    api.delete(&format!("/api/room/{}", first.id), a.bearer())
        .await
        .expect(200);
    let second = site
        .room(&b, json!({"name": "standup", "isPublic": false}))
        .await;
    assert_ne!(second.live, old_room, "a new LiveKit room for the new room");

    // Mallory connects with the old token: LiveKit puts them in the old room's LiveKit room,
    // which is not this meeting; its reports change nothing.
    site.join(&b, "standup").await.expect(200);
    site.lk.connect(&second.live, &b.id, MIC);
    site.lk.connect(&old_room, &mallory.id, MIC);
    site.presence("participant_joined", &old_room, &mallory.id, "PA_m1")
        .await;
    assert_eq!(site.seats(&b, &second).await, 1);
    site.join(&mallory, "standup").await.expect(403);

    // Even a connection to this room's own LiveKit room by someone never let in (a leaked
    // token) is removed, not seated, and gives no membership.
    site.lk.connect(&second.live, &mallory.id, MIC);
    site.lk.clear_calls();
    site.presence("participant_joined", &second.live, &mallory.id, "PA_m2")
        .await;
    assert_eq!(site.lk.methods(), ["RemoveParticipant"]);
    assert!(site.lk.participant(&second.live, &mallory.id).is_none());
    assert_eq!(site.seats(&b, &second).await, 1);
    let r = site.join(&mallory, "standup").await.expect(403);
    assert_eq!(r.error(), "This room is private");
    // The reconciler holds to the same rule.
    site.lk.connect(&second.live, &mallory.id, MIC);
    site.s.state.reconciler().unwrap().run_once().await.unwrap();
    assert!(site.lk.participant(&second.live, &mallory.id).is_none());
    site.join(&mallory, "standup").await.expect(403);
}

/// Finding 3 (Medium): restricting, muting, chat-blocking or ban-then-unban of someone who was
/// never in a private room does not let them in.
#[tokio::test]
async fn restricting_a_non_member_admits_nobody() {
    let site = Site::start().await;
    let api = &site.s.api;
    let owner = people::user(api).await;
    let room = site.room(&owner, json!({"isPublic": false})).await;
    for routes in [
        &["mute/{}"][..],
        &["video/{}/off"],
        &["screenshare/{}/stop"],
        &["chat/{}/block"],
        &["chat/{}/unblock"],
        &["ban/{}", "unban/{}"],
        &["demote/{}"],
    ] {
        let stranger = people::user(api).await;
        for route in routes {
            site.act(&owner, &room, route, &stranger).await.expect(200);
        }
        let r = site.join(&stranger, &room.name).await.expect(403);
        assert_eq!(r.error(), "This room is private", "{routes:?}");
        let check = format!("/api/room/check/{}", room.name);
        api.get(&check, stranger.bearer()).await.expect(403);
    }
    // A promotion is an explicit admission.
    let invited = people::user(api).await;
    site.act(&owner, &room, "promote/{}", &invited)
        .await
        .expect(200);
    site.join(&invited, &room.name).await.expect(200);
}

/// Finding 4 (Medium): connections that never finish their headers cannot take the server
/// down: a per-client cap refuses more at once, and the header timeout closes them.
#[tokio::test]
async fn slow_clients_are_capped_and_timed_out() {
    let s = TestServer::with_config(|c| {
        c.server.max_connections_per_client = 8;
        c.server.header_timeout = bedrud_shared::config::Ttl::from_secs(1);
    })
    .await;
    let addr = s.api.base.trim_start_matches("http://").to_string();
    let mut slow = Vec::new();
    for _ in 0..8 {
        let mut c = tokio::net::TcpStream::connect(&addr).await.unwrap();
        c.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(c);
    }
    // The ninth from the same address is closed at once.
    let mut ninth = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(10), ninth.read(&mut buf))
        .await
        .expect("refused connection is closed")
        .unwrap_or(0);
    assert_eq!(n, 0, "no answer on a refused connection");
    // The slow ones are closed by the header timeout, freeing their slots.
    for c in &mut slow {
        let closed = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match c.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {} // a 408 before the close is fine
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "a slow connection was left open");
    }
    s.api.get("/api/health", None).await.expect(200);
}

/// Finding 5 (Medium): guessing the current password is held to a per-account limit (and the
/// per-client auth limit), whatever token or address it comes from.
#[tokio::test]
async fn password_changes_are_rate_limited_per_account() {
    let s = TestServer::with_config(|c| {
        c.rate_limit.account_max_attempts = 3;
        c.rate_limit.account_window_secs = 3600;
    })
    .await;
    let email = unique_email("pw");
    register(&s.api, &email).await;
    let (t1, _) = login(&s.api, &email).await;
    let (t2, _) = login(&s.api, &email).await;
    let wrong =
        json!({"currentPassword": "not the password", "newPassword": "brand new password 1"});
    // Three guesses through two sessions, then every attempt is refused.
    for t in [&t1, &t2, &t1] {
        s.api
            .put("/api/auth/password", Some(t), &wrong)
            .await
            .expect(400);
    }
    let r = s.api.put("/api/auth/password", Some(&t2), &wrong).await;
    let r = r.expect(429);
    assert!(
        r.error().contains("too many password attempts"),
        "{}",
        r.raw
    );
    assert!(r.headers.contains_key("retry-after"));
    let right = json!({"currentPassword": PASSWORD, "newPassword": "brand new password 1"});
    s.api
        .put("/api/auth/password", Some(&t1), &right)
        .await
        .expect(429);
    // Another account is unaffected.
    let other = unique_email("pw2");
    register(&s.api, &other).await;
    let (t3, _) = login(&s.api, &other).await;
    let ok = json!({"currentPassword": PASSWORD, "newPassword": "brand new password 2"});
    s.api
        .put("/api/auth/password", Some(&t3), &ok)
        .await
        .expect(200);

    // The per-client auth limit applies to password changes as to logins.
    let s = TestServer::with_config(|c| {
        c.rate_limit.auth_max_requests = 2;
        c.rate_limit.auth_window_secs = 3600;
    })
    .await;
    let email = unique_email("pw3");
    let reg = register(&s.api, &email).await;
    let token = reg["tokens"]["accessToken"].as_str().unwrap().to_string();
    // Registration spent one of the two; one guess is left, then the limit holds.
    s.api
        .put("/api/auth/password", Some(&token), &wrong)
        .await
        .expect(400);
    s.api
        .put("/api/auth/password", Some(&token), &wrong)
        .await
        .expect(429);
}

/// Finding 6 (Low): what a participant writes into its own metadata is never re-published
/// by the server: role, accesses and chat state are rebuilt from the store.
#[tokio::test]
async fn forged_participant_metadata_is_not_republished() {
    let site = Site::start().await;
    let api = &site.s.api;
    let owner = people::user(api).await;
    let room = site.room(&owner, json!({"isPublic": true})).await;
    let p = people::user(api).await;
    site.join(&p, &room.name).await.expect(200);
    site.lk.connect(&room.live, &p.id, MIC);
    site.lk.set_metadata(
        &room.live,
        &p.id,
        r#"{"displayName":"Pat","role":"owner","accesses":["admin","superadmin"],"chatBlocked":false,"deafened":true}"#,
    );
    for (route, role, chat) in [
        ("chat/{}/block", "participant", true),
        ("promote/{}", "moderator", true),
        ("demote/{}", "participant", true),
    ] {
        site.act(&owner, &room, route, &p).await.expect(200);
        let meta: Value =
            serde_json::from_str(&site.lk.participant(&room.live, &p.id).unwrap().metadata)
                .unwrap();
        assert_eq!(meta["role"], role, "{route}");
        assert_eq!(meta["chatBlocked"], chat, "{route}");
        let accesses = meta["accesses"].as_array().unwrap();
        assert!(!accesses.contains(&json!("admin")), "{route}: {meta}");
        assert!(!accesses.contains(&json!("superadmin")), "{route}: {meta}");
        assert_eq!(meta["displayName"], "Pat", "the client's own keys stay");
        assert_eq!(meta["deafened"], true);
    }
}

/// Finding 7 (Low): reconnecting with an old token after one's seat was freed does not exceed
/// the room's capacity: the connection is removed.
#[tokio::test]
async fn an_old_token_cannot_beat_capacity() {
    let site = Site::start().await;
    let api = &site.s.api;
    let owner = people::user(api).await;
    let room = site
        .room(&owner, json!({"isPublic": true, "maxParticipants": 1}))
        .await;
    let (a, b) = (people::user(api).await, people::user(api).await);
    site.join(&a, &room.name).await.expect(200);
    site.presence("participant_joined", &room.live, &a.id, "PA_a1")
        .await;
    site.presence("participant_left", &room.live, &a.id, "PA_a1")
        .await;
    site.join(&b, &room.name).await.expect(200);
    assert_eq!(site.seats(&owner, &room).await, 1);
    // a's token is still valid: they reconnect.
    site.lk.connect(&room.live, &a.id, MIC);
    site.lk.clear_calls();
    site.presence("participant_joined", &room.live, &a.id, "PA_a2")
        .await;
    assert_eq!(site.lk.methods(), ["RemoveParticipant"]);
    assert_eq!(site.seats(&owner, &room).await, 1);
    site.join(&a, &room.name).await.expect(403);
}

/// Finding 8 (Low): a present but invalid or expired token is 401, never "anonymous" (an
/// owner would otherwise be told their own room is private instead of refreshing).
#[tokio::test]
async fn an_invalid_token_is_401_not_anonymous() {
    let site = Site::start().await;
    let owner = people::user(&site.s.api).await;
    let room = site.room(&owner, json!({"isPublic": false})).await;
    let check = format!("/api/room/check/{}", room.name);
    site.s.api.get(&check, owner.bearer()).await.expect(200);
    site.s.api.get(&check, None).await.expect(403);
    let expired = bedrud_shared::auth::TokenKeys::new(bedrud_tests::TEST_JWT_SECRET, 60, 3600);
    let claims = jwt_claims(&owner.token);
    let user = site
        .s
        .state
        .stores
        .users
        .user_by_id(
            &bedrud_shared::domain::UserId::parse(claims["userId"].as_str().unwrap()).unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    let sid =
        bedrud_shared::domain::SessionId::from_trusted(claims["sid"].as_str().unwrap().into());
    let old = expired.issue_access(&user, &sid, now() - 3600).unwrap();
    for bad in [old.as_str(), "garbage", "Bearer"] {
        let r = site.s.api.get(&check, Some(bad)).await.expect(401);
        assert!(!r.error().is_empty());
        let presence = format!("/api/room/{}/presence?countOnly=1", room.id);
        site.s.api.get(&presence, Some(bad)).await.expect(401);
    }
}

/// Finding 13: a cookie alone does not authenticate a request that is not declared JSON, so a
/// cross-site form cannot log someone out, refresh for them or take over their guest identity.
#[tokio::test]
async fn cookie_authenticated_requests_must_be_json() {
    let s = TestServer::start().await;
    let email = unique_email("csrf");
    let reg = s
        .api
        .post(
            "/api/auth/register",
            None,
            &json!({"email": email, "password": PASSWORD, "name": "Ann"}),
        )
        .await
        .expect(200);
    let cookie = format!("refresh_token={}", reg.refresh_cookie_value().unwrap());
    let send = |ct: Option<&'static str>, path: &'static str, body: &'static str| {
        let (api, cookie) = (s.api.clone(), cookie.clone());
        async move {
            let mut h = HeaderMap::new();
            h.insert("cookie", HeaderValue::from_str(&cookie).unwrap());
            if let Some(ct) = ct {
                h.insert("content-type", HeaderValue::from_static(ct));
            }
            api.raw(Method::POST, path, None, h, body.as_bytes().to_vec())
                .await
        }
    };
    for ct in [
        Some("application/x-www-form-urlencoded"),
        Some("text/plain"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let r = send(ct, "/api/auth/refresh", "").await.expect(403);
        assert!(
            r.error().contains("Content-Type: application/json"),
            "{}",
            r.raw
        );
        send(ct, "/api/auth/logout", "").await.expect(403);
    }
    // The web client's own request works and the session is intact.
    send(Some("application/json"), "/api/auth/refresh", "")
        .await
        .expect(200);

    // Guest join with this browser's guest cookie, from a form: refused, nothing renamed.
    let owner = people::user(&s.api).await;
    let room = people::room(&s.api, &owner, json!({"isPublic": true})).await;
    let name = room["name"].as_str().unwrap();
    let first = s
        .api
        .post(
            "/api/room/guest-join",
            None,
            &json!({"roomName": name, "guestName": "Victim"}),
        )
        .await
        .expect(200);
    let marker = first
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("bedrud_guest_id="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let mut h = HeaderMap::new();
    h.insert("cookie", HeaderValue::from_str(&marker).unwrap());
    h.insert("content-type", HeaderValue::from_static("text/plain"));
    let body = json!({"roomName": name, "guestName": "Renamed"}).to_string();
    s.api
        .raw(
            Method::POST,
            "/api/room/guest-join",
            None,
            h,
            body.into_bytes(),
        )
        .await
        .expect(403);
}

/// Finding 15: bidi overrides and invisible characters are stripped from display names.
#[tokio::test]
async fn display_names_lose_bidi_overrides_and_invisible_characters() {
    let s = TestServer::start().await;
    let r = s
        .api
        .post(
            "/api/auth/register",
            None,
            &json!({"email": unique_email("bidi"), "password": PASSWORD,
                    "name": "Ann\u{202E}nimda\u{202C}\u{200B} Lee\u{FEFF}"}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["user"]["name"], "Annnimda Lee");
    let g = s
        .api
        .post(
            "/api/auth/guest-login",
            None,
            &json!({"name": "\u{2066}Gus\u{2069}"}),
        )
        .await
        .expect(200);
    assert_eq!(g.body["user"]["name"], "Gus");
    let r = s
        .api
        .post(
            "/api/auth/guest-login",
            None,
            &json!({"name": "\u{200B}\u{202E}"}),
        )
        .await
        .expect(400);
    assert!(r.error().contains("at least 2"));
}

/// Finding 16: deleting the owner's recordings and ending the owner's meeting are not a room
/// moderator's to do.
#[tokio::test]
async fn moderators_cannot_delete_recordings_or_end_the_meeting() {
    let site = Site::start().await;
    let api = &site.s.api;
    let owner = people::user(api).await;
    let room = site
        .room(
            &owner,
            json!({"isPublic": true, "settings": {"recordingsAllowed": true}}),
        )
        .await;
    site.lk.connect(&room.live, &owner.id, MIC);
    let m = people::user(api).await;
    site.join(&m, &room.name).await.expect(200);
    site.act(&owner, &room, "promote/{}", &m).await.expect(200);
    // A moderator may record; the finished recording is the owner's to delete.
    let started = site
        .post(&m, &format!("/api/rooms/{}/recording/start", room.id))
        .await
        .expect(201);
    let rid = started.body["id"].as_str().unwrap().to_string();
    let egress = site.lk.egresses()[0].egress_id.clone();
    site.lk.update_egress(&egress, |e| {
        e.status = proto::EgressStatus::EgressFailed as i32;
        e.error = "encoder gave up".into();
    });
    site.s.state.reconciler().unwrap().run_once().await.unwrap();
    let one = format!("/api/rooms/{}/recordings/{rid}", room.id);
    assert_eq!(
        api.get(&one, m.bearer()).await.expect(200).body["status"],
        "failed"
    );
    let r = api.delete(&one, m.bearer()).await.expect(403);
    assert_eq!(r.error(), "Only the room owner or an admin can do this");
    site.post(&m, &format!("/api/room/{}/end", room.id))
        .await
        .expect(403);
    api.delete(&one, owner.bearer()).await.expect(200);
    site.post(&owner, &format!("/api/room/{}/end", room.id))
        .await
        .expect(200);
}

/// Finding 17a: an undo after a LiveKit failure takes back only what its own request
/// changed, not what another moderator changed meanwhile.
#[tokio::test]
async fn an_undo_keeps_a_concurrent_moderators_change() {
    let site = Site::start().await;
    let api = &site.s.api;
    let owner = people::user(api).await;
    let room = site.room(&owner, json!({"isPublic": true})).await;
    let p = people::user(api).await;
    site.join(&p, &room.name).await.expect(200);
    site.lk.connect(&room.live, &p.id, MIC);
    // The owner's mute reaches LiveKit slowly and then fails…
    site.lk.fail(Failure {
        method: Some("UpdateParticipant".into()),
        status: 500,
        code: Some("internal".into()),
        delay: Duration::from_millis(1500),
    });
    let mute = {
        let (api, path, owner) = (
            api.clone(),
            format!("/api/room/{}/mute/{}", room.id, p.id),
            owner.clone(),
        );
        tokio::spawn(async move { api.post(&path, owner.bearer(), &json!({})).await })
    };
    // …while an admin blocks their chat (stored; the live half fails too, and is undone).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let target = bedrud_shared::domain::UserId::parse(&p.id).unwrap();
    let rid = RoomId::parse(&room.id).unwrap();
    let stored = site.s.state.stores.rooms.room(&rid).await.unwrap().unwrap();
    site.s
        .state
        .stores
        .rooms
        .change_member(
            &stored,
            &target,
            &bedrud_shared::domain::MemberChange::ChatBlock(true),
            now(),
        )
        .await
        .unwrap();
    mute.await.unwrap().expect(502);
    site.lk.heal();
    let after = site
        .s
        .state
        .stores
        .rooms
        .member(&stored, &target)
        .await
        .unwrap()
        .unwrap();
    assert!(after.restrictions.chat_blocked, "the other change survives");
    assert!(
        !after
            .restrictions
            .denies(bedrud_shared::domain::Source::Microphone),
        "this request's mute is undone"
    );
}

/// Finding 17b: a login racing a deactivation never leaves a session that outlives it.
#[tokio::test]
async fn no_session_survives_a_deactivation_it_raced() {
    let s = TestServer::start().await;
    let admin = people::admin(&s.api, &s.state).await;
    for round in 0..3 {
        let email = unique_email(&format!("race{round}"));
        let reg = register(&s.api, &email).await;
        let id = reg["user"]["id"].as_str().unwrap().to_string();
        let logins: Vec<_> = (0..12)
            .map(|_| {
                let (api, email) = (s.api.clone(), email.clone());
                tokio::spawn(async move {
                    api.post(
                        "/api/auth/login",
                        None,
                        &json!({"email": email, "password": PASSWORD}),
                    )
                    .await
                })
            })
            .collect();
        s.api
            .put(
                &format!("/api/admin/users/{id}/status"),
                admin.bearer(),
                &json!({"active": false}),
            )
            .await
            .expect(200);
        for l in logins {
            let r = l.await.unwrap();
            if r.status == 200 {
                let t = r.body["tokens"]["accessToken"].as_str().unwrap();
                s.api.get("/api/auth/me", Some(t)).await.expect(401);
            } else {
                assert_eq!(r.status, 403, "{}", r.raw);
            }
        }
    }
}

/// Reliability 18: stopping a recording LiveKit has already ended answers with the recording
/// as LiveKit left it, not 502.
#[tokio::test]
async fn stopping_a_recording_livekit_already_ended_is_not_an_error() {
    let site = Site::start().await;
    let api = &site.s.api;
    let owner = people::user(api).await;
    let room = site
        .room(
            &owner,
            json!({"isPublic": true, "settings": {"recordingsAllowed": true}}),
        )
        .await;
    site.lk.connect(&room.live, &owner.id, MIC);
    site.post(&owner, &format!("/api/rooms/{}/recording/start", room.id))
        .await
        .expect(201);
    let egress = site.lk.egresses()[0].egress_id.clone();
    // LiveKit's time limit ended it; its webhook has not arrived.
    site.lk.update_egress(&egress, |e| {
        e.status = proto::EgressStatus::EgressLimitReached as i32;
        e.error = "EGRESS_LIMIT_REACHED".into();
    });
    let r = site
        .post(&owner, &format!("/api/rooms/{}/recording/stop", room.id))
        .await
        .expect(200);
    assert_eq!(r.body["status"], "failed", "{}", r.raw);
    // Nothing is left running: a new recording may start.
    site.post(&owner, &format!("/api/rooms/{}/recording/start", room.id))
        .await
        .expect(201);
}
