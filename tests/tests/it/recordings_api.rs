//! Recordings end to end on the sidecar's shape: real HTTP, the embedded store and job queue,
//! files in a directory, the LiveKit double taking the egress calls and sending the egress
//! webhooks. The "egress worker" is the test writing the file where the egress was told to.

use std::path::PathBuf;

use bedrud_shared::worker;
use bedrud_tests::livekit_double::LiveKitDouble;
use bedrud_tests::people::{self, Person};
use bedrud_tests::{Reply, TEST_LK_KEY, TEST_LK_SECRET, TestServer};
use livekit_protocol as proto;
use reqwest::Method;
use serde_json::{Value, json};

struct Studio {
    s: TestServer,
    lk: LiveKitDouble,
    owner: Person,
    id: String,
    name: String,
    /// LiveKit's name for the room (`<name>.<id>`).
    live: String,
    dir: tempfile::TempDir,
    n: std::sync::atomic::AtomicU64,
}

impl Studio {
    async fn start(enabled: bool) -> Self {
        Self::capped(enabled, 0).await
    }

    /// [`Studio::start`] with at most `max_per_room` recordings per room (0: no cap).
    async fn capped(enabled: bool, max_per_room: u32) -> Self {
        let lk = LiveKitDouble::start(TEST_LK_KEY, TEST_LK_SECRET).await;
        let dir = tempfile::tempdir().unwrap();
        let (internal, path) = (lk.url.clone(), dir.path().to_path_buf());
        let s = TestServer::with_config(|c| {
            c.livekit.internal_host = Some(internal);
            c.recordings.enabled = enabled;
            c.recordings.dir = path;
            c.recordings.max_per_room = max_per_room;
        })
        .await;
        let owner = people::user(&s.api).await;
        let created = people::room(
            &s.api,
            &owner,
            json!({"isPublic": true, "settings": {"recordingsAllowed": true}}),
        )
        .await;
        let name = created["name"].as_str().unwrap().to_string();
        let live = bedrud_tests::livekit_room(&created);
        lk.connect(&live, &owner.id, &[proto::TrackSource::Camera]);
        Self {
            id: created["id"].as_str().unwrap().into(),
            name,
            live,
            s,
            lk,
            owner,
            dir,
            n: Default::default(),
        }
    }

    async fn post(&self, who: &Person, path: &str) -> Reply {
        self.s
            .api
            .post(
                &format!("/api/rooms/{}/{path}", self.id),
                who.bearer(),
                &json!({}),
            )
            .await
    }

    async fn get(&self, path: &str) -> Reply {
        self.s
            .api
            .get(
                &format!("/api/rooms/{}/{path}", self.id),
                self.owner.bearer(),
            )
            .await
    }

    /// The path LiveKit was told to write the recording's file to.
    fn egress_path(&self, egress_id: &str) -> PathBuf {
        let e = self.lk.egress(egress_id).expect("egress started");
        let Some(proto::egress_info::Request::RoomComposite(req)) = e.request else {
            panic!("room composite egress");
        };
        PathBuf::from(&req.file_outputs[0].filepath)
    }

    /// The egress id the double gave the most recent start.
    fn last_egress(&self) -> String {
        let call = self
            .lk
            .calls()
            .into_iter()
            .rfind(|c| c.method == "Egress/StartRoomCompositeEgress")
            .expect("a start call");
        assert!(call.grants.as_ref().unwrap().room_record, "roomRecord");
        self.lk.egresses().pop().unwrap().egress_id
    }

    async fn egress_event(&self, event: &str, info: proto::EgressInfo) -> Value {
        let n = self.n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let e = proto::WebhookEvent {
            event: event.into(),
            id: format!("EV_rec_{n}"),
            created_at: bedrud_shared::domain::now(),
            egress_info: Some(info),
            ..Default::default()
        };
        let url = format!("{}/api/livekit/webhook", self.s.api.base);
        let res = self.lk.send_webhook(&url, &e).await;
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }

