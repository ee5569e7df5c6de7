//! Moderation over real HTTP on the embedded store, against the LiveKit double: who may do
//! what, the exact Twirp calls and grants each action makes, that effects bind (the next join
//! and refresh tokens carry them), and that LiveKit failures leave nothing half-applied.

use bedrud_tests::livekit_double::{Failure, LiveKitDouble};
use bedrud_tests::people::{self, Person};
use bedrud_tests::{Reply, TEST_LK_KEY, TEST_LK_SECRET, TestServer, jwt_claims};
use livekit_protocol::TrackSource;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// A public room with its owner, a server pointed at the double, and the double.
struct Meeting {
    s: TestServer,
    lk: LiveKitDouble,
    owner: Person,
    id: String,
    name: String,
    /// LiveKit's name for the room (`<name>.<id>`).
    live: String,
}

const MIC_AND_CAMERA: &[TrackSource] = &[TrackSource::Microphone, TrackSource::Camera];

impl Meeting {
    async fn start() -> Self {
        Self::with_double(LiveKitDouble::start(TEST_LK_KEY, TEST_LK_SECRET).await).await
    }

    async fn with_double(lk: LiveKitDouble) -> Self {
        let url = lk.url.clone();
        let s = TestServer::with_config(|c| c.livekit.internal_host = Some(url)).await;
        let owner = people::user(&s.api).await;
        let created = people::room(&s.api, &owner, json!({"isPublic": true})).await;
        Self {
            id: created["id"].as_str().unwrap().to_string(),
            name: created["name"].as_str().unwrap().to_string(),
            live: bedrud_tests::livekit_room(&created),
            s,
            lk,
            owner,
        }
    }

    /// A signed-in user who joined over the API and connected to LiveKit with mic and camera.
    async fn participant(&self) -> Person {
        let p = people::user(&self.s.api).await;
        self.join(&p).await.expect(200);
        self.lk.connect(&self.live, &p.id, MIC_AND_CAMERA);
        p
    }

    async fn join(&self, p: &Person) -> Reply {
        self.s
            .api
            .post(
                "/api/room/join",
                p.bearer(),
                &json!({"roomName": self.name}),
            )
            .await
    }

    async fn refresh(&self, p: &Person) -> Reply {
        self.s
            .api
            .post(
                "/api/room/refresh-token",
                p.bearer(),
                &json!({"roomName": self.name}),
            )
            .await
    }

    /// `route` is a template like `mute/{}` or `video/{}/off`.
    fn path(&self, route: &str, target: &str) -> String {
        format!("/api/room/{}/{}", self.id, route.replace("{}", target))
    }

    async fn act(&self, who: &Person, route: &str, target: &Person) -> Reply {
        self.s
            .api
            .post(&self.path(route, &target.id), who.bearer(), &json!({}))
            .await
    }

    /// The video grant of a fresh join token.
    async fn grant(&self, p: &Person) -> Value {
        let r = self.join(p).await.expect(200);
        jwt_claims(r.body["token"].as_str().unwrap())["video"].clone()
    }
}

