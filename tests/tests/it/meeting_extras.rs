//! The in-meeting extras the web client calls or listens for, over real HTTP on the embedded
//! store against the LiveKit double: the `system` signals (deafen, undeafen, ask, spotlight)
//! as exact SendData calls, participant profile and info, and the archived-rooms list.

use base64::Engine;
use bedrud_tests::livekit_double::LiveKitDouble;
use bedrud_tests::people::{self, Person};
use bedrud_tests::{TEST_LK_KEY, TEST_LK_SECRET, TestServer};
use livekit_protocol::TrackSource;
use serde_json::{Value, json};

struct Meeting {
    s: TestServer,
    lk: LiveKitDouble,
    owner: Person,
    id: String,
    name: String,
    live: String,
}

impl Meeting {
    async fn start() -> Self {
        let lk = LiveKitDouble::start(TEST_LK_KEY, TEST_LK_SECRET).await;
        let url = lk.url.clone();
        let s = TestServer::with_config(|c| c.livekit.internal_host = Some(url)).await;
        let owner = people::user(&s.api).await;
        let created = people::room(&s.api, &owner, json!({"isPublic": true})).await;
        let live = bedrud_tests::livekit_room(&created);
        lk.connect(&live, &owner.id, &[TrackSource::Microphone]);
        Self {
            id: created["id"].as_str().unwrap().to_string(),
            name: created["name"].as_str().unwrap().to_string(),
            live,
            s,
            lk,
            owner,
        }
    }

    /// Someone who joined over the API and connected with mic and camera.
    async fn participant(&self) -> Person {
        let p = people::user(&self.s.api).await;
        self.s
            .api
            .post(
                "/api/room/join",
                p.bearer(),
                &json!({"roomName": self.name}),
            )
            .await
            .expect(200);
        self.lk.connect(
            &self.live,
            &p.id,
            &[TrackSource::Microphone, TrackSource::Camera],
        );
        p
    }

    async fn post(&self, who: &Person, route: &str) -> bedrud_tests::Reply {
        self.s
            .api
            .post(
                &format!("/api/room/{}/{route}", self.id),
                who.bearer(),
                &json!({}),
            )
            .await
    }

    async fn get(&self, who: Option<&Person>, route: &str) -> bedrud_tests::Reply {
        self.s
            .api
            .get(
                &format!("/api/room/{}/{route}", self.id),
                who.and_then(|p| p.bearer()),
            )
            .await
    }

    /// The SendData calls made since the last look: (room, topic, destinations, payload).
    fn sent(&self) -> Vec<(String, String, Vec<String>, Value)> {
        let out = self
            .lk
            .calls()
            .into_iter()
            .filter(|c| c.method == "RoomService/SendData")
            .map(|c| {
                assert!(c.grants.as_ref().unwrap().room_admin, "roomAdmin");
                let r = &c.request;
                let data = base64::engine::general_purpose::STANDARD
                    .decode(r["data"].as_str().unwrap())
                    .unwrap();
                let ids = r["destinationIdentities"]
                    .as_array()
                    .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
                    .unwrap_or_default();
                (
                    r["room"].as_str().unwrap().to_string(),
                    r["topic"].as_str().unwrap_or_default().to_string(),
                    ids,
                    serde_json::from_slice(&data).unwrap(),
                )
            })
            .collect();
        self.lk.clear_calls();
        out
    }
}

#[tokio::test]
async fn signals_are_exact_system_packets_to_the_right_people() {
    let m = Meeting::start().await;
    let p = m.participant().await;
    m.lk.clear_calls();
    let cases = [
        ("deafen/{}", "deafen", true),
        ("undeafen/{}", "undeafen", true),
        ("ask/{}/unmute", "ask_unmute", true),
        ("ask/{}/camera", "ask_camera", true),
        ("spotlight/{}", "spotlight", false),
    ];
    for (route, event, targeted) in cases {
        let r = m
            .post(&m.owner, &route.replace("{}", &p.id))
            .await
            .expect(200);
        assert_eq!(r.body, json!({"status": "success"}));
        let sent = m.sent();
        assert_eq!(sent.len(), 1, "{event}: one packet");
        let (room, topic, to, payload) = &sent[0];
        assert_eq!(room, &m.live);
        assert_eq!(topic, "system");
        let want_to: Vec<String> = if targeted { vec![p.id.clone()] } else { vec![] };
        assert_eq!(to, &want_to, "{event}: destination");
        assert_eq!(
            payload,
            &json!({"type": "system", "event": event, "actor": m.owner.id, "target": p.id}),
        );
    }
}

