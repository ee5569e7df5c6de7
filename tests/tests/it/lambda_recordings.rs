//! Recordings on the serverless shape, on moto: the recording and webhook functions fed API
//! Gateway events, DynamoDB for rows, a FIFO SQS queue (with its dead-letter queue) for jobs,
//! S3 for files, the LiveKit double for egress. The processor runs on the SQS batch it would
//! receive, including redeliveries and a poison message.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use bedrud_shared::blobs::s3::S3BlobStore;
use bedrud_shared::domain::{RecordingMove, RecordingStatus, UserId, now};
use bedrud_shared::http::{auth, recordings, rooms, webhook};
use bedrud_shared::lambda;
use bedrud_shared::queue::sqs::SqsQueue;
use bedrud_shared::recordings::Recordings;
use bedrud_shared::store::dynamodb::DynamoStore;
use bedrud_shared::store::{RecordingStore, RoomStore};
use bedrud_tests::lambda_events::{event, event_as, invoke};
use bedrud_tests::livekit_double::LiveKitDouble;
use bedrud_tests::request_log::Roles;
use bedrud_tests::{TEST_LK_KEY, TEST_LK_SECRET, unique};
use livekit_protocol as proto;
use serde_json::{Value, json};

struct Cloud {
    auth: axum::Router,
    rooms: axum::Router,
    recording: axum::Router,
    webhook: axum::Router,
    processor: std::sync::Arc<Recordings>,
    /// The reconciler function's state and pass (its schedules: reconcile, retention).
    reconciler: (
        bedrud_shared::state::AppState,
        bedrud_shared::reconciler::Reconciler,
    ),
    store: DynamoStore,
    roles: Roles,
    lk: LiveKitDouble,
    sqs: aws_sdk_sqs::Client,
    s3: aws_sdk_s3::Client,
    queue: String,
    bucket: String,
}

async fn cloud() -> Cloud {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "needs the emulator the test command starts (bash .ci/test)"
    );
    let store = bedrud_tests::fresh_dynamo_table().await;
    let sqs = SqsQueue::client_from_env().unwrap();
    let queue = SqsQueue::create(&sqs, &unique("bedrud-rec")).await.unwrap();
    let s3 = S3BlobStore::client_from_env().unwrap();
    let bucket = unique("bedrud-rec");
    S3BlobStore::create_bucket(&s3, &bucket).await.unwrap();
    let lk = LiveKitDouble::start(TEST_LK_KEY, TEST_LK_SECRET).await;
    let mut config = bedrud_tests::lambda_config(store.table(), &lk.url);
    config.recordings.enabled = true;
    config.recordings.bucket = Some(bucket.clone());
    config.recordings.region = Some("us-east-1".into());
    config.recordings.queue_url = Some(queue.clone());
    config.recordings.retention_hours = 24;
    config.validate().unwrap();
    // Each function as its `main.rs` builds it (the recording and webhook functions sign
    // links and queue jobs, only the processor holds the S3 client), each with its own
    // recording proxy in front of the table so its calls are checked against its role.
    let mut roles = Roles::new();
    let mut init = async |binary: &str| roles.init(binary, &config).await;
    let auth = init("auth").await.build().unwrap();
    let rooms = init("rooms").await.livekit().unwrap().build().unwrap();
    let recording = init("recording")
        .await
        .livekit()
        .unwrap()
        .queue()
        .unwrap()
        .bucket_links()
        .unwrap()
        .build()
        .unwrap();
    let webhook = init("webhook")
        .await
        .livekit()
        .unwrap()
        .queue()
        .unwrap()
        .build()
        .unwrap();
    let processor = init("recording-processor")
        .await
        .bucket()
        .unwrap()
        .recordings()
        .unwrap();
    let reconciler = init("reconciler")
        .await
        .accounts()
        .admin_store()
        .livekit()
        .unwrap()
        .queue()
        .unwrap()
        .build()
        .unwrap();
    let pass = reconciler.reconciler().unwrap();
    Cloud {
        auth: lambda::service(auth::routes(), auth),
        rooms: lambda::service(rooms::routes(), rooms),
        recording: lambda::service(recordings::routes(), recording),
        webhook: lambda::service(webhook::routes(), webhook),
        processor,
        reconciler: (reconciler, pass),
        store,
        roles,
        lk,
        sqs,
        s3,
        queue,
        bucket,
    }
}

