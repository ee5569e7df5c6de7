//! The LiveKit double is only worth what its fidelity is: LiveKit's official Python SDK drives
//! it (protobuf Twirp, its own tokens) and verifies the webhooks it sends; JSON Twirp and the
//! per-method grants answer as the real server's do; our adapter's egress calls round-trip.

use std::process::Command;

use bedrud_shared::livekit::twirp::TwirpLiveKit;
use bedrud_shared::livekit::{EgressStatus, LiveKit, LiveKitError, RecordingOutput};
use bedrud_tests::livekit_double::LiveKitDouble;
use bedrud_tests::{TEST_LK_KEY, TEST_LK_SECRET};
use livekit_api::access_token::{AccessToken, VideoGrants};
use livekit_protocol as proto;
use serde_json::{Value, json};

fn python() -> String {
    std::env::var("BEDRUD_TEST_PYTHON").expect(
        "BEDRUD_TEST_PYTHON is not set: run the README's test command (bash .ci/test), \
         which installs LiveKit's Python SDK",
    )
}

/// Runs a Python script with arguments off the async workers (the double keeps serving)
/// and returns its JSON output.
async fn run_python(script: &'static str, args: Vec<String>) -> Value {
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python())
            .arg("-c")
            .arg(script)
            .args(args)
            .output()
            .expect("run Python")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "Python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from the script")
}

const SDK_SCRIPT: &str = r#"
import asyncio, json, sys
from livekit import api

async def main(url, key, secret, room, identity):
    out = {}
    lk = api.LiveKitAPI(url, key, secret, failover=False)
    rooms = await lk.room.list_rooms(api.ListRoomsRequest(names=[room]))
    out["rooms"] = [r.name for r in rooms.rooms]
    p = await lk.room.get_participant(api.RoomParticipantIdentity(room=room, identity=identity))
    out["sources"] = [t.source for t in p.tracks]
    track = p.tracks[0].sid
    muted = await lk.room.mute_published_track(
        api.MuteRoomTrackRequest(room=room, identity=identity, track_sid=track, muted=True))
    out["muted"] = muted.track.muted
    await lk.room.remove_participant(api.RoomParticipantIdentity(room=room, identity=identity))
    try:
        await lk.room.get_participant(api.RoomParticipantIdentity(room=room, identity=identity))
    except api.TwirpError as e:
        out["after_remove"] = [e.code, e.status]
    await lk.aclose()
    bad = api.LiveKitAPI(url, key, "x" * 40, failover=False)
    try:
        await bad.room.list_rooms(api.ListRoomsRequest())
    except api.TwirpError as e:
        out["wrong_secret"] = [e.code, e.status]
    await bad.aclose()
    print(json.dumps(out))

asyncio.run(main(*sys.argv[1:]))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_python_sdk_drives_the_double() {
    let lk = LiveKitDouble::start(TEST_LK_KEY, TEST_LK_SECRET).await;
    lk.connect(
        "sdk-room",
        "alice",
        &[proto::TrackSource::Microphone, proto::TrackSource::Camera],
    );
    let args = [&lk.url, TEST_LK_KEY, TEST_LK_SECRET, "sdk-room", "alice"]
        .map(String::from)
        .to_vec();
    let out = run_python(SDK_SCRIPT, args).await;
    assert_eq!(out["rooms"], json!(["sdk-room"]));
    assert_eq!(out["sources"], json!([2, 1]), "microphone, camera");
    assert_eq!(out["muted"], true);
    assert_eq!(out["after_remove"], json!(["not_found", 404]));
    assert_eq!(out["wrong_secret"], json!(["unauthenticated", 401]));
    // The SDK's own tokens carried exactly what the double demanded.
    let calls = lk.calls();
    let list = &calls[0];
    assert_eq!(list.method, "RoomService/ListRooms");
    assert_eq!(list.content_type, "application/protobuf");
    assert!(list.grants.as_ref().unwrap().room_list);
    let remove = calls
        .iter()
        .find(|c| c.method == "RoomService/RemoveParticipant")
        .unwrap();
    let g = remove.grants.as_ref().unwrap();
    assert!(g.room_admin && g.room == "sdk-room");
}

const WEBHOOK_SCRIPT: &str = r#"
import json, sys
from livekit import api
from google.protobuf.json_format import MessageToDict
body, auth, key, secret = sys.argv[1:5]
event = api.WebhookReceiver(api.TokenVerifier(key, secret)).receive(body, auth)
try:
    api.WebhookReceiver(api.TokenVerifier(key, secret)).receive(body.replace("alice", "mallory"), auth)
    tampered = "accepted"
except Exception:
    tampered = "refused"