fn sources(grant: &Value) -> Vec<String> {
    grant
        .get("canPublishSources")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// Every route that names a participant.
const TARGETED: &[&str] = &[
    "kick/{}",
    "ban/{}",
    "unban/{}",
    "mute/{}",
    "video/{}/off",
    "screenshare/{}/stop",
    "promote/{}",
    "demote/{}",
    "chat/{}/block",
    "chat/{}/unblock",
    "permissions/{}",
];

fn body_for(route: &str) -> Value {
    if route.starts_with("permissions") {
        json!({"canPublishSources": ["camera", "microphone"], "canPublishData": true})
    } else {
        json!({})
    }
}

#[tokio::test]
async fn authorization_matrix() {
    let m = Meeting::start().await;
    let api = &m.s.api;
    let target = m.participant().await;
    let bystander = m.participant().await;
    let outsider = people::user(api).await;
    let guest = people::guest(api, "Gus").await;
    let admin = people::admin(api, &m.s.state).await;
    let moderator = m.participant().await;
    m.act(&m.owner, "promote/{}", &moderator).await.expect(200);
    // A moderator who was banned keeps no power; a bystander who was only restricted (never
    // in the room) gains none.
    let banned_moderator = m.participant().await;
    m.act(&m.owner, "promote/{}", &banned_moderator)
        .await
        .expect(200);
    m.act(&m.owner, "ban/{}", &banned_moderator)
        .await
        .expect(200);
    let restricted = people::user(api).await;
    m.act(&m.owner, "mute/{}", &restricted).await.expect(200);
    m.act(&m.owner, "chat/{}/block", &restricted)
        .await
        .expect(200);

    for route in TARGETED {
        let path = m.path(route, &target.id);
        let body = body_for(route);
        let r = api.post(&path, None, &body).await.expect(401);
        assert!(!r.error().is_empty());
        for who in [
            &bystander,
            &outsider,
            &guest,
            &banned_moderator,
            &restricted,
        ] {
            let r = api.post(&path, who.bearer(), &body).await.expect(403);
            assert_eq!(r.error(), "Insufficient permissions", "{route}");
        }
        // Nobody acts on themselves, nobody on the owner.
        let own = m.path(route, &moderator.id);
        let r = api.post(&own, moderator.bearer(), &body).await.expect(400);
        assert_eq!(r.error(), "Cannot perform this action on yourself");
        let on_owner = m.path(route, &m.owner.id);
        for who in [&moderator, &admin] {
            let r = api.post(&on_owner, who.bearer(), &body).await.expect(403);
            assert_eq!(r.error(), "Cannot perform this action on the room owner");
        }
        // Owner, moderator and admin may.
        for who in [&m.owner, &moderator, &admin] {
            m.lk.connect(&m.live, &target.id, MIC_AND_CAMERA);
            let r = api.post(&path, who.bearer(), &body).await;
            assert_eq!(r.status, 200, "{route} by {}: {}", who.id, r.raw);
            assert!(r.body["status"].is_string(), "{}", r.raw);
            if route.starts_with("ban") {
                m.act(who, "unban/{}", &target).await.expect(200);
            }
            if route.starts_with("promote") {
                m.act(&m.owner, "demote/{}", &target).await.expect(200);
            }
        }
    }
    // A moderator does not act on another moderator; owner and admin do.
    let other = m.participant().await;
    m.act(&m.owner, "promote/{}", &other).await.expect(200);
    let r = m.act(&moderator, "mute/{}", &other).await.expect(403);
    assert_eq!(
        r.error(),
        "Only the room owner or an admin can act on a moderator"
    );
    m.act(&admin, "mute/{}", &other).await.expect(200);

    for route in ["mute-all", "end"] {
        let path = format!("/api/room/{}/{route}", m.id);
        api.post(&path, None, &json!({})).await.expect(401);
        for who in [
            &bystander,
            &outsider,
            &guest,
            &banned_moderator,
            &restricted,
        ] {
            api.post(&path, who.bearer(), &json!({})).await.expect(403);
        }
    }
    let mute_all = format!("/api/room/{}/mute-all", m.id);
    api.post(&mute_all, moderator.bearer(), &json!({}))
        .await
        .expect(200);
    // Ending the owner's meeting is the owner's (or an admin's) decision, not a moderator's.
    let end = format!("/api/room/{}/end", m.id);
    let r = api
        .post(&end, moderator.bearer(), &json!({}))
        .await
        .expect(403);
    assert_eq!(r.error(), "Only the room owner or an admin can do this");
    api.post(&end, m.owner.bearer(), &json!({}))
        .await
        .expect(200);
}

/// The grant of the call, asserted to be exactly `roomAdmin` for this room.
fn assert_room_admin(m: &Meeting) {
    for c in m.lk.calls() {
        let g = c.grants.as_ref().expect("signed call");
        assert_eq!(c.content_type, "application/protobuf");
        if matches!(
            c.method.as_str(),
            "RoomService/DeleteRoom" | "RoomService/CreateRoom"
        ) {
            assert!(g.room_create && !g.room_admin && !g.room_list && g.room.is_empty());
            continue;
        }
        assert!(g.room_admin, "{} needs roomAdmin", c.method);
        assert_eq!(g.room, m.live, "{} names the room", c.method);
        assert!(!g.room_create && !g.room_list && !g.room_record && !g.room_join);
    }
}

#[tokio::test]
async fn each_action_makes_exact_twirp_calls_with_exact_grants() {
    let m = Meeting::start().await;
    let p = m.participant().await;
    fn expect(route: &str, methods: &[&'static str]) -> (String, Vec<&'static str>) {
        (route.to_string(), methods.to_vec())
    }
    let cases = [
        expect(
            "mute/{}",
            &["GetParticipant", "MutePublishedTrack", "UpdateParticipant"],
        ),
        expect(
            "video/{}/off",
            &["GetParticipant", "MutePublishedTrack", "UpdateParticipant"],
        ),
        // Nothing left to mute: the camera went with the permission change before.
        expect(
            "screenshare/{}/stop",
            &["GetParticipant", "UpdateParticipant"],
        ),
        expect("chat/{}/block", &["GetParticipant", "UpdateParticipant"]),
        expect("chat/{}/unblock", &["GetParticipant", "UpdateParticipant"]),
        expect("permissions/{}", &["GetParticipant", "UpdateParticipant"]),
        expect("promote/{}", &["GetParticipant", "UpdateParticipant"]),
        expect("demote/{}", &["GetParticipant", "UpdateParticipant"]),
        expect(
            "kick/{}",
            &["GetParticipant", "RemoveParticipant", "SendData"],
        ),
        // Kicked: the ban is remembered with nothing to remove.
        expect("ban/{}", &["GetParticipant"]),
        expect("unban/{}", &[]),
    ];
    for (route, methods) in cases {
        m.lk.clear_calls();
        let r =
            m.s.api
                .post(&m.path(&route, &p.id), m.owner.bearer(), &body_for(&route))
                .await
                .expect(200);
        assert_eq!(m.lk.methods(), methods, "{route}: {}", r.raw);
        assert_room_admin(&m);
    }
    // Banning someone in the meeting removes them and tells the room.
    m.join(&p).await.expect(200);
    m.lk.connect(&m.live, &p.id, MIC_AND_CAMERA);
    m.lk.clear_calls();
    m.act(&m.owner, "ban/{}", &p).await.expect(200);
    assert_eq!(
        m.lk.methods(),
        ["GetParticipant", "RemoveParticipant", "SendData"]
    );
    assert_room_admin(&m);

    // The promote call carried the moderator badge in metadata, keeping the client's fields.
    // (Checked on a fresh participant to read the double's state.)
    let q = m.participant().await;
    m.act(&m.owner, "promote/{}", &q).await.expect(200);
    let info = m.lk.participant(&m.live, &q.id).unwrap();
    let meta: Value = serde_json::from_str(&info.metadata).unwrap();
    assert_eq!(meta["accesses"], json!(["user", "moderator"]));
    assert_eq!(meta["role"], "moderator");
    assert_eq!(meta["displayName"], "Ann");
    let again = m.act(&m.owner, "promote/{}", &q).await.expect(200);
    assert_eq!(again.body["status"], "already_moderator");
    m.act(&m.owner, "chat/{}/block", &q).await.expect(200);
    let info = m.lk.participant(&m.live, &q.id).unwrap();
    assert!(!info.permission.unwrap().can_publish_data);
    let meta: Value = serde_json::from_str(&info.metadata).unwrap();
    assert_eq!(meta["chatBlocked"], true);

    // End: a system message, then the LiveKit room is deleted with `roomCreate`.
    m.lk.clear_calls();
    let end = format!("/api/room/{}/end", m.id);
    m.s.api
        .post(&end, m.owner.bearer(), &json!({}))
        .await
        .expect(200);
    assert_eq!(m.lk.methods(), ["SendData", "DeleteRoom"]);
    assert_room_admin(&m);
    assert!(!m.lk.has_room(&m.live));
}

#[tokio::test]
async fn mute_binds_until_permissions_give_the_microphone_back() {
    let m = Meeting::start().await;
    let p = m.participant().await;
    assert!(sources(&m.grant(&p).await).contains(&"microphone".to_string()));
    let r = m.act(&m.owner, "mute/{}", &p).await.expect(200);
    assert_eq!(r.body["inMeeting"], true);
    // Live: the microphone track is silenced and the permission no longer allows it.
    let info = m.lk.participant(&m.live, &p.id).unwrap();
    let perm = info.permission.unwrap();
    assert!(
        !perm
            .can_publish_sources
            .contains(&(TrackSource::Microphone as i32))
    );
    assert!(
        perm.can_publish_sources
            .contains(&(TrackSource::Camera as i32))
    );
    assert!(
        !info
            .tracks
            .iter()
            .any(|t| t.source == TrackSource::Microphone as i32 && !t.muted)
    );
    // Persisted: re-join and refresh tokens lack the microphone.
    assert_eq!(
        sources(&m.grant(&p).await),
        ["camera", "screen_share", "screen_share_audio"]
    );
    let refreshed = m.refresh(&p).await.expect(200);
    let v = &jwt_claims(refreshed.body["token"].as_str().unwrap())["video"];
    assert!(!sources(v).contains(&"microphone".to_string()));

    // Permissions give it back (and take screen share away) for the live meeting and tokens.
    let r =
        m.s.api
            .post(
                &m.path("permissions/{}", &p.id),
                m.owner.bearer(),
                &json!({"canPublishSources": ["microphone", "camera"]}),
            )
            .await
            .expect(200);
    assert_eq!(r.body["status"], "success");
    let perm =
        m.lk.participant(&m.live, &p.id)
            .unwrap()
            .permission
            .unwrap();
    assert_eq!(
        perm.can_publish_sources,
        [TrackSource::Camera as i32, TrackSource::Microphone as i32]
    );
    assert_eq!(sources(&m.grant(&p).await), ["camera", "microphone"]);
}

#[tokio::test]
async fn ban_removes_refuses_join_and_refresh_and_unban_lets_back_in() {
    let m = Meeting::start().await;
    let p = m.participant().await;
    let r = m.act(&m.owner, "ban/{}", &p).await.expect(200);
    assert_eq!(r.body["inMeeting"], true);
    assert!(
        m.lk.participant(&m.live, &p.id).is_none(),
        "removed from LiveKit"
    );
    for r in [m.join(&p).await, m.refresh(&p).await] {
        assert_eq!(
            r.clone().expect(403).error(),
            "you are banned from this room"
        );
    }
    m.act(&m.owner, "unban/{}", &p).await.expect(200);
    m.join(&p).await.expect(200);
}

#[tokio::test]
async fn someone_not_in_the_meeting_still_gets_the_persisted_effect() {
    let m = Meeting::start().await;
    let p = people::user(&m.s.api).await;
    m.join(&p).await.expect(200); // a seat, but never connected to LiveKit
    let r = m.act(&m.owner, "mute/{}", &p).await.expect(200);
    assert_eq!(r.body["inMeeting"], false);
    assert!(r.body["message"].as_str().unwrap().contains("next join"));
    assert!(!sources(&m.grant(&p).await).contains(&"microphone".to_string()));
    // A ban can precede any join.
    let later = people::user(&m.s.api).await;
    m.act(&m.owner, "ban/{}", &later).await.expect(200);
    m.join(&later).await.expect(403);
    // Kick has nothing to persist: someone absent is "not found".
    let r = m.act(&m.owner, "kick/{}", &p).await.expect(404);
    assert_eq!(r.error(), "Participant not found");
}

#[tokio::test]
async fn livekit_failures_answer_5xx_and_change_nothing() {
    let m = Meeting::start().await;
    let p = m.participant().await;

    // Down before anything: 503, nothing persisted. The owner is told to try again; only a
    // platform admin is shown the internal host and what to check.
    m.lk.fail(Failure::all(503, "unavailable"));
    let r = m.act(&m.owner, "mute/{}", &p).await.expect(503);
    // The request id is in the header and the body, `error` still first for the clients.
    let id = r.headers["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(r.body["requestId"], id.as_str());
    assert!(r.raw.starts_with("{\"error\":"), "{}", r.raw);
    assert!(!r.error().contains(&m.lk.url), "{}", r.raw);
    assert!(r.error().contains("try again later"), "{}", r.raw);
    let admin = people::admin(&m.s.api, &m.s.state).await;
    let r = m.act(&admin, "mute/{}", &p).await.expect(503);
    assert!(r.error().contains(&m.lk.url), "{}", r.raw);
    assert!(r.error().contains("internalHost"), "{}", r.raw);
    m.lk.heal();
    assert!(sources(&m.grant(&p).await).contains(&"microphone".to_string()));

    // Failing half-way (the permission change): 502, the stored mute is undone.
    m.lk.fail(Failure::method("UpdateParticipant", 500, "internal"));
    let r = m.act(&admin, "mute/{}", &p).await.expect(502);
    assert!(r.error().contains("UpdateParticipant"), "{}", r.raw);
    m.lk.heal();
    assert!(sources(&m.grant(&p).await).contains(&"microphone".to_string()));

    // Ban whose removal fails: not banned afterwards.
    m.lk.fail(Failure::method("RemoveParticipant", 503, "unavailable"));
    m.act(&m.owner, "ban/{}", &p).await.expect(503);
    m.lk.heal();
    m.join(&p).await.expect(200);

    // Promote whose update fails: still a participant (cannot moderate).
    let other = m.participant().await;
    m.lk.fail(Failure::method("UpdateParticipant", 500, "internal"));
    m.act(&m.owner, "promote/{}", &p).await.expect(502);
    m.lk.heal();
    m.act(&p, "mute/{}", &other).await.expect(403);

    // End while LiveKit is down: the room stays active.
    m.lk.fail(Failure::all(503, "unavailable"));
    let end = format!("/api/room/{}/end", m.id);
    m.s.api
        .post(&end, m.owner.bearer(), &json!({}))
        .await
        .expect(503);
    m.lk.heal();
    m.join(&p).await.expect(200);
}

#[tokio::test]
async fn unreachable_and_wrong_key_livekit_are_told_apart() {
    // Nothing listens: 503 naming the host.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let s = TestServer::with_config(|c| c.livekit.internal_host = Some(closed.clone())).await;
    // The detail (host, what to check) is shown to platform admins only.
    let owner = people::admin(&s.api, &s.state).await;
    let p = people::user(&s.api).await;
    let id = people::room(&s.api, &owner, json!({"isPublic": true})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s
        .api
        .post(
            &format!("/api/room/{id}/mute/{}", p.id),
            owner.bearer(),
            &json!({}),
        )
        .await
        .expect(503);
    assert!(
        r.error().contains(&closed) && r.error().contains("unreachable"),
        "{}",
        r.raw
    );
    // Deleting the room does not depend on LiveKit.
    s.api
        .delete(&format!("/api/room/{id}"), owner.bearer())
        .await
        .expect(200);

    // Another key pair: LiveKit refuses us → 502 that says to check the keys.
    let wrong = LiveKitDouble::start(TEST_LK_KEY, "another-secret-0123456789abcdefghij").await;
    let m = Meeting::with_double(wrong).await;
    let p = m.participant().await;
    let admin = people::admin(&m.s.api, &m.s.state).await;
    let r = m.act(&admin, "mute/{}", &p).await.expect(502);
    assert!(r.error().contains("apiSecret"), "{}", r.raw);
    assert!(
        m.lk.calls()
            .iter()
            .all(|c| c.status == 401 && c.grants.is_none())
    );
}

#[tokio::test]
async fn bad_room_or_identity_is_404_and_bad_bodies_are_400() {
    let m = Meeting::start().await;
    let p = m.participant().await;
    let api = &m.s.api;
    let owner = m.owner.bearer();
    for path in [
        format!("/api/room/not-a-uuid/mute/{}", p.id),
        format!("/api/room/{}/mute/{}", uuid_like(), p.id),
        m.path("mute/{}", "not-an-identity"),
        m.path("mute/{}", &uuid_like()),
        format!("/api/room/{}/end", uuid_like()),
    ] {
        let r = api.post(&path, owner, &json!({})).await.expect(404);
        assert!(
            ["Room not found", "Participant not found"].contains(&r.error()),
            "{path}: {}",
            r.raw
        );
    }
    let perm = m.path("permissions/{}", &p.id);
    for body in [
        json!({"canPublishSources": "camera"}),
        json!({"canPublishData": "yes"}),
        json!({"canPublishSources": ["camera", "hologram"]}),
        json!({}),
        json!({"canPublishSourcez": []}),
    ] {
        let r = api.post(&perm, owner, &body).await.expect(400);
        assert!(!r.error().is_empty());
    }
    let r = api
        .raw(
            Method::POST,
            &perm,
            owner,
            HeaderMap::new(),
            b"{not json".to_vec(),
        )
        .await
        .expect(400);
    assert!(r.error().starts_with("malformed JSON"));
    let mute_all = format!("/api/room/{}/mute-all", m.id);
    api.post(&mute_all, owner, &json!({"allowUnmute": 1}))
        .await
        .expect(400);
    // Nothing changed through all that.
    assert!(sources(&m.grant(&p).await).contains(&"microphone".to_string()));
    // Every client style of empty body works: none, empty with JSON type, `{}`.
    let kick = m.path("kick/{}", &p.id);
    api.call(Method::POST, &kick, owner, None).await.expect(200);
}

fn uuid_like() -> String {
    "8f9c3a52-6b1d-4e8a-9f2b-1c3d5e7f9a0b".into()
}

#[tokio::test]
async fn mute_all_spares_owner_and_moderators_and_end_closes_the_meeting() {
    let m = Meeting::start().await;
    m.lk.connect(&m.live, &m.owner.id, MIC_AND_CAMERA);
    let a = m.participant().await;
    let b = m.participant().await;
    let moderator = m.participant().await;
    m.act(&m.owner, "promote/{}", &moderator).await.expect(200);
    let path = format!("/api/room/{}/mute-all", m.id);
    let r =
        m.s.api
            .post(&path, moderator.bearer(), &json!({}))
            .await
            .expect(200);
    assert_eq!(r.body["muted"], 2);
    for p in [&a, &b] {
        assert!(!sources(&m.grant(p).await).contains(&"microphone".to_string()));
    }
    for id in [&m.owner.id, &moderator.id] {
        let info = m.lk.participant(&m.live, id).unwrap();
        assert!(info.tracks.iter().all(|t| !t.muted), "{id} spared");
    }
    // `allowUnmute`: a one-shot mute, the microphone stays allowed.
    let c = m.participant().await;
    let r =
        m.s.api
            .post(&path, m.owner.bearer(), &json!({"allowUnmute": true}))
            .await
            .expect(200);
    assert!(r.body["muted"].as_u64().unwrap() >= 1);
    assert!(sources(&m.grant(&c).await).contains(&"microphone".to_string()));

    // End: LiveKit room gone, room archived (the owner is offered a restart, others 410).
    let end = format!("/api/room/{}/end", m.id);
    m.s.api
        .post(&end, m.owner.bearer(), &json!({}))
        .await
        .expect(200);
    assert!(!m.lk.has_room(&m.live));
    m.join(&a).await.expect(410);
    let owner = m.join(&m.owner).await.expect(200);
    assert_eq!(owner.body["status"], "archived_owned");
}

#[tokio::test]
async fn deleting_a_room_closes_its_livekit_room() {
    let m = Meeting::start().await;
    m.participant().await;
    assert!(m.lk.has_room(&m.live));
    m.s.api
        .delete(&format!("/api/room/{}", m.id), m.owner.bearer())
        .await
        .expect(200);
    assert!(!m.lk.has_room(&m.live));
    let c = m.lk.calls().pop().unwrap();
    assert_eq!(c.method, "RoomService/DeleteRoom");
    assert!(c.grants.unwrap().room_create);
}