fn at(mut e: Value, room: &str, recording: &str) -> Value {
    for ptr in ["/rawPath", "/requestContext/http/path"] {
        let p = e.pointer(ptr).unwrap().as_str().unwrap();
        let p = p
            .replace("REPLACE_WITH_ROOM_ID", room)
            .replace("REPLACE_WITH_RECORDING_ID", recording);
        *e.pointer_mut(ptr).unwrap() = p.into();
    }
    e
}

impl Cloud {
    /// A webhook delivery signed by the double, as API Gateway hands it to the function.
    async fn egress_event(&self, id: &str, event_name: &str, info: proto::EgressInfo) -> Value {
        let e = proto::WebhookEvent {
            event: event_name.into(),
            id: id.into(),
            created_at: bedrud_shared::domain::now(),
            egress_info: Some(info),
            ..Default::default()
        };
        let body = serde_json::to_string(&e).unwrap();
        let mut apigw = event("livekit-webhook-egress-ended.json");
        apigw["headers"]["authorization"] = self.lk.sign_body(body.as_bytes()).into();
        apigw["body"] = body.into();
        let (status, answer, _) = invoke(&self.webhook, &apigw).await;
        assert_eq!(status, 200, "{answer}");
        answer
    }

    /// What the processor Lambda would be handed: the queue's messages, received.
    async fn receive(&self) -> Vec<SqsMessage> {
        let got = self
            .sqs
            .receive_message()
            .queue_url(&self.queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        got.messages()
            .iter()
            .map(|m| {
                let mut msg = SqsMessage::default();
                msg.message_id = m.message_id().map(str::to_string);
                msg.body = m.body().map(str::to_string);
                msg
            })
            .collect()
    }

    async fn object_size(&self, key: &str) -> Option<i64> {
        self.s3
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .ok()
            .and_then(|h| h.content_length())
    }
}

fn batch(records: Vec<SqsMessage>) -> SqsEvent {
    let mut e = SqsEvent::default();
    e.records = records;
    e
}

#[tokio::test]
async fn recording_on_dynamodb_sqs_and_s3_end_to_end() {
    let c = cloud().await;
    let mut register = event("apigw-v2-auth-register.json");
    register["body"] = json!({"email": format!("{}@example.com", unique("rec")),
        "password": "correct horse battery staple", "name": "Rec Owner"})
    .to_string()
    .into();
    let (_, session, _) = invoke(&c.auth, &register).await;
    let token = session["tokens"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    let owner_id = session["user"]["id"].as_str().unwrap().to_string();
    let mut create = event_as("apigw-v2-room-create.json", &token);
    create["body"] =
        json!({"name": "rec-room", "isPublic": true, "settings": {"recordingsAllowed": true}})
            .to_string()
            .into();
    let (status, room, _) = invoke(&c.rooms, &create).await;
    assert_eq!(status, 200, "{room}");
    let room_id = room["id"].as_str().unwrap().to_string();
    let live = bedrud_tests::livekit_room(&room);
    c.lk.connect(&live, &owner_id, &[proto::TrackSource::Camera]);

    let start = at(
        event_as("apigw-v2-recording-start.json", &token),
        &room_id,
        "",
    );
    let (status, rec, _) = invoke(&c.recording, &start).await;
    assert_eq!(status, 201, "{rec}");
    let rec_id = rec["id"].as_str().unwrap().to_string();
    let (status, again, _) = invoke(&c.recording, &start).await;
    assert_eq!((status, again["error"].is_string()), (409, true));

    // The egress was told to write to our bucket; its worker does so (20 MiB: multipart).
    let egress = c.lk.egresses().pop().expect("egress");
    let egress_id = egress.egress_id.clone();
    let Some(proto::egress_info::Request::RoomComposite(req)) = egress.request else {
        panic!("room composite");
    };
    let out = &req.file_outputs[0];
    let Some(proto::encoded_file_output::Output::S3(s3)) = &out.output else {
        panic!("S3 output in external mode");
    };
    assert_eq!(s3.bucket, c.bucket);
    let egress_key = out.filepath.clone();
    let size = 20 * 1024 * 1024 + 3;
    let bytes: Vec<u8> = (0..size).map(|i| (i % 253) as u8).collect();
    c.s3.put_object()
        .bucket(&c.bucket)
        .key(&egress_key)
        .body(bytes.clone().into())
        .send()
        .await
        .unwrap();

    let mut started = proto::EgressInfo {
        egress_id: egress_id.clone(),
        status: proto::EgressStatus::EgressActive as i32,
        started_at: 1_795_471_230_000_000_000,
        ..Default::default()
    };
    c.egress_event("EV_a", "egress_started", started.clone())
        .await;
    started.status = proto::EgressStatus::EgressComplete as i32;
    started.ended_at = 1_795_471_290_000_000_000;
    started.file_results = vec![proto::FileInfo {
        location: format!("s3://{}/{egress_key}", c.bucket),
        size: size as i64,
        duration: 60_000_000_000,
        ..Default::default()
    }];
    for n in 0..3 {
        c.egress_event(&format!("EV_end_{n}"), "egress_ended", started.clone())
            .await;
    }
    // FIFO dedupe on the egress id: one job for three deliveries.
    let messages = c.receive().await;
    assert_eq!(messages.len(), 1);
    // Redelivered three times (the visibility timeout ran out, say): one object, one row.
    let three = vec![
        messages[0].clone(),
        messages[0].clone(),
        messages[0].clone(),
    ];
    let answer = lambda::process_batch(&*c.processor, batch(three)).await;
    assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
    let final_key = format!("recordings/{room_id}/{rec_id}.mp4");
    assert_eq!(c.object_size(&final_key).await, Some(size as i64));
    assert_eq!(c.object_size(&egress_key).await, None, "moved");
    let one = at(
        event_as("apigw-v2-recording-get.json", &token),
        &room_id,
        &rec_id,
    );
    let (status, got, _) = invoke(&c.recording, &one).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["status"], "completed");
    assert_eq!(got["fileSize"], size);
    let url = got["downloadUrl"].as_str().unwrap();
    assert!(
        url.contains(&final_key) && url.contains("X-Amz-Signature"),
        "{url}"
    );
    let fetched = reqwest::get(url).await.unwrap().bytes().await.unwrap();
    assert_eq!(fetched.len(), size, "the presigned link serves the file");

    // A batch with one bad message: only that one is reported.
    let mut poison = SqsMessage::default();
    poison.message_id = Some("poison-1".into());
    poison.body = Some("not a job".into());
    let mut unknown = SqsMessage::default();
    unknown.message_id = Some("unknown-kind".into());
    unknown.body = Some(json!({"id": "x", "kind": "mystery", "payload": {}}).to_string());
    let answer = lambda::process_batch(
        &*c.processor,
        batch(vec![messages[0].clone(), poison, unknown]),
    )
    .await;
    let failed: Vec<_> = answer
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["poison-1", "unknown-kind"]);