print(json.dumps({"event": MessageToDict(event), "tampered": tampered}))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_from_the_double_verify_with_the_official_sdk() {
    let lk = LiveKitDouble::start(TEST_LK_KEY, TEST_LK_SECRET).await;
    let event = proto::WebhookEvent {
        event: "participant_joined".into(),
        id: "EV_1".into(),
        created_at: 1_795_471_200,
        room: Some(proto::Room {
            sid: "RM_1".into(),
            name: "hook-room".into(),
            ..Default::default()
        }),
        participant: Some(proto::ParticipantInfo {
            sid: "PA_1".into(),
            identity: "alice".into(),
            state: proto::participant_info::State::Active as i32,
            ..Default::default()
        }),
        ..Default::default()
    };
    let body = String::from_utf8(serde_json::to_vec(&event).unwrap()).unwrap();
    // Proto-JSON as LiveKit writes it: camelCase, int64 as a string, enum by name, defaults
    // left out.
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["createdAt"], "1795471200");
    assert_eq!(v["participant"]["state"], "ACTIVE");
    assert!(v["participant"].get("joinedAt").is_none());
    let auth = lk.sign_body(body.as_bytes());
    let out = run_python(
        WEBHOOK_SCRIPT,
        vec![body, auth, TEST_LK_KEY.into(), TEST_LK_SECRET.into()],
    )
    .await;
    assert_eq!(out["event"]["event"], "participant_joined");
    assert_eq!(out["event"]["participant"]["identity"], "alice");
    assert_eq!(out["tampered"], "refused");

    // And it delivers them as LiveKit does: raw JWT, webhook+json.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |h: axum::http::HeaderMap, b: String| {
            let tx = tx.clone();
            async move {
                let get = |k: &str| h.get(k).unwrap().to_str().unwrap().to_string();
                tx.send((get("authorization"), get("content-type"), b))
                    .unwrap();
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let res = lk.send_webhook(&url, &event).await;
    assert_eq!(res.status(), 200);
    let (auth, ct, body) = rx.recv().await.unwrap();
    assert!(!auth.starts_with("Bearer "));
    assert_eq!(ct, "application/webhook+json");
    let claims =
        livekit_api::access_token::TokenVerifier::with_api_key(TEST_LK_KEY, TEST_LK_SECRET)
            .verify(&auth)
            .unwrap();
    use base64::Engine;
    use sha2::Digest;
    let digest = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&body));
    assert_eq!(claims.sha256, digest);
    server.abort();
}

fn token(grants: VideoGrants) -> String {
    AccessToken::with_api_key(TEST_LK_KEY, TEST_LK_SECRET)
        .with_grants(grants)
        .to_jwt()
        .unwrap()
}

#[tokio::test]
async fn json_twirp_and_grants_answer_like_the_real_server() {
    let lk = LiveKitDouble::start(TEST_LK_KEY, TEST_LK_SECRET).await;
    lk.connect("json-room", "bob", &[proto::TrackSource::Camera]);
    let http = reqwest::Client::new();
    let call = |method: &str, grants: Option<VideoGrants>, body: Value| {
        let mut req = http
            .post(format!("{}/twirp/livekit.RoomService/{method}", lk.url))
            .header("content-type", "application/json;charset=UTF-8")
            .body(body.to_string());
        if let Some(g) = grants {
            req = req.bearer_auth(token(g));
        }
        req.send()
    };
    let list = VideoGrants {
        room_list: true,
        ..Default::default()
    };
    let res = call("ListRooms", Some(list.clone()), json!({}))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["rooms"][0]["name"], "json-room");
    // Proto field names are accepted in requests, as protojson readers do.
    let admin = |room: &str| VideoGrants {
        room_admin: true,
        room: room.into(),
        ..Default::default()
    };
    let res = call(
        "GetParticipant",
        Some(admin("json-room")),
        json!({"room": "json-room", "identity": "bob"}),
    )
    .await
    .unwrap();
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["identity"], "bob");
    assert_eq!(p["tracks"][0]["source"], "CAMERA");

    // Missing token, wrong grant, admin of another room: Twirp `unauthenticated`, 401.
    for (grants, method) in [
        (None, "ListRooms"),
        (Some(admin("json-room")), "ListRooms"),
        (Some(list.clone()), "DeleteRoom"),
        (Some(admin("other-room")), "RemoveParticipant"),
    ] {
        let res = call(
            method,
            grants,
            json!({"room": "json-room", "identity": "bob"}),
        )
        .await
        .unwrap();
        assert_eq!(res.status(), 401, "{method}");
        let e: Value = res.json().await.unwrap();
        assert_eq!(e["code"], "unauthenticated");
    }
    // Unknown participant: `not_found`, 404.
    let res = call(
        "RemoveParticipant",
        Some(admin("json-room")),
        json!({"room": "json-room", "identity": "nobody"}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "not_found");
    assert!(
        lk.participant("json-room", "bob").is_some(),
        "nothing changed"
    );
}