#[tokio::test]
async fn signals_keep_the_moderation_guards() {
    let m = Meeting::start().await;
    let p = m.participant().await;
    let q = m.participant().await;
    m.lk.clear_calls();
    // Not a moderator.
    let r = m.post(&p, &format!("deafen/{}", q.id)).await.expect(403);
    assert_eq!(r.error(), "Insufficient permissions");
    m.post(&p, &format!("spotlight/{}", q.id)).await.expect(403);
    // Yourself; the owner; a bad action; someone not in the meeting; no token.
    m.post(&m.owner, &format!("deafen/{}", m.owner.id))
        .await
        .expect(400);
    m.post(&m.owner, &format!("ask/{}/dance", p.id))
        .await
        .expect(400);
    let stranger = people::user(&m.s.api).await;
    let r = m
        .post(&m.owner, &format!("deafen/{}", stranger.id))
        .await
        .expect(404);
    assert_eq!(r.error(), "Participant not found");
    m.s.api
        .post(
            &format!("/api/room/{}/deafen/{}", m.id, p.id),
            None,
            &json!({}),
        )
        .await
        .expect(401);
    // A room moderator may not deafen the owner, but may spotlight them.
    m.post(&m.owner, &format!("promote/{}", p.id))
        .await
        .expect(200);
    m.lk.clear_calls();
    let r = m
        .post(&p, &format!("deafen/{}", m.owner.id))
        .await
        .expect(403);
    assert_eq!(r.error(), "Cannot perform this action on the room owner");
    m.post(&p, &format!("spotlight/{}", m.owner.id))
        .await
        .expect(200);
    m.post(&p, &format!("deafen/{}", q.id)).await.expect(200);
    let sent = m.sent();
    assert_eq!(
        sent.len(),
        2,
        "only the allowed signals were sent: {sent:?}"
    );
    assert_eq!(sent[1].3["actor"], json!(p.id));
}

#[tokio::test]
async fn profiles_for_the_people_in_the_room_info_for_its_moderators() {
    let m = Meeting::start().await;
    let p = m.participant().await;
    let q = m.participant().await;

    // Anyone seated sees the others' (and the owner's) profile under the name they joined with.
    let me = m.s.api.get("/api/auth/me", p.bearer()).await.expect(200);
    let r = m
        .get(Some(&q), &format!("participant/{}/profile", p.id))
        .await
        .expect(200);
    assert_eq!(r.body["name"], me.body["name"]);
    assert_eq!(r.body["id"], json!(p.id));
    assert!(r.body.as_object().unwrap().contains_key("avatarUrl"));
    m.get(Some(&q), &format!("participant/{}/profile", m.owner.id))
        .await
        .expect(200);
    m.get(Some(&q), &format!("participant/{}/profile", q.id))
        .await
        .expect(200);

    // Someone outside the room sees nothing; accounts outside it are not found through it.
    let outsider = people::user(&m.s.api).await;
    let r = m
        .get(Some(&outsider), &format!("participant/{}/profile", p.id))
        .await
        .expect(403);
    assert_eq!(r.error(), "You are not in this room");
    m.get(Some(&q), &format!("participant/{}/profile", outsider.id))
        .await
        .expect(404);
    m.get(None, &format!("participant/{}/profile", p.id))
        .await
        .expect(401);

    // Info: LiveKit's view of the connection, for moderators only.
    let r = m
        .get(Some(&m.owner), &format!("participant/{}/info", p.id))
        .await
        .expect(200);
    assert_eq!(r.body["identity"], json!(p.id));
    assert_eq!(r.body["state"], "ACTIVE");
    assert_eq!(r.body["isPublisher"], true);
    let tracks = r.body["tracks"].as_array().unwrap();
    let kinds: Vec<(&str, &str)> = tracks
        .iter()
        .map(|t| (t["type"].as_str().unwrap(), t["source"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, [("AUDIO", "MICROPHONE"), ("VIDEO", "CAMERA")]);
    assert_eq!(tracks[1]["bitrate"], 650_000);
    assert_eq!(tracks[0]["muted"], false);
    m.get(Some(&q), &format!("participant/{}/info", p.id))
        .await
        .expect(403);
    m.get(Some(&m.owner), &format!("participant/{}/info", outsider.id))
        .await
        .expect(404);
}

#[tokio::test]
async fn archived_rooms_are_the_owners_own_newest_first_and_paged() {
    let s = TestServer::start().await;
    let owner = people::user(&s.api).await;
    let other = people::user(&s.api).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let r = people::room(&s.api, &owner, json!({})).await;
        ids.push(r["id"].as_str().unwrap().to_string());
    }
    let kept = people::room(&s.api, &owner, json!({})).await;
    let theirs = people::room(&s.api, &other, json!({})).await;
    for id in &ids {
        s.api
            .delete(&format!("/api/room/{id}"), owner.bearer())
            .await
            .expect(200);
        // Archive times are whole seconds: keep the order unambiguous.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }
    s.api
        .delete(
            &format!("/api/room/{}", theirs["id"].as_str().unwrap()),
            other.bearer(),
        )
        .await
        .expect(200);

    let r = s
        .api
        .get("/api/room/archived?page=1&limit=2", owner.bearer())
        .await
        .expect(200);
    assert_eq!(r.body["total"], 3);
    assert_eq!(
        (r.body["page"].clone(), r.body["limit"].clone()),
        (json!(1), json!(2))
    );
    let rooms = r.body["rooms"].as_array().unwrap();
    let listed: Vec<&str> = rooms.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(listed, [ids[2].as_str(), ids[1].as_str()]);
    for room in rooms {
        assert_eq!(room["recordingCount"], 0);
        assert!(room["deletedAt"].is_string() && room["createdAt"].is_string());
        assert!(room["name"].is_string());
    }
    let r = s
        .api
        .get("/api/room/archived?page=2&limit=2", owner.bearer())
        .await
        .expect(200);
    let rooms = r.body["rooms"].as_array().unwrap();
    assert_eq!(rooms.len(), 1);
    assert_eq!(rooms[0]["id"], json!(ids[0]));
    assert!(rooms.iter().all(|r| r["id"] != kept["id"]));

    s.api
        .get("/api/room/archived?limit=0", owner.bearer())
        .await
        .expect(400);
    s.api.get("/api/room/archived", None).await.expect(401);
}