    // The download route redirects to the same kind of signed link.
    let dl = at(
        event_as("apigw-v2-recording-download.json", &token),
        &room_id,
        &rec_id,
    );
    let req = lambda_http::request::from_str(&dl.to_string()).unwrap();
    let res = tower::ServiceExt::oneshot(c.recording.clone(), req)
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(location.contains(&final_key), "{location}");

    // Delete: the row goes at once; the file when the processor runs the removal job.
    let del = at(
        event_as("apigw-v2-recording-delete.json", &token),
        &room_id,
        &rec_id,
    );
    let (status, body, _) = invoke(&c.recording, &del).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, _) = invoke(&c.recording, &one).await;
    assert_eq!(status, 404);
    assert_eq!(c.object_size(&final_key).await, Some(size as i64));
    let removal: Vec<_> = c
        .receive()
        .await
        .into_iter()
        .filter(|m| {
            m.body
                .as_deref()
                .unwrap_or("")
                .contains("remove_recording_file")
        })
        .collect();
    assert_eq!(removal.len(), 1);
    let answer = lambda::process_batch(&*c.processor, batch(removal)).await;
    assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
    assert_eq!(c.object_size(&final_key).await, None, "removed");

    // The processor fixture parses as the runtime delivers it.
    let fixture: SqsEvent = serde_json::from_value(event("sqs-recording-processor.json")).unwrap();
    assert_eq!(fixture.records.len(), 1);
    c.roles.check();
}