#[tokio::test]
async fn our_adapter_records_stops_and_lists_egress_with_room_record() {
    let lk = LiveKitDouble::start(TEST_LK_KEY, TEST_LK_SECRET).await;
    lk.connect("rec-room", "carol", &[proto::TrackSource::Camera]);
    let client = TwirpLiveKit::new(&lk.url, TEST_LK_KEY, TEST_LK_SECRET, false).unwrap();
    let output = RecordingOutput::S3 {
        bucket: "recordings".into(),
        region: "eu-west-1".into(),
        endpoint: None,
        key: "recordings/room/rec.mp4".into(),
        force_path_style: false,
        credentials: Some(("AKIDEGRESS".into(), "egress-secret".into())),
    };
    let started = client.start_recording("rec-room", &output).await.unwrap();
    assert_eq!(started.status, EgressStatus::Starting);
    let sent = lk.egress(&started.egress_id).unwrap();
    let Some(proto::egress_info::Request::RoomComposite(req)) = sent.request else {
        panic!("a room composite egress");
    };
    let file = &req.file_outputs[0];
    assert_eq!(file.file_type, proto::EncodedFileType::Mp4 as i32);
    assert_eq!(file.filepath, "recordings/room/rec.mp4");
    assert!(!req.audio_only && !req.video_only, "audio and video");
    let Some(proto::encoded_file_output::Output::S3(s3)) = &file.output else {
        panic!("S3 output");
    };
    assert_eq!(
        (s3.bucket.as_str(), s3.region.as_str()),
        ("recordings", "eu-west-1")
    );

    let active = client.list_egress(Some("rec-room"), true).await.unwrap();
    assert_eq!(active.len(), 1);
    let stopped = client.stop_egress(&started.egress_id).await.unwrap();
    assert_eq!(stopped.status, EgressStatus::Ending);
    assert!(matches!(
        client.stop_egress("EG_missing").await,
        Err(LiveKitError::NotFound(_))
    ));
    for c in lk.calls() {
        let g = c.grants.unwrap();
        assert!(
            g.room_record && !g.room_admin && !g.room_create,
            "{}",
            c.method
        );
    }
    // Rooms: get-or-create with roomCreate, list with roomList.
    let a = client.create_room("new-room", 5).await.unwrap();
    let b = client.create_room("new-room", 5).await.unwrap();
    assert_eq!(a.sid, b.sid, "get-or-create");
    let names: Vec<String> = client
        .list_rooms(&[])
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["new-room", "rec-room"]);
}

#[tokio::test]
async fn a_slow_livekit_is_cut_off_and_reported_unreachable() {
    let lk = LiveKitDouble::start(TEST_LK_KEY, TEST_LK_SECRET).await;
    lk.fail(bedrud_tests::livekit_double::Failure::slow(
        std::time::Duration::from_secs(5),
    ));
    let client = TwirpLiveKit::with_timeout(
        &lk.url,
        TEST_LK_KEY,
        TEST_LK_SECRET,
        false,
        std::time::Duration::from_millis(200),
    )
    .unwrap();
    match client.list_rooms(&[]).await {
        Err(LiveKitError::Unreachable { host, detail }) => {
            assert_eq!(host, lk.url);
            assert_eq!(detail, "timed out");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
}

/// A Twirp endpoint behind a self-signed certificate (Python's `ssl`, the certificate made
/// with `cryptography`, both in the test tools' venv): answers every call with an empty
/// protobuf message.
const TLS_STUB: &str = r#"
import datetime, ipaddress, os, ssl, sys, tempfile
from http.server import BaseHTTPRequestHandler, HTTPServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "livekit.local")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256()))
d = tempfile.mkdtemp()
open(os.path.join(d, "c.pem"), "wb").write(cert.public_bytes(serialization.Encoding.PEM))
open(os.path.join(d, "k.pem"), "wb").write(key.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption()))

class Twirp(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-type", "application/protobuf")
        self.send_header("content-length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass

srv = HTTPServer(("127.0.0.1", 0), Twirp)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(os.path.join(d, "c.pem"), os.path.join(d, "k.pem"))
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"#;

#[tokio::test]
async fn skip_tls_verify_accepts_a_self_signed_livekit_and_only_then() {
    use std::io::BufRead;
    let mut child = Command::new(python())
        .args(["-c", TLS_STUB])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the TLS stub");
    let mut port = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let host = format!("https://127.0.0.1:{}", port.trim());
    let strict = TwirpLiveKit::new(&host, TEST_LK_KEY, TEST_LK_SECRET, false).unwrap();
    let refused = strict.list_rooms(&[]).await;
    let relaxed = TwirpLiveKit::new(&host, TEST_LK_KEY, TEST_LK_SECRET, true).unwrap();
    let accepted = relaxed.list_rooms(&[]).await;
    child.kill().ok();
    child.wait().ok();
    assert!(
        matches!(refused, Err(LiveKitError::Unreachable { .. })),
        "a self-signed certificate is refused by default: {refused:?}"
    );
    assert_eq!(
        accepted.unwrap(),
        vec![],
        "skipTLSVerify: the same server is used"
    );
}