    /// Starts a recording; its id, its egress and where LiveKit writes the file (whose
    /// directory exists).
    async fn started(&self) -> (String, String, PathBuf) {
        let rid = self
            .post(&self.owner, "recording/start")
            .await
            .expect(201)
            .body["id"]
            .as_str()
            .unwrap()
            .to_string();
        let egress = self.last_egress();
        let path = self.egress_path(&egress);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        (rid, egress, path)
    }

    /// The owner deletes a recording.
    async fn delete(&self, rid: &str) -> Reply {
        self.s
            .api
            .call(
                Method::DELETE,
                &format!("/api/rooms/{}/recordings/{rid}", self.id),
                self.owner.bearer(),
                None,
            )
            .await
    }

    async fn work(&self) -> bool {
        let jobs = self.s.state.media.jobs.clone().unwrap();
        worker::run_one(&self.s.state, &*jobs).await.unwrap()
    }
}

fn info(egress_id: &str, status: proto::EgressStatus) -> proto::EgressInfo {
    proto::EgressInfo {
        egress_id: egress_id.into(),
        room_name: "ignored".into(),
        status: status as i32,
        started_at: 1_795_471_230_000_000_000,
        ..Default::default()
    }
}

#[tokio::test]
async fn start_webhooks_job_stored_file_completed() {
    let st = Studio::start(true).await;
    let r = st.post(&st.owner, "recording/start").await.expect(201);
    assert_eq!(r.body["status"], "pending");
    let rid = r.body["id"].as_str().unwrap().to_string();
    let egress = st.last_egress();
    let path = st.egress_path(&egress);
    assert!(
        path.is_absolute() && path.starts_with(st.dir.path()),
        "{path:?}"
    );
    // One live recording per room.
    let again = st.post(&st.owner, "recording/start").await.expect(409);
    assert!(again.error().contains("already running"));

    st.egress_event(
        "egress_started",
        info(&egress, proto::EgressStatus::EgressActive),
    )
    .await;
    let r = st.get(&format!("recordings/{rid}")).await.expect(200);
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["startedAt"], "2026-11-23T22:00:30Z");

    // The egress worker writes the file; LiveKit reports it ended, three times over.
    let bytes: Vec<u8> = (0..3 * 1024 * 1024 + 7).map(|i| (i % 251) as u8).collect();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    let mut ended = info(&egress, proto::EgressStatus::EgressComplete);
    ended.ended_at = 1_795_471_290_000_000_000;
    ended.file_results = vec![proto::FileInfo {
        filename: path.to_string_lossy().into(),
        location: path.to_string_lossy().into(),
        size: bytes.len() as i64,
        duration: 60_000_000_000,
        ..Default::default()
    }];
    for _ in 0..3 {
        st.egress_event("egress_ended", ended.clone()).await;
    }
    let r = st.get(&format!("recordings/{rid}")).await.expect(200);
    assert_eq!(r.body["status"], "processing");
    assert_eq!(r.body["downloadStatus"], "processing");

    assert!(st.work().await, "one job");
    assert!(!st.work().await, "and only one");
    let r = st.get(&format!("recordings/{rid}")).await.expect(200);
    assert_eq!(r.body["status"], "completed", "{}", r.raw);
    assert_eq!(r.body["fileSize"], bytes.len());
    assert_eq!(r.body["durationMs"], 60_000);
    assert_eq!(r.body["startedAt"], "2026-11-23T22:00:30Z", "never lost");
    let url = r.body["downloadUrl"].as_str().unwrap();
    assert_eq!(
        url,
        format!("/api/rooms/{}/recordings/{rid}/download", st.id)
    );
    let stored = st
        .dir
        .path()
        .join(format!("recordings/{}/{rid}.mp4", st.id));
    assert_eq!(std::fs::read(&stored).unwrap(), bytes);
    assert!(!path.exists(), "the egress file is moved, not copied");
    let download = reqwest::Client::new()
        .get(format!("{}{url}", st.s.api.base))
        .bearer_auth(&st.owner.token)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers()["content-type"], "video/mp4");
    assert_eq!(download.bytes().await.unwrap().as_ref(), bytes.as_slice());
    let list = st.get("recordings").await.expect(200);
    assert_eq!(list.body.as_array().unwrap().len(), 1);

    // Deleting: the row goes at once, the file with the worker's next job.
    st.delete(&rid).await.expect(200);
    st.get(&format!("recordings/{rid}")).await.expect(404);
    assert!(stored.exists());
    assert!(st.work().await);
    assert!(!stored.exists());
}