/// Bedrud's `recording.retentionHours` on AWS: the reconciler's retention schedule removes the
/// finished recordings of rooms archived longer ago than the retention (the file by the
/// processor's job) and keeps those of a room archived more recently.
#[tokio::test]
async fn retention_runs_on_the_reconcilers_schedule() {
    let c = cloud().await;
    let owner = UserId::new_account();
    let t = now();
    let mut made = Vec::new();
    for hours_ago in [72, 1] {
        let room = bedrud_tests::conformance_rooms::room(&owner, 10);
        c.store.create_room(&room, None).await.unwrap();
        let rec = bedrud_tests::conformance_rooms::recording(&room.id, t - 80 * 3600);
        assert!(c.store.insert_recording(&rec).await.unwrap());
        let key = format!("recordings/{}/{}.mp4", room.id, rec.id);
        // Ended and processed (the processor's moves), 79 hours ago.
        let ended = RecordingMove::to(RecordingStatus::Processing);
        let rec = c
            .store
            .move_recording(&rec, &ended, t - 80 * 3600)
            .await
            .unwrap()
            .expect("processing");
        let mut done = RecordingMove::to(RecordingStatus::Completed);
        done.key = Some(key.clone());
        done.size = Some(5);
        let rec = c
            .store
            .move_recording(&rec, &done, t - 79 * 3600)
            .await
            .unwrap()
            .expect("completed");
        c.s3.put_object()
            .bucket(&c.bucket)
            .key(&key)
            .body(b"movie".to_vec().into())
            .send()
            .await
            .unwrap();
        c.store
            .archive_room(&room.id, t - hours_ago * 3600)
            .await
            .unwrap();
        made.push((rec, key));
    }

    let schedule = serde_json::from_value(event("eventbridge-recording-retention.json")).unwrap();
    let (state, pass) = &c.reconciler;
    let report = lambda::scheduled(state, pass, schedule).await.unwrap();
    assert_eq!(report, json!({"retentionHours": 24, "removed": 1}));
    let [(old, old_key), (young, young_key)] = &made[..] else {
        unreachable!()
    };
    let old_row = c.store.recording(&old.room_id, &old.id).await.unwrap();
    assert!(old_row.is_none(), "expired");
    let young_row = c.store.recording(&young.room_id, &young.id).await.unwrap();
    assert!(young_row.is_some(), "kept");
    let removal = c.receive().await;
    assert_eq!(removal.len(), 1);
    let answer = lambda::process_batch(&*c.processor, batch(removal)).await;
    assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
    assert_eq!(c.object_size(old_key).await, None, "the file went with it");
    assert_eq!(c.object_size(young_key).await, Some(5));
    c.roles.check();
}