#[tokio::test]
async fn legacy_file_results_stop_and_failures() {
    let st = Studio::start(true).await;
    // Only the deprecated `file` result, as some LiveKit paths still send it.
    let (rid, egress, path) = st.started().await;
    std::fs::write(&path, b"tiny mp4").unwrap();
    let mut ended = info(&egress, proto::EgressStatus::EgressComplete);
    #[allow(deprecated)]
    {
        ended.result = Some(proto::egress_info::Result::File(proto::FileInfo {
            location: path.to_string_lossy().into(),
            size: 8,
            ..Default::default()
        }));
    }
    st.egress_event("egress_ended", ended).await;
    assert!(st.work().await);
    let r = st.get(&format!("recordings/{rid}")).await.expect(200);
    assert_eq!(
        (&r.body["status"], &r.body["fileSize"]),
        (&json!("completed"), &json!(8))
    );

    // Stop: StopEgress with roomRecord, then `ending`; a running one cannot be deleted.
    let rid2 = st.post(&st.owner, "recording/start").await.expect(201).body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = st.post(&st.owner, "recording/stop").await.expect(200);
    assert_eq!(r.body["status"], "ending");
    assert!(st.lk.methods().contains(&"StopEgress".to_string()));
    let del = st.delete(&rid2).await.expect(409);
    assert!(del.error().contains("in progress"));

    // The egress fails: `failed` with LiveKit's error, and the room may record again.
    let egress2 = st.last_egress();
    let mut failed = info(&egress2, proto::EgressStatus::EgressFailed);
    failed.error = "encoder crashed".into();
    st.egress_event("egress_ended", failed).await;
    let r = st.get(&format!("recordings/{rid2}")).await.expect(200);
    assert_eq!(
        (&r.body["status"], &r.body["error"]),
        (&json!("failed"), &json!("encoder crashed"))
    );
    assert_eq!(r.body["downloadStatus"], "failed");
    st.post(&st.owner, "recording/start").await.expect(201);
}

/// Bedrud's `recording.maxRecordingsPerRoom`: a room that holds as many recordings as allowed
/// starts no other until one is deleted.
#[tokio::test]
async fn a_room_keeps_at_most_the_allowed_number_of_recordings() {
    let st = Studio::capped(true, 1).await;
    let (rid, egress, _) = st.started().await;
    let mut failed = info(&egress, proto::EgressStatus::EgressFailed);
    failed.error = "encoder crashed".into();
    st.egress_event("egress_ended", failed).await;
    let r = st.post(&st.owner, "recording/start").await.expect(409);
    assert!(
        r.error().contains("already has 1 recordings"),
        "{}",
        r.error()
    );
    st.delete(&rid).await.expect(200);
    st.post(&st.owner, "recording/start").await.expect(201);
}

/// Bedrud's `recording.retentionHours`: once a room has been archived longer than the
/// retention, its finished recordings and their files are removed; younger ones stay.
#[tokio::test]
async fn retention_removes_recordings_of_rooms_archived_long_enough() {
    let st = Studio::start(true).await;
    let (rid, egress, path) = st.started().await;
    std::fs::write(&path, b"old meeting").unwrap();
    let mut ended = info(&egress, proto::EgressStatus::EgressComplete);
    ended.file_results = vec![proto::FileInfo {
        filename: path.to_string_lossy().into(),
        location: path.to_string_lossy().into(),
        size: 11,
        ..Default::default()
    }];
    st.egress_event("egress_ended", ended).await;
    assert!(st.work().await);
    let stored = st
        .dir
        .path()
        .join(format!("recordings/{}/{rid}.mp4", st.id));
    assert!(stored.is_file());

    let admin = st.s.state.stores.admin().unwrap().clone();
    let day = std::time::Duration::from_secs(24 * 3600);
    let now = bedrud_shared::domain::now();
    let recordings = &st.s.state.recordings;
    assert_eq!(
        recordings
            .expire(&*admin, day, now + 2 * 86_400)
            .await
            .unwrap(),
        0,
        "room still active"
    );
    st.s.api
        .call(
            Method::DELETE,
            &format!("/api/room/{}", st.id),
            st.owner.bearer(),
            None,
        )
        .await
        .expect(200);
    assert_eq!(
        recordings.expire(&*admin, day, now + 3600).await.unwrap(),
        0,
        "archived too recently"
    );
    st.get(&format!("recordings/{rid}")).await.expect(200);
    assert_eq!(
        recordings
            .expire(&*admin, day, now + 2 * 86_400)
            .await
            .unwrap(),
        1
    );
    st.get(&format!("recordings/{rid}")).await.expect(404);
    assert!(st.work().await, "the file's removal was queued");
    assert!(!stored.exists());
}

#[tokio::test]
async fn who_may_record_and_when() {
    let st = Studio::start(true).await;
    let user = people::user(&st.s.api).await;
    st.s.api
        .post(
            "/api/room/join",
            user.bearer(),
            &json!({"roomName": st.name}),
        )
        .await
        .expect(200);
    for path in ["recording/start", "recording/stop"] {
        let r = st.post(&user, path).await.expect(403);
        assert_eq!(r.error(), "Insufficient permissions");
    }
    st.s.api
        .get(&format!("/api/rooms/{}/recordings", st.id), user.bearer())
        .await
        .expect(403);
    st.s.api
        .post(
            &format!("/api/rooms/{}/recording/start", st.id),
            None,
            &json!({}),
        )
        .await
        .expect(401);
    // No meeting running: nothing to record.
    st.lk.clear_calls();
    let quiet = people::room(
        &st.s.api,
        &st.owner,
        json!({"settings": {"recordingsAllowed": true}}),
    )
    .await;
    let r =
        st.s.api
            .post(
                &format!(
                    "/api/rooms/{}/recording/start",
                    quiet["id"].as_str().unwrap()
                ),
                st.owner.bearer(),
                &json!({}),
            )
            .await
            .expect(409);
    assert!(r.error().contains("not started"));
    // LiveKit refuses the egress: the row is kept as failed. The owner is told to try again,
    // and neither the answer nor the stored error names the internal LiveKit host.
    st.lk.fail(bedrud_tests::livekit_double::Failure::method(
        "StartRoomCompositeEgress",
        503,
        "unavailable",
    ));
    let r = st.post(&st.owner, "recording/start").await.expect(503);
    assert!(r.error().contains("try again later"), "{}", r.raw);
    assert!(!r.raw.contains(&st.lk.url), "{}", r.raw);
    st.lk.heal();
    let list = st.get("recordings").await.expect(200);
    assert_eq!(list.body[0]["status"], "failed");
    let stored = list.body[0]["error"].as_str().unwrap();
    assert!(
        !stored.contains(&st.lk.url) && !stored.contains("127.0.0.1"),
        "{stored}"
    );
    // The room's switch, and the server's.
    let no_rec = people::room(
        &st.s.api,
        &st.owner,
        json!({"settings": {"recordingsAllowed": false}}),
    )
    .await;
    st.s.api
        .post(
            &format!(
                "/api/rooms/{}/recording/start",
                no_rec["id"].as_str().unwrap()
            ),
            st.owner.bearer(),
            &json!({}),
        )
        .await
        .expect(403);
    let off = Studio::start(false).await;
    let r = off.post(&off.owner, "recording/start").await.expect(403);
    assert_eq!(r.error(), "recordings are disabled on this server");
}

#[tokio::test]
async fn the_reconciler_finishes_a_recording_whose_webhooks_were_lost() {
    let st = Studio::start(true).await;
    let rid = st.post(&st.owner, "recording/start").await.expect(201).body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let egress = st.last_egress();
    let path = st.egress_path(&egress);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"recorded while nobody listened").unwrap();
    st.lk.update_egress(&egress, |e| {
        e.status = proto::EgressStatus::EgressComplete as i32;
        e.started_at = 1_795_471_230_000_000_000;
        e.file_results = vec![proto::FileInfo {
            location: path.to_string_lossy().into(),
            size: 30,
            ..Default::default()
        }];
    });
    let report = st.s.state.reconciler().unwrap().run_once().await.unwrap();
    assert_eq!(report.egress, 1);
    assert!(st.work().await);
    let r = st.get(&format!("recordings/{rid}")).await.expect(200);
    assert_eq!(
        (&r.body["status"], &r.body["fileSize"]),
        (&json!("completed"), &json!(30))
    );
    assert_eq!(r.body["startedAt"], "2026-11-23T22:00:30Z");
    // Nothing left to heal.
    st.s.state.reconciler().unwrap().run_once().await.unwrap();
    assert!(!st.work().await);
}

#[tokio::test]
async fn a_finished_meeting_stays_live_while_its_recording_is_written() {
    let st = Studio::start(true).await;
    st.post(&st.owner, "recording/start").await.expect(201);
    let url = format!("{}/api/livekit/webhook", st.s.api.base);
    let room = |event: &str, id: &str| proto::WebhookEvent {
        event: event.into(),
        id: id.into(),
        created_at: bedrud_shared::domain::now(),
        room: Some(proto::Room {
            sid: "RM_rec".into(),
            name: st.live.clone(),
            ..Default::default()
        }),
        ..Default::default()
    };
    st.lk
        .send_webhook(&url, &room("room_started", "EV_s"))
        .await;
    st.lk
        .send_webhook(&url, &room("room_finished", "EV_f"))
        .await;
    let id = bedrud_shared::domain::RoomId::parse(&st.id).unwrap();
    let r = st.s.state.stores.rooms.room(&id).await.unwrap().unwrap();
    assert_eq!(r.live_sid.as_deref(), Some("RM_rec"), "still recording");
    assert_eq!(r.active_count, 0, "but nobody holds a seat");
}

#[tokio::test]
async fn stopping_while_livekit_is_still_starting_leaves_no_egress_running() {
    let st = Studio::start(true).await;
    st.lk.fail(bedrud_tests::livekit_double::Failure {
        method: Some("StartRoomCompositeEgress".into()),
        status: 200,
        code: None,
        delay: std::time::Duration::from_millis(1500),
    });
    let api = st.s.api.clone();
    let path = format!("/api/rooms/{}/recording/start", st.id);
    let owner = st.owner.clone();
    let start = tokio::spawn(async move { api.post(&path, owner.bearer(), &json!({})).await });
    // The row exists before LiveKit is asked: wait for it, then stop.
    loop {
        let list = st.get("recordings").await.expect(200);
        if list.body.as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    st.post(&st.owner, "recording/stop").await.expect(200);
    start.await.unwrap().expect(201);
    st.lk.heal();
    // Whichever finished first, LiveKit was told to stop and the room can record again.
    let egress = st.lk.egresses().pop().expect("the egress LiveKit started");
    assert_eq!(egress.status, proto::EgressStatus::EgressEnding as i32);
    let rec = &st.get("recordings").await.expect(200).body[0];
    assert!(
        ["failed", "ending"].contains(&rec["status"].as_str().unwrap()),
        "{rec}"
    );
    if rec["status"] == "failed" {
        st.post(&st.owner, "recording/start").await.expect(201);
    }
}
